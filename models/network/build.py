"""Turning a project into a compiled Keras model: the one place that does it.

Every path that builds a model (training, K-fold, loading a weights file)
calls `build_model` with the data set's `input_scale` and `target_scale`, so
the model takes raw values and gives values in the target's own units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from datasets.base import CLASSIFICATION
from models.errors import UserError
from models.network.spec import BatchNormLayer, DenseLayer, DropoutLayer, Project


@dataclass(frozen=True)
class OutputPlan:
    """What the output layer, the loss, the metric and the targets look like.

    Attributes:
        units: width of the output layer.
        activation: its activation.
        loss: the Keras loss name actually used.
        metric: the Keras name of the task's metric (`"accuracy"` or `"mae"`).
        target: how labels are fed: `"index"` (class numbers), `"binary"`
            (0/1 floats, one column), `"onehot"`, or `"value"` (regression).
    """

    units: int
    activation: str
    loss: str
    metric: str
    target: str


def resolve_output(project: Project, task: str, n_classes: int) -> OutputPlan:
    """Chooses the output layer and loss from the task, honouring the user's overrides.

    Raises:
        UserError: when the chosen activation and loss cannot work together
            for this task, in a sentence that says what would.
    """
    activation, loss = project.output.activation, project.output.loss
    if task != CLASSIFICATION:
        activation = "linear" if activation == "auto" else activation
        loss = "mse" if loss == "auto" else loss
        if loss in ("binary_crossentropy", "categorical_crossentropy"):
            raise UserError("cross-entropy needs classes, but this data set is a regression: use MSE, MAE or Huber.")
        if activation == "softmax":
            # Softmax over the one output unit is always exactly 1: the loss could never move.
            raise UserError("a softmax output over a regression's one unit is always 1, so it cannot predict a number: "
                            "set the output activation to linear (or auto).")
        return OutputPlan(1, activation, loss, "mae", "value")
    if n_classes < 2:
        raise UserError("classification needs at least two classes in the target.")
    if activation == "auto":
        activation = "sigmoid" if n_classes == 2 and loss in ("auto", "binary_crossentropy") else "softmax"
    if activation == "sigmoid" and n_classes > 2:
        raise UserError.of("a sigmoid output has one unit for two classes, but there are {n_classes}: use softmax.",
                           n_classes=n_classes)
    units = 1 if activation == "sigmoid" else n_classes
    if loss == "auto":
        loss = "binary_crossentropy" if units == 1 else "categorical_crossentropy"
    if loss == "binary_crossentropy" and units != 1:
        raise UserError("binary cross-entropy needs a one-unit sigmoid output: set the output to sigmoid (two classes) or the loss to categorical cross-entropy.")
    if loss == "categorical_crossentropy" and units == 1:
        raise UserError("categorical cross-entropy needs a softmax output with one unit per class.")
    if units == 1:
        return OutputPlan(1, activation, loss, "accuracy", "binary")
    if loss == "categorical_crossentropy":
        # Class numbers with the sparse loss: the same mathematics without a one-hot copy.
        return OutputPlan(units, activation, "sparse_categorical_crossentropy", "accuracy", "index")
    return OutputPlan(units, activation, loss, "accuracy", "onehot")


def encode_targets(y: np.ndarray, plan: OutputPlan) -> np.ndarray:
    """Labels in the form the plan's loss expects."""
    if plan.target == "index":
        return y.astype(np.int32)
    if plan.target == "onehot":
        return np.eye(plan.units, dtype=np.float32)[y.astype(np.int64)]
    return y.astype(np.float32).reshape(len(y), -1)


def _regularizer(keras, layer: DenseLayer):
    if layer.l1 > 0 and layer.l2 > 0:
        return keras.regularizers.L1L2(l1=layer.l1, l2=layer.l2)
    if layer.l1 > 0:
        return keras.regularizers.L1(layer.l1)
    if layer.l2 > 0:
        return keras.regularizers.L2(layer.l2)
    return None


def _initializer(keras, name: str, seed: int):
    """A seeded initializer, so the same project starts from the same weights."""
    classes = {
        "glorot_uniform": keras.initializers.GlorotUniform,
        "glorot_normal": keras.initializers.GlorotNormal,
        "he_uniform": keras.initializers.HeUniform,
        "he_normal": keras.initializers.HeNormal,
        "lecun_normal": keras.initializers.LecunNormal,
        "random_normal": lambda seed: keras.initializers.RandomNormal(stddev=0.05, seed=seed),
    }
    if name == "zeros":
        return keras.initializers.Zeros()
    return classes[name](seed=seed)


