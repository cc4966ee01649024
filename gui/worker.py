"""Background jobs. They only emit signals carrying plain data; they never touch a widget."""

from __future__ import annotations

import traceback

from PySide6.QtCore import QThread, Signal

from gui.i18n import error_text, tr
from models.errors import UserError


class TrainingJob(QThread):
    """Runs the shared training runner in a background thread and relays its reports.

    Signals are emitted from the job's thread; Qt queues them to receivers in
    the window's thread, so slots run there.
    """

    run_started = Signal(object)  # RunStarted
    batch_progress = Signal(object)  # BatchProgress
    epoch_ended = Signal(object)  # EpochResult
    run_finished = Signal(object)  # RunResult
    run_failed = Signal(str)
    instruments_read = Signal(object)  # InstrumentReading
    findings_found = Signal(object)  # list of the diagnosis' new Findings

    def __init__(self, project, dataset=None, run_dir=None, parent=None, **runner_options):
        super().__init__(parent)
        from models.training.runner import StopRequest

        self.project = project.copy()
        self.dataset = dataset
        self.run_dir = run_dir
        self.stop_request = StopRequest()
        self.runner_options = runner_options

    def request_stop(self) -> None:
        """Asks training to end after the current batch; safe from any thread."""
        self.stop_request.set()

    # The runner's listener interface, relayed as signals.
    def on_run_started(self, info):
        self.run_started.emit(info)

    def on_batch_progress(self, progress):
        self.batch_progress.emit(progress)

    def on_epoch_ended(self, result):
        self.epoch_ended.emit(result)

    def on_instruments(self, reading):
        self.instruments_read.emit(reading)

    def on_findings(self, findings):
        self.findings_found.emit(list(findings))

    def on_finished(self, result):
        self.run_finished.emit(result)

    def on_failed(self, message):
        self.run_failed.emit(error_text(message))

    def run(self) -> None:
        from models.training.runner import run_training

        self._relay_failures(lambda: run_training(self.project, listener=self, stop=self.stop_request,
                                                  dataset=self.dataset, run_dir=self.run_dir, **self.runner_options))

    def _relay_failures(self, train) -> None:
        """Calls ``train``; any failure reaches the window as ``run_failed``, never as a crash."""
        from models.training.runner import TrainingFailed

        try:
            train()
        except TrainingFailed:
            pass  # the listener has already reported it
        except UserError as error:  # refused before training began (a bad fold count, say)
            self.run_failed.emit(error_text(error))
        except Exception as error:  # a bug outside training itself: still a sentence, never a crash
            traceback.print_exc()
            self.run_failed.emit(tr("training failed unexpectedly ({error})", error=f"{type(error).__name__}: {error}"))


class CrossValidationJob(TrainingJob):
    """Runs K-fold cross-validation in a background thread.

    Each fold's run reports through the same signals as `TrainingJob`, except
    ``run_finished``: a fold's model is not a result to keep. The folds'
    scores come with ``fold_finished`` and the whole outcome with ``cv_finished``.
    """

    fold_started = Signal(int, int)  # fold (1-based), folds
    fold_finished = Signal(object)  # FoldResult
    cv_finished = Signal(object)  # CrossValidationResult

    def __init__(self, project, dataset, folds: int, parent=None, **runner_options):
        super().__init__(project, dataset, parent=parent, **runner_options)
        self.folds = folds

    def on_fold_started(self, fold, folds):
        self.fold_started.emit(fold, folds)

    def on_fold_finished(self, result):
        self.fold_finished.emit(result)

    def on_finished(self, result):
        pass  # one fold's run; its scores come with fold_finished

    def run(self) -> None:
        from models.training.crossval import run_cross_validation

        self._relay_failures(lambda: self.cv_finished.emit(run_cross_validation(
            self.project, self.folds, listener=self, stop=self.stop_request, dataset=self.dataset,
            **self.runner_options)))


class FunctionJob(QThread):
    """Runs one function in a background thread and emits its result or a sentence."""

    succeeded = Signal(object)
    failed = Signal(str)

    def __init__(self, function, *args, parent=None, **kwargs):
        super().__init__(parent)
        self.function, self.args, self.kwargs = function, args, kwargs

    def run(self) -> None:
        try:
            result = self.function(*self.args, **self.kwargs)
        except UserError as error:
            self.failed.emit(error_text(error))
        except Exception as error:
            traceback.print_exc()
            self.failed.emit(f"{type(error).__name__}: {error}")
        else:
            self.succeeded.emit(result)
