"""Starting the window: a missing system library is a sentence, not Qt's abort."""

import ctypes.util
import sys

from gui import app


def test_missing_xcb_cursor_is_explained(monkeypatch, capsys):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    assert "sudo apt install libxcb-cursor0" in app.missing_system_library()
    assert app.run_gui([]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: the window needs the system library libxcb-cursor")


def test_offscreen_and_present_library_need_nothing(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    assert app.missing_system_library() == ""
    monkeypatch.delenv("QT_QPA_PLATFORM")
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: f"lib{name}.so.0")
    monkeypatch.setattr(app, "_x11_plugin_problem", lambda: "")
    assert app.missing_system_library() == ""


def test_debian_package_names():
    assert app._debian_package("libxcb-icccm.so.4") == "libxcb-icccm4"
    assert app._debian_package("libxkbcommon-x11.so.0") == "libxkbcommon-x11-0"
    assert app._debian_package("libxcb-cursor.so.0") == "libxcb-cursor0"


def test_an_exception_in_a_slot_becomes_a_message(make_window, qtbot, monkeypatch, dismiss_messages):
    from PySide6.QtCore import QTimer

    window = make_window()
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    app._report_unexpected_errors_in(window)

    def broken_slot():
        raise ZeroDivisionError("division by zero")

    with qtbot.waitSignal(window.message_shown, timeout=5000) as shown:
        QTimer.singleShot(0, broken_slot)
    assert "Something went wrong inside the program (ZeroDivisionError" in shown.args[0]
    assert window.isVisible()
