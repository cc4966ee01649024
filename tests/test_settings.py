"""Remembered settings: a damaged file never stops the window, and recent files and the last project return."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from gui.settings import MAX_RECENT, SETTINGS_VERSION, AppSettings
from models.network.spec import project_to_dict

DAMAGED_FILES = {
    "garbage bytes": bytes(range(256)) * 4,
    "zero bytes": b"\x00" * 64,
    "text version": b"[General]\nversion=abc\n",
    "newer version": b"[General]\nversion=99\n",
}


@pytest.mark.parametrize("content", DAMAGED_FILES.values(), ids=DAMAGED_FILES.keys())
def test_a_damaged_settings_file_is_set_aside_and_replaced(_private_settings, content):
    (_private_settings / "settings.ini").write_bytes(content)

    settings = AppSettings()

    assert settings.recovered_from_corruption
    assert (_private_settings / "settings.ini.corrupt").read_bytes() == content
    settings.add_recent_file(str(_private_settings / "a.json"))
    settings.sync()
    again = AppSettings()
    assert not again.recovered_from_corruption
    assert again.recent_files() == [str((_private_settings / "a.json").resolve())]
    assert int(again.value("version")) == SETTINGS_VERSION


def test_unreadable_values_read_as_missing(_private_settings):
    (_private_settings / "settings.ini").write_text(
        "[General]\nversion=1\nlast_project=\"{not json\"\nrecent_files=3\n"
        "[window]\ngeometry=not bytes\n", encoding="utf-8")

    settings = AppSettings()

    assert not settings.recovered_from_corruption
    assert settings.last_project() is None
    assert settings.recent_files() == ["3"] or settings.recent_files() == []


@pytest.mark.parametrize("content", DAMAGED_FILES.values(), ids=DAMAGED_FILES.keys())
def test_the_window_opens_over_a_damaged_settings_file_and_says_so(qtbot, make_window, tiny_project,
                                                                     _private_settings, dismiss_messages, content):
    (_private_settings / "settings.ini").write_bytes(content)

    window = make_window(tiny_project())

    assert window.settings.recovered_from_corruption
    assert window.isVisible()
    texts = dismiss_messages(window)
    assert len(texts) == 1 and "settings file could not be read" in texts[0]


def test_a_damaged_layout_is_ignored(qtbot, make_window, tiny_project, _private_settings):
    (_private_settings / "settings.ini").write_text(
        "[General]\nversion=1\n[window]\ngeometry=@ByteArray(garbage)\nstate=@ByteArray(\\x1\\x2)\n"
        "splitter=12\n", encoding="utf-8")

    window = make_window(tiny_project())

    assert not window.settings.recovered_from_corruption
    assert window.isVisible() and window.width() > 0


def test_saving_puts_the_file_first_in_the_recent_list(qtbot, make_window, tiny_project, tmp_path):
    window = make_window(tiny_project())
    first, second = tmp_path / "第一.json", tmp_path / "second.json"

    assert window.save_project_to(str(first))
    assert window.save_project_to(str(second))
    assert window.save_project_to(str(first))

    expected = [str(first.resolve()), str(second.resolve())]
    assert window.settings.recent_files() == expected
    assert [action.text() for action in window.recent_menu.actions()] == expected
    assert window.recent_menu.isEnabled()
    assert AppSettings().recent_files() == expected  # written through, not only in memory


def test_a_recent_file_opens_from_the_menu(qtbot, make_window, tiny_project, tmp_path):
    window = make_window(tiny_project())
    path = tmp_path / "saved.json"
    window.save_project_to(str(path))
    saved = project_to_dict(window.project)
    qtbot.mouseClick(window.network_editor.add_buttons["batchnorm"], Qt.LeftButton)

    window.recent_menu.actions()[0].trigger()

    assert project_to_dict(window.project) == saved
    assert window.project_path == str(path.resolve())


def test_the_recent_list_is_kept_short(_private_settings):
    settings = AppSettings()
    for index in range(MAX_RECENT + 3):
        settings.add_recent_file(str(_private_settings / f"{index}.json"))

    files = settings.recent_files()
    assert len(files) == MAX_RECENT
    assert files[0].endswith(f"{MAX_RECENT + 2}.json")


def test_the_last_project_returns_in_the_next_window(qtbot, make_window, tiny_project):
    window = make_window(tiny_project())
    qtbot.mouseClick(window.network_editor.add_buttons["dense"], Qt.LeftButton)
    window.network_editor.layer_cards()[-1].units.setValue(5)
    window.project.name = "第二个项目"
    expected = project_to_dict(window.project)
    window.close()

    again = make_window()

    assert project_to_dict(again.project) == expected
    assert [layer.units for layer in again.project.layers] == [4, 5]
    assert [card.kind for card in again.network_editor.layer_cards()] == ["dense", "dense"]


def test_the_window_layout_returns_in_the_next_window(qtbot, make_window, tiny_project):
    window = make_window(tiny_project())
    window.main_splitter.setSizes([400, 450, 700])
    sizes = window.main_splitter.sizes()
    window.close()

    again = make_window(tiny_project())

    assert again.main_splitter.sizes() == sizes


def test_the_settings_message_box_does_not_block(qtbot, make_window, tiny_project, _private_settings):
    (_private_settings / "settings.ini").write_bytes(b"\x00" * 8)

    window = make_window(tiny_project())

    boxes = [box for box in window.findChildren(QMessageBox) if box.isVisible()]
    assert len(boxes) == 1 and boxes[0].windowModality() == Qt.WindowModal
    assert window.train_button.isEnabled()  # the constructor returned; the box waits on its own
