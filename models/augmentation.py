"""A few training rows as the network sees them under data augmentation (`augmented_samples`).

The same Keras layers the model puts in front of its first Dense layer
(`models.network.build.augmentation_layers`), called with ``training=True`` on
a handful of training rows: images moved (shift, rotation, zoom) in their own
pixels, and the noise added to the standardised inputs, shown back in the
data's own units so the preview can draw it over the originals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.errors import UserError


@dataclass
class AugmentedSamples:
    """Original training rows and the versions of them one draw of augmentation gives.

    Attributes:
        originals: ``(rows, features)`` as the data set has them.
        augmented: ``(draws, rows, features)``, each draw a new random change of every row.
        image_shape: ``(height, width)`` when the rows are images, else `None`.
        labels: the rows' targets (class numbers or values).
    """

    originals: np.ndarray
    augmented: np.ndarray
    image_shape: tuple[int, int] | None
    labels: np.ndarray


def augmented_samples(project, dataset, rows: int = 8, draws: int = 3, seed: int = 0) -> AugmentedSamples:
    """``draws`` random augmentations of ``rows`` training rows of ``dataset`` under ``project.augmentation``.

    Raises:
        UserError: when the project moves images and the data set's rows are not images.
    """
    import keras

    from models.network.build import augmentation_layers, has_square_images, image_moves_problem

    problem = image_moves_problem(project, dataset)
    if problem is not None:
        raise UserError(problem)
    spec = project.augmentation
    shape = dataset.image_shape if has_square_images(dataset) else None
    picked = np.random.default_rng(seed).choice(len(dataset.x_train), size=min(rows, len(dataset.x_train)),
                                                replace=False)
    originals = np.asarray(dataset.x_train[picked], dtype=np.float32)
    moves, _ = augmentation_layers(keras, spec, dataset.n_features, seed)
    spread = _input_spread(project, dataset)
    rng = np.random.default_rng(seed + 1)
    augmented = []
    for _ in range(draws):
        x = originals
        for layer in moves:
            x = layer(x, training=True)
        x = np.asarray(x, dtype=np.float32)
        if spec.noise > 0:  # added to the standardised inputs: σ·sd in the data's own units
            x = x + rng.normal(0.0, spec.noise, size=x.shape).astype(np.float32) * spread
        augmented.append(x)
    return AugmentedSamples(originals, np.stack(augmented), shape, np.asarray(dataset.y_train[picked]))


def _input_spread(project, dataset) -> np.ndarray:
    """Per input, what one unit of the model's standardised scale is in the data's own units (the pooled
    spread of all pixels when images move, as the model standardises them)."""
    from models.network.build import model_input_scale

    if dataset.input_scale is None:
        return np.ones(dataset.n_features, dtype=np.float32)
    return np.asarray(model_input_scale(project, dataset.n_features, dataset.input_scale)[1], dtype=np.float32)
