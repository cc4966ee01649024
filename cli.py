"""The command line: ``python main.py train ...`` runs the same runner as the window."""

from __future__ import annotations

import argparse
import contextlib
import datetime
import math
import os
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path

from models.errors import UserError
from models.language import language, language_from_environment, set_language, tr, translated
from models.text import Text

EXIT_BAD_INPUT = 2
EXIT_DIVERGED = 3  # the loss became NaN: the run ended, but its model is no use
EXIT_NOT_SAVED = 4  # trained, but the run folder could not be written (the model went elsewhere)
EXIT_NO_RESULT = 5  # a search none of whose trials completed
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one ``error:`` line and exit status 2."""

    def error(self, message: str):
        raise UserError(message)


def add_network_and_training_arguments(parser: argparse.ArgumentParser) -> list[str]:
    """Adds the network and training flags, shared by ``train`` and the window's screenshot command.

    Returns:
        The names the flags are stored under (``args.hidden`` …), so a caller can tell whether any was given.
    """
    before = {action.dest for action in parser._actions}
    network = parser.add_argument_group(
        "network", "With --project, each flag changes only what it names in the project's layers; the rest stays.")
    network.add_argument("--hidden", help="hidden Dense widths, e.g. 512,256; 'none' for no hidden layer")
    network.add_argument("--activation", help="activation of every hidden Dense layer, e.g. relu, tanh, gelu")
    network.add_argument("--initializer", help="kernel initializer of every hidden Dense layer, e.g. he_normal")
    network.add_argument("--dropout", type=float,
                         help="rate of every Dropout layer; with none, adds one after each hidden layer (0 removes them)")
    network.add_argument("--l1", type=float, help="L1 penalty on each hidden layer's weights")
    network.add_argument("--l2", type=float, help="L2 penalty (weight decay) on each hidden layer's weights")
    network.add_argument(
        "--augment", metavar="SETTINGS",
        help="data augmentation while training, e.g. shift=0.1,rotate=10,zoom=0.1,noise=0.05: shift (share of an "
             "image's width, 0-0.5), rotate (degrees, 0-180) and zoom (share, 0-0.9) move the pixels of image data "
             "sets; noise (standard deviation, 0-10) is added to the standardised inputs of any data set; none "
             "turns it off")
    network.add_argument("--residual", action="store_true", default=None,
                         help="a residual connection around every hidden Dense layer: its input is added to its "
                              "output (through a learned projection where the widths differ)")
    network.add_argument("--batch-norm", action="store_true", default=None,
                         help="batch normalisation after each hidden layer that has none")
    fitting = parser.add_argument_group("training")
    fitting.add_argument("--optimizer", help="sgd, rmsprop, adam, adamw, adagrad, adadelta or nadam")
    fitting.add_argument("--lr", type=float, help="learning rate")
    fitting.add_argument("--momentum", type=float, help="momentum for sgd and rmsprop")
    fitting.add_argument("--epochs", type=int, help="passes over the training data")
    fitting.add_argument("--batch-size", type=int, help="samples per gradient step")
    fitting.add_argument("--validation", type=float, help="share of training rows used for validation")
    fitting.add_argument("--early-stopping", type=int, metavar="PATIENCE", help="stop after PATIENCE epochs without val_loss improving")
    fitting.add_argument("--seed", type=int, help="random seed")
    fitting.add_argument("--device", help="auto, cpu, gpu:N or all_gpus (see list-devices)")
    return [action.dest for action in parser._actions if action.dest not in before]


def add_source_arguments(parser: argparse.ArgumentParser):
    """Adds the flags saying what to train on (``--project``, ``--dataset`` …), shared by ``train`` and ``sweep``."""
    source = parser.add_argument_group("what to train")
    source.add_argument("--project", help="a project file saved by the window (JSON); other flags override it")
    source.add_argument("--dataset", help="registry name, e.g. digits, spiral, mnist, csv (see list-datasets)")
    source.add_argument("--data-file", help="the CSV for --dataset csv, or a local mnist.npz / idx folder")
    source.add_argument("--target", help="the CSV column to predict")
    source.add_argument("--samples", type=int, help="points drawn by a synthetic data set")
    source.add_argument("--noise", type=float, help="noise of a synthetic data set")
    source.add_argument("--missing", choices=["drop", "fill"], help="CSV rows with missing values: drop or fill")
    source.add_argument("--exclude", metavar="COLUMNS",
                        help="comma-separated CSV columns to leave out of the inputs (one that gives the answer away, "
                             "an id)")
    source.add_argument("--task", choices=["auto", "classification", "regression"],
                        help="for a CSV: predict classes or a number; auto (the default) decides from the target "
                             "column and says why")
    return source


OBJECTIVE_CHOICES = ("auto", "val_loss", "val_metric", "kfold")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="keras-trainer", description="Train a Keras network from the command line.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    train = commands.add_parser("train", help="train a network and write a run folder")
    source = add_source_arguments(train)
    source.add_argument("--resume", metavar="RUN_DIR",
                        help="train a run folder's model on from its weights and optimizer state for --epochs more "
                             "epochs (default: as many as it ran), on its own data, into a new run folder")
    add_network_and_training_arguments(train)
    train.add_argument_group("cross-validation").add_argument("--folds", type=int, metavar="K",
                         help="K-fold cross-validation: train K models, each scored on the training rows it did not see")
    output = train.add_argument_group("output")
    output.add_argument("--out", help="run folder to write (default: a new DATE-DATASET folder in the runs folder "
                                      "the window uses, which `runs` lists; KERAS_TRAINER_RUNS_DIR moves it)")
    output.add_argument("--overwrite", action="store_true",
                        help="--out may hold an earlier run: remove that run's files first (otherwise it is refused)")
    output.add_argument("--export", help="comma-separated: keras,weights,savedmodel,tflite,onnx,python")
    output.add_argument("--quiet", action="store_true", help="no progress bar")
    output.add_argument("--instruments", action="store_true",
                        help="read every Dense layer's weights, gradients and outputs while training: "
                             "instruments.json in the run folder, and a per-layer summary at the end")
    diagnosis = train.add_argument_group("diagnosis")
    diagnosis.add_argument("--no-diagnosis", action="store_true",
                           help="skip the diagnosis (by default every run is checked for overfitting, vanishing "
                                "gradients and the rest; the findings are printed and written to diagnosis.json)")
    diagnosis.add_argument("--auto-remedy", type=int, metavar="N",
                           help="repair automatically: try the remedies of the worst finding in order, at most N "
                                "retrains, each in its own run folder; keep the best run and report every attempt")
    predict = commands.add_parser(
        "predict", help="predict from a CSV of raw rows with a trained model",
        description="Predicts every row of a CSV with a trained model and writes the predictions as CSV: "
                    "row (the data row's number, 1 for the first below the header), predicted (a class name, or "
                    "a value in the target's units) and probability_<class> for each class. The columns may "
                    "come in any order and extra ones are ignored; a missing value gets what training filled in.")
    predict.add_argument("--model", required=True,
                         help="a run folder, a .keras, .onnx or .tflite file, or a SavedModel folder, with "
                              "preprocessing.json beside it")
    predict.add_argument("--data-file", required=True, help="a CSV of raw rows, as the model's data set has them")
    predict.add_argument("--out", help="where the predictions go (default: DATA.predictions.csv beside the data)")
    sweep = commands.add_parser(
        "sweep", help="train one run per value of one setting and plot the final figures against it",
        description="Sweeps one setting: one run per value, one after another, each in its own run folder (so "
                    "the history lists it). Writes sweep.json and sweep.csv: per value, the last epoch's loss, "
                    "val_loss and metric, and the test figures. Over a layer's units it draws the notes' "
                    "model-complexity curve; over train_share, the learning curve.")
    add_source_arguments(sweep)
    add_network_and_training_arguments(sweep)
    what = sweep.add_argument_group("the sweep")
    what.add_argument("--param", required=True, help="the setting: units:N (hidden Dense layer N's width, 1 for the "
                      "first), layers, lr, batch_size, dropout, l1, l2, epochs or train_share")
    what.add_argument("--values", required=True, help="a list (2,8,32,128) or a range start:stop:count, with :log "
                      "for a geometric step (0.0001:0.1:7:log)")
    what.add_argument("--out", help="folder for sweep.json and sweep.csv (default: a new DATE-DATASET-PARAM folder "
                      "in the sweeps folder beside the runs folder)")
    what.add_argument("--quiet", action="store_true", help="no progress bar")
    search = commands.add_parser(
        "search", help="Bayesian hyperparameter search (Optuna's TPE) over settings you choose",
        description="Searches the settings named by --space with Optuna: its TPE sampler proposes each trial's "
                    "values from the trials so far (Bayesian optimisation), a median pruner ends trials whose "
                    "validation figure lags, and every trial trains into its own run folder. The study is kept "
                    "in a journal file in the runs folder (or the --storage database): run the same command "
                    "again, here or on another machine sharing the database, and it continues.")
    add_source_arguments(search)
    add_network_and_training_arguments(search)
    plan = search.add_argument_group("the search")
    plan.add_argument("--space", required=True,
                      help="comma-separated settings and ranges: name=low..high, with :log for a log scale, or "
                           "activation=relu|tanh|gelu and optimizer=adam|sgd|rmsprop; names as sweep --param "
                           "takes them (units:N, layers, lr, batch_size, dropout, l1, l2, epochs)")
    plan.add_argument("--objective", choices=OBJECTIVE_CHOICES, default="auto",
                      help="what to optimise: auto (the default: the validation accuracy for classes, the "
                           "validation loss for a regression), the last epoch's validation loss, the validation "
                           "metric (accuracy up, MAE down), or the mean validation loss of K-fold cross-validation")
    plan.add_argument("--trials", type=int, default=20,
                      help="how many finished trials the study should have (default 20): started again, it runs "
                           "only those still missing")
    plan.add_argument("--workers", type=int, default=1,
                      help="processes running trials of the study at once on this machine (default 1)")
    plan.add_argument("--out", help="the search's folder, for search.json and the study's journal (default: a new "
                                    "DATE-DATASET-search folder in the runs folder); the same --out and --study "
                                    "continue a study")
    plan.add_argument("--timeout", type=float, metavar="SECONDS", help="stop starting trials after this long")
    plan.add_argument("--kfolds", type=int, default=5, metavar="K", help="K for --objective kfold (default 5)")
    plan.add_argument("--study", help="the study's name: continued when it exists (default: DATASET-SETTINGS)")
    plan.add_argument("--storage", help="a postgresql:// URL to share the study between machines (default: a "
                                        "journal file in the search's folder)")
    plan.add_argument("--search-seed", type=int, default=0, help="the sampler's seed (default 0)")
    plan.add_argument("--quiet", action="store_true", help="no progress bar")
    lessons = commands.add_parser(
        "lessons", help="list the lessons, or run them and check each one's claim",
        description="Lists the lessons in resources/lessons (id, number and title in English and Chinese). With "
                    "--check, trains each lesson's steps (all of them, or the ids given) and prints its claim and "
                    "whether it held; the exit status is 0 only when every claim held.")
    lessons.add_argument("--check", nargs="*", metavar="ID", help="run these lessons (all when no id is given)")
    lessons.add_argument("--data-file", metavar="PATH",
                         help="a local copy of a lesson's data set, for those that download it (MNIST's mnist.npz "
                              "when offline)")
    runs = commands.add_parser("runs", help="list the runs kept in the runs folder, newest first",
                               description="Lists every run folder in the runs folder (the window's and the "
                                           "command line's): when it started, the data set, the key settings, the "
                                           "final figures, how long it trained and how it ended.")
    runs.add_argument("--dataset", help="only the runs on this data set")
    runs.add_argument("--runs-dir", help="another runs folder (default: the one the window uses)")
    commands.add_parser("list-datasets", help="list the data sets")
    commands.add_parser("list-devices", help="list the devices TensorFlow can use here")
    return parser


def _hidden_widths(text: str) -> list[int]:
    if text.strip().lower() in ("none", "0", ""):
        return []
    try:
        widths = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UserError.of("--hidden takes widths separated by commas, like 512,256, or 'none' (got {text}).",
                           text=repr(text)) from None
    return widths


def _hidden_blocks(layers: list) -> tuple[list, list[list]]:
    """The layers before the first Dense layer, and each Dense layer with the layers after it."""
    from models.network.spec import DenseLayer

    before, blocks = [], []
    for layer in layers:
        if isinstance(layer, DenseLayer):
            blocks.append([layer])
        elif blocks:
            blocks[-1].append(layer)
        else:
            before.append(layer)
    return before, blocks


def edit_layers(layers: list, args) -> list:
    """The project's layers with the network flags applied: each flag changes only what it names.

    ``--hidden`` sets the widths of the Dense layers in order, keeping each
    one's other settings and the Dropout and BatchNormalization layers after
    it; a longer list adds Dense layers like the last one, a shorter removes
    the last ones. ``--activation``, ``--initializer``, ``--l1`` and ``--l2``
    set that field of every Dense layer. ``--dropout`` sets every Dropout's
    rate (0 removes them; with none, it adds one after each Dense layer), and
    ``--batch-norm`` adds BatchNormalization after each Dense layer that has none.
    """
    from dataclasses import replace as changed

    from models.network.spec import BatchNormLayer, DenseLayer, DropoutLayer

    before, blocks = _hidden_blocks([changed(layer) for layer in layers])
    if args.hidden is not None:
        widths = _hidden_widths(args.hidden)
        template = blocks[-1] if blocks else [DenseLayer()]
        blocks = blocks[:len(widths)]
        while len(blocks) < len(widths):
            blocks.append([changed(layer) for layer in template])
        for block, width in zip(blocks, widths, strict=True):
            block[0].units = width
    fields = {"activation": args.activation, "kernel_initializer": args.initializer, "l1": args.l1, "l2": args.l2}
    for block in blocks:
        for name, value in fields.items():
            if value is not None:
                setattr(block[0], name, value)
    if args.dropout is not None:
        every = [before, *blocks]  # a Dropout before the first Dense layer is a Dropout too
        has_dropout = any(isinstance(layer, DropoutLayer) for block in every for layer in block)
        for block in every:
            if args.dropout == 0:
                block[:] = [layer for layer in block if not isinstance(layer, DropoutLayer)]
            elif has_dropout:
                for layer in block:
                    if isinstance(layer, DropoutLayer):
                        layer.rate = args.dropout
            elif block is not before:
                block.append(DropoutLayer(args.dropout))
    if args.batch_norm:
        for block in blocks:
            if not any(isinstance(layer, BatchNormLayer) for layer in block):
                block.insert(1, BatchNormLayer())
    return before + [layer for block in blocks for layer in block]


def _check_file_flags(args, dataset_name: str) -> None:
    """``--data-file``, ``--target``, ``--missing``, ``--samples`` and ``--noise`` refused where they would be ignored."""
    from datasets.registry import DATASETS

    info = DATASETS.get(dataset_name)
    if info is None:
        return  # the project's validation names the unknown data set
    if args.data_file and not info.accepts_file:
        raise UserError.of("--data-file is read only for csv, mnist and fashion_mnist, not for {dataset_name}: drop "
                           "it, or choose one of those data sets.", dataset_name=dataset_name)
    for flag, value in (("--target", args.target), ("--missing", args.missing)):
        if value is not None and dataset_name != "csv":
            raise UserError.of("{flag} applies only to --dataset csv, not to {dataset_name}: drop it.",
                               flag=flag, dataset_name=dataset_name)
    for flag, value, used in (("--samples", args.samples, info.uses_samples), ("--noise", args.noise, info.uses_noise)):
        if value is not None and not used:
            raise UserError.of("{flag} applies only to the synthetic data sets (spiral, moons, …), not to "
                               "{dataset_name}: drop it.", flag=flag, dataset_name=dataset_name)


def project_from_args(args) -> Project:  # noqa: F821 - imported lazily below
    """The project the flags describe: the ``--project`` file (or defaults) with flags applied."""
    from models.network.spec import DenseLayer, Project, TrainingSpec, load_project

    project = load_project(args.project) if args.project else Project(name="command line", layers=[DenseLayer(64), DenseLayer(64)])
    if not args.project and not args.dataset:
        raise UserError("say what to train: --dataset NAME or --project FILE.")
    if args.out is not None and not args.out.strip():
        raise UserError("--out needs a folder name (or leave it out for a new folder in the runs folder).")
    seed_problem = TrainingSpec.RANGES["seed"].problem("--seed", args.seed) if args.seed is not None else None
    if seed_problem:  # one sentence, though the seed goes to the data and to the training
        raise UserError(seed_problem)
    choice = project.dataset
    if args.dataset is not None and args.dataset != choice.name and args.task is None:
        choice = replace(choice, task="auto")  # another data set has its own task
    for flag, attribute in (("dataset", "name"), ("data_file", "data_file"), ("target", "target"),
                            ("samples", "samples"), ("noise", "noise"), ("missing", "missing"), ("task", "task")):
        value = getattr(args, flag)
        if value is not None:
            choice = replace(choice, **{attribute: value})
    if args.seed is not None:
        choice = replace(choice, seed=args.seed)
    if args.exclude is not None:
        choice = replace(choice, exclude=[name.strip() for name in args.exclude.split(",") if name.strip()])
    project.dataset = choice
    _check_file_flags(args, choice.name)
    if args.data_file:
        project.dataset.data_file = str(Path(args.data_file).expanduser())

    return apply_network_and_training_flags(project, args).validate()


def apply_network_and_training_flags(project, args):
    """``project`` with what the flags of `add_network_and_training_arguments` change (the others stay)."""
    project.layers = edit_layers(project.layers, args)
    optimizer_changes = {key: value for key, value in (("name", args.optimizer), ("learning_rate", args.lr), ("momentum", args.momentum)) if value is not None}
    project.optimizer = replace(project.optimizer, **optimizer_changes)
    training_changes = {key: value for key, value in (
        ("epochs", args.epochs), ("batch_size", args.batch_size), ("validation_fraction", args.validation),
        ("seed", args.seed), ("device", args.device)) if value is not None}
    project.training = replace(project.training, **training_changes)
    if args.early_stopping is not None:
        project.training.early_stopping = replace(project.training.early_stopping, enabled=True, patience=args.early_stopping)
    if getattr(args, "augment", None) is not None:
        project.augmentation = parse_augmentation(args.augment)
    if getattr(args, "residual", None):
        from models.network.spec import DenseLayer

        for layer in project.layers:
            if isinstance(layer, DenseLayer):
                layer.residual = True
    return project


def parse_augmentation(text: str):
    """``shift=0.1,rotate=10,zoom=0.1,noise=0.05`` (or ``none``) as an `AugmentationSpec`."""
    from models.network.spec import AugmentationSpec

    spec = AugmentationSpec()
    text = text.strip()
    if text.lower() in ("none", "off", ""):
        return spec
    for part in text.split(","):
        name, equals, value = part.partition("=")
        name = name.strip().lower()
        if not equals or name not in AugmentationSpec.RANGES:
            raise UserError.of("--augment takes name=value pairs, the names being {names} (got '{part}').",
                               names=", ".join(AugmentationSpec.RANGES), part=part.strip())
        try:
            number = float(value)
        except ValueError:
            raise UserError.of("--augment {name} needs a number (got '{value}').", name=name,
                               value=value.strip()) from None
        problem = AugmentationSpec.RANGES[name].problem(f"--augment {name}", number)
        if problem:
            raise UserError(problem)
        setattr(spec, name, number)
    return spec


def _format_seconds(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "--:--"
    seconds = int(round(seconds))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"


class ProgressBar:
    """A one-line progress bar on stderr; one line per epoch when stderr is not a terminal."""

    evaluated_on = "test"  # what the rows scored after training are called

    def __init__(self, stream=None, quiet: bool = False):
        stream = stream or sys.stderr  # the stream of now, not of when this module was imported
        self.stream, self.quiet = stream, quiet
        self.live = hasattr(stream, "isatty") and stream.isatty()
        self.metric = "accuracy"
        self.epochs_done = 0

    def on_run_started(self, info) -> None:
        self.metric = info.metric
        if not self.quiet:
            self.stream.write(
                f"training on {info.device}: {info.train_samples} samples ({info.validation_samples} validation, "
                f"{info.test_samples} {self.evaluated_on}), {info.parameters:,} parameters, {info.epochs} epochs of {info.steps_per_epoch} batches\n"
            )

    def on_batch_progress(self, progress) -> None:
        # The runner's last report can come after the epoch's line was written; it adds nothing here.
        if self.quiet or not self.live or progress.epoch <= self.epochs_done:
            return
        fraction = progress.step / progress.steps_per_epoch
        filled = int(fraction * 20)
        metric = f" {self.metric} {progress.metric:.4f}" if progress.metric is not None else ""
        self.stream.write(
            f"\repoch {progress.epoch}/{progress.epochs} [{'#' * filled}{'.' * (20 - filled)}] "
            f"loss {progress.loss:.4f}{metric}  {progress.samples_per_second:,.0f} samples/s  "
            f"left {_format_seconds(progress.eta_s)}   "
        )
        self.stream.flush()

    def on_epoch_ended(self, result) -> None:
        self.epochs_done = result.epoch
        if self.quiet:
            return
        figures = "  ".join(f"{key} {value:.4g}" for key, value in result.logs.items() if key != "learning_rate")
        line = f"epoch {result.epoch}/{result.epochs}  {figures}  left {_format_seconds(result.eta_s)}"
        # On a terminal, overwrite the bar and clear what is left of it.
        self.stream.write(f"\r{line}\x1b[K\n" if self.live else f"{line}\n")
        self.stream.flush()

    def on_saving(self) -> None:
        # The run folder is written now: a Ctrl+C here ends at once, and says what it stops.
        _quit_at_once_on_interrupt("while writing the run folder")

    def on_finished(self, result) -> None:
        pass

    def on_failed(self, message: str) -> None:
        pass


class FoldProgress(ProgressBar):
    """The progress bar, with a heading and a score line for each cross-validation fold."""

    evaluated_on = "held out"

    folds_done = 0

    def on_fold_started(self, fold: int, folds: int) -> None:
        self.folds_done = fold - 1
        self.epochs_done = 0
        if not self.quiet:
            self.stream.write(f"fold {fold}/{folds}\n")

    def on_fold_finished(self, result) -> None:
        scores = "  ".join(f"{key} {value:.4f}" for key, value in result.scores.items())
        print(f"fold {result.fold}/{result.folds}: held-out {result.held_out_rows} rows  {scores}")


def _load_data_and_catch_interrupts(project):
    """TensorFlow, the project's data (its notes on stderr), and a stop request Ctrl+C or SIGTERM sets."""
    from datasets.registry import load_dataset
    from models.training.devices import import_tensorflow
    from models.training.runner import StopRequest

    import_tensorflow()
    dataset = load_dataset(project.dataset)
    for note in dataset.notes:
        print(f"note: {translated(note)}", file=sys.stderr)
    print(f"task: {dataset.task} ({dataset.summary()})")
    stop = StopRequest()
    _install_stop_on_interrupt(stop)
    return dataset, stop


