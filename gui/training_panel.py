"""The training settings: optimizer, learning rate and schedule, loss, epochs, device."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gui.help_text import OPTIMIZER_HELP, SETTING_HELP
from gui.i18n import tr
from gui.panel import ProjectPanel
from models.network.spec import (
    LOSSES,
    MONITORS,
    OPTIMIZER_SETTINGS,
    OPTIMIZERS,
    OUTPUT_ACTIVATIONS,
    SCHEDULES,
    AugmentationSpec,
    EarlyStoppingSpec,
    OptimizerSpec,
    Project,
    ScheduleSpec,
    TrainingSpec,
)

CHOICE_LABELS = {
    "sgd": "SGD", "rmsprop": "RMSprop", "adam": "Adam", "adamw": "AdamW", "adagrad": "Adagrad",
    "adadelta": "Adadelta", "nadam": "Nadam", "auto": "Auto (by task)", "mse": "Mean squared error",
    "mae": "Mean absolute error", "huber": "Huber", "binary_crossentropy": "Binary cross-entropy",
    "categorical_crossentropy": "Categorical cross-entropy", "softmax": "Softmax", "sigmoid": "Sigmoid",
    "linear": "Linear", "none": "Constant", "exponential_decay": "Exponential decay",
    "cosine_decay": "Cosine decay", "reduce_on_plateau": "Reduce on plateau",
}
# "auto" means another thing for the device than for the output and loss.
DEVICE_LABELS = {"auto": "Auto (GPU if any)", "cpu": "CPU"}
# Characters a choice box needs at least; longer choices show in full in its list.
COMBO_MIN_CHARACTERS = 8


@dataclass(frozen=True)
class Setting:
    """One control: where its value lives in the project and how to edit it."""

    section: str  # attribute of Project, or "training.early_stopping"
    name: str
    label: str
    kind: str  # "int", "float", "bool", "choice"
    low: float = 0.0
    high: float = 1.0
    step: float = 0.1
    decimals: int = 4
    choices: tuple = ()
    help_key: str = ""


OPTIMIZER_FIELDS = [
    Setting("optimizer", "name", "Optimizer", "choice", choices=OPTIMIZERS, help_key="optimizer"),
    Setting("optimizer", "learning_rate", "Learning rate", "float", 1e-6, 10, 0.001, 6, help_key="learning_rate"),
    Setting("optimizer", "momentum", "Momentum", "float", 0, 0.999, 0.05, 3),
    Setting("optimizer", "nesterov", "Nesterov", "bool"),
    Setting("optimizer", "rho", "ρ (rho)", "float", 0, 0.999, 0.01, 3),
    Setting("optimizer", "beta_1", "β₁", "float", 0, 0.9999, 0.01, 4),
    Setting("optimizer", "beta_2", "β₂", "float", 0, 0.9999, 0.001, 4),
    Setting("optimizer", "epsilon", "ε", "float", 1e-10, 1, 1e-7, 10),
    Setting("optimizer", "weight_decay", "Weight decay", "float", 0, 1, 0.001, 5),
    Setting("optimizer", "amsgrad", "AMSGrad", "bool"),
    Setting("optimizer", "centered", "Centred", "bool"),
    Setting("optimizer", "initial_accumulator_value", "Initial accumulator", "float", 0, 10, 0.1, 3),
    Setting("optimizer", "clipnorm", "Clip gradient norm", "float", 0, 1000, 0.5, 3),
    Setting("optimizer", "clipvalue", "Clip gradient value", "float", 0, 1000, 0.5, 3),
]
SCHEDULE_FIELDS = [
    Setting("schedule", "name", "Schedule", "choice", choices=SCHEDULES, help_key="schedule"),
    Setting("schedule", "decay_rate", "Decay rate", "float", 0.01, 1, 0.05, 3),
    Setting("schedule", "decay_epochs", "Decay every (epochs)", "float", 0, 100000, 1, 1),
    Setting("schedule", "alpha", "Final fraction α", "float", 0, 1, 0.05, 3),
    Setting("schedule", "factor", "Cut factor", "float", 0.01, 0.99, 0.05, 2),
    Setting("schedule", "patience", "Plateau patience", "int", 0, 10000, 1, help_key="patience"),
    Setting("schedule", "min_learning_rate", "Minimum rate", "float", 0, 10, 1e-6, 8),
]
SCHEDULE_SETTINGS = {
    "none": (), "exponential_decay": ("decay_rate", "decay_epochs"), "cosine_decay": ("decay_epochs", "alpha"),
    "reduce_on_plateau": ("factor", "patience", "min_learning_rate"),
}
OUTPUT_FIELDS = [
    Setting("output", "activation", "Output activation", "choice", choices=OUTPUT_ACTIVATIONS, help_key="output_activation"),
    Setting("output", "loss", "Loss", "choice", choices=LOSSES, help_key="loss"),
]
TRAINING_FIELDS = [
    Setting("training", "epochs", "Epochs", "int", 1, 100000, 1, help_key="epochs"),
    Setting("training", "batch_size", "Batch size", "int", 1, 1000000, 8, help_key="batch_size"),
    Setting("training", "validation_fraction", "Validation fraction", "float", 0, 0.9, 0.05, 2, help_key="validation_fraction"),
    Setting("training", "shuffle", "Shuffle each epoch", "bool", help_key="shuffle"),
    Setting("training", "seed", "Seed", "int", 0, 2**31 - 1, 1, help_key="seed"),
    # Until TensorFlow has listed the real devices (see `TrainingPanel.set_devices`).
    Setting("training", "device", "Device", "choice", choices=("auto", "cpu"), help_key="device"),
]
EARLY_STOPPING_FIELDS = [
    Setting("training.early_stopping", "enabled", "Early stopping", "bool", help_key="early_stopping"),
    Setting("training.early_stopping", "monitor", "Monitor", "choice", choices=MONITORS, help_key="monitor"),
    Setting("training.early_stopping", "patience", "Patience (epochs)", "int", 0, 10000, 1, help_key="patience"),
    Setting("training.early_stopping", "min_delta", "Min. improvement", "float", 0, 1000, 0.001, 5),
    Setting("training.early_stopping", "restore_best_weights", "Restore best weights", "bool", help_key="restore_best_weights"),
]
AUGMENTATION_FIELDS = [
    Setting("augmentation", "shift", "Shift (share of width)", "float", 0, 0.5, 0.05, 3, help_key="augment_shift"),
    Setting("augmentation", "rotate", "Rotation (degrees)", "float", 0, 180, 5, 1, help_key="augment_rotate"),
    Setting("augmentation", "zoom", "Zoom (share)", "float", 0, 0.9, 0.05, 3, help_key="augment_zoom"),
    Setting("augmentation", "noise", "Input noise σ", "float", 0, 10, 0.05, 3, help_key="augment_noise"),
]
SPEC_CLASSES = {"optimizer": OptimizerSpec, "schedule": ScheduleSpec, "training": TrainingSpec,
                "training.early_stopping": EarlyStoppingSpec, "augmentation": AugmentationSpec}


def with_spec_range(setting: Setting) -> Setting:
    """The setting with the project's own range (`models.network.spec`), so a control holds exactly what a project may."""
    allowed = SPEC_CLASSES[setting.section].RANGES.get(setting.name) if setting.kind in ("int", "float") else None
    if allowed is None:
        return setting
    return dataclasses.replace(setting, low=allowed.low, high=allowed.high)


