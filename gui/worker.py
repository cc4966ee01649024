"""Background jobs. They only emit signals carrying plain data; they never touch a widget."""

from __future__ import annotations

import traceback

from PySide6.QtCore import QThread, Signal

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

    def __init__(self, project, dataset=None, run_dir=None, parent=None, **runner_options):
        super().__init__(parent)
        from models.runner import StopRequest

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

    def on_finished(self, result):
        self.run_finished.emit(result)

    def on_failed(self, message):
        self.run_failed.emit(message)

    def run(self) -> None:
        from models.runner import TrainingFailed, run_training

        try:
            run_training(self.project, listener=self, stop=self.stop_request, dataset=self.dataset,
                         run_dir=self.run_dir, **self.runner_options)
        except TrainingFailed:
            pass  # the listener has already reported it
        except Exception as error:  # a bug outside training itself: still a sentence, never a crash
            traceback.print_exc()
            self.run_failed.emit(f"training failed unexpectedly ({type(error).__name__}): {error}")


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
            self.failed.emit(str(error))
        except Exception as error:
            traceback.print_exc()
            self.failed.emit(f"{type(error).__name__}: {error}")
        else:
            self.succeeded.emit(result)