def _claim_run_folder(args, project):
    """The run folder, claimed before any training: ``--out`` (refused when it holds another run,
    unless ``--overwrite``), or a new ``DATE-DATASET`` (``-2``, ``-3``… when taken) in the runs folder
    the window shares (`models.experiments.history.default_runs_dir`), so the history lists it."""
    from models.experiments.history import default_runs_dir
    from models.training.run_folder import RunFolder

    if args.out:
        return RunFolder.claim(Path(args.out).expanduser(), overwrite=args.overwrite)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return RunFolder.claim_new(default_runs_dir(), f"{stamp}-{project.dataset.name}")


def command_cross_validate(args, project) -> int:
    """``train --folds K``: K models, their held-out scores, and ``crossval.json`` in the run folder."""
    from models.files import write_json_atomic
    from models.training.crossval import run_cross_validation
    from models.training.run_folder import COMPLETED, FAILED, STOPPED, describe_os_error

    if args.export:
        raise UserError("--folds trains K models to estimate how well the network generalises and exports none: "
                        "drop --export, or train once without --folds to export.")
    _quit_at_once_on_interrupt("while loading the data")
    folder = _claim_run_folder(args, project)
    folder.start(project, what="cross-validation")
    progress = FoldProgress(quiet=args.quiet)
    try:
        dataset, stop = _load_data_and_catch_interrupts(project)
        outcome = run_cross_validation(project, args.folds, progress, stop=stop, dataset=dataset)
    except BaseException as error:
        if progress.folds_done or progress.epochs_done:
            folder.begin_training()
        if isinstance(error, KeyboardInterrupt):
            folder.give_up("interrupted", "quit at once", status=STOPPED)
        else:  # a refusal before training, or a run that replaced another, gives the folder back
            folder.give_up("error", str(error) or type(error).__name__)
        raise
    for name in dict.fromkeys(name for fold in outcome.results for name in fold.scores):
        print(f"cross-validated {name}: {outcome.mean(name):.4f} ± {outcome.std(name):.4f} "
              f"(mean ± standard deviation over {len(outcome.results)} of {outcome.folds} folds)")
    if outcome.stopped:
        print(f"stopped after {len(outcome.results)} of {outcome.folds} folds (a fold cut short is not counted).")
    if outcome.diverged:
        print("error: " + tr("the loss became NaN in fold(s) {folds}, so the means are NaN: lower the learning rate "
                             "or clip gradients.", folds=", ".join(map(str, outcome.diverged))), file=sys.stderr)
    try:
        write_json_atomic(folder.path / "crossval.json", outcome.summary())
    except OSError as error:
        message = Text.of("could not write {path}: {reason}", path=folder.path / "crossval.json",
                          reason=describe_os_error(error))
        folder.begin_training()
        folder.give_up("not_saved", message)
        print("error: " + tr("{message}; the scores are printed above.", message=translated(message)), file=sys.stderr)
        return EXIT_NOT_SAVED
    status = STOPPED if outcome.stopped else FAILED if outcome.diverged else COMPLETED
    folder.finish(status, "nan_loss" if outcome.diverged else status)
    folder.keep()
    print(f"run folder: {folder.path}")
    if outcome.stopped:
        return _stopped_status(stop)
    return EXIT_DIVERGED if outcome.diverged else 0


