"""Validation and early stopping's pure parts: the split, the score, the stopping rule, its stored form, chunk edges."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netdata import datasets
from netdata.errors import InputError
from training import session, validation
from training.config import RunConfig


def test_the_validation_part_is_stratified_disjoint_seeded_and_leaves_the_test_split_alone():
    labels = np.repeat([0, 1, 2], [50, 30, 20])
    train, test = datasets.stratified_split(labels, 0.3, seed=0)
    fit, val = validation.split(labels[train], 0.2, seed=0)
    assert np.array_equal(np.sort(np.r_[fit, val]), np.arange(len(train)))  # every training row, once
    assert np.bincount(labels[train][val]).tolist() == [7, 4, 3]  # round(0.2 * [35, 21, 14]) per class
    again_fit, again_val = validation.split(labels[train], 0.2, seed=0)
    assert np.array_equal(val, again_val) and np.array_equal(fit, again_fit)
    other_fit, other_val = validation.split(labels[train], 0.2, seed=1)
    assert not np.array_equal(val, other_val)
    # Its own stream: the same fraction on the same labels draws other rows than the test split does.
    assert not np.array_equal(validation.split(labels, 0.3, 0)[1], test)


def test_fraction_zero_keeps_every_training_row():
    fit, val = validation.split(np.array([0, 1, 1, 0]), 0.0, seed=3)
    assert fit.tolist() == [0, 1, 2, 3] and val.size == 0


def test_a_class_with_one_training_row_names_the_flag_that_turns_validation_off():
    with pytest.raises(InputError, match="--val-fraction 0"):
        validation.split(np.array([0, 0, 0, 1, 2, 2]), 0.3, seed=0)


def test_the_score_is_the_mean_cross_entropy_and_accuracy_even_for_huge_logits():
    logits = np.array([[2.0, 0.0, 0.0], [0.0, 1000.0, 0.0], [0.0, 0.0, -1.0]])
    labels = np.array([0, 1, 2])
    expected = -np.mean([2 - np.log(np.exp(2) + 2), 0.0, -1 - np.log(2 + np.exp(-1))])
    loss, accuracy = validation.score(logits, labels)
    assert loss == pytest.approx(expected, rel=1e-12)
    assert accuracy == pytest.approx(2 / 3)


def stop_index(losses: list[float], patience: int) -> int | None:
    """Reference rule, written independently: the first evaluation `patience` evaluations after the last strict
    new minimum."""
    best, best_i = math.inf, -1
    for i, loss in enumerate(losses):
        if loss < best:
            best, best_i = loss, i
        elif patience and i - best_i >= patience:
            return i
    return None


def replay(losses: list[float], patience: int) -> tuple[int | None, validation.Watch]:
    watch = validation.Watch()
    for i, loss in enumerate(losses):
        watch, _ = validation.observe(watch, 10 * (i + 1), loss, 0.5)
        if validation.exhausted(watch, patience):
            return i, watch
    return None, watch


STOPS = {  # name: (validation losses, patience, index of the evaluation that stops, best step)
    "keeps improving": ([3, 2, 1, 0.5], 2, None, 40),
    "turns up": ([3, 2, 2.5, 2.6], 2, 3, 20),
    "a tie is no improvement": ([3, 2, 2, 2], 2, 3, 20),
    "recovers in time": ([3, 2, 2.5, 1.5, 1.6, 1.7], 2, 5, 40),
    "patience 0 never stops": ([1, 2, 3, 4, 5], 0, None, 10),
    "NaN is no improvement": ([1, float("nan"), float("nan")], 2, 2, 10),
}


@pytest.mark.parametrize("losses, patience, index, best_step", STOPS.values(), ids=STOPS.keys())
def test_the_run_stops_after_patience_evaluations_without_a_lower_loss(losses, patience, index, best_step):
    stopped, watch = replay(losses, patience)
    assert stopped == index
    assert watch.best_step == best_step


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 10, allow_nan=False), max_size=30), st.integers(0, 5))
def test_the_stopping_rule_matches_an_independent_reference(losses, patience):
    stopped, watch = replay(losses, patience)
    assert stopped == stop_index(losses, patience)
    seen = losses[: (stopped + 1) if stopped is not None else len(losses)]
    if seen:
        assert watch.best_loss == min(seen) and watch.evaluations == len(seen)


WATCHES = {
    "fresh": validation.Watch(),
    "mid-run": validation.Watch(120, 0.25, 0.9, 3, 15),
}


@pytest.mark.parametrize("watch", WATCHES.values(), ids=WATCHES.keys())
def test_the_watch_survives_its_json_metadata_form(watch):
    import json

    back = validation.from_meta(json.loads(json.dumps(validation.to_meta(watch), allow_nan=False)))
    assert back.best_step == watch.best_step and back.since == watch.since
    assert back.evaluations == watch.evaluations
    assert back.best_loss == watch.best_loss
    assert back.best_accuracy == watch.best_accuracy or (math.isnan(back.best_accuracy) and math.isnan(watch.best_accuracy))


def test_a_damaged_validation_record_is_refused_in_one_line():
    with pytest.raises(InputError, match="validation record"):
        validation.from_meta({"best_step": 3})


def test_best_weights_pack_into_the_state_and_out_again_and_are_no_model_weights():
    best = {"layers.0.w": np.ones((2, 3)), "layers.0.b": np.zeros(3)}
    state = {"layers.0.w": np.zeros((2, 3)), "adam.step": np.asarray(4)} | validation.pack(best)
    rest, back = validation.unpack(state)
    assert sorted(rest) == ["adam.step", "layers.0.w"]
    assert back.keys() == best.keys() and np.array_equal(back["layers.0.w"], best["layers.0.w"])
    assert list(validation.weights_of(state)) == ["layers.0.w"]
    assert validation.unpack({"w": np.zeros(1)})[1] is None


CHUNKS = {  # name: (chunk, save_every, eval_every, val_fraction, compiles, steps per chunk)
    "evaluations cut chunks": (1000, None, 10, 0.2, True, 10),
    "with saves: their common divisor": (1000, 15, 10, 0.2, True, 5),
    "no validation: evaluations ignored": (1000, None, 7, 0.0, True, 1000),
    "eager: divides the evaluations": (1000, None, 60, 0.2, False, 20),
}


@pytest.mark.parametrize("chunk, save_every, eval_every, fraction, compiles, length", CHUNKS.values(), ids=CHUNKS.keys())
def test_chunks_end_at_every_evaluation(chunk, save_every, eval_every, fraction, compiles, length):
    cfg = RunConfig(stage="mlp", chunk=chunk, save_every=save_every, eval_every=eval_every, val_fraction=fraction)
    assert session.chunk_length(cfg, 10, compiles) == length


def test_a_start_off_the_grid_steps_back_onto_it():
    assert session.plan(105, 140, 10) == [(105, 5), (110, 10), (120, 10), (130, 10)]
    assert session.plan(0, 25, 10) == [(0, 10), (10, 10), (20, 5)]


def test_the_loss_figure_draws_the_validation_loss_and_marks_the_best_step():
    from training import plots

    metrics = {"framework": "jax", "loss_curve": {"step": [0, 10, 20, 30], "loss": [1.0, 0.5, 0.3, 0.2]},
               "val_curve": {"step": [10, 20, 30], "loss": [0.6, 0.4, 0.45], "accuracy": [0.8, 0.9, 0.9]},
               "validation": {"best_step": 20}}
    ax = plots.run_loss_figure(metrics, "jax mlp").axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["validation loss"].get_xdata()) == [10, 20, 30]
    assert list(lines["validation loss"].get_ydata()) == [0.6, 0.4, 0.45]
    assert "best validation loss (step 20)" in lines
    without = plots.run_loss_figure({k: v for k, v in metrics.items() if k != "val_curve"}, "jax mlp").axes[0]
    assert not any(line.get_label().startswith("validation") for line in without.get_lines())