def build_layers(keras, project: Project, n_features: int, plan: OutputPlan, target_scale=None,
                 input_scale=None) -> list:
    """The Keras layers of the network, input first; leaky ReLU becomes its own layer.

    ``input_scale`` (means, sds) puts a fixed standardising layer first, so
    the model takes raw values; ``target_scale`` (mean, sd) appends
    ``y = z·sd + mean`` after the output (see `Dataset`).
    """
    seed = project.training.seed
    layers = [keras.Input(shape=(n_features,), name="features")]
    moved, noise = augmentation_layers(keras, project.augmentation, n_features, seed)
    layers += moved  # images move in their own pixels, before those are standardised
    if input_scale is not None:
        layers.append(standardizing_layer(keras, *model_input_scale(project, n_features, input_scale)))
    layers += noise
    width = n_features
    for index, spec in enumerate(project.layers, start=1):
        if isinstance(spec, DenseLayer):
            leaky = spec.activation == "leaky_relu"
            layers.append(keras.layers.Dense(
                spec.units,
                activation=None if leaky else spec.activation,
                use_bias=spec.use_bias,
                kernel_initializer=_initializer(keras, spec.kernel_initializer, seed + index),
                kernel_regularizer=_regularizer(keras, spec),
                name=f"dense_{index}",
            ))
            if leaky:
                layers.append(keras.layers.LeakyReLU(negative_slope=spec.negative_slope, name=f"leaky_relu_{index}"))
            if spec.residual:  # output + input (through a learned projection P when the widths differ)
                if width != spec.units:
                    layers.append(keras.layers.Dense(spec.units, use_bias=False, name=f"{RESIDUAL_PROJECTION}{index}",
                                                     kernel_initializer=_initializer(keras, "glorot_uniform",
                                                                                     seed + 500 + index)))
                layers.append(keras.layers.Add(name=f"{RESIDUAL_ADD}{index}"))
            width = spec.units
        elif isinstance(spec, DropoutLayer):
            layers.append(keras.layers.Dropout(spec.rate, seed=seed + index, name=f"dropout_{index}"))
        elif isinstance(spec, BatchNormLayer):
            layers.append(keras.layers.BatchNormalization(momentum=spec.momentum, name=f"batch_norm_{index}"))
    layers.append(keras.layers.Dense(
        plan.units, activation=plan.activation,
        kernel_initializer=_initializer(keras, "glorot_uniform", seed), name="output",
    ))
    if target_scale is not None:
        mean, spread = target_scale
        layers.append(keras.layers.Rescaling(scale=spread, offset=mean, name="target_scale"))
    return layers


RESIDUAL_PROJECTION = "residual_projection_"  # + the Dense layer's number: the skip's P
RESIDUAL_ADD = "residual_add_"  # + the Dense layer's number: output + skip


def is_network_dense(layer) -> bool:
    """Whether ``layer`` is one of the network's Dense layers (not a residual skip's projection)."""
    import keras

    return isinstance(layer, keras.layers.Dense) and not layer.name.startswith(RESIDUAL_PROJECTION)


def has_residual(layers) -> bool:
    return any(getattr(layer, "name", "").startswith(RESIDUAL_ADD) for layer in layers)


def assemble(keras, layers: list, name: str = "network"):
    """A model from `build_layers`' list: a ``keras.Sequential``, or, when a layer is residual, the same
    layers wired with the functional API (``dense_i``'s input skips to ``residual_add_i``, through
    ``residual_projection_i`` when there is one)."""
    if not has_residual(layers):
        return keras.Sequential(layers, name=name)
    inputs = layers[0] if not isinstance(layers[0], keras.layers.Layer) else keras.Input(layers[0].input_shape[1:])
    by_name = {layer.name: layer for layer in layers[1:]}
    h, block_inputs = inputs, {}
    for layer in layers[1:]:
        if layer.name.startswith(RESIDUAL_PROJECTION):
            continue  # applied at its Add, to the block's input
        if layer.name.startswith("dense_"):
            block_inputs[layer.name[len("dense_"):]] = h
        if layer.name.startswith(RESIDUAL_ADD):
            number = layer.name[len(RESIDUAL_ADD):]
            skip = block_inputs[number]
            projection = by_name.get(f"{RESIDUAL_PROJECTION}{number}")
            h = layer([h, projection(skip) if projection is not None else skip])
        else:
            h = layer(h)
    return keras.Model(inputs, h, name=name)


AUGMENTATION_PREFIX = "augment_"  # the names of the layers that act only while training
INTERPOLATION = "nearest"


def square_image_shape(n_features: int) -> tuple[int, int] | None:
    """``(side, side)`` when the inputs are a square image's pixels (digits 8×8, MNIST 28×28), else `None`."""
    side = math.isqrt(n_features)
    return (side, side) if side * side == n_features and side > 1 else None


def has_square_images(dataset) -> bool:
    """Whether ``dataset``'s rows are square images, which augmentation can shift, turn and zoom."""
    return dataset.image_shape is not None and square_image_shape(dataset.n_features) is not None