class Interrupted(KeyboardInterrupt):
    """Quit at once on a signal; the exit status is 128 + its number, as shells report it."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signum)
        self.signum = signum


def _install_stop_on_interrupt(stop):
    """First Ctrl+C (or SIGTERM) asks training to stop and keep its weights; a second one quits at once."""

    def handler(signum, frame):
        if stop.is_set():
            raise Interrupted(signum)
        stop.set()
        stop.signal_number = signum
        name = "Ctrl+C" if signum == signal.SIGINT else signal.Signals(signum).name
        sys.stderr.write(f"\n{name}: stopping after this batch (again to quit at once)\n")

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def _stopped_status(stop) -> int:
    """128 + the signal that stopped the run, as shells report it: 130 for Ctrl+C, 143 for SIGTERM."""
    return 128 + getattr(stop, "signal_number", signal.SIGINT)


def _quit_at_once_on_interrupt(doing: str):
    """After training, Ctrl+C or SIGTERM ends ``doing`` at once (files already written are whole)."""

    def handler(signum, frame):
        sys.stderr.write(f"\nquitting at once ({doing}); the files already written are complete\n")
        raise Interrupted(signum)

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def _rescue(result) -> int:
    """Saves the model somewhere else when the run folder could not take it; says where."""
    import tempfile

    from models.training.run_folder import rescue_model

    place = rescue_model(result.model, [Path(tempfile.gettempdir()) / "keras-trainer-rescued",
                                        Path.home() / "keras-trainer-rescued", Path.cwd()], result.preprocessing)
    where = (tr("the trained model was saved to {place} instead", place=place) if place
             else tr("no other folder could take the model either"))
    print(f"error: {translated(result.save_error)}; {where}.", file=sys.stderr)
    return EXIT_NOT_SAVED


# What --resume cannot change: the run's network, its data and how the data is split.
RESUME_KEEPS = ("project", "dataset", "data_file", "target", "samples", "noise", "missing", "exclude", "task", "hidden",
                "augment", "residual",
                "activation", "initializer", "dropout", "l1", "l2", "batch_norm", "optimizer", "momentum", "validation",
                "seed", "folds", "auto_remedy")


def resumed_project(args):
    """``train --resume RUN_DIR``: the run's project for ``--epochs`` more epochs, and the run to go on from."""
    from models.training.resume import read_run

    fixed = [f"--{name.replace('_', '-')}" for name in RESUME_KEEPS if getattr(args, name, None) not in (None, False)]
    if fixed:
        raise UserError.of("--resume trains the run's own network on its own data, so {fixed} cannot change it: drop "
                           "it, or train a new run.", fixed=", ".join(fixed))
    run = read_run(args.resume)
    project = run.project
    if args.epochs is None:
        args.epochs = max((len(values) for values in run.continuation.history.values()), default=1)
    return apply_network_and_training_flags(project, args).validate(), run.continuation