OPTIMIZER_FIELDS, SCHEDULE_FIELDS, TRAINING_FIELDS, EARLY_STOPPING_FIELDS, AUGMENTATION_FIELDS = (
    [with_spec_range(setting) for setting in fields]
    for fields in (OPTIMIZER_FIELDS, SCHEDULE_FIELDS, TRAINING_FIELDS, EARLY_STOPPING_FIELDS, AUGMENTATION_FIELDS))
GROUPS = [
    ("Optimizer", OPTIMIZER_FIELDS), ("Learning-rate schedule", SCHEDULE_FIELDS), ("Output and loss", OUTPUT_FIELDS),
    ("Training", TRAINING_FIELDS), ("Early stopping", EARLY_STOPPING_FIELDS),
    ("Data augmentation", AUGMENTATION_FIELDS),
]


def _section(project: Project, section: str):
    target = project
    for part in section.split("."):
        target = getattr(target, part)
    return target


def _make_editor(setting: Setting) -> QWidget:
    if setting.kind == "bool":
        return QCheckBox()
    if setting.kind == "choice":
        combo = QComboBox()
        # Sized by its longest choice, a box would push the form wider than its tab.
        combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(COMBO_MIN_CHARACTERS)
        labels = DEVICE_LABELS if setting.name == "device" else CHOICE_LABELS
        for choice in setting.choices:
            combo.addItem(tr(labels.get(choice, choice)), choice)
            if setting.name == "name" and setting.section == "optimizer":
                combo.setItemData(combo.count() - 1, tr(OPTIMIZER_HELP[choice]), Qt.ToolTipRole)
        return combo
    spin = QSpinBox() if setting.kind == "int" else QDoubleSpinBox()
    if setting.kind == "float":
        spin.setDecimals(setting.decimals)
        spin.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
    spin.setRange(setting.low, setting.high)
    spin.setSingleStep(setting.step)
    # One undo step per deliberate change, not one per keystroke.
    spin.setKeyboardTracking(False)
    spin.setAccelerated(True)
    return spin


