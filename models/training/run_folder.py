"""A run's folder: claimed before training, written as the run goes, recognisable after a kill.

A run folder belongs to one run. It is claimed before any training starts,
so a folder that cannot be written (under a file, read-only, a full disk) is
a sentence at once rather than after an hour of training. At the start it
gets the run's ``project.json`` and a ``status.json`` saying ``running``;
at the end ``model.keras`` first (with ``preprocessing.json``, what its inputs
are), then ``history.csv`` and ``metrics.json``,
then the status (``completed``, ``stopped`` or ``failed``). A folder whose
status still says ``running`` while its process is gone was killed; the
next run in the same parent folder marks it so and removes the temporary
files it left.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import io
import json
import os
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from models.errors import UserError
from models.files import (
    TEMPORARY_PREFIX,
    atomic_path,
    csv_text,
    read_json_object,
    write_json_atomic,
    write_text_atomic,
)

RUN_FORMAT = "keras-trainer-run"
RUN_VERSION = 1
STATUS_FILE = "status.json"
RUNNING, COMPLETED, STOPPED, FAILED, KILLED = "running", "completed", "stopped", "failed", "killed"
# What any run may leave in its folder; `--overwrite` clears exactly these.
RUN_FILES = (
    STATUS_FILE, "project.json", "history.csv", "metrics.json", "crossval.json", "model.keras",
    "model.weights.h5", "saved_model", "model.tflite", "model.onnx", "train.py", "train_data.npz",
    "preprocessing.json", "predict.py", "evaluation.csv", "instruments.json", "diagnosis.json", "tensorboard",
)
# Room a run needs besides its model file: the project, history, metrics and status.
SMALL_FILES_BYTES = 256_000


def describe_os_error(error: OSError) -> str:
    """``No space left on device``, ``Not a directory``: the reason without the errno number."""
    return error.strerror or str(error) or type(error).__name__


def history_csv(history: dict[str, list[float]]) -> str:
    """The history as CSV text: an ``epoch`` column, then one column per figure."""
    keys = list(history)
    rows = max((len(values) for values in history.values()), default=0)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["epoch", *keys])
    for index in range(rows):
        writer.writerow([index + 1, *(repr(history[key][index]) if index < len(history[key]) else "" for key in keys)])
    return out.getvalue()


def _now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def process_is_alive(pid) -> bool:
    """Whether process ``pid`` of this machine is running (another user's counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    except (OSError, OverflowError, ValueError, TypeError):
        return False
    return True


def _remove_temporary_files(folder: Path) -> None:
    try:
        leftovers = list(folder.glob(f"{TEMPORARY_PREFIX}*"))
    except OSError:
        return
    for leftover in leftovers:
        with contextlib.suppress(OSError):
            if leftover.is_dir():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()


STATUSES = (RUNNING, COMPLETED, STOPPED, FAILED, KILLED)


def read_status(folder: str | os.PathLike) -> dict | None:
    """A run folder's status (``status`` is ``killed`` for a run whose process died), or `None`.

    `None` also for a damaged or foreign ``status.json``: nothing in it is trusted.
    """
    status = read_json_object(Path(folder) / STATUS_FILE)
    if status is None or status.get("format") != RUN_FORMAT or status.get("status") not in STATUSES:
        return None
    pid = status.get("pid")
    valid_pid = isinstance(pid, int) and not isinstance(pid, bool) and 0 < pid < 2**31
    if status["status"] == RUNNING and status.get("host") == socket.gethostname() and not (
            valid_pid and process_is_alive(pid) and _started_before(pid, status.get("started_at_s"))):
        status = {**status, "status": KILLED}
    return status


def _started_before(pid: int, run_started) -> bool:
    """Whether process ``pid`` began before the run did, so it can be the run's (a pid is reused:
    a restarted container's first process, say, has the same one)."""
    if not isinstance(run_started, (int, float)) or isinstance(run_started, bool):
        return True  # an older status without the time: trust the pid
    try:
        import psutil

        return psutil.Process(pid).create_time() <= run_started + 1
    except Exception:  # psutil.NoSuchProcess, AccessDenied: no better answer than the pid's
        return True


def recover_killed_runs(parent: Path) -> list[Path]:
    """Marks the run folders in ``parent`` whose process died as killed, and removes their temporary files.

    Returns:
        The folders recovered.
    """
    recovered = []
    try:
        folders = [entry for entry in parent.iterdir() if entry.is_dir() and not entry.name.startswith(".")]
    except OSError:
        return recovered
    for folder in folders:
        status = read_status(folder)
        if status is None or status["status"] != KILLED:
            continue
        _remove_temporary_files(folder)
        try:
            write_json_atomic(folder / STATUS_FILE, {**status, "ended": None,
                                                     "message": "the process ended without finishing the run (killed)"})
        except OSError:
            continue
        recovered.append(folder)
    return recovered


def _run_files_in(folder: Path) -> list[str]:
    try:
        return sorted(entry.name for entry in folder.iterdir() if entry.name in RUN_FILES)
    except OSError:
        return []


def _what_is_in(folder: Path) -> tuple[str, list[str]]:
    """What a folder holds: ``"nothing"``, ``"running"`` (a live run), ``"unfinished"`` (a run that
    failed or was killed before it had a model), ``"run"`` (another run's results) or ``"other"``
    (files named like a run's that no run of ours wrote); and those files."""
    names = _run_files_in(folder)
    if not names:
        return "nothing", names
    status = read_status(folder)
    if status is not None and status["status"] == RUNNING:
        return "running", names
    results = {"model.keras", "metrics.json", "crossval.json"} & set(names)
    if status is not None:
        return ("unfinished" if status["status"] in (FAILED, KILLED) and not results else "run"), names
    if STATUS_FILE in names and not results:  # a status a kill or a full disk left empty or damaged
        return "unfinished", names
    if "project.json" in names and results:  # a run folder written before status.json existed
        return "run", names
    return "other", names


PREVIOUS_RUN = ".previous-run"  # where --overwrite keeps the old run until the new one is saved


@contextlib.contextmanager
def _locked(folder: Path):
    """Holds an exclusive lock on ``folder`` (flock on the folder itself), so two claims take turns."""
    try:
        import fcntl
    except ImportError:  # not on this system: the O_EXCL status still keeps most races out
        yield
        return
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:  # a folder we may write but not list: the O_EXCL status still guards it
        yield
        return
    try:
        with contextlib.suppress(OSError):  # a file system without locks (some network mounts): as above
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # closing releases the lock


def _restore_previous_run(folder: Path) -> None:
    """Puts back a run that --overwrite set aside, when the run that replaced it was not saved.

    Each kept file replaces the one of that name; what was never moved (a
    move cut short by a kill) stays, so the old run comes back whole.
    """
    kept = folder / PREVIOUS_RUN
    if not kept.is_dir():
        return
    for entry in kept.iterdir():
        target = folder / entry.name
        if target.is_dir():
            shutil.rmtree(target)
        entry.replace(target)
    kept.rmdir()


def _remove(folder: Path, names: list[str]) -> None:
    for name in names:
        entry = folder / name
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink(missing_ok=True)


@dataclass
class RunFolder:
    """A folder claimed by one run.

    Args:
        path: the folder.
        created: whether this run made the folder (so it may remove it again).
    """

    path: Path
    created: bool = False
    trained: bool = False  # set by `begin_training`: a folder abandoned before then is given back
    abandoned: bool = False
    made: list = field(default_factory=list)  # the folders this claim made, deepest first
    @classmethod
    def claim(cls, path: str | os.PathLike, overwrite: bool = False) -> RunFolder:
        """Makes ``path`` this run's folder, or raises `UserError` saying why it cannot be.

        Args:
            path: the folder, made with its parents when missing.
            overwrite: a folder holding another (finished) run's files has them
                removed first; without it, such a folder is refused. A run
                still going is never overwritten, nor files no run wrote.
                Defaults to `False`.
        """
        folder = Path(path)
        created = _missing_folders(folder)
        try:
            _make_folder(folder)
            with _locked(folder):
                run = cls._claim_locked(folder, overwrite, created)
        except OSError as error:
            raise UserError.of("cannot claim the run folder {folder}: {reason}.",
                               folder=folder, reason=describe_os_error(error)) from None
        except UserError:
            _remove_made_folders(created)
            raise
        return run

    @classmethod
    def _claim_locked(cls, folder: Path, overwrite: bool, created: list[Path]) -> RunFolder:
        held, names = _what_is_in(folder)
        if held != "running" and (folder / PREVIOUS_RUN).is_dir():
            _restore_previous_run(folder)  # an --overwrite that was never saved gives the old run back
            held, names = _what_is_in(folder)
        if held == "running":
            raise UserError.of("{folder} is the folder of a run that is still going: wait for it to end, or choose "
                               "another --out folder.", folder=folder)
        if held == "other":
            raise UserError.of("{folder} holds files a run would replace ({names}) that no run wrote: choose an "
                               "empty or new --out folder.", folder=folder, names=", ".join(names[:4]))
        if held == "run" and not overwrite:
            shown = ", ".join(names[:4]) + (", …" if len(names) > 4 else "")
            raise UserError.of("{folder} already holds another run ({shown}): choose another --out folder, or add "
                               "--overwrite to replace that run.", folder=folder, shown=shown)
        if held == "run":  # kept aside, not deleted, until the new run really trains
            shutil.rmtree(folder / PREVIOUS_RUN, ignore_errors=True)
            (folder / PREVIOUS_RUN).mkdir()
            # The status first: a move cut short then reads as unfinished, and is put back.
            for name in sorted(names, key=lambda name: name != STATUS_FILE):
                (folder / name).rename(folder / PREVIOUS_RUN / name)
        else:
            _remove(folder, names)
        _remove_temporary_files(folder)
        _take(folder)
        return cls(folder, created=bool(created), made=created)

    @classmethod
    def claim_new(cls, parent: str | os.PathLike, name: str) -> RunFolder:
        """Claims a folder that did not exist: ``parent/name``, or ``name-2``, ``name-3``… when taken.

        Two runs started in the same second get two folders: the folder is
        made with ``exist_ok=False``, which only one process can win. Runs
        in ``parent`` that were killed are marked so first.
        """
        parent = Path(parent)
        made_parents = _missing_folders(parent)
        _make_folder(parent)
        recover_killed_runs(parent)
        for number in range(1, 10_000):
            folder = parent / (name if number == 1 else f"{name}-{number}")
            try:
                folder.mkdir()
            except FileExistsError:
                continue
            except OSError as error:
                raise UserError.of("cannot make the run folder {folder}: {reason}.",
                                   folder=folder, reason=describe_os_error(error)) from None
            try:
                _take(folder)
            except UserError:
                _remove_made_folders([folder, *made_parents])
                raise
            return cls(folder, created=True, made=[folder, *made_parents])
        raise UserError.of("{parent} holds 10,000 runs named {name}: choose another --out folder.",
                           parent=parent, name=name)

    def abandon(self) -> None:
        """Undoes the claim of a run that was not saved: removes the folders it made, or the files
        it wrote in a folder that was there, and gives back a run --overwrite set aside.

        Only the first call does anything: after it the folder is no longer this run's.
        """
        if self.abandoned:
            return
        self.abandoned = True
        if self.created:
            shutil.rmtree(self.path, ignore_errors=True)
            _remove_made_folders(self.made[1:])
            return
        with contextlib.suppress(OSError):
            _remove(self.path, ["project.json", STATUS_FILE])
            _restore_previous_run(self.path)

    def begin_training(self) -> None:
        """Marks that training has begun: a failure from now on is a failed run, not a refusal."""
        self.trained = True

    def keep(self) -> None:
        """The run's results are written: an earlier run set aside by --overwrite is removed."""
        shutil.rmtree(self.path / PREVIOUS_RUN, ignore_errors=True)

    def give_up(self, reason: str, message: str, status: str = FAILED) -> None:
        """Ends a run that was not saved: a run refused before training, or one that replaced an earlier
        run, gives the folder back (the earlier run returns); any other is recorded with ``status``."""
        if not self.trained or (self.path / PREVIOUS_RUN).is_dir():
            self.abandon()
        else:
            self.finish(status, reason, message)

    @property
    def started(self) -> bool:
        """Whether `start` has written the run's project and status."""
        return bool(getattr(self, "_status", None))

    def start(self, project, what: str = "train") -> None:
        """Writes ``project.json`` and a ``running`` status, so even a killed run leaves its settings.

        Raises:
            UserError: when the folder cannot be written (a full disk, no permission).
        """
        self._status = {**(getattr(self, "_status", None) or _first_status()), "what": what}
        try:
            project.save(self.path / "project.json")
            write_json_atomic(self.path / STATUS_FILE, self._status)
        except (OSError, UnicodeEncodeError) as error:
            self.abandon()
            reason = describe_os_error(error) if isinstance(error, OSError) else "text that is not UTF-8"
            raise UserError.of("cannot write the run folder {path}: {reason}.", path=self.path, reason=reason) from None

    def check_room(self, model_bytes: int) -> None:
        """Raises `UserError` when the disk has no room for a model of about ``model_bytes``."""
        try:
            free = shutil.disk_usage(self.path).free
        except OSError:
            return
        needed = model_bytes + SMALL_FILES_BYTES
        if free < needed:
            raise UserError.of("the disk holding {path} has {free} MB free, and this run's files need about {needed} "
                               "MB: free some space before training.",
                               path=self.path, free=f"{free / 1e6:,.1f}", needed=f"{needed / 1e6:,.1f}")

    def finish(self, status: str, reason: str = "", message: str = "") -> None:
        """Records how the run ended; a failure to write it is ignored (the run is over anyway)."""
        if self.abandoned:
            return
        fields = {**getattr(self, "_status", {"format": RUN_FORMAT, "version": RUN_VERSION}),
                  "status": status, "reason": reason, "ended": _now()}
        if message:
            fields["message"] = message
        with contextlib.suppress(OSError):
            write_json_atomic(self.path / STATUS_FILE, fields)

    def write_results(self, project, result) -> None:
        """Writes ``model.keras`` and its ``preprocessing.json``, then ``history.csv`` and
        ``metrics.json`` (the model first, so metrics never describe a model that is not there).

        Raises:
            OSError: when a file cannot be written; those written before stay.
        """
        if result.model is not None:
            save_model(result.model, self.path / "model.keras")
        if getattr(result, "preprocessing", None) is not None:
            from models.saving.preprocessing import FILE_NAME, save_preprocessing

            save_preprocessing(result.preprocessing, self.path / FILE_NAME)
        write_text_atomic(self.path / "history.csv", history_csv(result.history))
        evaluation = getattr(result, "evaluation", None)
        if evaluation is not None:
            write_text_atomic(self.path / "evaluation.csv", csv_text(evaluation.evaluation_rows(getattr(result, "test_row_numbers", None))))
        readings = getattr(result, "instruments", None)
        if readings:
            from models.instruments.readings import instruments_json

            write_json_atomic(self.path / "instruments.json", instruments_json(readings))
        diagnosis = getattr(result, "diagnosis", None)
        if diagnosis is not None:
            write_json_atomic(self.path / "diagnosis.json", diagnosis.to_json())
        from models.experiments.tensorboard_log import write_tensorboard

        write_tensorboard(self.path, result.history, getattr(result, "learning_rates", []),
                          getattr(result, "instruments", None) or [])
        write_json_atomic(self.path / "metrics.json", {
            **result.test_metrics,
            **({} if evaluation is None else evaluation.metrics_json()),
            "train_samples_per_second": result.train_samples_per_second,
            "epochs_run": result.epochs_run,
            "stop_reason": result.reason,
            "elapsed_s": result.elapsed_s,
            "device": result.device,
        })


def _first_status() -> dict:
    return {"format": RUN_FORMAT, "version": RUN_VERSION, "status": RUNNING, "started": _now(), "ended": None,
            "pid": os.getpid(), "host": socket.gethostname(), "started_at_s": time.time()}


def _missing_folders(folder: Path) -> list[Path]:
    """The folders of ``folder``'s path that do not exist yet, deepest first."""
    missing = []
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            break
        missing.append(candidate)
    return missing


def _remove_made_folders(folders: list[Path]) -> None:
    """Removes folders a claim made, deepest first, as long as they are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def _take(folder: Path) -> None:
    """Writes the first ``status.json`` so that only one process can hold the folder.

    The file is created exclusively (``O_EXCL``): of two runs claiming one
    folder at the same moment, the second is refused. A write that fails
    leaves no empty status behind.
    """
    status = folder / STATUS_FILE
    try:
        handle = os.open(status, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        raise UserError.of("{folder} was claimed by another run at the same moment: choose another --out folder.",
                           folder=folder) from None
    except OSError as error:
        raise UserError.of("cannot write in the run folder {folder}: {reason}.",
                           folder=folder, reason=describe_os_error(error)) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(json.dumps(_first_status()) + "\n")
    except OSError as error:
        status.unlink(missing_ok=True)
        raise UserError.of("cannot write in the run folder {folder}: {reason}.",
                           folder=folder, reason=describe_os_error(error)) from None


def save_model(model, path: Path) -> None:
    """Saves a Keras model atomically; nothing of a failed save is left behind."""
    before = _system_temporary_folders()
    try:
        with atomic_path(path) as temporary:
            model.save(temporary)
    except BaseException:
        _remove_keras_leftovers(before)
        raise


def _system_temporary_folders() -> set[Path]:
    import tempfile

    try:
        return set(Path(tempfile.gettempdir()).glob("tmp*"))
    except OSError:
        return set()


def _remove_keras_leftovers(before: set[Path]) -> None:
    """Removes the empty ``tmpXXXX/assets`` folder a failed Keras save left in the system's temporary folder.

    Keras stages a model's assets in a fresh temporary folder and removes it
    only after the archive is written, so a full disk leaves it behind. Only
    folders that appeared during the save, and hold nothing but an empty
    ``assets``, are removed.
    """
    for folder in _system_temporary_folders() - before:
        with contextlib.suppress(OSError):
            if (folder.is_dir() and [entry.name for entry in folder.iterdir()] == ["assets"]
                    and not any((folder / "assets").iterdir())):
                shutil.rmtree(folder)


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UserError.of("cannot use {folder} as a run folder: a file of that name is in the way.", folder=folder) from None
    except NotADirectoryError:
        raise UserError.of("cannot make the run folder {folder}: part of that path is a file, not a folder.",
                           folder=folder) from None
    except OSError as error:
        raise UserError.of("cannot make the run folder {folder}: {reason}.",
                           folder=folder, reason=describe_os_error(error)) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError.of("cannot write in the run folder {folder}: permission denied.", folder=folder)


def rescue_model(model, preferred: list[Path], preprocessing=None) -> Path | None:
    """Saves ``model`` in the first of ``preferred`` folders where that works; the file, or `None`.

    With ``preprocessing`` (what the model's inputs are), the model goes into a
    folder of its own, ``rescued-STAMP/model.keras`` with ``preprocessing.json``
    beside it, so `predict` can use it as it is.
    """
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    for folder in preferred:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            name = f"rescued-{stamp}-{os.getpid()}"
            if preprocessing is None:
                path = folder / f"{name}.keras"
                save_model(model, path)
                return path
            from models.saving.preprocessing import FILE_NAME, save_preprocessing

            (folder / name).mkdir(exist_ok=True)
            path = folder / name / "model.keras"
            save_model(model, path)
            save_preprocessing(preprocessing, folder / name / FILE_NAME)
            return path
        except OSError:
            continue
    return None