def command_train(args) -> int:
    from models.training.run_folder import describe_os_error
    from models.training.runner import NAN_LOSS, run_training

    project, continuation = resumed_project(args) if args.resume else (project_from_args(args), None)
    formats = [item.strip() for item in (args.export or "").split(",") if item.strip()]
    if formats:
        from models.saving.export import EXPORT_FORMATS

        unknown = [item for item in formats if item not in EXPORT_FORMATS]
        if unknown:
            raise UserError.of("unknown export format(s) {unknown}: use {export_formats}.",
                               unknown=", ".join(unknown), export_formats=",".join(EXPORT_FORMATS))
    if args.folds is not None:
        from models.training.crossval import check_fold_count

        if args.instruments:
            raise UserError("--instruments reads one run; cross-validation trains one per fold: drop --folds or "
                            "--instruments.")
        if args.auto_remedy is not None:
            raise UserError("--auto-remedy repairs one run; cross-validation trains one per fold: drop --folds or "
                            "--auto-remedy.")

        check_fold_count(args.folds)
        return command_cross_validate(args, project)
    if args.auto_remedy is not None and not 1 <= args.auto_remedy <= MAX_AUTO_REMEDY:
        raise UserError.of("--auto-remedy takes 1 to {max_auto_remedy} retrains (got {auto_remedy}).",
                           max_auto_remedy=MAX_AUTO_REMEDY, auto_remedy=args.auto_remedy)
    if args.auto_remedy is not None and args.no_diagnosis:
        raise UserError("--auto-remedy repairs what the diagnosis finds: drop --no-diagnosis.")
    if args.auto_remedy is not None and args.export:
        raise UserError("--auto-remedy may keep another run than the first, so --export cannot know which model to "
                        "write: repair first, then train the kept run's project.json with --export.")
    started = time.perf_counter()
    _quit_at_once_on_interrupt("while loading the data")  # nothing to keep yet
    folder = _claim_run_folder(args, project)
    folder.start(_whole_run(project, continuation))  # the settings are in the folder even if the run is killed
    try:
        dataset, stop = _load_data_and_catch_interrupts(project)
    except BaseException:
        folder.abandon()  # nothing was trained: the corrected command may use the same folder
        raise
    listener = ProgressBar(quiet=args.quiet)
    diagnose = not args.no_diagnosis
    result = run_training(project, listener=listener, stop=stop, dataset=dataset, run_dir=folder,
                          instruments=args.instruments or diagnose, diagnose=diagnose, continue_from=continuation)
    tests = "  ".join(f"test {key} {value:.4f}" for key, value in result.test_metrics.items())
    print(f"{result.reason_text} after {result.epochs_run} epoch(s) in {result.elapsed_s:.1f} s; {tests}")
    print(f"{result.train_samples_per_second:,.0f} training samples/s on {result.device}")
    _print_evaluation(result.evaluation)
    if args.instruments:
        _print_instruments(result)
    if result.diagnosis is not None:
        print("\n".join(diagnosis_lines(result.diagnosis)))
    if result.save_error:  # rescued before any remedy: a remedy may retrain this very model (model_cache)
        _quit_at_once_on_interrupt("while the model is rescued")
        return _rescue(result)
    kept = _auto_remedy(args, project, dataset, stop, result, folder) if args.auto_remedy else None
    _quit_at_once_on_interrupt("during the export")
    if result.reason == NAN_LOSS and kept is not None and kept.report is not None \
            and kept.report.find("nan_loss") is None:
        print(f"note: the first run's loss became NaN; the repaired run in {kept.run_dir} is the one to keep.")
    elif result.reason == NAN_LOSS:
        print("error: " + tr("{reason}; the model in {path} is not usable.", reason=tr(result.reason_text),
                             path=folder.path), file=sys.stderr)
        return EXIT_DIVERGED
    if formats:
        from models.saving.export import export_all

        try:
            written = export_all(result.model, formats, folder.path, project, dataset)
        except OSError as error:
            raise UserError.of("the export could not be written ({reason}); model.keras in {path} holds the trained "
                               "model.", reason=describe_os_error(error), path=folder.path) from None
        for fmt, paths in written.items():
            print(f"exported {fmt}: {', '.join(str(path) for path in paths)}")
    print(f"run folder: {folder.path} ({time.perf_counter() - started:.1f} s in all)")
    return _stopped_status(stop) if result.reason == "stopped" else 0


