"""The data panel and preview: choosing a data set and a CSV file, and seeing what was loaded."""

import dataclasses

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from datasets.choice import DatasetChoice
from gui.data_panel import LEGEND_TEXT_COLOUR, DataPanel, DataPreview
from models.network.spec import DenseLayer, Project

CLASSES = ["山鸢尾", "变色鸢尾", "维吉尼亚鸢尾"]
COLUMNS = ["花萼长度", "花萼宽度", "花瓣长度", "品种"]


@pytest.fixture
def chinese_csv(tmp_path):
    """A UTF-8 CSV with Chinese column names and Chinese class names, in a folder with a Chinese name."""
    folder = tmp_path / "数据"
    folder.mkdir()
    path = folder / "鸢尾花.csv"
    rng = np.random.default_rng(0)
    lines = [",".join(COLUMNS)]
    for index in range(90):
        label = index % 3
        length, width, petal = rng.normal([4 + 1.5 * label, 3 - 0.5 * label, 1 + 2 * label], 0.3)
        lines.append(f"{length:.2f},{width:.2f},{petal:.2f},{CLASSES[label]}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def panel(qtbot) -> DataPanel:
    widget = DataPanel()
    qtbot.addWidget(widget)
    widget.set_project(Project())
    widget.resize(290, 700)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _shown(panel: DataPanel, widget) -> bool:
    return widget.isVisibleTo(panel)


def _choose_data_set(qtbot, panel: DataPanel, name: str):
    combo = panel.name_combo
    with qtbot.waitSignal(panel.changed, timeout=1000) as blocker:
        combo.setCurrentIndex(combo.findData(name))
    return blocker.args


def test_switching_to_csv_shows_the_file_and_target_rows(qtbot, panel):
    assert _shown(panel, panel.samples) and _shown(panel, panel.noise)
    assert not _shown(panel, panel.file_edit) and not _shown(panel, panel.target)

    project, description = _choose_data_set(qtbot, panel, "csv")

    assert project.dataset.name == "csv" and project.dataset.target == ""
    assert description == "data set → Your CSV file"
    for widget in (panel.file_edit, panel.browse, panel.target, panel.missing, panel.test_fraction):
        assert _shown(panel, widget)
    assert not _shown(panel, panel.samples) and not _shown(panel, panel.noise)


def test_image_sets_hide_the_test_fraction(qtbot, panel):
    _choose_data_set(qtbot, panel, "digits")

    assert not _shown(panel, panel.samples) and not _shown(panel, panel.file_edit)
    assert _shown(panel, panel.seed)


def test_choosing_a_csv_file_lists_its_chinese_columns(qtbot, panel, chinese_csv, monkeypatch):
    _choose_data_set(qtbot, panel, "csv")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(chinese_csv), ""))

    with qtbot.waitSignal(panel.changed, timeout=1000) as blocker:
        qtbot.mouseClick(panel.browse, Qt.LeftButton)

    project, _ = blocker.args
    assert project.dataset.data_file == str(chinese_csv) and project.dataset.target == ""
    assert panel.file_edit.text() == str(chinese_csv)
    columns = [panel.target.itemData(i) for i in range(panel.target.count())]
    assert columns == ["", *COLUMNS]  # "choose the column to predict" first
    assert panel.target.currentData() == ""

    with qtbot.waitSignal(panel.changed, timeout=1000) as blocker:
        panel.target.setCurrentIndex(panel.target.findData("品种"))
    project, description = blocker.args
    assert project.dataset.target == "品种" and description == "target → 品种"


def test_pasting_a_file_name_lists_its_columns(qtbot, panel, chinese_csv):
    _choose_data_set(qtbot, panel, "csv")

    with qtbot.waitSignal(panel.changed, timeout=1000) as blocker:
        panel.file_edit.setFocus()
        panel.file_edit.insert(str(chinese_csv))  # pasted: QTest cannot type Chinese
        qtbot.keyClick(panel.file_edit, Qt.Key_Return)

    assert blocker.args[0].dataset.data_file == str(chinese_csv)
    assert panel.target.findData("花萼宽度") >= 0