def image_moves_problem(project: Project, dataset):
    """A sentence when ``project`` moves images (shift, rotation, zoom) and ``dataset``'s rows are none; else `None`."""
    from models.text import Text

    if project.augmentation.moves_images and not has_square_images(dataset):
        return Text("shift, rotation and zoom move the pixels of images, and this data set's rows are not "
                    "images: use augmentation noise instead.")
    return None


def augmentation_layers(keras, spec, n_features: int, seed: int) -> tuple[list, list]:
    """The Keras layers of data augmentation: ``(image moves, noise)``, each empty when off.

    They are Keras's preprocessing layers, which change their inputs only while the model trains
    (``training=True``) and pass them through unchanged when it predicts, so a saved or exported
    model answers as one without them. An image is reshaped to ``side × side × 1`` for the moves and
    flattened back; the empty border a move uncovers is filled with 0, the background of the digit
    sets. The noise is added after the inputs are standardised.
    """
    moves = []
    shape = square_image_shape(n_features)
    if spec.moves_images and shape is not None:
        fill = {"fill_mode": "constant", "fill_value": 0.0, "interpolation": INTERPOLATION}
        moves.append(keras.layers.Reshape((*shape, 1), name=f"{AUGMENTATION_PREFIX}image"))
        if spec.shift > 0:
            moves.append(keras.layers.RandomTranslation(spec.shift, spec.shift, seed=seed + 1001,
                                                        name=f"{AUGMENTATION_PREFIX}shift", **fill))
        if spec.rotate > 0:
            moves.append(keras.layers.RandomRotation(spec.rotate / 360.0, seed=seed + 1002,
                                                     name=f"{AUGMENTATION_PREFIX}rotate", **fill))
        if spec.zoom > 0:
            moves.append(keras.layers.RandomZoom(spec.zoom, spec.zoom, seed=seed + 1003,
                                                 name=f"{AUGMENTATION_PREFIX}zoom", **fill))
        moves.append(keras.layers.Reshape((n_features,), name=f"{AUGMENTATION_PREFIX}pixels"))
    noise = [keras.layers.GaussianNoise(spec.noise, seed=seed + 1004, name=f"{AUGMENTATION_PREFIX}noise")] \
        if spec.noise > 0 else []
    return moves, noise


def model_input_scale(project: Project, n_features: int, input_scale):
    """The (means, sds) the model's first layer standardises with: each input's own, or, when augmentation
    moves images, the statistics of all pixels together.

    A moved image puts ink where the training images never had any; a border pixel's own spread is
    near 0 (digits), so standardising it by its own statistics would turn that ink into values in the
    hundreds. One mean and spread for every pixel keeps a moved image's values in range.
    """
    if input_scale is None or not project.augmentation.moves_images or square_image_shape(n_features) is None:
        return input_scale
    mean, spread = (np.asarray(part, dtype=np.float64) for part in input_scale)
    pooled_mean = float(mean.mean())
    pooled_spread = float(np.sqrt(max(np.mean(spread ** 2 + mean ** 2) - pooled_mean ** 2, 1e-12)))
    return np.full(n_features, pooled_mean), np.full(n_features, pooled_spread)


def inference_model(model):
    """``model`` without its data augmentation layers, sharing its other layers (so its weights): what an
    export holds.

    Keras's image augmentation layers transform their inputs when called without ``training``, as a
    SavedModel's, LiteRT's or ONNX's serving function calls them (a SavedModel of a model with
    RandomRotation predicted up to 0.37 away from the model's own ``predict``), so the exports leave them
    out; the run folder's model.keras keeps them, to train on.
    """
    import keras

    kept = [layer for layer in model.layers if not layer.name.startswith(AUGMENTATION_PREFIX)
            and not isinstance(layer, keras.layers.InputLayer)]
    if len(kept) == len([layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]):
        return model
    return assemble(keras, [keras.Input(shape=model.input_shape[1:], name="features"), *kept], model.name)


def standardizing_layer(keras, mean, std):
    """A fixed Keras ``Rescaling`` layer that standardises raw inputs: ``x·(1/std) − mean/std``.

    It has nothing to learn, is saved inside the model file, and every export
    format carries it as one multiplication and one addition. (Keras's
    ``Normalization`` layer with a given mean and variance holds them as
    tensors captured outside the graph, which the ONNX converter turns into
    two extra inputs the caller would have to feed.)
    """
    mean = np.asarray(mean, dtype=np.float64)
    std = np.asarray(std, dtype=np.float64)
    return keras.layers.Rescaling(scale=(1.0 / std).astype(np.float32), offset=(-mean / std).astype(np.float32),
                                  name="standardize")


