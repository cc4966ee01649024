"""File ▸ Open trained model… and File ▸ Predict a file…: model files in, predictions out, in the background."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog

from gui.i18n import tr
from gui.worker import FunctionJob

# What File ▸ Open trained model… lets one pick: a model file, or a file inside a
# run folder or SavedModel folder that stands for that folder.
FOLDER_MARKERS = ("preprocessing.json", "saved_model.pb")


class ProgressJob(FunctionJob):
    """A `FunctionJob` whose function takes ``progress=callable(fraction)``; relays it when the percent changes."""

    progressed = Signal(float)

    def __init__(self, function, *args, parent=None, **kwargs):
        super().__init__(function, *args, parent=parent, progress=self._report, **kwargs)
        self._percent = -1

    def _report(self, fraction: float) -> None:
        percent = int(fraction * 100)
        if percent != self._percent:  # a human rate, however many chunks there are
            self._percent = percent
            self.progressed.emit(fraction)


def model_path_from_choice(path: str | Path) -> Path:
    """The model to load for a picked file: its folder for a run folder's ``preprocessing.json``."""
    path = Path(path)
    return path.parent if path.name in FOLDER_MARKERS else path


def prediction_summary(report) -> str:
    """One sentence: how many rows, where they went, and the score when the file held the target."""
    text = tr("Wrote {rows} prediction(s) to {path}", rows=f"{report.rows:,}", path=report.out_path)
    if report.score is not None:
        name, value, compared = report.score
        if name == "accuracy":
            text += " · " + tr("accuracy {value} on {rows} row(s) with the target", value=f"{value:.4f}", rows=compared)
        else:
            text += " · " + tr("mean absolute error {value} on {rows} row(s) with the target", value=f"{value:.4g}",
                               rows=compared)
    return text + "."


class ModelFileActions(QObject):
    """Opens a saved model and predicts whole CSV files with the current one, each in a background job.

    Args:
        parent: the window, which the dialogs belong to.
        current_model: gives the model to predict with (a `LoadedModel`), or `None`.
        start_job: starts a job and keeps it until it ends (the window waits for it when closing).
        start_folder: gives the folder the model dialog opens in.
    """

    model_opened = Signal(object)  # LoadedModel
    predictions_written = Signal(object)  # PredictionReport
    status = Signal(str, int)  # a status-bar line and how long it stays (ms)
    message = Signal(str)  # a sentence that needs the user's attention

    def __init__(self, parent, current_model: Callable, start_job: Callable, start_folder: Callable[[], str]):
        super().__init__(parent)
        self._window = parent
        self._current_model = current_model
        self._start_job = start_job
        self._start_folder = start_folder
        self.job: FunctionJob | None = None

    # ------------------------------------------------------------ opening
    def open_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self._window, tr("Open trained model"), self._start_folder(),
            tr("Trained models (a run folder's preprocessing.json, or a model file)")
            + " (*.keras *.onnx *.tflite preprocessing.json saved_model.pb);;" + tr("All files") + " (*)")
        if path:
            self.open_model(model_path_from_choice(path))

    def open_model(self, path: str | Path) -> FunctionJob:
        """Loads a run folder or model file in the background; `model_opened` or a message follows."""
        from models.saving.predict import load_model

        path = Path(path)
        job = FunctionJob(load_model, path, parent=self)
        job.succeeded.connect(lambda loaded: self._opened(loaded, path))
        job.failed.connect(lambda error: self.message.emit(
            tr("Could not open the model {name}: {error}", name=path.name, error=error)))
        self.status.emit(tr("Opening {path}…", path=path), 0)
        self._start_job(job)
        return job

    def _opened(self, loaded, path: Path) -> None:
        self.status.emit(tr("Opened the model {path}: try it in the Try it tab.", path=path), 8000)
        self.model_opened.emit(loaded)

    # ------------------------------------------------------------ predicting
    def predict_file_dialog(self) -> None:
        from models.saving.predict import default_output_path

        if self._current_model() is None:
            self.message.emit(tr("There is no model to predict with yet: train one or open a trained model first."))
            return
        data_file, _ = QFileDialog.getOpenFileName(
            self._window, tr("Predict a file: the rows"), "", tr("CSV files") + " (*.csv *.tsv *.txt);;" + tr("All files") + " (*)")
        if not data_file:
            return
        out, _ = QFileDialog.getSaveFileName(self._window, tr("Predict a file: where the predictions go"),
                                             str(default_output_path(data_file)), tr("CSV files") + " (*.csv)")
        if out:
            self.predict_file(data_file, out)

    def predict_file(self, data_file: str | Path, out: str | Path | None = None) -> FunctionJob | None:
        """Predicts every row of ``data_file`` with the current model in the background.

        Returns the job, or `None` (with a message) when there is no model or a prediction is running.
        """
        from models.saving.predict import predict_file

        model = self._current_model()
        if model is None:
            self.message.emit(tr("There is no model to predict with yet: train one or open a trained model first."))
            return None
        if self.job is not None:
            self.message.emit(tr("A file is being predicted already: wait for it to finish."))
            return None
        name = Path(data_file).name
        job = ProgressJob(predict_file, model, data_file, out, parent=self)
        job.progressed.connect(lambda fraction: self.status.emit(
            tr("Predicting {name}: {percent} %", name=name, percent=f"{fraction * 100:.0f}"), 0))
        job.succeeded.connect(self._predicted)
        job.failed.connect(lambda error: self.message.emit(tr("Could not predict {name}: {error}", name=name, error=error)))
        job.finished.connect(self._job_ended)
        self.job = job
        self.status.emit(tr("Predicting {name}…", name=name), 0)
        self._start_job(job)
        return job

    def _job_ended(self) -> None:
        self.job = None

    def _predicted(self, report) -> None:
        text = prediction_summary(report)
        if report.warnings:
            self.message.emit(text + " " + " ".join(report.warnings))
        self.status.emit(text, 15000)
        self.predictions_written.emit(report)