def test_set_project_emits_nothing_and_shows_every_setting(qtbot, panel, chinese_csv):
    project = Project(dataset=DatasetChoice(name="csv", data_file=str(chinese_csv), target="品种", missing="fill",
                                            test_fraction=0.3, seed=7))

    with qtbot.assertNotEmitted(panel.changed):
        panel.set_project(project)

    assert panel.name_combo.currentData() == "csv"
    assert panel.target.currentData() == "品种"
    assert panel.missing.currentData() == "fill"
    assert panel.test_fraction.value() == pytest.approx(0.3) and panel.seed.value() == 7


def test_form_fits_the_settings_tab_without_clipping(qtbot, panel, chinese_csv):
    panel.set_project(Project(dataset=DatasetChoice(name="csv", data_file=str(chinese_csv), target="品种")))
    qtbot.wait(1)  # one layout pass

    assert panel.widget().width() <= panel.viewport().width()
    assert panel.widget().minimumSizeHint().width() <= panel.viewport().width()


def test_loading_a_chinese_csv_shows_its_columns_and_classes(qtbot, make_window, chinese_csv):
    project = Project(name="鸢尾", dataset=DatasetChoice(name="csv", data_file=str(chinese_csv), target="品种"),
                      layers=[DenseLayer(4)])
    window = make_window(project, wait=False)

    qtbot.waitUntil(lambda: window.dataset is not None, timeout=30_000)
    window.bottom_tabs.setCurrentWidget(window.preview)

    dataset = window.dataset
    assert set(dataset.class_names) == set(CLASSES)
    assert window.preview.currentWidget() is window.preview.table
    model = window.preview.table.model()
    header = [model.headerData(column, Qt.Horizontal) for column in range(model.columnCount())]
    assert header == ["花萼长度", "花萼宽度", "花瓣长度", "→ 品种"]
    assert model.rowCount() == len(dataset.x_train)
    assert model.data(model.index(0, 3)) in CLASSES
    status = window.data_panel.status.text()
    for name in CLASSES:
        assert f"{name}: " in status
    assert "Classification into 3 classes" in status
    assert "3 features" in window.network_editor.input_card().summary()


def test_dataset_ready_is_emitted_when_the_data_set_changes(qtbot, make_window, tiny_project):
    window = make_window(tiny_project())
    project = window.project.copy()
    project.dataset = dataclasses.replace(project.dataset, samples=60)

    with qtbot.waitSignal(window.dataset_ready, timeout=30_000) as ready:
        window.record_edit(project, "samples → 60")

    assert len(ready.args[0].x_train) + len(ready.args[0].x_test) == 60
    assert window.preview.currentWidget() is window.preview.plot


def test_preview_shows_images_for_digits(qtbot):
    from datasets.registry import load_dataset

    preview = DataPreview()
    qtbot.addWidget(preview)
    preview.show_dataset(load_dataset(DatasetChoice(name="digits")))

    assert preview.currentWidget() is preview.images
    assert not preview.images.pixmap().isNull()
    assert preview.probe_points() is None


def test_preview_legend_is_readable_on_a_white_plot(qtbot):
    from datasets.registry import load_dataset

    preview = DataPreview()
    qtbot.addWidget(preview)
    preview.show_dataset(load_dataset(DatasetChoice(name="xor", samples=100)))

    legend = preview.plot.plotItem.legend
    labels = [label.text for _sample, label in legend.items]
    assert len(labels) == 4 and any("(test)" in text for text in labels)
    assert pg.mkColor(legend.opts["labelTextColor"]).name() == LEGEND_TEXT_COLOUR
    assert preview.probe_points().shape == (DataPreview.GRID**2, 2)


def test_left_out_columns_are_typed_as_a_list_and_shown_back(qtbot, panel, chinese_csv):
    project = Project(dataset=DatasetChoice(name="csv", data_file=str(chinese_csv), target="品种"))
    panel.set_project(project)
    assert not panel.exclude.isHidden()
    with qtbot.waitSignal(panel.changed) as edited:
        panel.exclude.setText(" 花萼长度 , 花萼宽度,")
        panel.exclude.editingFinished.emit()
    changed, text = edited.args
    assert changed.dataset.exclude == ["花萼长度", "花萼宽度"]
    assert "花萼长度, 花萼宽度" in text
    panel.set_project(changed)
    assert panel.exclude.text() == "花萼长度, 花萼宽度"
    panel.set_project(Project())  # not a CSV: nothing to leave out
    assert panel.exclude.isHidden()