def make_optimizer(keras, project: Project, steps_per_epoch: int):
    """The Keras optimizer with its learning rate or schedule."""
    spec, schedule = project.optimizer, project.schedule
    settings = spec.keras_settings()
    if schedule.name == "exponential_decay":
        settings["learning_rate"] = keras.optimizers.schedules.ExponentialDecay(
            spec.learning_rate, decay_steps=max(1, round(schedule.decay_epochs * steps_per_epoch)),
            decay_rate=schedule.decay_rate,
        )
    elif schedule.name == "cosine_decay":
        epochs = schedule.decay_epochs or project.training.epochs
        settings["learning_rate"] = keras.optimizers.schedules.CosineDecay(
            spec.learning_rate, decay_steps=max(1, round(epochs * steps_per_epoch)), alpha=schedule.alpha,
        )
    classes = {
        "sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop, "adam": keras.optimizers.Adam,
        "adamw": keras.optimizers.AdamW, "adagrad": keras.optimizers.Adagrad,
        "adadelta": keras.optimizers.Adadelta, "nadam": keras.optimizers.Nadam,
    }
    return classes[spec.name](**settings)


def make_metric(keras, plan: OutputPlan):
    """The task's metric under Keras's short name (`accuracy` or `mae`)."""
    if plan.metric == "mae":
        return keras.metrics.MeanAbsoluteError(name="mae")
    if plan.target == "binary":
        return keras.metrics.BinaryAccuracy(name="accuracy")
    if plan.target == "index":
        return keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    return keras.metrics.CategoricalAccuracy(name="accuracy")


def metric_function(keras, plan: OutputPlan):
    """The per-row function behind `make_metric`'s metric (a row's accuracy, 0 or 1, or its absolute error)."""
    if plan.metric == "mae":
        return keras.metrics.mean_absolute_error
    return {"binary": keras.metrics.binary_accuracy, "index": keras.metrics.sparse_categorical_accuracy}.get(
        plan.target, keras.metrics.categorical_accuracy)


def build_model(
    project: Project,
    n_features: int,
    task: str,
    n_classes: int,
    steps_per_epoch: int = 1,
    steps_per_execution: int = 1,
    jit_compile: bool | str = "auto",
    target_scale: tuple[float, float] | None = None,
    input_scale: tuple[np.ndarray, np.ndarray] | None = None,
):
    """Builds and compiles the Keras model a project describes.

    Args:
        project: a valid project (see `Project.validate`).
        n_features: the input width.
        task: `"classification"` or `"regression"`.
        n_classes: the number of classes (ignored for regression).
        steps_per_epoch: used to express schedules in epochs. Defaults to `1`.
        steps_per_execution: batches run per call into TensorFlow. Defaults to `1`.
        jit_compile: passed to `Model.compile`. Defaults to `"auto"`.
        target_scale: a regression target's training (mean, sd), undone by the
            last layer; see `Dataset.target_scale`. Defaults to `None`.
        input_scale: per-input (mean, sd) that the first layer standardises
            raw values with; see `Dataset.input_scale`. Defaults to `None`.

    Returns:
        A compiled `keras.Sequential` named after the project.
    """
    import keras

    project.validate()
    plan = resolve_output(project, task, n_classes)
    loss = {"huber": keras.losses.Huber(name="huber")}.get(plan.loss, plan.loss)
    model = assemble(keras, build_layers(keras, project, n_features, plan, target_scale, input_scale))
    model.compile(
        optimizer=make_optimizer(keras, project, steps_per_epoch),
        loss=loss,
        metrics=[make_metric(keras, plan)],
        steps_per_execution=steps_per_execution,
        jit_compile=jit_compile,
    )
    return model


def reset_weights(model, project: Project, n_features: int, plan: OutputPlan, target_scale=None,
                  input_scale=None) -> None:
    """Gives a model built from ``project``'s network the weights `build_model` would start it from.

    Every variable takes its value from the initializer of a freshly made
    layer of the same name (seeded from ``project.training.seed`` as
    `build_layers` seeds it), and a dropout layer's random state starts again,
    so a model reused for another run trains exactly as a new one would.
    """
    import keras

    fresh = {layer.name: layer for layer in build_layers(keras, project, n_features, plan, target_scale, input_scale)
             if isinstance(layer, keras.layers.Layer)}
    for layer in model.layers:
        if not layer.variables:  # the functional model's input layer, reshapes, Adds: nothing to reset
            continue
        new = fresh[layer.name]
        for variable in layer.variables:
            if variable.name == "seed_generator_state":  # Dropout's and GaussianNoise's `seed_generator`,
                # the image augmentation layers' `generator`
                generator = getattr(new, "seed_generator", None) or new.generator
                variable.assign(generator.state.value)
            else:
                variable.assign(getattr(new, f"{variable.name}_initializer")(variable.shape, variable.dtype))
