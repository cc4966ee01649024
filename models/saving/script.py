"""Writing a project as a standalone Keras script that trains the same network.

The script imports only numpy and Keras, spells out every layer and setting
that `models.network.build.build_model` would use, and reads its data from a file
saved beside it, so it runs on a machine that has never seen this program.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from datasets.base import Dataset
from models.files import atomic_path, write_text_atomic
from models.network.build import OutputPlan, resolve_output
from models.network.spec import BatchNormLayer, DenseLayer, DropoutLayer, Project

DATA_FILE_NAME = "train_data.npz"
MODEL_FILE_NAME = "model.keras"

_OPTIMIZER_CLASSES = {
    "sgd": "SGD", "rmsprop": "RMSprop", "adam": "Adam", "adamw": "AdamW",
    "adagrad": "Adagrad", "adadelta": "Adadelta", "nadam": "Nadam",
}
_INITIALIZER_CLASSES = {
    "glorot_uniform": "GlorotUniform", "glorot_normal": "GlorotNormal",
    "he_uniform": "HeUniform", "he_normal": "HeNormal", "lecun_normal": "LecunNormal",
}


def write_training_script(project: Project, dataset: Dataset, path: str | Path) -> list[Path]:
    """Writes ``train.py`` and, beside it, the data it trains on; both atomically.

    Args:
        project: a valid project.
        dataset: the loaded `Dataset` the project trains on.
        path: where the script goes, usually ``.../train.py``. The data goes
            into `DATA_FILE_NAME` in the same folder.

    Returns:
        The script's path and the data file's path.

    Raises:
        UserError: when the project is not valid for this data set.
    """
    path = Path(path)
    source = training_script_source(project, dataset, script_name=path.name)
    data_path = path.with_name(DATA_FILE_NAME)
    write_training_data(dataset, data_path)
    write_text_atomic(path, source)
    return [path, data_path]


def write_training_data(dataset: Dataset, path: str | Path) -> None:
    """Saves the data set's arrays and names as a compressed ``.npz``, atomically."""
    arrays = {
        "x_train": np.asarray(dataset.x_train, dtype=np.float32),
        "y_train": np.asarray(dataset.y_train),
        "x_test": np.asarray(dataset.x_test, dtype=np.float32),
        "y_test": np.asarray(dataset.y_test),
        "feature_names": np.array([str(name) for name in dataset.feature_names], dtype=str),
        "class_names": np.array([str(name) for name in dataset.class_names], dtype=str),
    }
    if dataset.input_scale is not None:
        arrays["input_mean"], arrays["input_std"] = (np.asarray(part, dtype=np.float64) for part in dataset.input_scale)
    with atomic_path(path) as temporary, open(temporary, "wb") as file:
        np.savez_compressed(file, **arrays)


def training_script_source(project: Project, dataset: Dataset, script_name: str = "train.py") -> str:
    """The text of the training script for ``project`` on ``dataset``.

    Raises:
        UserError: when the project is not valid for this data set.
    """
    project.validate()
    plan = resolve_output(project, dataset.task, dataset.n_classes)
    parts = [
        _header(project, dataset, script_name),
        _imports_and_settings(project),
        _data_functions(plan),
        _model_function(project, dataset.n_features, plan, dataset.target_scale, dataset.input_scale is not None,
                        dataset.input_scale),
        _optimizer_function(project),
        _callbacks_function(project),
        _main_function(project, plan),
    ]
    return "\n\n\n".join(parts) + '\n\n\nif __name__ == "__main__":\n    main()\n'


# Sections of the script ----------------------------------------------------------