def _whole_run(project, continuation):
    """The project a run folder keeps: a resumed run's counts the epochs before it too, so training it
    afresh reaches the same model."""
    if continuation is None:
        return project
    whole = project.copy()
    whole.training.epochs = continuation.epochs_done + project.training.epochs
    return whole


# The most retrains `--auto-remedy` takes: the longest remedy list any finding offers.
MAX_AUTO_REMEDY = 5


def diagnosis_lines(report) -> list[str]:
    """The diagnosis as the terminal shows it: the summary, then each finding with its evidence, cause and remedies."""
    lines = [f"diagnosis: {report.summary()}"]
    for finding in report.findings:
        when = f" (epoch {finding.epoch})" if finding.epoch else ""
        lines.append(f"  [{finding.severity}] {finding.code}: {finding.title}{when}")
        lines.append(f"      {finding.evidence}")
        lines.append(f"      why: {finding.cause}")
        lines += [f"      try {number}: {remedy.text}" for number, remedy in enumerate(finding.remedies, start=1)]
    return lines


def _auto_remedy(args, project, dataset, stop, result, folder):
    """Tries the remedies of the worst finding, one run folder each, and says which run to keep (returned)."""
    from models.diagnosis.repair import Attempt, Repair
    from models.training.runner import TrainingFailed, run_training

    repair = Repair(Attempt(None, project, result.diagnosis, str(folder.path)), attempts=args.auto_remedy)
    if repair.target is None:
        print("auto-remedy: nothing to repair.")
        return None
    print(f"auto-remedy: {repair.target.code} ({repair.target.title}), at most {args.auto_remedy} retrain(s)")
    while not stop.is_set() and (step := repair.next_try()) is not None:
        remedy, edited = step
        from models.training.run_folder import RunFolder

        attempt_folder = RunFolder.claim_new(folder.path.parent, f"{folder.path.name}-remedy-{len(repair.tried) + 1}")
        attempt_folder.start(edited)
        try:
            same_data = edited.dataset == project.dataset  # a remedy may leave a column out: load it again
            attempt = run_training(edited, listener=ProgressBar(quiet=args.quiet), stop=stop,
                                   dataset=dataset if same_data else None, run_dir=attempt_folder,
                                   instruments=True, diagnose=True)
            repair.record(Attempt(remedy, edited, attempt.diagnosis, str(attempt_folder.path),
                                  stopped=attempt.reason == "stopped"))
        except TrainingFailed as error:
            repair.record(Attempt(remedy, edited, None, str(attempt_folder.path), failure=str(error)))
    for number, attempt in enumerate(repair.tried, start=1):
        outcome = repair.outcome(attempt)
        if outcome is not None:
            said = str(outcome.sentence())
        else:
            said = "stopped before its end, so not judged." if attempt.stopped else f"could not train: {attempt.failure}"
        print(f"  attempt {number}: {attempt.remedy.text} {said} {attempt.run_dir}".rstrip())
    best = repair.best()
    verdict = "repaired" if repair.repaired else "not repaired"
    which = "the original run" if best is repair.original else f"attempt {repair.tried.index(best) + 1}"
    stopped = " (stopped by request)" if stop.is_set() else ""
    print(f"auto-remedy: {verdict}{stopped}; keep {which}: {best.run_dir}")
    return best


