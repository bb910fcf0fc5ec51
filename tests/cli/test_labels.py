"""Class labels written as names (cat, dog) in a CSV: sorted names are classes 0..K-1, kept with the run."""

import json

import numpy as np
import pytest

from netdata import datasets
from netdata.errors import InputError
from tests.cli.helpers import run, train

NAMES = ["dog", "cat", "bird"]  # in file order; the classes are the sorted names: bird, cat, dog


def write_csv(path, names=NAMES, rows_per_class=12):
    g = np.random.default_rng(3)
    lines = ["width,height,animal"]
    for i, name in enumerate(names):
        for x in g.standard_normal((rows_per_class, 2)) + 3 * i:
            lines.append(f"{x[0]:.4f},{x[1]:.4f}, {name}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_text_labels_become_sorted_classes(tmp_path):
    ds = datasets.load(str(write_csv(tmp_path / "a.csv")))
    assert ds.class_names == ("bird", "cat", "dog")
    assert ds.labels[:12].tolist() == [2] * 12 and ds.labels[-12:].tolist() == [0] * 12  # dog rows first


def test_stored_class_names_keep_their_order_and_refuse_a_new_class(tmp_path):
    ds = datasets.load(str(write_csv(tmp_path / "a.csv")), class_names=["dog", "cat", "bird"])
    assert ds.labels[:12].tolist() == [0] * 12
    path = write_csv(tmp_path / "b.csv", [*NAMES, "ant"])
    with pytest.raises(InputError, match="'ant' is not one of the run's classes"):
        datasets.load(str(path), class_names=["bird", "cat", "dog"])


@pytest.mark.parametrize("framework", ["jax", "torch"])
def test_a_csv_of_named_classes_trains_and_its_run_keeps_the_names(capsys, tmp_path, framework):
    data, out = write_csv(tmp_path / "animals.csv"), tmp_path / "r"
    m = train(capsys, framework, "--stage", "mlp", "--data", str(data), "--hidden", "8", "--steps", "20",
              "--out", str(out))
    assert m["class_names"] == ["bird", "cat", "dog"] and len(m["confusion"]) == 3
    assert json.loads((out / "classes.json").read_text()) == {"class_names": ["bird", "cat", "dog"]}
    (out / "classes.json").write_text('{"class_names": ["dog", "cat", "bird"]}')  # as an older sort would have
    resumed = train(capsys, framework, "--resume", str(out), "--steps", "30")
    assert resumed["class_names"] == ["dog", "cat", "bird"]  # the stored mapping, not a fresh sort
    write_csv(data, [*NAMES, "ant"])
    code, _, err = run(capsys, framework, "--resume", str(out), "--steps", "40")
    assert code == 2 and "'ant'" in err


def test_text_in_a_regression_target_says_to_train_a_classifier(capsys, tmp_path):
    code, _, err = run(capsys, "torch", "--stage", "nn", "--data", str(write_csv(tmp_path / "a.csv")), "--steps", "3",
                       "--out", str(tmp_path / "r"))
    assert code == 2 and "--stage mlp" in err and not (tmp_path / "r").exists()
