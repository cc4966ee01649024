"""Test configuration: no screen, quiet TensorFlow, and the user's own settings kept out."""

import os

# Qt must never need a display in tests (CI has none); set before Qt is imported.
os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _private_settings(tmp_path_factory, monkeypatch):
    """Points the window's settings and run folders at a fresh temporary place."""
    home = tmp_path_factory.mktemp("settings")
    monkeypatch.setenv("KERAS_TRAINER_SETTINGS_DIR", str(home))
    yield home
