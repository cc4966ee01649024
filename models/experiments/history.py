"""Every run kept and comparable: the runs folder read as a history (`RunHistory`, `RunRecord`).

The run folders are the truth. Each holds what `models.training.run_folder`
writes: ``status.json`` (how and when it ended), ``project.json`` (every
setting), ``history.csv`` (the curves) and ``metrics.json`` (the test
figures). `RunHistory` lists them and keeps what it read in memory, keyed by
the files' sizes and times, so a refresh re-reads only folders that changed;
a folder deleted or added by hand is simply gone or there at the next
refresh. Nothing in a folder is trusted: a damaged file makes that run's
entry say so, never an exception.
"""

from __future__ import annotations

import contextlib
import datetime
import math
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from models.errors import UserError
from models.files import read_json_object
from models.text import Text

# The files whose change means the run's entry must be read again.
WATCHED_FILES = ("status.json", "project.json", "metrics.json", "history.csv")
# Figures of a history shown as the run's final ones, in this order when present.
FINAL_FIGURES = ("loss", "val_loss", "accuracy", "val_accuracy", "mae", "val_mae")
DELETING_PREFIX = ".deleting-"


def user_data_dir() -> Path:
    """Where this platform keeps an application's data (what Qt calls GenericDataLocation)."""
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def default_runs_dir() -> Path:
    """The one runs folder the window and the command line share.

    ``KERAS_TRAINER_RUNS_DIR`` chooses it; otherwise it is beside the settings
    when ``KERAS_TRAINER_SETTINGS_DIR`` moves them (tests, a portable copy), or
    in the user's data folder.
    """
    chosen = os.environ.get("KERAS_TRAINER_RUNS_DIR")
    if chosen:
        return Path(chosen).expanduser()
    settings = os.environ.get("KERAS_TRAINER_SETTINGS_DIR")
    if settings:
        return Path(settings) / "runs"
    return user_data_dir() / "keras-trainer" / "runs"


@dataclass
class RunRecord:
    """One run folder as the history shows it.

    Args:
        path: the folder.
        status: ``completed``, ``stopped``, ``failed``, ``killed``, ``running``, or ``unknown``
            (no readable ``status.json``).
        reason: why it stopped (``completed``, ``early stopping``, ``stopped``, ``NaN loss`` …), when known.
        started: when it started, as ISO text ("" when not known).
        dataset: the data set's name ("" when the project cannot be read).
        project: the ``project.json`` as read (a dict), or `None`.
        final: the last epoch's figures from ``history.csv`` (``loss``, ``val_loss``, the metric …).
        test: the test figures from ``metrics.json``.
        epochs_run: how many epochs the history holds.
        duration_s: training seconds, when known.
        problem: a sentence when a file of the run could not be read.
    """

    path: Path
    status: str = "unknown"
    reason: str = ""
    started: str = ""
    dataset: str = ""
    project: dict | None = None
    final: dict[str, float] = field(default_factory=dict)
    test: dict[str, float] = field(default_factory=dict)
    epochs_run: int = 0
    duration_s: float | None = None
    problem: str = ""

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def short_name(self) -> str:
        """The folder's name without the date and time it starts with (the history shows those apart)."""
        return re.sub(r"^\d{8}-\d{6}-", "", self.name) or self.name

    @property
    def metric(self) -> str:
        """The run's metric as its history names it (``accuracy`` or ``mae``), or ""."""
        return next((key for key in ("accuracy", "mae") if key in self.final), "")

    def settings_summary(self) -> str:
        """The key settings in one line: ``2×8 tanh · adam 0.001 · batch 32 · 20 epochs``; a project file
        of unexpected shape (written by hand, say) reads as such rather than failing the history."""
        if not self.project:
            return ""
        try:
            return settings_summary(self.project)
        except (TypeError, ValueError, AttributeError):
            return Text("(settings not readable)")

    def curves(self) -> dict[str, list[float]]:
        """The run's ``history.csv``: ``{figure: [value per epoch]}`` (`UserError` when damaged or missing)."""
        from models.training.resume import read_history

        return read_history(self.path / "history.csv")


def settings_summary(project: dict) -> str:
    """The settings a learner varies, in one line, from a project's dict."""
    parts = []
    layers = [layer for layer in project.get("layers", []) if isinstance(layer, dict)]
    dense = [layer for layer in layers if layer.get("type") == "dense"]
    if dense:
        widths = [layer.get("units") for layer in dense]
        activations = {layer.get("activation") for layer in dense}
        shape = f"{len(widths)}×{widths[0]}" if len(set(widths)) == 1 else "-".join(map(str, widths))
        parts.append(Text.of("{shape} {activations}", shape=shape, activations="/".join(sorted(map(str, activations)))))
    else:
        parts.append(Text("no hidden layer"))
    extras = [layer.get("type") for layer in layers if layer.get("type") != "dense"]
    if "dropout" in extras:
        parts[-1] = Text.of("{layers} + dropout", layers=parts[-1])
    if "batchnorm" in extras or "batch_norm" in extras:
        parts[-1] = Text.of("{layers} + BN", layers=parts[-1])
    optimizer = project.get("optimizer", {}) if isinstance(project.get("optimizer"), dict) else {}
    if optimizer:
        parts.append(Text.of("{optimizer} {learning_rate}", optimizer=optimizer.get("name", "?"),
                             learning_rate=_number(optimizer.get("learning_rate"))))
    training = project.get("training", {}) if isinstance(project.get("training"), dict) else {}
    if training:
        parts.append(Text.of("batch {batch_size}", batch_size=training.get("batch_size", "?")))
        parts.append(Text.of("{epochs} epochs", epochs=training.get("epochs", "?")))
    return Text.joined(parts, " · ")


