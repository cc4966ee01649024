"""Exporting what a run trained: the model in any format (checked against the model), and its history as CSV.

The window keeps the runs; `RunExports` asks it for the last result, the
project and data it was trained with, and a way to start a background job.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from gui.i18n import tr
from gui.worker import FunctionJob

EXPORT_TITLES = {"keras": "Keras model", "weights": "Weights only", "savedmodel": "TensorFlow SavedModel (a folder)",
                 "tflite": "TensorFlow Lite", "onnx": "ONNX", "python": "Standalone training script"}


def _export_and_check(model, fmt: str, path: str, project, dataset) -> list:
    """Writes one export, then loads it back and checks it predicts what ``model`` predicts."""
    from models.saving.export import export_model, verify_export

    paths = export_model(model, fmt, path, project, dataset)
    verify_export(model, fmt, paths[0], dataset.x_test[:64], project=project, dataset=dataset)
    return paths


def _export_suffix(default_name: str) -> str:
    """The ending a format's files need (``.keras``, ``.weights.h5``); empty for a folder."""
    return default_name[default_name.index("."):] if "." in default_name else ""


class RunExports(QObject):
    """File ▸ Export trained model and File ▸ Export history, for ``window``'s last run."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self._writing: set = set()  # export jobs still reading the model

    def writing(self) -> bool:
        """Whether an export is still reading the trained model (a next run of the same network retrains
        that very model: `models.training.model_cache`)."""
        return bool(self._writing)

    def export_model_dialog(self) -> None:
        from models.saving.export import EXPORT_FORMATS

        if self.window.result is None:
            return
        titles = EXPORT_TITLES
        suffixes = {fmt: _export_suffix(name) for fmt, (name, _) in EXPORT_FORMATS.items()}
        filters = [f"{tr(titles.get(fmt, fmt))} ({'*' + suffixes[fmt] if suffixes[fmt] else '*'})" for fmt in EXPORT_FORMATS]
        path, chosen = QFileDialog.getSaveFileName(self.window, tr("Export trained model"), "model.keras", ";;".join(filters))
        if not path:
            return
        fmt = list(EXPORT_FORMATS)[filters.index(chosen)] if chosen in filters else "keras"
        if suffixes[fmt] and not path.endswith(suffixes[fmt]):
            path += suffixes[fmt]
        self.export_model(fmt, path)

    def export_model(self, fmt: str, path: str) -> FunctionJob | None:
        """Exports the trained model in the background, then checks the file against the model.

        Returns the job, or `None` (with a message) when there is no trained model yet.
        """
        if self.window.result is None or self.window.result.model is None:
            self.window.show_message(tr("There is no trained model to export yet: train the network first."))
            return None
        # The project and data the model was trained with: the panels may have moved on since.
        project, dataset = self.window._trained_with
        job = FunctionJob(_export_and_check, self.window.result.model, fmt, path, project, dataset, parent=self.window)
        job.succeeded.connect(lambda paths: self.window.statusBar().showMessage(
            tr("Exported {format}: {paths}", format=fmt, paths=", ".join(str(p) for p in paths)), 8000))
        job.failed.connect(lambda message: self.window.show_message(tr("Export failed: {message}", message=message)))
        self.window.statusBar().showMessage(tr("Exporting {format}…", format=fmt))
        self._writing.add(job)
        job.finished.connect(lambda: self._writing.discard(job))
        self.window._start_job(job)
        return job

    def export_history_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, tr("Export history"), "history.csv", "CSV (*.csv)")
        if path:
            self.export_history(path)

    def export_history(self, path: str) -> bool:
        from models.files import write_text_atomic
        from models.training.run_folder import history_csv

        if self.window.result is None:
            self.window.show_message(tr("There is no training history to export yet: train the network first."))
            return False
        try:
            write_text_atomic(path, history_csv(self.window.result.history))
        except OSError as error:
            self.window.show_message(tr("Could not write {path}: {error}.", path=path, error=error.strerror or error))
            return False
        self.window.statusBar().showMessage(tr("Wrote {path}", path=path), 4000)
        return True
