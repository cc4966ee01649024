"""Which data set a project uses, and with what settings, as plain data."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from models.plain import dataclass_from_dict, shown_value

MISSING_VALUE_CHOICES = ("drop", "fill")


@dataclass
class DatasetChoice:
    """A data set from the registry and the settings it is loaded with.

    Args:
        name: registry name, such as `"spiral"`, `"digits"` or `"csv"`.
            Defaults to `"spiral"`.
        samples: how many points a synthetic set draws. Defaults to `600`.
        noise: the noise level of a synthetic set (its meaning depends on
            the set: a standard deviation for most). Defaults to `0.1`.
        test_fraction: share of the rows held back as the test set.
            Defaults to `0.2`.
        seed: seed for drawing synthetic data and for the train/test split.
            Defaults to `0`.
        data_file: a local file: the CSV for `"csv"`, or a downloaded
            `mnist.npz` / idx files folder for `"mnist"` and `"fashion_mnist"`.
            Defaults to `""` (none).
        target: the CSV column to predict. Defaults to `""`.
        missing: what to do with CSV rows that have missing values: `"drop"`
            them, or `"fill"` them (median for numbers, most frequent for text).
            Defaults to `"drop"`.
    """

    name: str = "spiral"
    samples: int = 600
    noise: float = 0.1
    test_fraction: float = 0.2
    seed: int = 0
    data_file: str = ""
    target: str = ""
    missing: str = "drop"

    def problems(self) -> list[str]:
        """Every reason these settings cannot be loaded, as sentences."""
        return self.value_problems() + self.readiness_problems()

    def readiness_problems(self) -> list[str]:
        """What is still to be chosen before loading (a CSV's file and target), as sentences.

        A project may be saved and opened with these unanswered; it cannot be trained.
        """
        found = []
        if self.name == "csv" and not self.data_file:
            found.append("dataset 'csv' needs a file: choose a CSV file.")
        if self.name == "csv" and not self.target:
            found.append("dataset 'csv' needs a target column: name the column to predict.")
        return found

    def value_problems(self) -> list[str]:
        """Every setting that holds a value it may not, as sentences."""
        from datasets.registry import DATASETS  # the registry imports this module

        found = []
        if not isinstance(self.name, str) or self.name not in DATASETS:
            found.append(f"dataset must be one of {', '.join(DATASETS)} (got {shown_value(self.name)}).")
        if not isinstance(self.samples, int) or self.samples < 10:
            found.append(f"dataset samples must be a whole number of at least 10 (got {self.samples!r}).")
        if not 0 <= self.noise <= 10:
            found.append(f"dataset noise must be between 0 and 10 (got {self.noise!r}).")
        if not 0.05 <= self.test_fraction <= 0.5:
            found.append(f"dataset test fraction must be between 0.05 and 0.5 (got {self.test_fraction!r}).")
        if self.missing not in MISSING_VALUE_CHOICES:
            found.append(f"dataset missing-value choice must be 'drop' or 'fill' (got {self.missing!r}).")
        return found

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> DatasetChoice:
        return dataclass_from_dict(cls, data, "dataset")