def _number(value) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return f"{value:.3g}"  # a searched learning rate has many digits; three tell runs apart


def _signature(folder: Path) -> tuple:
    """What changes when any of a run's watched files changes."""
    found = []
    for name in WATCHED_FILES:
        try:
            stat = (folder / name).stat()
            found.append((name, stat.st_size, stat.st_mtime_ns))
        except OSError:
            found.append((name, None, None))
    return tuple(found)


def _is_run_folder(folder: Path) -> bool:
    return (folder / "status.json").is_file() or (folder / "project.json").is_file()


def read_record(folder: Path) -> RunRecord:
    """Reads one run folder; what cannot be read is left out and said in ``problem``."""
    from models.training.run_folder import read_status

    record = RunRecord(path=folder)
    problems = []
    status = read_status(folder)
    if status is not None:
        record.status = status["status"]
        record.reason = str(status.get("reason") or "")
        record.started = str(status.get("started") or "")
    elif (folder / "status.json").exists():
        problems.append("status.json is damaged")
    project = read_json_object(folder / "project.json")
    if project is not None:
        record.project = project
        record.dataset = dataset_label(project.get("dataset"))
    elif (folder / "project.json").exists():
        problems.append("project.json is damaged")
    metrics = read_json_object(folder / "metrics.json") or {}
    record.test = {key: float(value) for key, value in metrics.items()
                   if key in FINAL_FIGURES and _is_number(value)}
    if _is_number(metrics.get("elapsed_s")):
        record.duration_s = float(metrics["elapsed_s"])
    if not record.reason and isinstance(metrics.get("stop_reason"), str):
        record.reason = metrics["stop_reason"]
    if (folder / "history.csv").exists():
        try:
            history = record.curves()
        except UserError as error:
            problems.append(str(error))
        else:
            record.epochs_run = max((len(values) for values in history.values()), default=0)
            record.final = {key: values[-1] for key, values in history.items()
                            if key in FINAL_FIGURES and values and math.isfinite(values[-1])}
    if record.duration_s is None:
        record.duration_s = _seconds_between(record.started, str(status.get("ended") or "") if status else "")
    if not record.started:
        with contextlib.suppress(OSError):
            record.started = datetime.datetime.fromtimestamp(folder.stat().st_mtime).astimezone().isoformat(
                timespec="seconds")
    record.problem = "; ".join(problems)
    return record


def dataset_label(choice) -> str:
    """A project's data set as the history names it: the registry name, or a CSV's file name."""
    if not isinstance(choice, dict):
        return ""
    name = str(choice.get("name", ""))
    data_file = choice.get("data_file")
    if name == "csv" and isinstance(data_file, str) and data_file:
        return Path(data_file).name
    return name


def timestamp(text: str) -> float:
    """Seconds since the epoch of an ISO time (runs started in other time zones sort rightly); 0 if unreadable."""
    try:
        moment = datetime.datetime.fromisoformat(text)
        return (moment if moment.tzinfo else moment.astimezone()).timestamp()
    except (TypeError, ValueError, OverflowError, OSError):  # a date no clock reaches, or not a date
        return 0.0


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _seconds_between(start: str, end: str) -> float | None:
    try:
        return (datetime.datetime.fromisoformat(end) - datetime.datetime.fromisoformat(start)).total_seconds()
    except (TypeError, ValueError):
        return None