def _read(widget: QWidget, setting: Setting):
    if setting.kind == "bool":
        return widget.isChecked()
    if setting.kind == "choice":
        return widget.currentData()
    return int(widget.value()) if setting.kind == "int" else float(widget.value())


def _write(widget: QWidget, setting: Setting, value) -> None:
    widget.blockSignals(True)
    if setting.kind == "bool":
        widget.setChecked(bool(value))
    elif setting.kind == "choice":
        index = widget.findData(value)
        widget.setCurrentIndex(max(index, 0))
    else:
        widget.setValue(value)
    widget.blockSignals(False)


def _connect(widget: QWidget, setting: Setting, slot) -> None:
    if setting.kind == "bool":
        widget.toggled.connect(slot)
    elif setting.kind == "choice":
        widget.currentIndexChanged.connect(slot)
    else:
        widget.valueChanged.connect(slot)


class TrainingPanel(ProjectPanel):
    """A form over the project's optimizer, schedule, output, training and early-stopping settings.

    It follows the same contract as the network editor: `set_project` shows a
    project without emitting; each user edit emits `changed` with a new project
    and a short description for the undo menu.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self._editors: dict[tuple[str, str], tuple[Setting, QWidget, QLabel]] = {}
        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(4, 4, 4, 4)
        for title, settings in GROUPS:
            group = QGroupBox(tr(title))
            form = QFormLayout(group)
            form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
            # A long label and a wide number move onto two lines rather than past the edge.
            form.setRowWrapPolicy(QFormLayout.WrapLongRows)
            for setting in settings:
                editor = _make_editor(setting)
                label = QLabel(tr(setting.label))
                tip = tr(SETTING_HELP.get(setting.help_key or setting.name, ""))
                if setting.section == "optimizer" and setting.name == "name":
                    tip = tr("The rule that turns gradients into weight updates. Hover over a choice for its formula.")
                editor.setToolTip(tip)
                label.setToolTip(tip)
                form.addRow(label, editor)
                self._editors[(setting.section, setting.name)] = (setting, editor, label)
                _connect(editor, setting, lambda *_, s=setting: self._edited(s))
            column.addWidget(group)
        column.addStretch(1)
        self.setWidget(body)
        self.set_project(self._project)

    def editor(self, section: str, name: str) -> QWidget:
        """The control for one setting (tests and the window's shortcuts use it)."""
        return self._editors[(section, name)][1]

    def set_devices(self, options) -> None:
        """Fills the device list with the devices that really exist (`DeviceOption`s)."""
        combo = self.editor("training", "device")
        combo.blockSignals(True)
        combo.clear()
        for option in options:
            combo.addItem(option.label, option.key)
        combo.blockSignals(False)
        self._show_values()

    def set_project(self, project: Project) -> None:
        """Shows ``project``'s settings; emits nothing."""
        self._project = project.copy()
        self._show_values()

    def _show_values(self) -> None:
        for (section, name), (setting, editor, _) in self._editors.items():
            value = getattr(_section(self._project, section), name)
            if setting.kind == "choice" and editor.findData(value) < 0:
                editor.addItem(str(value), value)  # a device saved on another machine, say
            _write(editor, setting, value)
        self._show_relevant_fields()

    def _show_relevant_fields(self) -> None:
        """Only the settings that mean something for the chosen optimizer and schedule."""
        optimizer = self._project.optimizer.name
        schedule = self._project.schedule.name
        early = self._project.training.early_stopping.enabled
        for (section, name), (_, editor, label) in self._editors.items():
            visible = True
            if section == "optimizer" and name not in ("name", "learning_rate", "clipnorm", "clipvalue"):
                visible = name in OPTIMIZER_SETTINGS[optimizer]
            elif section == "schedule" and name != "name":
                visible = name in SCHEDULE_SETTINGS[schedule]
            elif section == "training.early_stopping" and name != "enabled":
                visible = early
            editor.setVisible(visible)
            label.setVisible(visible)

    def _edited(self, setting: Setting) -> None:
        setting_, editor, _ = self._editors[(setting.section, setting.name)]
        value = _read(editor, setting)
        project = self._project.copy()
        owner = _section(project, setting.section)
        if getattr(owner, setting.name) == value:
            return
        if setting.section == "training.early_stopping":
            project.training.early_stopping = dataclasses.replace(owner, **{setting.name: value})
        else:
            setattr(project, setting.section, dataclasses.replace(owner, **{setting.name: value}))
        self._project = project
        self._show_relevant_fields()
        shown = tr(CHOICE_LABELS.get(value, value)) if setting.kind == "choice" else value
        if setting.kind == "choice" and setting.name == "device":
            shown = editor.currentText()
        label = tr(setting.label)
        self.changed.emit(project.copy(), f"{label.lower() if label.isascii() else label} → {shown}")
