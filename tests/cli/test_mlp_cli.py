"""The mlp stage from the CLIs: real data, a held-out test step, identical predictions in both frameworks."""

import numpy as np
import pytest

from tests.cli.helpers import train


def both_frameworks(capsys, tmp_path, *flags):
    return [train(capsys, fw, "--stage", "mlp", *flags, "--out", str(tmp_path / fw)) for fw in ("jax", "torch")]


# The default suite trains a short run that already meets the bar; --full trains the default steps (1000).
SHORT_OR_DEFAULT = {"iris": [["--steps", "200"], pytest.param([], marks=pytest.mark.slow, id="default-steps")],
                    "digits": [["--steps", "100"], pytest.param([], marks=pytest.mark.slow, id="default-steps")]}


@pytest.mark.parametrize("steps", SHORT_OR_DEFAULT["iris"])
def test_iris_with_default_flags_reaches_093_and_both_frameworks_predict_alike(capsys, tmp_path, steps):
    jax_m, torch_m = both_frameworks(capsys, tmp_path, "--data", "iris", *steps)
    assert jax_m["test_accuracy"] >= 0.93 and torch_m["test_accuracy"] >= 0.93
    assert jax_m["test_predictions"] == torch_m["test_predictions"]
    assert jax_m["confusion"] == torch_m["confusion"]
    assert np.sum(jax_m["confusion"]) == 45  # 30% of 150 rows, every class in both parts
    assert (tmp_path / "jax" / "confusion.png").stat().st_size > 0


def test_a_users_csv_with_a_named_label_column_is_learnt(capsys, tmp_path):
    g = np.random.default_rng(7)
    centers = np.array([[0, 0, 4], [4, 0, 0], [0, 4, 0]], dtype=float)
    labels = np.repeat([0, 1, 2], 40)
    x = centers[labels] + g.standard_normal((120, 3))
    rows = [f"{a:.5f},{c},{b:.5f},{d:.5f}" for (a, b, d), c in zip(x, labels)]
    (tmp_path / "blobs.csv").write_text("width,species,height,depth\n" + "\n".join(rows) + "\n")
    jax_m, torch_m = both_frameworks(capsys, tmp_path, "--data", str(tmp_path / "blobs.csv"), "--target", "species",
                                     "--steps", "100")
    assert jax_m["test_accuracy"] >= 0.9
    assert jax_m["confusion"] == torch_m["confusion"]


@pytest.mark.parametrize("steps", SHORT_OR_DEFAULT["digits"])
def test_digits_with_default_flags_reaches_095_with_identical_predictions_and_a_picture(capsys, tmp_path, steps):
    jax_m, torch_m = both_frameworks(capsys, tmp_path, "--data", "digits", *steps)
    assert jax_m["test_accuracy"] >= 0.95 and torch_m["test_accuracy"] >= 0.95
    assert jax_m["test_predictions"] == torch_m["test_predictions"]
    assert len(jax_m["confusion"]) == 10
    assert (tmp_path / "jax" / "predictions.png").stat().st_size > 0
