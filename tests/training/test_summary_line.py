"""The run summary says what its two training losses are: where the run started and which weights it kept."""

from training.summary import loss_line


def metrics(start, steps, best=None):
    m = {"resumed_from_step": start, "steps_this_run": steps, "initial_loss": 0.00686785, "final_loss": 0.0103332}
    if best is not None:
        m["validation"] = {"best_step": best}
    return m


def test_a_plain_run_reads_from_its_first_loss_to_its_last():
    assert loss_line(metrics(None, 500)) == "training loss 0.00686785 -> 0.0103332 after 500 steps"


def test_a_resumed_run_whose_best_step_came_before_the_resume_says_so():
    line = loss_line(metrics(300, 190, best=190))
    assert line.startswith("training loss 0.00686785 at step 300 (resumed) -> 0.0103332 at step 190")
    assert "the weights kept" in line and "before this run resumed" in line


def test_an_early_stop_names_the_best_validation_step_of_the_run():
    line = loss_line(metrics(None, 490, best=190))
    assert line.endswith("at step 190, the weights kept (the best validation loss of 490 steps)")


def test_a_run_whose_last_step_is_its_best_reads_as_a_plain_run():
    assert loss_line(metrics(100, 100, best=200)).endswith("-> 0.0103332 after 200 steps")
