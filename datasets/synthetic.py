"""Two-feature point sets in the spirit of the TensorFlow Playground, drawn from a seed.

Points lie roughly within [-1, 1] on both axes (moons reach to 2), so their
decision boundary can be drawn as is; they are not standardised. Every set
draws from a numpy `Generator` seeded with `choice.seed`, so the same choice
always gives the same points, and adds Gaussian noise with standard deviation
`choice.noise` (to both coordinates of a point, or to the target of `plane`).
The spiral's arms lie closer together than the other sets' classes, so its
noise is `SPIRAL_NOISE_SCALE` times `choice.noise`: at the default 0.1 the arms
stay separable (about 99% for a nearest-neighbour vote) instead of blurring
into each other (about 82%).
"""

from __future__ import annotations

import numpy as np

from datasets.base import CLASSIFICATION, REGRESSION
from datasets.choice import DatasetChoice
from datasets.unsplit import ArrayFeatures, UnsplitData
from models.errors import UserError
from models.text import Text

MAX_SAMPLES = 1_000_000
POINT_FEATURES = ["x1", "x2"]

SPIRAL_TURNS = 1.75
SPIRAL_NOISE_SCALE = 0.5
PLANE_WEIGHTS = (2.0, -1.0)

# Dive into Deep Learning, section 3.2 ("Linear Regression Implementation from Scratch").
LINEAR_WEIGHTS = (2.0, -3.4)
LINEAR_BIAS = 4.2
LINEAR_NOISE = 0.01
LINEAR_SAMPLES = 1000


def _class_sizes(samples: int) -> tuple[int, int]:
    """Splits `samples` into two nearly equal class sizes."""
    return samples // 2, samples - samples // 2


def _labels(sizes: tuple[int, int]) -> np.ndarray:
    return np.repeat(np.arange(2, dtype=np.int32), sizes)


def _add_noise(points: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    return points + rng.normal(0.0, noise, size=points.shape)


def _polar(radius: np.ndarray, angle: np.ndarray) -> np.ndarray:
    return np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])


