"""Image .npz files for the cnn stage: both shapes read as NCHW, every bad file refused in one line, nothing unpickled."""

import numpy as np
import pytest

from netdata import images, init
from netdata.errors import InputError

GOOD_X = np.random.default_rng(0).random((6, 5, 4))
GOOD_Y = np.array([0, 1, 2, 0, 1, 2])


@pytest.mark.parametrize("x, shape", [(GOOD_X, (6, 1, 5, 4)), (GOOD_X[:, None].repeat(3, 1), (6, 3, 5, 4)),
                                      ((GOOD_X * 255).astype(np.uint8), (6, 1, 5, 4))])
def test_images_of_either_shape_come_back_as_float64_nchw_with_int64_labels(tmp_path, x, shape):
    path = tmp_path / "set.npz"
    np.savez(path, x=x, y=GOOD_Y.astype(np.int32))
    got, labels = images.read_npz(str(path))
    assert got.shape == shape and got.dtype == np.float64
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, GOOD_Y)


BAD = {
    "no y": (dict(x=GOOD_X), "no array 'y'"),
    "flat rows": (dict(x=GOOD_X.reshape(6, -1), y=GOOD_Y), "not (N, H, W) or (N, C, H, W)"),
    "too small": (dict(x=GOOD_X[:, :3, :3], y=GOOD_Y), "too small"),
    "label count": (dict(x=GOOD_X, y=GOOD_Y[:5]), "one label per image"),
    "fractional labels": (dict(x=GOOD_X, y=GOOD_Y + 0.5), "not whole numbers"),
    "negative labels": (dict(x=GOOD_X, y=GOOD_Y - 1), "class indices"),
    "nan pixels": (dict(x=np.where(GOOD_X > 0.9, np.nan, GOOD_X), y=GOOD_Y), "NaN"),
    "object array": (dict(x=np.array([GOOD_X, "a"], dtype=object), y=GOOD_Y), "unpickling"),
    "text pixels": (dict(x=np.full((6, 5, 4), "a"), y=GOOD_Y), "not numbers"),
}


@pytest.mark.parametrize("case", BAD)
def test_a_bad_file_is_refused_with_one_line_saying_what_to_fix(tmp_path, case):
    arrays, words = BAD[case]
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(InputError) as err:
        images.read_npz(str(path))
    message = str(err.value)
    assert words in message and "\n" not in message
    assert "numpy.savez" in message  # the fix


@pytest.mark.parametrize("content, words", [(None, "does not exist"), (b"x,y\n1,2\n", "not an .npz")])
def test_a_missing_file_or_one_that_is_not_a_zip_is_refused(tmp_path, content, words):
    path = tmp_path / "set.npz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=words):
        images.read_npz(str(path))


@pytest.mark.parametrize("name", ["iris", "seed", "data.csv"])
def test_the_cnn_stage_refuses_data_without_images(name):
    with pytest.raises(InputError, match="cnn stage"):
        images.load(name)


def test_digits_are_one_channel_8x8_images():
    ds = images.load("digits")
    assert ds.x.shape == (1797, 1, 8, 8) and ds.num_classes == 10


def test_standardizing_uses_one_mean_and_std_per_channel_from_the_training_part_only():
    g = np.random.default_rng(1)
    train = g.normal([[[[1.0]], [[5.0]]]], [[[[2.0]], [[0.5]]]], (50, 2, 4, 4))
    test = g.normal(0, 1, (7, 2, 4, 4))
    scaled, scaled_test, mean, std = images.standardize(train, test)
    np.testing.assert_allclose(scaled.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(scaled.std(axis=(0, 2, 3)), 1, atol=1e-12)
    np.testing.assert_allclose(scaled_test, (test - mean) / std)
    constant = np.ones((3, 1, 4, 4))
    assert np.all(images.standardize(constant, constant)[0] == 0)


@pytest.mark.parametrize("change, words", [
    (lambda w: w.pop("bn.1.var"), "no 'bn.1.var'"),
    (lambda w: w.__setitem__("fc.w", w["fc.w"][:-1]), "fc.w has shape"),
    (lambda w: w.__setitem__("conv.0.w", np.zeros((3, 3, 2, 4), np.float32)), "input channels"),
    (lambda w: w.__setitem__("extra", np.zeros(1)), "'extra'"),
    (lambda w: w["fc.b"].__setitem__(0, np.nan), "NaN"),
])
def test_cnn_weights_that_do_not_fit_the_images_are_refused_in_one_line(change, words):
    w = init.cnn("torch", [1, 4, 8], init.cnn_features([1, 4, 8], 8, 8), 10)
    change(w)
    with pytest.raises(InputError, match=words):
        init.check_cnn(w, (1, 8, 8), 10)
