"""The activation explorer, driven through its widgets, and the ƒ(x) button that opens it from the editor."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from gui.activation_explorer import X_RANGE, ActivationExplorer
from gui.network_editor import NetworkEditor
from models.instruments.activations import ACTIVATION_CURVES, softmax
from models.network.spec import ACTIVATIONS, DenseLayer, Project

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def explorer(qtbot) -> ActivationExplorer:
    widget = ActivationExplorer()
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _listed(explorer: ActivationExplorer) -> list[str]:
    return [explorer.activation_list.item(row).text() for row in range(explorer.activation_list.count())]


def _curve_data(item) -> tuple[np.ndarray, np.ndarray]:
    x, y = item.getData()
    return np.asarray(x), np.asarray(y)


def test_it_lists_every_activation_the_editor_offers_but_softmax(explorer):
    assert _listed(explorer) == [name for name in ACTIVATIONS if name != "softmax"]
    assert explorer.activation() == "relu"


@pytest.mark.parametrize("name", list(ACTIVATION_CURVES))
def test_choosing_an_activation_draws_it_and_its_derivative(explorer, name):
    explorer.activation_list.setCurrentRow(_listed(explorer).index(name))
    curve = ACTIVATION_CURVES[name]
    x, y = _curve_data(explorer.function_curve)
    assert (x.min(), x.max()) == X_RANGE
    np.testing.assert_allclose(y, curve.values(x, explorer.negative_slope()))
    x, slopes = _curve_data(explorer.derivative_curve)
    np.testing.assert_allclose(slopes, curve.slopes(x, explorer.negative_slope()))
    assert explorer.derivative_curve.opts["pen"].style() == Qt.PenStyle.DashLine
    assert explorer.function_curve.opts["pen"].style() == Qt.PenStyle.SolidLine
    assert curve.formula(explorer.negative_slope()) in explorer.formula_label.text().replace("&gt;", ">")
    assert curve.gradient_note in explorer.note_label.text()


def test_the_formula_label_shows_the_notes_formula(explorer):
    explorer.select("sigmoid")
    assert "σ(x) = 1 / (1 + e⁻ˣ)" in explorer.formula_label.text()
    assert "0.25" in explorer.note_label.text()


def test_the_slope_box_shows_for_leaky_relu_only_and_reshapes_its_curve(explorer):
    explorer.select("relu")
    assert not explorer.slope_spin_box.isVisible()
    explorer.select("leaky_relu", negative_slope=0.2)
    assert explorer.slope_spin_box.isVisible()
    _, before = _curve_data(explorer.function_curve)
    explorer.slope_spin_box.setValue(0.5)
    x, after = _curve_data(explorer.function_curve)
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, np.where(x > 0, x, 0.5 * x))
    _, slopes = _curve_data(explorer.derivative_curve)
    assert set(np.round(slopes, 9)) == {0.5, 1.0}
    assert "α = 0.5" in explorer.formula_label.text()


def test_comparison_draws_the_other_activations_faintly(explorer):
    explorer.select("tanh")
    assert not any(curve.isVisible() for curve in explorer.comparison_curves.values())
    explorer.compare_check_box.setChecked(True)
    shown = {name for name, curve in explorer.comparison_curves.items() if curve.isVisible()}
    assert shown == set(ACTIVATION_CURVES) - {"tanh"}
    explorer.select("gelu")
    assert explorer.comparison_curves["tanh"].isVisible() and not explorer.comparison_curves["gelu"].isVisible()


def test_moving_a_slider_changes_the_softmax_bars_which_add_up_to_one(explorer, qtbot):
    before = explorer.shares().copy()
    np.testing.assert_allclose(before, softmax(explorer.scores()))
    slider = explorer.score_sliders[2]
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_PageUp)  # z₃ up by 1
    after = explorer.shares()
    assert after[2] > before[2] and after[0] < before[0]
    assert after.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(after, softmax(explorer.scores()))
    assert f"{after[2]:.3f}" in explorer.shares_label.text()
    assert [text.textItem.toPlainText() for text in explorer.share_texts] == [f"{share:.3f}" for share in after]


def test_equal_scores_give_equal_shares(explorer):
    explorer.set_scores([-5.0, -5.0, -5.0])
    np.testing.assert_allclose(explorer.shares(), [1 / 3] * 3)


def test_opening_it_imports_no_tensorflow():
    code = ("import os, sys; os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
            "from PySide6.QtWidgets import QApplication; app = QApplication([])\n"
            "from gui.activation_explorer import ActivationExplorer; ActivationExplorer(activation='gelu')\n"
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_the_editor_button_opens_one_explorer_at_the_layers_activation(qtbot):
    editor = NetworkEditor()
    qtbot.addWidget(editor)
    editor.set_project(Project(layers=[DenseLayer(8, "leaky_relu", negative_slope=0.35), DenseLayer(8, "sigmoid")]))
    editor.set_data_shape(2, 2, "Dense(2, softmax)")
    editor.show()
    qtbot.waitExposed(editor)
    first, second = editor.layer_cards()
    assert first.activation_curves_button.toolTip() == "Show the activation functions and their derivatives"

    qtbot.mouseClick(first.activation_curves_button, Qt.MouseButton.LeftButton)
    explorer = editor.findChild(ActivationExplorer)
    assert explorer is not None and explorer.isVisible() and not explorer.isModal()
    assert explorer.activation() == "leaky_relu"
    assert explorer.negative_slope() == pytest.approx(0.35)
    x, y = _curve_data(explorer.function_curve)
    np.testing.assert_allclose(y, np.where(x > 0, x, 0.35 * x))

    qtbot.mouseClick(second.activation_curves_button, Qt.MouseButton.LeftButton)
    assert editor.findChildren(ActivationExplorer) == [explorer]
    assert explorer.activation() == "sigmoid"