def make_circles(
    samples: int, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A disc of radius 0.5 (class 0) inside a ring from 0.7 to 1 (class 1)."""
    inner, outer = _class_sizes(samples)
    radius = np.concatenate([rng.uniform(0.0, 0.5, inner), rng.uniform(0.7, 1.0, outer)])
    angle = rng.uniform(0.0, 2 * np.pi, samples)
    return _add_noise(_polar(radius, angle), noise, rng), _labels((inner, outer))


def make_xor(samples: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Quadrants: class 1 where x1 and x2 have the same sign, class 0 where they differ."""
    sizes = _class_sizes(samples)
    padding = 0.05  # keeps points off the axes, where the class would be ambiguous
    magnitude = rng.uniform(padding, 1.0, size=(samples, 2))
    first_sign = rng.choice([-1.0, 1.0], size=samples)
    same_sign = np.repeat([False, True], sizes)
    second_sign = np.where(same_sign, first_sign, -first_sign)
    points = magnitude * np.column_stack([first_sign, second_sign])
    return _add_noise(points, noise, rng), _labels(sizes)


def make_gauss(
    samples: int, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Two round Gaussian blobs of spread 0.25, around (-0.5, -0.5) and (0.5, 0.5)."""
    sizes = _class_sizes(samples)
    centres = np.repeat(np.array([[-0.5, -0.5], [0.5, 0.5]]), sizes, axis=0)
    points = centres + rng.normal(0.0, 0.25, size=(samples, 2))
    return _add_noise(points, noise, rng), _labels(sizes)


def make_spiral(
    samples: int, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved arms turning `SPIRAL_TURNS` times from the centre to radius 1.

    The second arm is the first turned by half a circle, so neighbouring arms of
    different classes are only about 0.29 apart: a small tanh network needs many
    epochs to wind its boundary between them. The noise's standard deviation is
    `SPIRAL_NOISE_SCALE` times `noise`.
    """
    sizes = _class_sizes(samples)
    labels = _labels(sizes)
    progress = rng.uniform(0.0, 1.0, samples)  # 0 at the centre, 1 at the outer end
    radius = 0.05 + 0.95 * progress
    angle = SPIRAL_TURNS * 2 * np.pi * progress + np.pi * labels
    return _add_noise(_polar(radius, angle), SPIRAL_NOISE_SCALE * noise, rng), labels


def make_moons(
    samples: int, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles, as in scikit-learn's `make_moons`."""
    upper, lower = _class_sizes(samples)
    upper_angle = rng.uniform(0.0, np.pi, upper)
    lower_angle = rng.uniform(0.0, np.pi, lower)
    points = np.concatenate(
        [
            np.column_stack([np.cos(upper_angle), np.sin(upper_angle)]),
            np.column_stack([1.0 - np.cos(lower_angle), 0.5 - np.sin(lower_angle)]),
        ]
    )
    return _add_noise(points, noise, rng), _labels((upper, lower))


def make_plane(
    samples: int, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform in [-1, 1]² with target ``2·x1 − 1·x2`` plus noise."""
    points = rng.uniform(-1.0, 1.0, size=(samples, 2))
    target = points @ np.array(PLANE_WEIGHTS) + rng.normal(0.0, noise, samples)
    return points, target


def make_linear(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The linear regression data of Dive into Deep Learning.

    1000 rows of X ~ N(0, 1) with 2 features and y = X·[2, −3.4] + 4.2 + noise
    with σ = 0.01. The sample count and noise settings are ignored so a trained
    model recovers exactly these weights and bias.
    """
    x = rng.normal(0.0, 1.0, size=(LINEAR_SAMPLES, 2))
    y = x @ np.array(LINEAR_WEIGHTS) + LINEAR_BIAS + rng.normal(0.0, LINEAR_NOISE, LINEAR_SAMPLES)
    return x, y


CLASS_NAMES = {
    "circles": ["inside", "outside"],
    "xor": ["different signs", "same signs"],
    "gauss": ["lower left", "upper right"],
    "spiral": ["arm A", "arm B"],
    "moons": ["upper moon", "lower moon"],
}

_CLASSIFIERS = {
    "circles": make_circles,
    "xor": make_xor,
    "gauss": make_gauss,
    "spiral": make_spiral,
    "moons": make_moons,
}


def _check_samples(samples: int) -> None:
    if samples > MAX_SAMPLES:
        raise UserError.of("dataset samples must be at most {max_samples} for a point set (got {samples}); choose "
                           "fewer samples.", max_samples=f"{MAX_SAMPLES:,}", samples=f"{samples:,}")


def load_points(choice: DatasetChoice) -> UnsplitData:
    """Draws the two-class point set named `choice.name`.

    Args:
        choice: uses `name`, `samples` (total points, train and test together),
            `noise` and `seed`.
    """
    _check_samples(choice.samples)
    rng = np.random.default_rng(choice.seed)
    x, y = _CLASSIFIERS[choice.name](choice.samples, choice.noise, rng)
    return UnsplitData(
        task=CLASSIFICATION,
        features=ArrayFeatures(x, list(POINT_FEATURES)),
        y=y,
        target_name="class",
        class_names=list(CLASS_NAMES[choice.name]),
    )


def load_plane(choice: DatasetChoice) -> UnsplitData:
    """Draws the `plane` regression set from `choice.samples`, `noise` and `seed`."""
    _check_samples(choice.samples)
    x, y = make_plane(choice.samples, choice.noise, np.random.default_rng(choice.seed))
    return UnsplitData(task=REGRESSION, features=ArrayFeatures(x, list(POINT_FEATURES)), y=y)


def load_linear(choice: DatasetChoice) -> UnsplitData:
    """Draws the Dive into Deep Learning linear data from `choice.seed` (features not standardised)."""
    x, y = make_linear(np.random.default_rng(choice.seed))
    return UnsplitData(
        task=REGRESSION,
        features=ArrayFeatures(x, list(POINT_FEATURES)),
        y=y,
        notes=[
            Text("1000 rows of y = 2·x1 − 3.4·x2 + 4.2 plus noise of 0.01; the samples and "
                 "noise settings do not apply to this set.")
        ],
    )