def _print_instruments(result) -> None:
    """The last reading of every Dense layer, one line each, when the instruments were on."""
    from models.instruments.readings import layer_table

    if result.instruments_error:
        print(f"note: {translated(result.instruments_error)}", file=sys.stderr)
    if result.instruments:
        print("\n".join(layer_table(result.instruments[-1])))


# Past this many classes the confusion matrix is too wide for a terminal; metrics.json has it.
MAX_PRINTED_CLASSES = 12


def _print_evaluation(evaluation) -> None:
    """The test rows' headline against the baseline, and the confusion matrix when the classes are few."""
    if evaluation is None:
        return
    print(f"test {evaluation.headline()}")
    if not evaluation.is_classification or len(evaluation.classes) > MAX_PRINTED_CLASSES:
        return
    names = [name if len(name) <= 10 else name[:9] + "…" for name in evaluation.classes]
    matrix = evaluation.confusion_matrix()
    width = max(5, *(len(name) for name in names), len(str(int(matrix.max()))))
    print("confusion matrix (rows: true class, columns: predicted):")
    print(" " * (width + 2) + " ".join(name.rjust(width) for name in names))
    for name, row in zip(names, matrix):
        print(f"{name.rjust(width)}  " + " ".join(str(int(count)).rjust(width) for count in row))


