"""netdata.datasets: the shipped sets are what their README says, splits are stratified and seeded, scaling is fair."""

from importlib import resources

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netdata import datasets
from netdata.errors import InputError


def test_iris_is_150_flowers_by_4_measurements_in_3_classes_of_50():
    d = datasets.iris()
    assert d.x.shape == (150, 4) and d.x.dtype == np.float64 and d.labels.dtype == np.int64
    assert np.bincount(d.labels).tolist() == [50, 50, 50]
    assert d.class_names == ("setosa", "versicolor", "virginica") and len(d.feature_names) == 4
    assert d.x[0].tolist() == [5.1, 3.5, 1.4, 0.2] and d.name == "iris"


def test_digits_is_1797_images_of_64_cells_valued_0_to_16_in_10_classes():
    d = datasets.digits()
    assert d.x.shape == (1797, 64) and d.labels.shape == (1797,)
    assert sorted(set(d.labels.tolist())) == list(range(10)) and d.num_classes == 10
    assert d.x.min() == 0 and d.x.max() == 16 and np.array_equal(d.x, np.round(d.x))
    assert d.feature_names[9] == "pixel_1_1" and d.class_names[3] == "3"


def test_shipped_files_are_package_resources_with_their_readme():
    folder = resources.files("netdata").joinpath("data")
    for name in ("iris.csv", "digits.csv.gz", "README.md"):
        assert folder.joinpath(name).is_file(), name
    assert "CC BY 4.0" in folder.joinpath("README.md").read_text()


def test_a_dataset_cannot_be_edited_in_place():
    with pytest.raises(ValueError):
        datasets.iris().x[0, 0] = 99.0
    assert datasets.iris().x[0, 0] == 5.1


def test_load_takes_a_shipped_name_or_a_labelled_file(tmp_path):
    assert datasets.load("iris") is datasets.iris()
    path = tmp_path / "mine.csv"
    path.write_text("height,weight,kind\n1,2,0\n3,4,2\n5,6,2\n")
    d = datasets.load(str(path))
    assert d.class_names == ("0", "1", "2") and d.feature_names == ("height", "weight")
    assert d.labels.tolist() == [0, 2, 2] and d.x.dtype == np.float64 and d.name == "mine.csv"
    d = datasets.load(str(path), target="height")
    assert d.feature_names == ("weight", "kind") and d.labels.tolist() == [1, 3, 5]


def test_load_refuses_an_unknown_name_and_a_target_for_a_shipped_set():
    assert "iris or digits" in str(pytest.raises(InputError, datasets.load, "mnist").value)
    assert "--target" in str(pytest.raises(InputError, datasets.load, "iris", target="y").value)


def test_split_puts_each_class_in_both_parts_in_proportion():
    labels = datasets.digits().labels
    train, test = datasets.stratified_split(labels, test_fraction=0.2, seed=0)
    assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == len(labels)
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(len(labels)))
    for c, n in enumerate(np.bincount(labels)):
        assert np.sum(labels[test] == c) == int(np.floor(n * 0.2 + 0.5))
    train, test = datasets.stratified_split(datasets.iris().labels, 0.2)
    assert np.bincount(datasets.iris().labels[test]).tolist() == [10, 10, 10]


def test_split_is_a_pure_function_of_labels_fraction_and_seed():
    labels = datasets.iris().labels
    a = datasets.stratified_split(labels, 0.3, seed=5)
    b = datasets.stratified_split(labels.copy(), 0.3, seed=5)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not np.array_equal(a[1], datasets.stratified_split(labels, 0.3, seed=6)[1])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(2, 30), min_size=1, max_size=6), st.floats(0.05, 0.95), st.integers(0, 2**32 - 1))
def test_any_split_keeps_every_class_in_both_parts_near_its_share(sizes, fraction, seed):
    labels = np.repeat(np.arange(len(sizes)), sizes)
    np.random.default_rng(seed).shuffle(labels)
    train, test = datasets.stratified_split(labels, fraction, seed)
    for c, n in enumerate(sizes):
        n_test = np.sum(labels[test] == c)
        assert 1 <= n_test <= n - 1 and np.sum(labels[train] == c) == n - n_test
        assert abs(n_test - n * fraction) <= 0.5 or n_test in (1, n - 1)


def test_split_refuses_a_class_of_one_and_a_fraction_outside_0_1():
    with pytest.raises(InputError, match="class 2 has only 1 example"):
        datasets.stratified_split(np.array([0, 0, 1, 1, 2]))
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(InputError, match="between 0 and 1"):
            datasets.stratified_split(np.array([0, 0, 1, 1]), bad)


def test_standardize_uses_the_training_part_only():
    g = np.random.default_rng(0)
    x_train, x_test = g.normal(3.0, 2.0, (200, 3)), g.normal(-50.0, 9.0, (40, 3))
    a_train, a_test, mean, std = datasets.standardize(x_train, x_test)
    np.testing.assert_allclose(mean, x_train.mean(0))
    np.testing.assert_allclose(std, x_train.std(0))
    np.testing.assert_allclose(a_train.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(a_train.std(0), 1)
    np.testing.assert_allclose(a_test, (x_test - x_train.mean(0)) / x_train.std(0))
    _, _, mean2, std2 = datasets.standardize(x_train, x_test * 100 + 7)
    assert np.array_equal(mean, mean2) and np.array_equal(std, std2)


def test_standardize_leaves_constant_features_finite():
    d = datasets.digits()
    train, test = datasets.stratified_split(d.labels)
    a_train, a_test, _, std = datasets.standardize(d.x[train], d.x[test])
    constant = d.x[train].std(0) == 0
    assert constant.any() and np.all(std[constant] == 1)  # digits has always-blank border pixels
    assert np.isfinite(a_train).all() and np.isfinite(a_test).all()
    assert np.all(a_train[:, constant] == 0)
    constant_floats = np.full((3, 1), 0.1)
    assert constant_floats.std() > 0  # rounding noise: a naive "std == 0" test would divide by ~1e-17
    _, a_test, _, std = datasets.standardize(constant_floats, np.zeros((1, 1)))
    assert std[0] == 1.0 and abs(a_test[0, 0]) < 1
