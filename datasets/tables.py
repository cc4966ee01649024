"""Small real tables that ship inside scikit-learn, so nothing is downloaded.

Features stay in their own units; the model's first layer standardises them
with statistics of the training rows only, the digits' pixels (0 to 16)
included: with only about 1,400 training images, a network reaches the
textbook MNIST recipe's accuracy in five epochs only when each pixel is
centred and scaled. The diabetes target is left in its own units (the network
undoes its scale, see `Dataset.target_scale`).
"""

from __future__ import annotations

import numpy as np

from datasets.base import CLASSIFICATION, REGRESSION
from datasets.choice import DatasetChoice
from datasets.unsplit import ArrayFeatures, UnsplitData
from models.scikit_learn import datasets as sklearn_datasets
from models.text import Text

_CLASSIFICATION_LOADERS = {
    "iris": sklearn_datasets.load_iris,
    "wine": sklearn_datasets.load_wine,
    "breast_cancer": sklearn_datasets.load_breast_cancer,
}

_TARGET_NAMES = {
    "iris": "species",
    "wine": "cultivar",
    "breast_cancer": "diagnosis",
    "digits": "digit",
    "diabetes": "disease progression after one year",
}


def load_table(choice: DatasetChoice) -> UnsplitData:
    """Loads the scikit-learn table named `choice.name` (only the name is used)."""
    if choice.name == "digits":
        return _load_digits()
    if choice.name == "diabetes":
        return _load_diabetes()
    bunch = _CLASSIFICATION_LOADERS[choice.name]()
    return UnsplitData(
        task=CLASSIFICATION,
        features=ArrayFeatures(bunch.data, [str(n) for n in bunch.feature_names], scale=True),
        y=bunch.target.astype(np.int32),
        target_name=_TARGET_NAMES[choice.name],
        class_names=[str(n) for n in bunch.target_names],
        notes=[_STANDARDISED],
    )


_STANDARDISED = Text("The model standardises each feature with the training rows' mean and standard deviation, "
                     "so it takes values in their own units.")


def _load_digits() -> UnsplitData:
    bunch = sklearn_datasets.load_digits()
    return UnsplitData(
        task=CLASSIFICATION,
        features=ArrayFeatures(  # pixel values run from 0 to 16
            bunch.data, [f"pixel_{i}" for i in range(64)], scale=True, pixel_range=16.0
        ),
        y=bunch.target.astype(np.int32),
        target_name=_TARGET_NAMES["digits"],
        class_names=[str(n) for n in bunch.target_names],
        image_shape=(8, 8),
        notes=[Text("Pixels run from 0 to 16; the model standardises each with the training images' mean and "
                    "standard deviation for that pixel.")],
    )


def _load_diabetes() -> UnsplitData:
    bunch = sklearn_datasets.load_diabetes(scaled=False)
    return UnsplitData(
        task=REGRESSION,
        features=ArrayFeatures(bunch.data, [str(n) for n in bunch.feature_names], scale=True),
        y=bunch.target.astype(np.float32),
        target_name=_TARGET_NAMES["diabetes"],
        notes=[_STANDARDISED],
    )