def command_predict(args) -> int:
    """Writes the predictions for ``--data-file``; prints warnings, the score against a target column, and where."""
    from models.saving.predict import predict_file

    report = predict_file(args.model, args.data_file, args.out)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if report.score is not None:
        name, value, compared = report.score
        print(f"{name} against the target column: {value:.4g} over {compared} row(s)")
    print(f"wrote {report.rows} prediction(s) to {report.out_path}")
    return 0


def command_sweep(args) -> int:
    from models.experiments.history import default_runs_dir
    from models.experiments.sweep import param_slug, parse_param, parse_values, run_sweep
    from models.training.runner import run_training

    param = parse_param(args.param)
    values = parse_values(args.values, param)
    out_text, args.out = args.out, None  # project_from_args reads --out as a run folder; here it is the sweep's
    if out_text is not None and not out_text.strip():
        raise UserError("--out needs a folder name (or leave it out for a new folder in the sweeps folder).")
    project = project_from_args(args)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    runs_root = default_runs_dir()
    out = Path(out_text).expanduser() if out_text else \
        runs_root.parent / "sweeps" / f"{stamp}-{project.dataset.name}-{param_slug(param)}"
    _quit_at_once_on_interrupt("while loading the data")
    dataset, stop = _load_data_and_catch_interrupts(project)
    print(f"sweeping {param.label} over {', '.join(f'{value:g}' for value in values)} on {project.dataset.name}")

    def one_run(changed, data, folder):
        listener = ProgressBar(quiet=args.quiet)
        return run_training(changed, listener=listener, stop=stop, dataset=data, run_dir=folder)

    def report(point):
        print(f"{param.label} = {point.value:g}: {point.figures_text()}")

    sweep = run_sweep(project, param, values, dataset, out=out, runs_root=runs_root, stamp=stamp, run=one_run,
                      on_point=report, stopped=stop.is_set)
    print(f"sweep: {out / 'sweep.json'} and sweep.csv ({len(sweep.points)} of {len(values)} value(s))")
    return _stopped_status(stop) if stop.is_set() else 0


def command_search(args) -> int:
    from models.experiments.history import default_runs_dir
    from models.experiments.search import (
        JOURNAL_FILE,
        SearchPlan,
        default_study_name,
        importances,
        parse_space,
        resolved_objective,
        run_search,
    )
    from models.training.runner import run_training  # noqa: F401 - TensorFlow before the first trial's clock

    dimensions = parse_space(args.space)
    if not 1 <= args.workers <= MAX_WORKERS:
        raise UserError.of("--workers takes 1 to {max_workers} (got {workers}).",
                           max_workers=MAX_WORKERS, workers=args.workers)
    out_text, args.out, args.overwrite = args.out, None, False  # --out is the search's folder, not a run's
    if out_text is not None and not out_text.strip():
        raise UserError("--out needs a folder name (or leave it out for a new folder in the runs folder).")
    project = project_from_args(args)
    plan = SearchPlan(dimensions, args.objective, args.trials, args.timeout, args.kfolds,
                      args.study or default_study_name(project, dimensions), args.storage, args.search_seed).check()
    if args.objective == "kfold":
        from models.training.crossval import check_fold_count

        check_fold_count(args.kfolds)
    runs_root = default_runs_dir()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(out_text).expanduser() if out_text else runs_root / f"{stamp}-{project.dataset.name}-search"
    _quit_at_once_on_interrupt("while loading the data")
    dataset, stop = _load_data_and_catch_interrupts(project)
    from models.network.build import resolve_output

    metric = resolve_output(project, dataset.task, dataset.n_classes).metric
    print(f"searching {'; '.join(dimension.describe() for dimension in dimensions)}")
    print(f"study {plan.study_name} ({plan.storage or out / JOURNAL_FILE}), objective "
          f"{resolved_objective(plan.objective, metric)}, until it has {plan.trials} trial(s)"
          + (f" or after {plan.timeout_s:g} s" if plan.timeout_s else "")
          + (f", {args.workers} worker processes" if args.workers > 1 else ""))
    workers = _start_search_workers(args, out, plan.study_name)

    def report(outcome):
        shown = "  ".join(f"{name}={_shown_value(value)}" for name, value in outcome.params.items())
        value = "—" if outcome.value is None else f"{outcome.value:.4g}"
        print(f"trial {outcome.number}: {outcome.state.lower():8} {value:>8}  {shown}  ({outcome.seconds:.1f} s)")

    try:
        study, outcomes = run_search(project, plan, dataset, runs_root=runs_root, out=out, metric=metric, stop=stop,
                                     on_trial=report, listener_for=lambda number: ProgressBar(quiet=args.quiet))
    finally:
        _end_search_workers(workers, stop.is_set())
    from optuna.trial import TrialState

    completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if completed:
        best = study.best_trial
        shown = "  ".join(f"{name}={_shown_value(value)}" for name, value in best.params.items())
        print(f"best: trial {best.number}, {best.value:.4g}  {shown}  ({best.user_attrs.get('run_dir', '')})")
        shares = importances(study)
        if shares:
            print("importance: " + "  ".join(f"{name} {share:.2f}" for name, share in shares.items()))
    print(f"{len(outcomes)} trial(s) here, {len(study.trials)} in the study; {out / 'search.json'}")
    if stop.is_set():
        return _stopped_status(stop)
    if not completed:
        print("error: " + tr("no trial of the study completed (each was pruned or failed); see the trials above."),
              file=sys.stderr)
        return EXIT_NO_RESULT
    return 0