def _header(project: Project, dataset: Dataset, script_name: str) -> str:
    settings = ", ".join(f"{key}={value!r}" for key, value in project.dataset.to_dict().items() if value != "")
    lines = [
        f"Trains the network of the Keras Trainer project {_one_line(project.name)!r}.",
        "",
        f"Data set: {_one_line(dataset.summary())}.",
        f"Loaded by Keras Trainer with {settings}.",
        "",
        "Run it with:",
        "",
        f"    python {script_name}",
        "",
        f"It reads {DATA_FILE_NAME} (x_train, y_train, x_test, y_test, feature_names, "
        "class_names, and input_mean and input_std when the model standardises its raw inputs) from its own folder, trains the same network with the same settings, "
        f"prints the test metrics and saves {MODEL_FILE_NAME} beside itself. "
        "It needs only numpy and Keras 3 with a backend such as TensorFlow.",
    ]
    wrapped = []
    for line in lines:
        keep_indent = line.startswith("    ")
        wrapped += [line] if keep_indent or not line else textwrap.wrap(line, 76, break_long_words=False, break_on_hyphens=False)
    return "\n".join(f"# {line}".rstrip() for line in wrapped)


def _imports_and_settings(project: Project) -> str:
    training = project.training
    return "\n".join([
        "import math",
        "from pathlib import Path",
        "",
        "import keras",
        "import numpy as np",
        "",
        f"SEED = {training.seed}",
        f"EPOCHS = {training.epochs}",
        f"BATCH_SIZE = {training.batch_size}",
        f"VALIDATION_FRACTION = {training.validation_fraction!r}  # of the training rows",
        f"SHUFFLE = {training.shuffle}",
        f'DATA_FILE = Path(__file__).with_name("{DATA_FILE_NAME}")',
        f'MODEL_FILE = Path(__file__).with_name("{MODEL_FILE_NAME}")',
    ])


def _data_functions(plan: OutputPlan) -> str:
    encode_doc, encode_body = _target_encoding(plan)
    return f'''def load_data():
    """The arrays Keras Trainer saved beside this script."""
    with np.load(DATA_FILE) as data:
        return {{name: data[name] for name in data.files}}


def encode_targets(y):
    """{encode_doc}"""
    return {encode_body}


def split_validation(x, y):
    """Holds out VALIDATION_FRACTION of the training rows, picked by a seeded permutation."""
    if VALIDATION_FRACTION == 0:
        return (x, y), None
    order = np.random.default_rng(SEED).permutation(len(x))
    n_validation = math.ceil(len(x) * VALIDATION_FRACTION)
    held_out, kept = order[:n_validation], order[n_validation:]
    return (x[kept], y[kept]), (x[held_out], y[held_out])'''


def _target_encoding(plan: OutputPlan) -> tuple[str, str]:
    """The docstring and expression that turn stored labels into what the loss expects."""
    if plan.target == "index":
        return "Class numbers, as sparse categorical cross-entropy expects.", 'y.astype("int32")'
    if plan.target == "binary":
        return "0 or 1 in one column, as binary cross-entropy expects.", 'y.astype("float32").reshape(-1, 1)'
    if plan.target == "onehot":
        return (
            "One column per class, 1 for the row's class (one-hot).",
            f'np.eye({plan.units}, dtype="float32")[y.astype("int64")]',
        )
    return "The target values as one float column.", 'y.astype("float32").reshape(-1, 1)'


def _model_function(project: Project, n_features: int, plan: OutputPlan, target_scale=None,
                    standardizes: bool = False, input_scale=None) -> str:
    from models.network.build import model_input_scale

    lines = [f'keras.Input(shape=({n_features},), name="features"),']
    moves, noise = _augmentation_lines(project, n_features)
    lines += moves
    pooled = model_input_scale(project, n_features, input_scale) if moves and input_scale is not None else None
    if pooled is not None:  # moved images: one mean and spread for every pixel (see model_input_scale)
        mean, spread = float(pooled[0][0]), float(pooled[1][0])
        lines.append(f'keras.layers.Rescaling(scale=np.full({n_features}, {1 / spread!r}, "float32"), '
                     f'offset=np.full({n_features}, {-mean / spread!r}, "float32"), name="standardize"),')
    elif standardizes:
        lines.append('keras.layers.Rescaling(scale=(1 / data["input_std"]).astype("float32"), '
                     'offset=(-data["input_mean"] / data["input_std"]).astype("float32"), name="standardize"),')
    lines += noise
    lines += _hidden_layer_lines(project, n_features)
    output_init = _initializer_code("glorot_uniform", project.training.seed)
    lines.append(
        f'keras.layers.Dense({plan.units}, activation="{plan.activation}", '
        f'kernel_initializer={output_init}, name="output"),'
    )
    if target_scale is not None:
        mean, spread = target_scale
        lines.append(f'keras.layers.Rescaling(scale={spread!r}, offset={mean!r}, name="target_scale"),')
    body = "\n".join(f"            {line}" for line in lines)
    residual = any(isinstance(layer, DenseLayer) and layer.residual for layer in project.layers)
    sequential = f'''def build_model(data):
    """The network layer by layer, as Keras Trainer builds it.

    It takes raw values: when the data was standardised, its first layer does
    it with the training statistics saved in the data file (input_mean, input_std).
    """
    return {"residual_model" if residual else "keras.Sequential"}(
        [
{body}
        ],
        name="network",
    )'''
    return RESIDUAL_MODEL_CODE + "\n\n\n" + sequential if residual else sequential


