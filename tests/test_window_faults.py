"""Faults of the window found by trying to break it: bad projects, a bad settings folder, nowhere to save."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QAbstractSpinBox

from gui.settings import AppSettings
from models.network.spec import MAX_LAYERS, DenseLayer, project_to_dict

ROOT = Path(__file__).resolve().parents[1]

HUGE_WHOLE_NUMBERS = {
    "epochs": ("training", "epochs"), "batch size": ("training", "batch_size"), "samples": ("dataset", "samples"),
    "seed": ("training", "seed"), "data seed": ("dataset", "seed"), "patience": ("schedule", "patience"),
}


def _with(project, section: str, name: str, value) -> dict:
    data = project_to_dict(project)
    data[section][name] = value
    return data


@pytest.mark.parametrize("where", HUGE_WHOLE_NUMBERS.values(), ids=HUGE_WHOLE_NUMBERS.keys())
def test_opening_a_project_with_a_huge_number_leaves_every_panel_as_it_was(
        qtbot, make_window, tiny_project, tmp_path, dismiss_messages, where):
    window = make_window(tiny_project())
    before = project_to_dict(window.project)
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(_with(tiny_project(), *where, 10**12)), encoding="utf-8")
    assert not window.open_project(str(path))
    texts = dismiss_messages(window)
    assert len(texts) == 1 and "must be a whole number" in texts[0]
    assert project_to_dict(window.project) == before
    # Every panel still shows the old project: what each would emit on its next edit is unchanged.
    assert project_to_dict(window.training_panel._project) == before
    assert project_to_dict(window.data_panel._project) == before
    window.close()
    assert json.loads(AppSettings().value("last_project"))["training"]["epochs"] == before["training"]["epochs"]


def test_a_bad_last_project_starts_the_default_and_says_why(qtbot, make_window, _private_settings, dismiss_messages):
    from gui.main_window import default_project

    settings = AppSettings()
    settings.set_value("last_project", json.dumps(_with(default_project(), "training", "epochs", 10**12)))
    settings.sync()
    window = make_window()
    assert project_to_dict(window.project) == project_to_dict(default_project())
    texts = dismiss_messages(window)
    assert len(texts) == 1 and "could not be opened" in texts[0] and "epochs" in texts[0]
    window.close()
    assert AppSettings().last_project() == default_project()  # the bad one is not saved again


def test_a_project_of_deeply_nested_brackets_is_a_sentence_at_start(_private_settings):
    settings = AppSettings()
    settings.set_value("last_project", "[" * 100_000 + "]" * 100_000)
    assert settings.last_project() is None
    assert "nests brackets too deeply" in settings.last_project_problem


def test_a_project_never_reaches_a_control_that_cannot_hold_its_values(qtbot, make_window, tiny_project):
    """Each spin box takes its range from the project's, so whatever a project may hold, its control shows."""
    window = make_window(tiny_project())
    project = tiny_project()
    project.training.epochs = 100_000
    project.training.batch_size = 1_000_000
    project.training.seed = 2**31 - 1
    project.optimizer.clipnorm = 1000
    project.layers[0].units = 100_000
    window.apply_project(project)
    spins = {spin.objectName(): spin for spin in window.findChildren(QAbstractSpinBox)}
    assert spins["units"].value() == 100_000
    assert project_to_dict(window.training_panel._project) == project_to_dict(project)


def test_the_editor_adds_no_layer_past_the_limit(qtbot, make_window, tiny_project, dismiss_messages):
    project = tiny_project()
    project.layers = [DenseLayer(2) for _ in range(MAX_LAYERS)]
    window = make_window(project)
    window.network_editor.add_layer("dense")
    assert len(window.project.layers) == MAX_LAYERS
    assert "the most a project may have" in dismiss_messages(window)[0]


