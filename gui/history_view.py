"""The History tab: every run in the runs folder, to compare, overlay, reopen and delete (`HistoryView`).

The folders are the truth (`models.experiments.history.RunHistory`): the
table is read again when the runs folder changes (a run started, a folder
deleted or copied in by hand), when a run ends, and when the tab is shown.
Selecting runs shows, setting by setting, what differs between them; the
buttons overlay their curves on the training charts, apply one run's
settings to the project (undoable), or delete runs after a question.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.experiment_view import SortedItem
from gui.i18n import error_text, tr
from gui.panel import DrawnWhenShown
from models.errors import UserError
from models.experiments.history import COLUMNS, RunHistory, RunRecord, timestamp
from models.experiments.project_diff import differences, differing_labels


def headings() -> dict[str, str]:
    """The table's headings in the chosen language, by `COLUMNS`' names (built when asked, after the
    language is chosen)."""
    return {
        "started": tr("started"), "run": tr("run"), "data set": tr("data set"), "settings": tr("settings"),
        "epochs": tr("epochs"), "loss": tr("loss"), "val loss": tr("val loss"), "metric": tr("metric"),
        "train": tr("train"), "val": tr("val"), "test": tr("test"), "time": tr("time"), "ended": tr("ended"),
    }


def ending_words() -> dict[str, str]:
    """A run's status and stop reason (as ``status.json`` names them) in the chosen language."""
    return {
        "completed": tr("completed"), "stopped": tr("stopped"), "failed": tr("failed"), "killed": tr("killed"),
        "running": tr("running"), "unknown": tr("unknown"), "early_stopping": tr("early stopping"),
        "nan_loss": tr("NaN loss"),
    }


def setting_label(path: tuple) -> str:
    """A project setting, named as the window's own controls name it ("Learning rate", "layer 2: units")."""
    from gui.data_panel import EDIT_NAMES
    from gui.network_editor import _SETTING_NAMES
    from gui.training_panel import GROUPS

    if path and path[0] == "layers" and len(path) == 3:
        setting = tr("type") if path[2] == "type" else tr(_SETTING_NAMES.get(path[2], str(path[2])))
        return tr("layer {number}: {setting}", number=path[1], setting=setting)
    if path and path[0] == "dataset" and len(path) == 2:
        return tr(EDIT_NAMES.get(path[1], str(path[1])))
    section, name = ".".join(map(str, path[:-1])), path[-1] if path else ""
    for _, settings in GROUPS:
        for setting in settings:
            if setting.section == section and setting.name == name:
                return tr(setting.label)
    return " ".join(map(str, path))


REFRESH_DELAY_MS = 300  # a run writes several files at once: one refresh for all
RUNNING_RECHECK_MS = 5000
ALL_DATASETS = ""


def _sort_key(heading: str, record: RunRecord, text: str):
    if heading == "started":  # the moment, whatever time zone each run was started in
        return timestamp(record.started)
    if heading == "time":
        return record.duration_s if record.duration_s is not None else -1.0
    try:
        return float(text)
    except ValueError:
        return text


