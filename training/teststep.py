"""Step 4 of the lecture for a CLI run: predict the held-out rows, count, and draw the confusion matrix."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from training import rundata, runfolder, timings


def test_step(backend, trainer, data: rundata.Data, folder: Path, spent: dict[str, float] | None = None) -> dict:
    """Step 4 of the lecture: a forward pass with the trained weights on rows training never saw."""
    from training import evaluate

    pred = np.argmax(backend.predict(trainer, data.x_test), axis=1)
    matrix = evaluate.confusion(data.y_test, pred, len(data.class_names))
    with timings.spent({} if spent is None else spent, "figures_s"):
        from training import plots  # matplotlib loads only for a run that draws

        runfolder.save_figure(plots.confusion_figure(matrix, data.class_names), folder / "confusion.png")
        if data.test_images is not None:
            figure = plots.predictions_figure(data.test_images[:40], data.y_test[:40], pred[:40], data.class_names)
            runfolder.save_figure(figure, folder / "predictions.png")
    if backend.cfg.stage == "cnn":  # the features it learned: the first layer's filters
        from training import filters
        runfolder.save_figure(filters.filters_figure(backend.export(trainer)), folder / filters.FILE)
    return {"test_accuracy": evaluate.accuracy(data.y_test, pred),
            "per_class_accuracy": [float(a) for a in evaluate.per_class_accuracy(matrix)],
            "confusion": matrix.tolist(), "test_predictions": pred.tolist(), "class_names": list(data.class_names)}
