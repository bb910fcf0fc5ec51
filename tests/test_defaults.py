"""The mlp's default flags (issue 24): docs/measured/defaults.json measured the defaults a user gets, and there the
default mlp is at or above softmax regression on every data set; the generated sets are seeded. No training here:
the runs are benchmarks/defaults.py's (minutes), this file reads what it wrote."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks import defaults
from tools.docs import readme
from training import config, traincli

MEASURED = json.loads((Path(__file__).resolve().parents[1] / "docs" / "measured" / "defaults.json").read_text())


@pytest.mark.parametrize("framework", ["jax", "torch"])
def test_the_measured_defaults_are_the_ones_a_user_gets(framework):
    # parser(), not parse(): parse() also sets the process's thread variables
    cfg = config.resolve(traincli.parser(traincli.prog_name(framework)).parse_args(["--stage", "mlp"]))
    assert {k: getattr(cfg, k) for k in MEASURED["defaults"]} == MEASURED["defaults"]
    assert cfg.hidden == [32] and cfg.lr == 1e-2 and cfg.weight_decay == 1.0 and cfg.patience == 10


def test_the_measurement_covers_the_shipped_and_every_generated_set():
    assert list(MEASURED["data"]) == ["iris", "digits", *defaults.RECIPES]
    assert 6 <= len(defaults.RECIPES) <= 8  # the benchmark stays a few minutes long


@pytest.mark.parametrize("name", list(MEASURED["data"]))
def test_the_default_mlp_is_at_or_above_softmax_regression_in_both_frameworks_alike(name):
    entry = MEASURED["data"][name]
    runs = entry["runs"]["defaults"]
    assert set(runs) == {"jax", "torch"} and entry["same_confusion"]
    for framework, run in runs.items():
        assert run["test_accuracy"] >= entry["softmax_regression"] - 1e-9, (framework, run, entry["softmax_regression"])


@pytest.mark.parametrize("name", list(defaults.RECIPES))
def test_a_generated_set_is_seeded_and_has_its_recipes_shape(tmp_path, name):
    recipe = defaults.RECIPES[name]
    path, x, labels, _ = defaults.write(tmp_path, name)
    again = defaults.generate(recipe, defaults.SEED + list(defaults.RECIPES).index(name))
    assert np.array_equal(x, again[0]) and np.array_equal(labels, again[1])
    assert x.shape == (recipe.rows, recipe.features) and set(np.unique(labels)) == set(range(recipe.classes))
    table = np.loadtxt(path, delimiter=",", skiprows=1)
    assert table.shape == (recipe.rows, recipe.features + 1) and np.array_equal(table[:, -1], labels)


def test_the_readme_line_marks_a_set_where_the_mlp_loses():
    assert "below" not in readme.render_accuracy(MEASURED) and "jax = torch" in readme.render_accuracy(MEASURED)
    worse = copy.deepcopy(MEASURED)
    entry = worse["data"]["blobs"]
    linear, jax = entry["softmax_regression"], entry["runs"]["defaults"]["jax"]["test_accuracy"]
    entry["runs"]["defaults"]["torch"]["test_accuracy"] = linear - 0.01
    text = " ".join(readme.render_accuracy(worse).split())
    assert text.count("**below**") == 1 and "jax / torch" in text
    assert f"; blobs {jax:.3f} / {linear - 0.01:.3f} ({linear:.3f}, **below**);" in text