class HistoryView(DrawnWhenShown, QWidget):
    """The runs table, the comparison of the selected runs, and what can be done with them.

    Signals:
        overlay_requested(list): `(label, history)` pairs to draw over the charts; empty to remove them.
        settings_requested(object, str): a run's `Project` to apply, and its folder's name.
        message(str): a sentence for the status bar.
    """

    overlay_requested = Signal(list)
    settings_requested = Signal(object, str)
    message = Signal(str)

    def __init__(self, root: Path | None = None, parent=None):
        super().__init__(parent)
        self.history = RunHistory(root)
        self.records: list[RunRecord] = []
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(lambda _path: self.refresh_soon())
        self._refresh_timer = QTimer(self, singleShot=True, interval=REFRESH_DELAY_MS)
        self._refresh_timer.timeout.connect(self.refresh)
        # A run going in another process (the command line) ends without touching the runs folder
        # itself, which is all the watcher sees: while one is listed as running, look again now and then.
        self._running_timer = QTimer(self, interval=RUNNING_RECHECK_MS)
        self._running_timer.timeout.connect(self.refresh_soon)
        self._build()
        self.refresh_soon()

    # ------------------------------------------------------------ layout
    def _build(self) -> None:
        self.dataset_choice = QComboBox()
        self.dataset_choice.setToolTip(tr("Show only the runs on one data set."))
        self.dataset_choice.currentIndexChanged.connect(lambda _index: self._fill_table())
        self.overlay_button = self._button(tr("Overlay curves"), self.overlay_selected, tr(
            "Draw the selected runs' loss and metric curves over the training charts, each in its own colour; "
            "the legend names what differs between them."))
        self.clear_overlay_button = self._button(tr("Clear overlay"), self.clear_overlay,
                                                 tr("Remove the other runs' curves from the charts."))
        self.apply_button = self._button(tr("Use these settings"), self.apply_selected, tr(
            "Make the selected run's settings the project's (Edit ▸ Undo takes them back)."))
        self.folder_button = self._button(tr("Show folder"), self.show_folder,
                                          tr("Open the selected run's folder (its model, history and files)."))
        self.delete_button = self._button(tr("Delete…"), self.delete_selected,
                                          tr("Delete the selected runs' folders, after asking."))
        self.clear_overlay_button.setEnabled(False)

        tools = QHBoxLayout()
        tools.addWidget(QLabel(tr("Data set:")))
        tools.addWidget(self.dataset_choice)
        for button in (self.overlay_button, self.clear_overlay_button, self.apply_button, self.folder_button,
                       self.delete_button):
            tools.addWidget(button)
        tools.addStretch(1)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([headings()[heading] for heading, _ in COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setSortingEnabled(True)
        self.table.sortItems(0, Qt.SortOrder.DescendingOrder)  # newest first
        self.table.setAlternatingRowColors(True)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(lambda _index: self.overlay_selected())

        self.comparison = QTableWidget(0, 1)
        self.comparison.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.comparison.verticalHeader().setVisible(False)
        self.comparison.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.comparison.horizontalHeader().setStretchLastSection(True)
        self.comparison_label = QLabel()
        self.comparison_label.setWordWrap(True)
        comparison_box = QWidget()
        comparison_layout = QVBoxLayout(comparison_box)
        comparison_layout.setContentsMargins(0, 0, 0, 0)
        comparison_layout.addWidget(self.comparison_label)
        comparison_layout.addWidget(self.comparison, 1)

        self.empty_label = QLabel()
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(comparison_box)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(tools)
        layout.addWidget(self.empty_label)
        layout.addWidget(splitter, 1)
        self._selection_changed()

    def _button(self, text: str, slot, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    # ------------------------------------------------------------ reading
    def refresh_soon(self) -> None:
        """Reads the runs folder again in a moment (several changes at once make one refresh)."""
        self._refresh_timer.start()

    def refresh(self) -> None:
        """Reads the runs folder now (while hidden: when next shown)."""
        if self.later(self.refresh):
            return
        self._watch_root()
        self.records = self.history.refresh()
        chosen = self.dataset_choice.currentData() or ALL_DATASETS
        datasets = sorted({record.dataset for record in self.records if record.dataset})
        self.dataset_choice.blockSignals(True)
        self.dataset_choice.clear()
        self.dataset_choice.addItem(tr("all"), ALL_DATASETS)
        for name in datasets:
            self.dataset_choice.addItem(name, name)
        self.dataset_choice.setCurrentIndex(max(0, self.dataset_choice.findData(chosen)))
        self.dataset_choice.blockSignals(False)
        self._fill_table()
        if any(record.status == "running" for record in self.records):
            self._running_timer.start()
        else:
            self._running_timer.stop()

    def _watch_root(self) -> None:
        root = str(self.history.root)
        if self.history.root.is_dir() and root not in self._watcher.directories():
            self._watcher.addPath(root)

    def shown_records(self) -> list[RunRecord]:
        """The runs the table shows (the data set filter applied), newest first."""
        chosen = self.dataset_choice.currentData() or ALL_DATASETS
        return [record for record in self.records if chosen in (ALL_DATASETS, record.dataset)]

    def _fill_table(self) -> None:
        selected = {record.path for record in self.selected_records()}
        shown = self.shown_records()
        self.table.setSortingEnabled(False)
        self.table.clearSelection()
        self.table.setRowCount(len(shown))
        for row, record in enumerate(shown):
            for column, (heading, cell) in enumerate(COLUMNS):
                text = error_text(cell(record))
                if heading == "ended":
                    text = _translated_ending(record)
                item = SortedItem(text, _sort_key(heading, record, text))
                item.setFlags(Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled)
                item.setData(Qt.ItemDataRole.UserRole, str(record.path))
                if heading == "settings":
                    item.setToolTip(text)
                if record.problem:
                    item.setToolTip(record.problem)
                self.table.setItem(row, column, item)
        self.table.setSortingEnabled(True)
        for row in range(self.table.rowCount()):
            if Path(self.table.item(row, 0).data(Qt.ItemDataRole.UserRole)) in selected:
                self.table.selectRow(row)
        if self.records:
            self.empty_label.hide()
        else:
            self.empty_label.setText(tr("No runs yet in {folder}. Every run you train, here or with "
                                        "python main.py train, is kept there and listed here.",
                                        folder=self.history.root))
            self.empty_label.show()
        self._selection_changed()

    def selected_records(self) -> list[RunRecord]:
        """The selected runs, in the table's order."""
        by_path = {str(record.path): record for record in self.records}
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        found = []
        for row in rows:
            item = self.table.item(row, 0)
            record = by_path.get(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None
            if record is not None:
                found.append(record)
        return found

    def select_runs(self, names: list[str]) -> None:
        """Selects the runs whose folders are named ``names`` (tests and screenshots)."""
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        for row in range(self.table.rowCount()):
            if Path(self.table.item(row, 0).data(Qt.ItemDataRole.UserRole)).name in names:
                self.table.selectRow(row)
        self.table.setSelectionMode(mode)

    # ------------------------------------------------------------ selection
    def _selection_changed(self) -> None:
        selected = self.selected_records()
        self.overlay_button.setEnabled(bool(selected))
        self.apply_button.setEnabled(len(selected) == 1 and selected[0].project is not None)
        self.folder_button.setEnabled(len(selected) == 1)
        self.delete_button.setEnabled(bool(selected))
        self._show_comparison(selected)

    def _show_comparison(self, selected: list[RunRecord]) -> None:
        """What differs between the selected runs' settings, one row per setting."""
        readable = [record for record in selected if record.project is not None]
        if len(readable) < 2:
            self.comparison.setColumnCount(1)
            self.comparison.setRowCount(0)
            self.comparison.setHorizontalHeaderLabels([tr("setting")])
            self.comparison_label.setText(tr("Select two runs or more to see which settings differ."))
            return
        found = differences(*(record.project for record in readable))
        self.comparison.setColumnCount(1 + len(readable))
        self.comparison.setHorizontalHeaderLabels([tr("setting"), *(record.short_name for record in readable)])
        self.comparison.setRowCount(len(found))
        for row, difference in enumerate(found):
            self.comparison.setItem(row, 0, QTableWidgetItem(setting_label(difference.path)))
            for column, value in enumerate(difference.values, start=1):
                self.comparison.setItem(row, column, QTableWidgetItem(value))
        self.comparison_label.setText(
            tr("{count} setting(s) differ between the {runs} selected runs.", count=len(found), runs=len(readable))
            if found else tr("The selected runs have the same settings."))

    # ------------------------------------------------------------ actions
    def overlay_selected(self) -> None:
        """Asks for the selected runs' curves over the charts, labelled by what differs."""
        chosen, curves = [], []
        for record in self.selected_records():
            try:
                curves.append(record.curves())
                chosen.append(record)
            except UserError as error:
                self.message.emit(tr("{run} has no curves to draw: {error}", run=record.name, error=error_text(error)))
        if not chosen:
            return
        labels = differing_labels([record.project or {} for record in chosen], [record.short_name for record in chosen],
                                  name_of=setting_label)
        self.overlay_requested.emit(list(zip(labels, curves, strict=True)))
        self.clear_overlay_button.setEnabled(True)

    def clear_overlay(self) -> None:
        self.overlay_requested.emit([])
        self.clear_overlay_button.setEnabled(False)

    def apply_selected(self) -> None:
        """Asks for the selected run's settings to become the project's."""
        from models.network.spec import load_project

        selected = self.selected_records()
        if len(selected) != 1:
            return
        try:
            project = load_project(selected[0].path / "project.json")
        except UserError as error:
            self.message.emit(tr("Could not open {name}: {error}", name=selected[0].name, error=error_text(error)))
            return
        self.settings_requested.emit(project, selected[0].name)

    def show_folder(self) -> None:
        selected = self.selected_records()
        if len(selected) == 1:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(selected[0].path)))

    def delete_selected(self, confirm=None) -> None:
        """Deletes the selected runs' folders after a question (``confirm(names) -> bool`` replaces it)."""
        selected = self.selected_records()
        if not selected:
            return
        names = [record.name for record in selected]
        ask = confirm or self._ask_to_delete
        if not ask(names):
            return
        refused = []
        for record in selected:
            try:
                self.history.delete(record)
            except UserError as error:
                refused.append(error_text(error))
        if refused:
            self.message.emit(" ".join(refused))
        self.refresh()

    def _ask_to_delete(self, names: list[str]) -> bool:
        shown = "\n".join(names[:10]) + ("\n…" if len(names) > 10 else "")
        answer = QMessageBox.question(
            self, tr("Delete runs"),
            tr("Delete {count} run folder(s) with their models and files? This cannot be undone.\n\n{names}",
               count=len(names), names=shown),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes


def _translated_ending(record: RunRecord) -> str:
    words = ending_words()
    text = words.get(record.status, record.status)
    reason = record.reason.strip()
    if reason and reason != record.status:
        text = f"{text}: {words.get(reason, reason)}"
    return f"{text} ({record.problem})" if record.problem else text
