"""Reading a run folder back to train it on (``train --resume RUN_DIR``): `read_run`.

A run folder holds the project (``project.json``), the history
(``history.csv``) and the model with its optimizer state (``model.keras``).
Training on from them continues the same curves: the epochs are numbered on
from the last, the shuffling of epoch *k* is the one an uninterrupted run
draws for epoch *k*, and Adam's step count goes on. The folder is untrusted:
the model is loaded in Keras's safe mode, and every fault is one sentence.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

from models.errors import UserError
from models.network.spec import Project, load_project
from models.training.reports import Continuation

# A history.csv larger than this is not one this program wrote (100,000 epochs of ten figures is ~25 MB).
MAX_HISTORY_BYTES = 50_000_000


@dataclass
class ResumableRun:
    """A run folder read back: its project and what training on needs."""

    folder: Path
    project: Project
    continuation: Continuation


def read_history(path: Path) -> dict[str, list[float]]:
    """``history.csv`` back as ``{figure: [value per epoch]}``; `UserError` when it is not one."""
    try:
        if path.stat().st_size > MAX_HISTORY_BYTES:
            raise UserError.of("{path} is far too large to be a run's history.", path=path)
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError.of("{parent} has no history.csv, so it is not a finished run folder.", parent=path.parent) from None
    except (OSError, UnicodeDecodeError) as error:
        raise UserError.of("cannot read {path} ({reason}).",
                           path=path, reason=getattr(error, "strerror", None) or error) from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or rows[0][:1] != ["epoch"]:
        raise UserError.of("{path} is not a run's history (its first column should be 'epoch').", path=path)
    names = rows[0][1:]
    history: dict[str, list[float]] = {name: [] for name in names}
    for number, row in enumerate((row for row in rows[1:] if row), start=1):
        try:
            if int(row[0]) != number:
                raise ValueError
            for name, value in zip(names, row[1:], strict=True):
                history[name].append(float(value) if value else math.nan)
        except ValueError:
            raise UserError.of("{path}, line {number}, is not a history row: the file is damaged.",
                               path=path, number=number + 1) from None
    return history


def load_trained_model(path: Path):
    """The Keras model of a run folder with its optimizer state, in safe mode (no code in the file runs)."""
    import keras

    if not path.is_file():
        raise UserError.of("{parent} has no model.keras: that run ended before its model was saved.",
                           parent=path.parent)
    try:
        model = keras.saving.load_model(path, safe_mode=True)
    except Exception as error:  # a damaged or foreign file: Keras's own words, shortened
        first = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        raise UserError.of("{path} cannot be loaded as a Keras model ({first}).", path=path, first=first) from None
    if model.optimizer is None or not model.optimizer.built:
        raise UserError.of("{path} holds no optimizer state, so it cannot train on as the run would have.", path=path)
    return model


def read_run(folder: str | Path) -> ResumableRun:
    """The project, history and model of a run folder, ready for ``run_training(continue_from=...)``."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise UserError.of("there is no run folder at {folder}.", folder=folder)
    project = load_project(folder / "project.json")
    history = read_history(folder / "history.csv")
    epochs = max((len(values) for values in history.values()), default=0)
    if epochs == 0:
        raise UserError.of("{folder} has no trained epoch to go on from.", folder=folder)
    model = load_trained_model(folder / "model.keras")
    return ResumableRun(folder, project, Continuation(model, epochs, history))
