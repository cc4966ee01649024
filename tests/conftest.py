"""Test configuration: no screen, quiet TensorFlow, and the user's own settings kept out."""

import os

# Qt must never need a display in tests (CI has none); set before Qt is imported.
os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Tests read the English texts, whatever the machine's own language is (tests of
# the Chinese interface choose it themselves).
os.environ["KERAS_TRAINER_LANGUAGE"] = "en"

import traceback  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _private_settings(tmp_path_factory, monkeypatch):
    """Points the window's settings and run folders at a fresh temporary place."""
    home = tmp_path_factory.mktemp("settings")
    monkeypatch.setenv("KERAS_TRAINER_SETTINGS_DIR", str(home))
    yield home


@pytest.fixture(autouse=True)
def _no_background_preparation(request, monkeypatch):
    """The window prepares the next run's model a moment after each edit (gui.model_preparation): a
    second of tracing that most tests never use, and would wait for at their window's close. Tests
    marked ``prepare_ahead`` keep it, as a user has it."""
    if request.node.get_closest_marker("prepare_ahead") is None:
        monkeypatch.setattr("gui.model_preparation.ENABLED", False)


@pytest.fixture(autouse=True)
def _no_dangling_qthreads(request, monkeypatch):
    """Fails a Qt test that leaves a QThread running, naming where it was started.

    A thread still running when its owner is deleted aborts the whole process
    ("QThread: Destroyed while thread is still running"), so the window must
    stop and wait for its jobs when it closes. pytest-qt has closed the test's
    widgets by the time this runs; any window it was not told about is closed here.
    """
    if "qtbot" not in request.fixturenames:
        yield
        return
    from PySide6.QtCore import QThread

    started = []  # (thread, where): strong references, so a running thread cannot slip by
    original_start = QThread.start

    def recording_start(thread, *args):
        started.append((thread, "".join(traceback.format_stack(limit=6)[:-1])))
        return original_start(thread, *args)

    monkeypatch.setattr(QThread, "start", recording_start)
    yield
    from PySide6.QtWidgets import QApplication, QMainWindow

    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QMainWindow) and widget.isVisible():
            widget.close()
    running = []
    for thread, where in started:
        try:
            if thread.isRunning():
                running.append(where)
                thread.wait(5000)  # so that the next test does not inherit it
        except RuntimeError:  # its C++ object is gone, so it was not running
            pass
    assert not running, "a QThread was still running at the end of the test; it was started at:\n" + "\n".join(running)


@pytest.fixture
def show_widget(qtbot):
    """Shows a widget at a given size and waits until it is on screen (offscreen); returns it.

    Args (of the returned function): the widget, its width and its height.
    """

    def show(widget, width: int, height: int):
        qtbot.addWidget(widget)
        widget.resize(width, height)
        widget.show()
        qtbot.waitExposed(widget)
        return widget

    return show


@pytest.fixture
def make_window(qtbot):
    """Builds a shown main window and waits until its data set has loaded.

    Args (of the returned function):
        project: the project to open. Defaults to the window's own choice.
        settings: an `AppSettings`. Defaults to one in the test's settings folder.
        wait: wait for the data set. Defaults to `True`.
    """
    from gui.main_window import MainWindow

    def make(project=None, settings=None, wait=True) -> MainWindow:
        window = MainWindow(settings=settings, project=project)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        if wait:
            qtbot.waitUntil(lambda: window.dataset is not None, timeout=30000)
        return window

    return make


@pytest.fixture
def dismiss_messages(qtbot):
    """Clicks OK on every message box a window has open, as a user would; returns their texts."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QMessageBox

    def dismiss(window) -> list[str]:
        texts = []
        for box in window.findChildren(QMessageBox):
            if box.isVisible():
                texts.append(box.text())
                qtbot.mouseClick(box.button(QMessageBox.Ok), Qt.LeftButton)
        qtbot.waitUntil(lambda: not any(box.isVisible() for box in window.findChildren(QMessageBox)))
        return texts

    return dismiss


@pytest.fixture
def tiny_project():
    """A project that trains in about a second: 100 points, one Dense(4) layer, a few epochs.

    Args (of the returned function):
        dataset: a registry name. Defaults to `"xor"`.
        epochs: Defaults to `3`.
    """
    from datasets.choice import DatasetChoice
    from models.network.spec import DenseLayer, Project

    def make(dataset="xor", epochs=3):
        project = Project(name="tiny", dataset=DatasetChoice(name=dataset, samples=100), layers=[DenseLayer(4)])
        project.training.epochs = epochs
        project.training.batch_size = 16
        return project

    return make
