"""Property-based: any JSON value in any field of a project loads or is one `UserError` sentence.

Through the command line's loader (``train --project``), the window's last
project at start, and File ▸ Open in the window.
"""

import argparse
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtWidgets import QMessageBox

from cli import build_parser, project_from_args
from gui.settings import AppSettings
from models.errors import UserError
from models.network.spec import (
    BatchNormLayer,
    DenseLayer,
    DropoutLayer,
    Project,
    load_project,
    project_from_json,
    project_to_dict,
)


def base_project() -> dict:
    project = Project(layers=[DenseLayer(8, "relu", l2=1e-4), BatchNormLayer(), DropoutLayer(0.2), DenseLayer(4)])
    project.dataset.samples = 100
    return project_to_dict(project)


# Every character, lone surrogates (which JSON can hold and UTF-8 cannot) included.
ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=()), max_size=30)
SCALARS = st.one_of(
    st.none(), st.booleans(),
    st.integers(), st.integers(min_value=-(2**70), max_value=2**70), st.sampled_from([2**31, 2**63, -1, 0, 10**12]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e308, -1e308, 5e-324, 1e400]),
    ANY_TEXT, st.sampled_from(["", "csv", "gpu:²", "gpu:0", "relu", "auto", "dense", "None"]),
)
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(ANY_TEXT, inner, max_size=4)), max_leaves=12)


def _fields(data: dict) -> list[tuple]:
    """Every place a value sits in a project dict, as a path of keys and indices."""
    places = []
    for key, value in data.items():
        places.append((key,))
        if isinstance(value, dict):
            places += [(key, inner) for inner in value]
            if key == "training":
                places += [(key, "early_stopping", inner) for inner in value["early_stopping"]]
        if isinstance(value, list):
            for index, layer in enumerate(value):
                places.append((key, index))
                places += [(key, index, inner) for inner in layer]
    return places


PLACES = _fields(base_project())
CHOICES = ["csv", "spiral", "iris", "relu", "softmax", "sigmoid", "linear", "auto", "mse", "sgd", "adam",
           "gpu:0", "gpu:²", "cpu", "val_mae", "val_accuracy", "dense", "dropout", "batchnorm", "fill", "regression"]


def _like(original):
    """Values of the original's own type, near and past the edges of what it may hold."""
    if isinstance(original, bool):
        return st.booleans()
    if isinstance(original, int):
        return st.one_of(st.integers(-3, 300), st.sampled_from([0, 1, 10, 100, 10_000, 100_000, 100_001,
                                                                 1_000_000, 2**31 - 1, 2**31, 10**12]))
    if isinstance(original, float):
        return st.one_of(st.floats(-0.5, 1.5), st.sampled_from([0.0, 1e-10, 1e-6, 0.95, 0.9999, 1.0, 10.0, 1000.0,
                                                               1e6, float("nan"), float("inf")]))
    if isinstance(original, str):
        return st.one_of(st.sampled_from(CHOICES), ANY_TEXT)
    return JSON_VALUES


@st.composite
def hostile_projects(draw) -> str:
    """A project's JSON text with one to three fields replaced by any JSON value (sometimes a new field)."""
    data = base_project()
    for _ in range(draw(st.integers(1, 2))):
        path = draw(st.sampled_from(PLACES))
        if draw(st.integers(0, 19)) == 0:
            path = (*path[:-1], draw(ANY_TEXT))  # a field nobody knows
        target = data
        try:
            for key in path[:-1]:
                target = target[key]
            if isinstance(target, (dict, list)):
                original = target[path[-1]] if isinstance(target, list) or path[-1] in target else None
                target[path[-1]] = draw(_like(original) if draw(st.booleans()) else JSON_VALUES)
        except (KeyError, IndexError, TypeError):
            pass  # an earlier replacement removed that place
    return json.dumps(data, allow_nan=True)


def _loads_or_says_why(load) -> object:
    try:
        return load()
    except UserError as error:
        assert str(error).strip(), "an empty sentence"
        assert len(str(error)) < 2000
        return None


def _cli_args(path) -> argparse.Namespace:
    return build_parser().parse_args(["train", "--project", str(path)])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=hostile_projects())
def test_any_value_in_any_field_loads_or_is_a_sentence(tmp_path, text):
    path = tmp_path / "p.json"
    path.write_text(text, encoding="utf-8")
    loaded = _loads_or_says_why(lambda: load_project(path))
    through_cli = _loads_or_says_why(lambda: project_from_args(_cli_args(path)))
    at_start = _loads_or_says_why(lambda: project_from_json(text))
    assert (loaded is None) == (at_start is None)
    if loaded is not None:
        assert loaded.value_problems() == []
        assert project_from_json(json.dumps(project_to_dict(loaded))) == loaded  # saves and opens again
    if through_cli is not None:
        assert through_cli.problems() == []


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(ANY_TEXT, JSON_VALUES.map(json.dumps)))
def test_any_text_as_the_remembered_project_starts_or_is_a_sentence(_private_settings, text):
    settings_ = AppSettings()
    settings_.set_value("last_project", text)
    project = settings_.last_project()
    assert project is not None or settings_.last_project_problem or not text


@pytest.fixture
def one_window(make_window, tiny_project):
    window = make_window(tiny_project())
    yield window
    window.wait_for_jobs()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=hostile_projects())
def test_file_open_in_the_window_opens_whole_or_changes_nothing(one_window, tmp_path, text):
    window = one_window
    path = tmp_path / "p.json"
    path.write_text(text, encoding="utf-8")
    before = project_to_dict(window.project)
    opened = window.open_project(str(path))
    for box in window.findChildren(QMessageBox):
        box.done(0)  # the sentence was shown; close it as a user would
    shown = project_to_dict(window.project)
    if opened:
        assert window.project == load_project(path)
    else:
        assert shown == before
    # Every panel shows the window's project, whole: none holds a half-applied one.
    for panel in (window.training_panel, window.data_panel, window.network_editor):
        assert project_to_dict(panel._project) == shown, type(panel).__name__