def test_a_settings_folder_that_is_a_file_still_opens_the_window(qtbot, tmp_path, monkeypatch, make_window,
                                                                  tiny_project, dismiss_messages):
    blocked = tmp_path / "settings-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("KERAS_TRAINER_SETTINGS_DIR", str(blocked))
    settings = AppSettings()
    assert str(blocked) in settings.unusable_reason
    window = make_window(tiny_project(), settings=settings)
    assert window.isVisible()
    assert any("cannot be used" in text for text in dismiss_messages(window))


def test_an_unwritable_runs_folder_trains_anyway_and_says_so(qtbot, make_window, tiny_project, monkeypatch,
                                                             dismiss_messages, _private_settings):
    (_private_settings / "runs").write_text("a file where the runs folder should be")
    window = make_window(tiny_project())
    with qtbot.waitSignal(window.training_done, timeout=60000) as done:
        assert window.start_training()
    texts = dismiss_messages(window)
    assert any("will not be saved on its own" in text for text in texts)
    assert done.args[0].model is not None and window.export_action.isEnabled()


def test_a_failed_save_keeps_the_model_for_export(qtbot, make_window, tiny_project, monkeypatch, tmp_path,
                                                  dismiss_messages):
    def disk_full(model, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("models.training.run_folder.save_model", disk_full)
    window = make_window(tiny_project())
    with qtbot.waitSignal(window.training_done, timeout=60000) as done:
        window.start_training()
    result = done.args[0]
    assert "No space left on device" in result.save_error
    assert any("kept in memory" in text for text in dismiss_messages(window))
    monkeypatch.undo()
    with qtbot.waitSignal(window.export_model("keras", str(tmp_path / "saved.keras")).finished, timeout=60000):
        pass
    assert (tmp_path / "saved.keras").exists()


def test_without_any_screen_the_window_says_so_instead_of_aborting(tmp_path):
    env = {key: value for key, value in os.environ.items()
           if key not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = subprocess.run([sys.executable, str(ROOT / "main.py")], capture_output=True, text=True, timeout=120,
                          env=env, cwd=tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip().startswith("error: there is no screen")
    assert "libxcb" not in done.stderr


def test_start_up_flags_go_through_the_same_checks(tmp_path):
    from gui.app import _initial_project, _parse
    from models.errors import UserError
    from models.network.spec import Project

    project = Project()
    project.dataset.name, project.dataset.data_file, project.dataset.target = "csv", "x.csv", "y"
    project.dataset.task = "regression"
    project.save(tmp_path / "p.json")
    opened, _ = _initial_project(_parse(["--project", str(tmp_path / "p.json"), "--dataset", "iris"]))
    assert opened.dataset.name == "iris" and opened.dataset.task == "auto"
    with pytest.raises(UserError, match="--train-epochs must be a whole number"):
        _initial_project(_parse(["--screenshot", "x.png", "--train-epochs", str(10**12)]))


def test_settings_the_data_cannot_train_with_are_refused_before_a_run_folder_is_made(
        qtbot, make_window, tiny_project, dismiss_messages, _private_settings):
    project = tiny_project(dataset="iris")
    project.training.early_stopping.enabled = True
    project.training.early_stopping.monitor = "val_mae"
    window = make_window(project)
    with qtbot.waitSignal(window.message_shown) as shown:
        assert not window.start_training()
    assert "val_mae, which a classification does not compute" in shown.args[0]
    runs = _private_settings / "runs"
    assert not runs.exists() or not list(runs.iterdir())
    dismiss_messages(window)


@pytest.mark.skipif(not __import__("ctypes.util").util.find_library("xcb"),
                    reason="without libxcb the program cannot ask an X server anything, and names the missing library")
def test_a_screen_that_does_not_answer_is_a_sentence_too(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["DISPLAY"] = ":97"  # no X server listens there
    done = subprocess.run([sys.executable, str(ROOT / "main.py")], capture_output=True, text=True, timeout=120,
                          env=env, cwd=tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "DISPLAY=:97 does not answer" in done.stderr