# How the script wires a residual network: the layers in order, each dense_N's input carried to
# residual_add_N (through residual_projection_N when the widths differ), as models.network.build.assemble does.
RESIDUAL_MODEL_CODE = '''def residual_model(layers, name):
    """The layers wired with Keras's functional API, with their residual connections."""
    by_name = {layer.name: layer for layer in layers[1:]}
    h, block_inputs = layers[0], {}
    for layer in layers[1:]:
        if layer.name.startswith("residual_projection_"):
            continue  # applied at its Add, to the block's input
        if layer.name.startswith("dense_"):
            block_inputs[layer.name[len("dense_"):]] = h
        if layer.name.startswith("residual_add_"):
            number = layer.name[len("residual_add_"):]
            projection = by_name.get("residual_projection_" + number)
            skip = block_inputs[number]
            h = layer([h, projection(skip) if projection is not None else skip])
        else:
            h = layer(h)
    return keras.Model(layers[0], h, name=name)'''


def _augmentation_lines(project: Project, n_features: int) -> tuple[list[str], list[str]]:
    """The data augmentation layers as `models.network.build.augmentation_layers` makes them, as code."""
    from models.network.build import AUGMENTATION_PREFIX as PREFIX
    from models.network.build import INTERPOLATION, square_image_shape

    spec, seed = project.augmentation, project.training.seed
    moves = []
    shape = square_image_shape(n_features)
    if spec.moves_images and shape is not None:
        fill = f'fill_mode="constant", fill_value=0.0, interpolation="{INTERPOLATION}"'
        moves.append(f'keras.layers.Reshape(({shape[0]}, {shape[1]}, 1), name="{PREFIX}image"),  # moved while training only')
        if spec.shift > 0:
            moves.append(f'keras.layers.RandomTranslation({spec.shift!r}, {spec.shift!r}, {fill}, seed={seed + 1001}, '
                         f'name="{PREFIX}shift"),')
        if spec.rotate > 0:
            moves.append(f'keras.layers.RandomRotation({spec.rotate / 360.0!r}, {fill}, seed={seed + 1002}, '
                         f'name="{PREFIX}rotate"),')
        if spec.zoom > 0:
            moves.append(f'keras.layers.RandomZoom({spec.zoom!r}, {spec.zoom!r}, {fill}, seed={seed + 1003}, '
                         f'name="{PREFIX}zoom"),')
        moves.append(f'keras.layers.Reshape(({n_features},), name="{PREFIX}pixels"),')
    noise = [f'keras.layers.GaussianNoise({spec.noise!r}, seed={seed + 1004}, name="{PREFIX}noise"),'] \
        if spec.noise > 0 else []
    return moves, noise


