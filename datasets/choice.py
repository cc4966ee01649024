"""Which data set a project uses, and with what settings, as plain data."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import ClassVar

from models.network.plain import (
    Range,
    check_ranges,
    dataclass_from_dict,
    is_writable_text,
    shown_value,
)
from models.text import Text

MISSING_VALUE_CHOICES = ("drop", "fill")
TASK_CHOICES = ("auto", "classification", "regression")
# The ranges of the numbers; the window's controls take theirs from these.
MIN_SAMPLES = 10
MAX_SAMPLES = 1_000_000
MAX_NOISE = 10.0
MIN_TEST_FRACTION = 0.05
MAX_TEST_FRACTION = 0.5
MAX_SEED = 2**31 - 1
MAX_EXCLUDED = 10_000  # columns a project may leave out of a CSV
# The same words as datasets.base's; importing it here would pull in numpy.
CLASSIFICATION = "classification"
REGRESSION = "regression"


@dataclass
class DatasetChoice:
    """A data set from the registry and the settings it is loaded with.

    Args:
        name: registry name, such as `"spiral"`, `"digits"` or `"csv"`.
            Defaults to `"spiral"`.
        samples: how many points a synthetic set draws, 10 to 1,000,000.
            Defaults to `600`.
        noise: the noise level of a synthetic set, 0 to 10 (its meaning
            depends on the set: a standard deviation for most). Defaults to `0.1`.
        test_fraction: share of the rows held back as the test set, 0.05 to
            0.5. Defaults to `0.2`.
        seed: seed for drawing synthetic data and for the train/test split,
            0 to 2**31 - 1. Defaults to `0`.
        data_file: a local file: the CSV for `"csv"`, or a downloaded
            `mnist.npz` / idx files folder for `"mnist"` and `"fashion_mnist"`.
            Defaults to `""` (none).
        target: the CSV column to predict. Defaults to `""`.
        missing: what to do with CSV rows that have missing values: `"drop"`
            them, or `"fill"` them (median for numbers, most frequent for text).
            Defaults to `"drop"`.
        task: for a CSV file, `"classification"` or `"regression"`, or
            `"auto"` to let the target column decide (text, true/false, or at
            most 20 different whole numbers mean classification). Other sets
            have a fixed task. Defaults to `"auto"`.
        exclude: CSV columns left out of the inputs (a column that gives the
            answer away, an id). Defaults to none.
    """

    name: str = "spiral"
    samples: int = 600
    noise: float = 0.1
    test_fraction: float = 0.2
    seed: int = 0
    data_file: str = ""
    target: str = ""
    missing: str = "drop"
    task: str = "auto"
    exclude: list = field(default_factory=list)

    # The values each number may take: (least, greatest, whole numbers only).
    RANGES: ClassVar[dict[str, Range]] = {
        "samples": Range(MIN_SAMPLES, MAX_SAMPLES, whole=True),
        "noise": Range(0, MAX_NOISE),
        "test_fraction": Range(MIN_TEST_FRACTION, MAX_TEST_FRACTION, label="test fraction"),
        "seed": Range(0, MAX_SEED, whole=True),
    }

    def problems(self) -> list[str]:
        """Every reason these settings cannot be loaded, as sentences.

        Never raises, whatever types the fields hold: a choice can be built
        directly as well as from a checked JSON object.
        """
        return self.value_problems() + self.readiness_problems()

    def readiness_problems(self) -> list[str]:
        """What is still to be chosen before loading (a CSV's file and target), as sentences.

        A project may be saved and opened with these unanswered; it cannot be trained.
        """
        found = []
        is_csv = isinstance(self.name, str) and self.name == "csv"
        if is_csv and not _is_given_path(self.data_file):
            found.append(Text("dataset 'csv' needs a file: choose a CSV file."))
        if is_csv and not (isinstance(self.target, str) and self.target.strip()):
            found.append(Text("dataset 'csv' needs a target column: name the column to predict."))
        return found

    def value_problems(self) -> list[str]:
        """Every setting that holds a value it may not, as sentences."""
        from datasets.registry import DATASETS  # the registry imports this module

        found = []
        if not isinstance(self.name, str) or self.name not in DATASETS:
            # The registry's own words for an unknown name.
            found.append(Text.of("Unknown data set {name}; choose one of: {datasets}.",
                                 name=shown_value(self.name), datasets=", ".join(DATASETS)))
        check_ranges(found, "dataset ", self, self.RANGES)
        if not _is_one_of(self.missing, MISSING_VALUE_CHOICES):
            found.append(
                Text.of("dataset missing-value choice must be 'drop' or 'fill' (got {missing}).",
                        missing=shown_value(self.missing))
            )
        for name in ("data_file", "target"):
            value = getattr(self, name)
            if isinstance(value, str) and not is_writable_text(value):
                found.append(Text.of("dataset {setting} holds characters that are not valid UTF-8 (a file name in "
                                     "another encoding?): rename the file, or choose another.",
                                     setting=name.replace('_', ' ')))
        if not isinstance(self.exclude, list) or not all(
                isinstance(name, str) and is_writable_text(name) for name in self.exclude):
            found.append(Text("dataset exclude must be a list of column names."))
        elif len(self.exclude) > MAX_EXCLUDED:
            # Every edit copies the project on the window's thread: half a million names stalled it 0.7 s.
            found.append(Text.of("dataset exclude names {count} columns; at most {max_excluded} can be left out.",
                                 count=f"{len(self.exclude):,}", max_excluded=f"{MAX_EXCLUDED:,}"))
        if not _is_one_of(self.task, TASK_CHOICES):
            found.append(
                Text.of("dataset task must be 'auto', 'classification' or 'regression' (got {task}).",
                        task=shown_value(self.task))
            )
        elif self.task != "auto" and isinstance(self.name, str) and self.name in DATASETS:
            fixed = DATASETS[self.name].task
            if fixed in (CLASSIFICATION, REGRESSION) and fixed != self.task:
                found.append(
                    Text.of("{name} is a {fixed} data set; the task can be chosen only for a CSV file.",
                            name=self.name, fixed=fixed)
                )
        return found

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> DatasetChoice:
        return dataclass_from_dict(cls, data, "dataset")


def _is_one_of(value: object, choices: tuple[str, ...]) -> bool:
    return isinstance(value, str) and value in choices


def _is_given_path(value: object) -> bool:
    return isinstance(value, (str, os.PathLike)) and bool(str(value).strip())