class RunHistory:
    """The runs in one folder, newest first, re-read only where a folder changed.

    Args:
        root: the runs folder (`default_runs_dir` by default).
    """

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else default_runs_dir()
        self._read: dict[Path, tuple[tuple, RunRecord]] = {}

    def refresh(self) -> list[RunRecord]:
        """Every run folder now in the root, newest first (a missing root is an empty history)."""
        try:
            folders = [entry for entry in self.root.iterdir()
                       if entry.is_dir() and not entry.name.startswith((".", DELETING_PREFIX)) and _is_run_folder(entry)]
        except OSError:
            folders = []
        records = []
        for folder in folders:
            signature = _signature(folder)
            known = self._read.get(folder)
            # A running run reads as killed once its process is gone, which changes no file.
            if known is None or known[0] != signature or known[1].status == "running":
                known = (signature, read_record(folder))
                self._read[folder] = known
            records.append(known[1])
        for gone in set(self._read) - set(folders):
            del self._read[gone]
        return sorted(records, key=lambda record: (timestamp(record.started), record.name), reverse=True)

    def runs(self, dataset: str | None = None) -> list[RunRecord]:
        """`refresh`, keeping only the runs on ``dataset`` when one is given."""
        return [record for record in self.refresh() if dataset in (None, "", record.dataset)]

    def datasets(self) -> list[str]:
        """The data sets the runs were trained on, sorted."""
        return sorted({record.dataset for record in self.refresh() if record.dataset})

    def delete(self, record: RunRecord) -> None:
        """Deletes a run's folder, or raises `UserError` saying why it may not be deleted.

        Only a finished run folder inside this history's root, holding nothing
        but what runs write, is deleted. It is renamed first, so it leaves the
        history at once and a deletion cut short leaves no half a run behind.
        """
        delete_run(record.path, self.root)
        self._read.pop(record.path, None)


def delete_run(folder: Path, root: Path) -> None:
    """See `RunHistory.delete`."""
    from models.training.run_folder import PREVIOUS_RUN, RUN_FILES, RUNNING, read_status

    folder, root = Path(folder), Path(root)
    try:
        inside = folder.resolve().parent == root.resolve()
    except OSError:
        inside = False
    if not inside or not _is_run_folder(folder):
        raise UserError.of("{folder} is not a run folder in {root}: it was not deleted.", folder=folder, root=root)
    status = read_status(folder)
    if status is not None and status["status"] == RUNNING:
        raise UserError.of("{name} is a run that is still going: stop it before deleting it.", name=folder.name)
    allowed = {*RUN_FILES, PREVIOUS_RUN, "tensorboard", ".lock"}
    foreign = sorted(entry.name for entry in folder.iterdir()
                     if entry.name not in allowed and not entry.name.startswith("."))
    if foreign:
        raise UserError.of("{name} holds files no run wrote ({foreign}): it was not deleted; remove it by hand if "
                           "you mean to.", name=folder.name, foreign=", ".join(foreign[:3]))
    doomed = folder.with_name(f"{DELETING_PREFIX}{folder.name}")
    try:
        folder.rename(doomed)
    except OSError as error:
        raise UserError.of("cannot delete {name}: {reason}.", name=folder.name, reason=error.strerror or error) from None
    shutil.rmtree(doomed, ignore_errors=True)


# The history's columns: heading, and the text of a run's cell.
def _figure(record: RunRecord, key: str) -> str:
    value = record.final.get(key)
    return "" if value is None else f"{value:.4g}"


def _metric_cell(record: RunRecord, prefix: str) -> str:
    metric = record.metric
    return _figure(record, f"{prefix}{metric}") if metric else ""


def _test_cell(record: RunRecord) -> str:
    metric = record.metric
    value = record.test.get(metric) if metric else None
    return "" if value is None else f"{value:.4g}"


def started_text(record: RunRecord) -> str:
    """``2026-12-04 22:58``: the start, to the minute, in the run's own time zone."""
    try:
        return datetime.datetime.fromisoformat(record.started).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return record.started


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return Text.of("{seconds} s", seconds=f"{seconds:.1f}")
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return Text.of("{minutes} min {seconds} s", minutes=minutes, seconds=f"{seconds:02d}")
    return Text.of("{hours} h {minutes} min", hours=minutes // 60, minutes=f"{minutes % 60:02d}")


def ended_text(record: RunRecord) -> str:
    """How the run ended: its status, and the reason when it says more ("completed: early stopping")."""
    reason = record.reason.strip().replace("nan_loss", "NaN loss").replace("_", " ")
    text = record.status if not reason or reason == record.status else f"{record.status}: {reason}"
    return f"{text} ({record.problem})" if record.problem else text


COLUMNS = (
    ("started", started_text),
    ("data set", lambda record: record.dataset),
    ("settings", RunRecord.settings_summary),
    ("epochs", lambda record: str(record.epochs_run) if record.epochs_run else ""),
    ("loss", lambda record: _figure(record, "loss")),
    ("val loss", lambda record: _figure(record, "val_loss")),
    ("metric", lambda record: record.metric),
    ("train", lambda record: _metric_cell(record, "")),
    ("val", lambda record: _metric_cell(record, "val_")),
    ("test", _test_cell),
    ("time", lambda record: duration_text(record.duration_s)),
    ("ended", ended_text),
    ("run", lambda record: record.name),
)


def run_table_lines(records: list[RunRecord]) -> list[str]:
    """The history as a plain-text table, one line per run under a heading."""
    rows = [[heading for heading, _ in COLUMNS]] + [[cell(record) for _, cell in COLUMNS] for record in records]
    widths = [max(len(row[column]) for row in rows) for column in range(len(COLUMNS))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