def _hidden_layer_lines(project: Project, n_features: int) -> list[str]:
    from models.network.build import RESIDUAL_ADD, RESIDUAL_PROJECTION

    seed = project.training.seed
    lines, width = [], n_features
    for index, spec in enumerate(project.layers, start=1):
        if isinstance(spec, DenseLayer):
            lines += _dense_lines(spec, index, seed)
            if spec.residual:
                if width != spec.units:
                    init = _initializer_code("glorot_uniform", seed + 500 + index)
                    lines.append(f'keras.layers.Dense({spec.units}, use_bias=False, name="{RESIDUAL_PROJECTION}{index}", '
                                 f'kernel_initializer={init}),')
                lines.append(f'keras.layers.Add(name="{RESIDUAL_ADD}{index}"),')
            width = spec.units
        elif isinstance(spec, DropoutLayer):
            lines.append(f'keras.layers.Dropout({spec.rate!r}, seed={seed + index}, name="dropout_{index}"),')
        elif isinstance(spec, BatchNormLayer):
            lines.append(f'keras.layers.BatchNormalization(momentum={spec.momentum!r}, name="batch_norm_{index}"),')
    return lines


def _dense_lines(spec: DenseLayer, index: int, seed: int) -> list[str]:
    """One line for the Dense layer, and one more for its leaky ReLU when it has one."""
    leaky = spec.activation == "leaky_relu"
    arguments = [str(spec.units)]
    if not leaky:
        arguments.append(f'activation="{spec.activation}"')
    if not spec.use_bias:
        arguments.append("use_bias=False")
    arguments.append(f"kernel_initializer={_initializer_code(spec.kernel_initializer, seed + index)}")
    regularizer = _regularizer_code(spec)
    if regularizer:
        arguments.append(f"kernel_regularizer={regularizer}")
    arguments.append(f'name="dense_{index}"')
    lines = [f"keras.layers.Dense({', '.join(arguments)}),"]
    if leaky:
        lines.append(f'keras.layers.LeakyReLU(negative_slope={spec.negative_slope!r}, name="leaky_relu_{index}"),')
    return lines


def _initializer_code(name: str, seed: int) -> str:
    if name == "zeros":
        return "keras.initializers.Zeros()"
    if name == "random_normal":
        return f"keras.initializers.RandomNormal(stddev=0.05, seed={seed})"
    return f"keras.initializers.{_INITIALIZER_CLASSES[name]}(seed={seed})"


def _regularizer_code(spec: DenseLayer) -> str | None:
    if spec.l1 > 0 and spec.l2 > 0:
        return f"keras.regularizers.L1L2(l1={spec.l1!r}, l2={spec.l2!r})"
    if spec.l1 > 0:
        return f"keras.regularizers.L1({spec.l1!r})"
    if spec.l2 > 0:
        return f"keras.regularizers.L2({spec.l2!r})"
    return None


def _optimizer_function(project: Project) -> str:
    class_name = _OPTIMIZER_CLASSES[project.optimizer.name]
    settings = {key: repr(value) for key, value in project.optimizer.keras_settings().items()}
    schedule_line = _schedule_code(project)
    if not schedule_line:
        return f'''def make_optimizer():
    """{class_name} with every setting Keras Trainer uses."""
    return keras.optimizers.{class_name}({_keywords(settings)})'''
    settings["learning_rate"] = "learning_rate"
    what = project.schedule.name.replace("_", " ")
    return f'''def make_optimizer(steps_per_epoch):
    """{class_name} with every setting Keras Trainer uses; the learning rate follows {what}.

    The schedule counts batches, so its period in epochs is multiplied by steps_per_epoch.
    """
    learning_rate = {schedule_line}
    return keras.optimizers.{class_name}({_keywords(settings)})'''


def _keywords(settings: dict[str, str]) -> str:
    """``key=value, ...`` from values that are already Python source."""
    return ", ".join(f"{key}={value}" for key, value in settings.items())


def _schedule_code(project: Project) -> str | None:
    spec, schedule = project.optimizer, project.schedule
    if schedule.name == "exponential_decay":
        return (
            f"keras.optimizers.schedules.ExponentialDecay({spec.learning_rate!r}, "
            f"decay_steps=max(1, round({schedule.decay_epochs!r} * steps_per_epoch)), "
            f"decay_rate={schedule.decay_rate!r})"
        )
    if schedule.name == "cosine_decay":
        epochs = schedule.decay_epochs or project.training.epochs
        return (
            f"keras.optimizers.schedules.CosineDecay({spec.learning_rate!r}, "
            f"decay_steps=max(1, round({epochs!r} * steps_per_epoch)), alpha={schedule.alpha!r})"
        )
    return None


