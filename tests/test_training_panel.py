"""The training settings form: each edit emits the right project, and only relevant fields show."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QStyle, QStyleOptionButton

from gui.training_panel import TrainingPanel
from models.network.spec import Project, project_to_dict
from models.training.devices import DeviceOption


@pytest.fixture
def panel(qtbot) -> TrainingPanel:
    widget = TrainingPanel()
    qtbot.addWidget(widget)
    widget.set_project(Project())
    widget.resize(320, 900)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _shown(panel: TrainingPanel, section: str, name: str) -> bool:
    return panel.editor(section, name).isVisibleTo(panel)


def _choose(qtbot, panel: TrainingPanel, section: str, name: str, value):
    """Picks a choice in a combo box; returns the (project, description) it emitted."""
    combo = panel.editor(section, name)
    with qtbot.waitSignal(panel.changed, timeout=1000) as blocker:
        combo.setCurrentIndex(combo.findData(value))
    return blocker.args


def _click_box(qtbot, box: QCheckBox) -> None:
    """Clicks a check box on its square, where a user aims."""
    option = QStyleOptionButton()
    box.initStyleOption(option)
    square = box.style().subElementRect(QStyle.SE_CheckBoxIndicator, option, box)
    qtbot.mouseClick(box, Qt.LeftButton, pos=square.center())


def _type(qtbot, panel: TrainingPanel, section: str, name: str, text: str):
    spin = panel.editor(section, name)
    with qtbot.waitSignal(panel.changed, timeout=1000) as blocker:
        spin.setFocus()
        qtbot.keyClick(spin, Qt.Key_A, Qt.ControlModifier)
        qtbot.keyClicks(spin, text)
        qtbot.keyClick(spin, Qt.Key_Return)
    return blocker.args


def test_choosing_sgd_shows_momentum_and_nesterov_and_hides_the_betas(qtbot, panel):
    assert _shown(panel, "optimizer", "beta_1") and not _shown(panel, "optimizer", "momentum")

    project, description = _choose(qtbot, panel, "optimizer", "name", "sgd")

    assert project.optimizer.name == "sgd"
    assert description == "optimizer → SGD"
    for name in ("momentum", "nesterov", "learning_rate", "clipnorm", "clipvalue"):
        assert _shown(panel, "optimizer", name), name
    for name in ("beta_1", "beta_2", "epsilon", "amsgrad", "rho", "weight_decay"):
        assert not _shown(panel, "optimizer", name), name


def test_sgd_settings_reach_the_project(qtbot, panel):
    _choose(qtbot, panel, "optimizer", "name", "sgd")

    project, _ = _type(qtbot, panel, "optimizer", "momentum", "0.9")
    assert project.optimizer.momentum == pytest.approx(0.9)

    with qtbot.waitSignal(panel.changed) as blocker:
        _click_box(qtbot, panel.editor("optimizer", "nesterov"))
    project, description = blocker.args
    assert project.optimizer.nesterov is True and project.optimizer.momentum == pytest.approx(0.9)
    assert description == "nesterov → True"


@pytest.mark.parametrize(
    ("schedule", "shown"),
    [
        ("none", set()),
        ("exponential_decay", {"decay_rate", "decay_epochs"}),
        ("cosine_decay", {"decay_epochs", "alpha"}),
        ("reduce_on_plateau", {"factor", "patience", "min_learning_rate"}),
    ],
)
def test_schedule_fields_follow_the_schedule(qtbot, panel, schedule, shown):
    if schedule != "none":
        project, _ = _choose(qtbot, panel, "schedule", "name", schedule)
        assert project.schedule.name == schedule

    every = {"decay_rate", "decay_epochs", "alpha", "factor", "patience", "min_learning_rate"}
    assert {name for name in every if _shown(panel, "schedule", name)} == shown


def test_typing_a_number_emits_one_change_with_it(qtbot, panel):
    emitted = []
    panel.changed.connect(lambda project, text: emitted.append((project, text)))

    spin = panel.editor("training", "epochs")
    spin.setFocus()
    qtbot.keyClick(spin, Qt.Key_A, Qt.ControlModifier)
    qtbot.keyClicks(spin, "125")
    assert emitted == []  # nothing per keystroke
    qtbot.keyClick(spin, Qt.Key_Return)

    assert len(emitted) == 1
    project, text = emitted[0]
    assert project.training.epochs == 125 and text == "epochs → 125"
    assert project_to_dict(project.with_training(epochs=20)) == project_to_dict(Project())


def test_early_stopping_fields_appear_when_it_is_switched_on(qtbot, panel):
    assert not _shown(panel, "training.early_stopping", "patience")

    with qtbot.waitSignal(panel.changed) as blocker:
        _click_box(qtbot, panel.editor("training.early_stopping", "enabled"))

    assert blocker.args[0].training.early_stopping.enabled is True
    for name in ("monitor", "patience", "min_delta", "restore_best_weights"):
        assert _shown(panel, "training.early_stopping", name), name


def test_set_project_shows_values_without_emitting(qtbot, panel):
    project = Project()
    project.optimizer.name = "rmsprop"
    project.optimizer.learning_rate = 0.02
    project.schedule.name = "cosine_decay"
    project.training.batch_size = 64

    with qtbot.assertNotEmitted(panel.changed):
        panel.set_project(project)

    assert panel.editor("optimizer", "name").currentData() == "rmsprop"
    assert panel.editor("optimizer", "learning_rate").value() == pytest.approx(0.02)
    assert panel.editor("training", "batch_size").value() == 64
    assert _shown(panel, "optimizer", "centered") and _shown(panel, "schedule", "alpha")


def test_device_list_comes_from_set_devices(qtbot, panel):
    panel.set_devices([DeviceOption("auto", "Auto (GPU 0: Test card)"), DeviceOption("cpu", "CPU"),
                       DeviceOption("gpu:0", "GPU 0: Test card")])
    combo = panel.editor("training", "device")

    assert [combo.itemText(i) for i in range(combo.count())] == ["Auto (GPU 0: Test card)", "CPU", "GPU 0: Test card"]
    assert combo.currentData() == "auto"

    project, description = _choose(qtbot, panel, "training", "device", "gpu:0")
    assert project.training.device == "gpu:0"
    assert description == "device → GPU 0: Test card"


def test_a_device_from_another_machine_stays_listed(qtbot, panel):
    project = Project().with_training(device="gpu:3")
    panel.set_project(project)
    panel.set_devices([DeviceOption("auto", "Auto (CPU)"), DeviceOption("cpu", "CPU")])

    combo = panel.editor("training", "device")
    assert combo.currentData() == "gpu:3"
    assert combo.count() == 3


def test_device_choices_read_well_before_tensorflow_has_listed_them(panel):
    combo = panel.editor("training", "device")

    labels = {combo.itemData(i): combo.itemText(i) for i in range(combo.count())}

    assert labels["cpu"] == "CPU"
    assert "task" not in labels["auto"]  # "Auto (by task)" is the wording for the loss, not the device


def test_form_fits_the_settings_tab_without_clipping(show_widget):
    widget = show_widget(TrainingPanel(), 290, 700)

    assert widget.widget().width() <= widget.viewport().width()
    assert widget.widget().minimumSizeHint().width() <= widget.viewport().width()