MAX_WORKERS = 64


def _start_search_workers(args, out: Path, study: str) -> list:
    """``--workers N``: N − 1 more processes of this command on the same study (one takes each trial);
    each one's output goes to ``worker-K.log`` in the search's folder."""
    if args.workers <= 1:
        return []
    import subprocess

    argv = _without_options(args.argv, {"--workers", "--out", "--study"})
    out.mkdir(parents=True, exist_ok=True)
    workers = []
    for number in range(2, args.workers + 1):
        log = (out / f"worker-{number}.log").open("w", encoding="utf-8")
        command = [sys.executable, str(Path(__file__).with_name("main.py")), *argv, "--workers", "1",
                   "--out", str(out), "--study", study, "--quiet"]
        workers.append((subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT), log))
    return workers


def _end_search_workers(workers: list, stopped: bool) -> None:
    """Waits for the other workers (they end when the study has its trials); a stop is passed on."""
    for process, log in workers:
        if stopped and process.poll() is None:
            process.send_signal(signal.SIGINT)
        process.wait()
        log.close()


def _without_options(argv: list[str], names: set[str]) -> list[str]:
    """``argv`` without the options ``names`` and their values (``--out DIR`` or ``--out=DIR``)."""
    kept, skip = [], False
    for item in argv:
        if skip:
            skip = False
            continue
        name = item.split("=", 1)[0]
        if name in names:
            skip = "=" not in item
            continue
        kept.append(item)
    return kept


def _shown_value(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


EXIT_CLAIM_FAILED = 1


def command_lessons(args) -> int:
    from models.lessons import load_lessons, run_lesson

    lessons, problems = load_lessons()
    for problem in problems:
        print(f"note: not a lesson: {translated(problem)}", file=sys.stderr)
    if args.check is None:
        if args.data_file:
            raise UserError("--data-file goes with --check: it is the data a lesson trains on.")
        for lesson in lessons:
            print(f"{lesson.number:>3}  {lesson.id:<14} {lesson.title['en']}  |  {lesson.title['zh_CN']}")
        return 0
    known = {lesson.id: lesson for lesson in lessons}
    unknown = [name for name in args.check if name not in known]
    if unknown:
        raise UserError.of("no lesson named {unknown}: python main.py lessons lists them.", unknown=", ".join(unknown))
    chosen = [known[name] for name in args.check] if args.check else lessons
    if args.data_file and not Path(args.data_file).expanduser().exists():
        raise UserError.of("there is no file at {path}.", path=args.data_file)
    lang = "zh_CN" if language() == "zh_CN" else "en"
    held_all = True
    for lesson in chosen:
        outcome = run_lesson(lesson, data_file=args.data_file or "")
        held_all = held_all and outcome.held
        print(f"{lesson.number:>3} {lesson.id}: {lesson.text(lesson.claim, lang)}")
        for step in lesson.steps:
            for line in outcome.readouts.get(step.id, []):
                print(f"      {translated(line)}")
        for check in outcome.checks:
            verdict = tr("held") if check.held else tr("DID NOT HOLD")
            print(f"      {verdict}: {translated(check.text)}")
        print("      → " + (tr("the claim held") if outcome.held else tr("the claim did not hold")))
    return 0 if held_all else EXIT_CLAIM_FAILED


def command_runs(args) -> int:
    from models.experiments.history import RunHistory, run_table_lines

    history = RunHistory(Path(args.runs_dir).expanduser() if args.runs_dir else None)
    if args.runs_dir and not history.root.is_dir():
        raise UserError.of("{root} is not a folder.", root=history.root)
    records = history.runs(args.dataset)
    if not records:
        which = f" on {args.dataset}" if args.dataset else ""
        print(f"no runs{which} in {history.root}.")
        return 0
    print("\n".join(run_table_lines(records)))
    print(f"{len(records)} run(s) in {history.root}")
    return 0


def command_list_datasets() -> int:
    from datasets.registry import DATASETS

    for info in DATASETS.values():
        print(f"{info.name:15} {info.task:15} {info.description}")
    return 0


def command_list_devices() -> int:
    from models.training.devices import available_devices

    for option in available_devices():
        print(f"{option.key:10} {option.label}")
    return 0


def run_cli(argv: list[str]) -> int:
    """Runs the command line; returns the exit status. Bad input: status 2, one ``error:`` line.

    Its sentences are in the language `models.language.language_from_environment` chooses
    (``KERAS_TRAINER_LANGUAGE``, else the system's); the one in use before is restored after.
    """
    previous = language()
    set_language(language_from_environment())
    try:
        return _run_cli(argv)
    finally:
        set_language(previous)


def _run_cli(argv: list[str]) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        args = build_parser().parse_args(argv)
        if args.command == "train":
            return command_train(args)
        if args.command == "predict":
            return command_predict(args)
        if args.command == "search":
            args.argv = list(argv)
            return command_search(args)
        if args.command == "sweep":
            return command_sweep(args)
        if args.command == "lessons":
            return command_lessons(args)
        if args.command == "runs":
            return command_runs(args)
        if args.command == "list-datasets":
            return command_list_datasets()
        return command_list_devices()
    except UserError as error:
        print(f"error: {translated(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # the output went to a reader that stopped (| head): nothing more to say
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt as error:
        print("error: " + tr("interrupted."), file=sys.stderr)
        return 128 + getattr(error, "signum", signal.SIGINT)
    except Exception as error:  # a bug of ours: still one line, with the way to see more
        if os.environ.get("KERAS_TRAINER_DEBUG"):
            raise
        print(f"error: unexpected {type(error).__name__}: {error} (set KERAS_TRAINER_DEBUG=1 to see where).",
              file=sys.stderr)
        return EXIT_BAD_INPUT