def _callbacks_function(project: Project) -> str:
    lines = []
    early = project.training.early_stopping
    if early.enabled:
        lines.append(
            f'keras.callbacks.EarlyStopping(monitor="{early.monitor}", patience={early.patience}, '
            f"min_delta={early.min_delta!r}, restore_best_weights={early.restore_best_weights}),"
        )
    schedule = project.schedule
    if schedule.name == "reduce_on_plateau":
        monitor = "val_loss" if project.training.validation_fraction > 0 else "loss"
        lines.append(
            f'keras.callbacks.ReduceLROnPlateau(monitor="{monitor}", factor={schedule.factor!r}, '
            f"patience={schedule.patience}, min_lr={schedule.min_learning_rate!r}),"
        )
    if not lines:
        return '''def make_callbacks():
    """No early stopping and no learning-rate callback: train for all EPOCHS."""
    return []'''
    watches = [name for name, used in (
        ("early stopping", early.enabled),
        ("reduce the learning rate on a plateau", schedule.name == "reduce_on_plateau"),
    ) if used]
    body = "\n".join(f"        {line}" for line in lines)
    return f'''def make_callbacks():
    """What watches the training: {" and ".join(watches)}."""
    return [
{body}
    ]'''


def _loss_code(plan: OutputPlan) -> str:
    if plan.loss == "huber":
        return 'keras.losses.Huber(name="huber")'
    return f'"{plan.loss}"'


def _metric_code(plan: OutputPlan) -> str:
    if plan.metric == "mae":
        return 'keras.metrics.MeanAbsoluteError(name="mae")'
    if plan.target == "binary":
        return 'keras.metrics.BinaryAccuracy(name="accuracy")'
    if plan.target == "index":
        return 'keras.metrics.SparseCategoricalAccuracy(name="accuracy")'
    return 'keras.metrics.CategoricalAccuracy(name="accuracy")'


def _main_function(project: Project, plan: OutputPlan) -> str:
    scheduled = _schedule_code(project) is not None
    optimizer_lines = (
        "    steps_per_epoch = math.ceil(len(x_fit) / BATCH_SIZE)\n"
        "    optimizer = make_optimizer(steps_per_epoch)"
        if scheduled else "    optimizer = make_optimizer()"
    )
    return f'''def main():
    """Trains the network, prints its test metrics and saves it."""
    keras.utils.set_random_seed(SEED)
    data = load_data()
    x_train, y_train = data["x_train"], encode_targets(data["y_train"])
    x_test, y_test = data["x_test"], encode_targets(data["y_test"])
    (x_fit, y_fit), validation_data = split_validation(x_train, y_train)
    print(f"{{len(x_fit)}} training rows, {{len(x_train) - len(x_fit)}} validation rows, {{len(x_test)}} test rows")

    model = build_model(data)
{optimizer_lines}
    model.compile(
        optimizer=optimizer,
        loss={_loss_code(plan)},
        metrics=[{_metric_code(plan)}],
    )
    model.summary()
    model.fit(
        x_fit,
        y_fit,
        validation_data=validation_data,
        epochs=EPOCHS,
        batch_size=BATCH_SIZE,
        shuffle=SHUFFLE,
        callbacks=make_callbacks(),
        verbose=2,
    )

    results = model.evaluate(x_test, y_test, batch_size=BATCH_SIZE, verbose=0, return_dict=True)
    for name, value in results.items():
        print(f"test {{name}}: {{value:.4f}}")
    model.save(MODEL_FILE)
    print(f"saved {{MODEL_FILE}}")'''


def _one_line(text: str) -> str:
    """``text`` with its line breaks and runs of spaces made single spaces, safe in a comment."""
    return " ".join(str(text).split())
