"""The Layers view: gradient norms, update ratios, weight and activation strips, dead and saturated units."""

import math

import numpy as np
import pytest

from gui.layers_view import (
    LayersView,
    gradient_caption,
    gradients_in_trouble,
    power_of_ten_text,
    short_fraction,
)
from models.instruments.readings import (
    Histogram,
    InstrumentReading,
    LayerReading,
    instruments_json,
    records_from_json,
)

WEIGHT_EDGES = np.linspace(-1.0, 1.0, 41)
OUTPUT_EDGES = np.linspace(0.0, 1.0, 21)


def _histogram(values, edges):
    return Histogram.of(np.asarray(values, dtype=np.float64), edges)


def layer_reading(index, count, epoch=0.0, gradient_norm=1.0, activation="relu", update_ratio=1e-3,
                  dead=None, saturated=None, weights=(0.0,), outputs=(0.5,), batch_norm=None):
    """One hand-made Dense layer reading; the last of ``count`` is the output layer."""
    weights = np.asarray(weights, dtype=np.float64)
    return LayerReading(
        epoch=epoch, step=int(epoch * 10), layer=index, name="output" if index == count - 1 else f"dense_{index + 1}",
        activation=activation, weight_norm=float(np.linalg.norm(weights)), weight_mean=float(weights.mean()),
        weight_std=float(weights.std()), near_zero_fraction=0.0, gradient_norm=gradient_norm,
        update_ratio=None if update_ratio is None else update_ratio * 10,
        update_ratio_per_step=update_ratio, dead_fraction=dead, saturated_fraction=saturated,
        output_mean=0.5, output_std=0.1,
        batch_norm_mean=None if batch_norm is None else batch_norm[0],
        batch_norm_std=None if batch_norm is None else batch_norm[1],
        weights=_histogram(weights, WEIGHT_EDGES), gradients=_histogram(weights * 0.01, WEIGHT_EDGES),
        outputs=_histogram(outputs, OUTPUT_EDGES))


def reading(epoch, gradient_norms, **each):
    """An `InstrumentReading` with one layer per gradient norm; ``each`` maps a field to one value per layer."""
    count = len(gradient_norms)
    layers = [layer_reading(i, count, epoch=epoch, gradient_norm=norm,
                            **{key: values[i] for key, values in each.items()})
              for i, norm in enumerate(gradient_norms)]
    return InstrumentReading(epoch=epoch, step=int(epoch * 10), layers=layers)


@pytest.fixture
def view(show_widget):
    return show_widget(LayersView(), 1000, 700)


def test_starts_with_the_empty_sentence(view):
    assert view.is_empty()
    assert view.empty_text() == "Train to see inside the network: gradients, weights and activations per layer."
    assert view.curve_count() == 0


def test_curves_hold_each_layers_gradient_norms(view):
    norms = [[1e-3, 1e-2, 1e-1], [2e-3, 3e-2, 4e-1], [5e-3, 6e-2, 7e-1]]
    for epoch, row in enumerate(norms):
        view.add_reading(reading(float(epoch), row))
    view.redraw_now()

    assert not view.is_empty()
    assert view.curve_count() == 3
    for layer in range(3):
        x, y = view.gradient_curve_data(layer)
        np.testing.assert_allclose(x, [0.0, 1.0, 2.0])
        np.testing.assert_allclose(y, [row[layer] for row in norms])
    assert view.layer_titles() == ["layer 1 (dense_1, relu)", "layer 2 (dense_2, relu)", "output (relu)"]


def test_update_ratio_curve_leaves_out_the_first_reading(view):
    view.add_reading(reading(0.0, [1.0, 1.0], update_ratio=[None, None]))
    view.add_reading(reading(0.5, [1.0, 1.0], update_ratio=[2e-3, 4e-4]))
    view.redraw_now()

    x, y = view.update_curve_data(1)
    np.testing.assert_allclose(x, [0.0, 0.5])
    assert math.isnan(y[0])
    assert y[1] == pytest.approx(4e-4)


def test_the_timer_redraws_at_most_ten_times_a_second(view, qtbot):
    view.add_reading(reading(0.0, [0.1, 1.0]))
    assert view.gradient_curve_data(0)[0].size == 0  # nothing drawn before the timer
    with qtbot.waitSignal(view.redrawn, timeout=2000):
        pass
    np.testing.assert_allclose(view.gradient_curve_data(0)[1], [0.1])


@pytest.mark.parametrize(("first", "vanishing"), [(1e-4, True), (2e-3, False), (0.5, False)])
def test_vanishing_caption_only_when_the_first_layer_is_under_a_thousandth_of_the_last(view, first, vanishing):
    view.add_reading(reading(1.0, [first, 0.1, 1.0]))
    view.redraw_now()

    caption = view.captions()["gradient"]
    assert ("vanish" in caption) == vanishing
    assert caption.startswith("The first layer's gradient is")


def test_vanishing_caption_gives_the_fraction():
    assert gradient_caption(1e-5, 0.12) == (
        "The first layer's gradient is 1/12,000 of the last's: gradients vanish on the way back.")
    assert "explode" in gradient_caption(50.0, 0.01)
    assert gradient_caption(0.0, 1.0) == "The first layer gets no gradient at all: nothing reaches it on the way back."
    assert gradient_caption(0.0, 0.0) == "No layer's weights get any gradient: they no longer learn."
    assert gradient_caption(1.0, 0.0) == ""
    assert gradient_caption(math.nan, 1.0) == ""
    assert "about as large" in gradient_caption(0.9, 1.0) and "1/10" in gradient_caption(0.1, 1.0)
    assert short_fraction(0.5) == "1/2"


@pytest.mark.parametrize(("first", "last", "trouble"), [
    (1e-5, 1.0, True), (1e-2, 1.0, False), (2e3, 1.0, True), (0.0, 1.0, True), (0.0, 0.0, True),
    (1.0, 0.0, False), (math.nan, 1.0, False)])
def test_gradients_in_trouble_when_they_vanish_explode_or_are_gone(first, last, trouble):
    assert gradients_in_trouble(first, last) == trouble


def test_log_axis_labels_powers_of_ten():
    assert power_of_ten_text(1e-4) == "10⁻⁴"
    assert power_of_ten_text(5e-4) == "5·10⁻⁴"
    assert power_of_ten_text(1.0) == "1"
    assert power_of_ten_text(10.0) == "10"


def test_units_table_shows_the_latest_dead_and_saturated_shares(view):
    activations = ["relu", "sigmoid", "softmax"]
    view.add_reading(reading(0.0, [1, 1, 1], activation=activations, dead=[0.0, None, None],
                             saturated=[None, 0.1, None]))
    view.add_reading(reading(1.0, [1, 1, 1], activation=activations, dead=[0.4, None, None],
                             saturated=[None, 0.25, None]))
    view.redraw_now()

    dead, saturated = view.bar_lengths()
    np.testing.assert_allclose(dead, [0.4, 0.0, 0.0])
    np.testing.assert_allclose(saturated, [0.0, 0.25, 0.0])
    assert view.units_rows() == [("1", "40%"), ("2", "25%"), ("out", "–")]
    assert view.units_header() == []  # the panel's title, in the bars' colours, is their legend
    assert view.captions()["units"].startswith("40% of layer 1's units are dead")


def test_batch_norm_statistics_are_a_column_where_present(view):
    view.add_reading(reading(1.0, [1.0, 1.0, 1.0], batch_norm=[(0.02, 0.97), (-0.001, 1.2), None]))
    view.redraw_now()

    assert view.units_header() == ["BN μ / σ"]
    assert view.units_rows() == [("1", "–", "0.02 / 0.97"), ("2", "–", "0.00 / 1.20"), ("out", "–", "–")]
    assert "ideally 0 / 1" in view.captions()["batch_norm"]


def test_without_batch_norm_the_table_has_no_such_column(view):
    view.add_reading(reading(1.0, [1.0, 1.0]))
    view.redraw_now()

    assert view.units_header() == []
    assert all(len(row) == 2 for row in view.units_rows())
    assert view.captions()["batch_norm"] == ""


def test_layers_are_numbered_in_the_legend_and_named_in_full_in_the_chooser(view):
    view.add_reading(reading(0.0, [0.1, 0.5, 1.0]))
    view.redraw_now()

    assert [row[0] for row in view.units_rows()] == ["1", "2", "out"]
    assert view.chooser_items() == view.layer_titles()
    assert len(view.chooser_icons()) == 3 and not any(icon.isNull() for icon in view.chooser_icons())


def test_a_first_layer_without_any_gradient_is_read_as_vanishing(view):
    view.add_reading(reading(1.0, [0.0, 0.2, 1.0]))
    view.redraw_now()

    assert "no gradient" in view.captions()["gradient"]


def test_update_caption_reads_the_latest_reading_that_has_update_ratios(view):
    # The reading at the end of a run comes at the step of the one before, so it has no update ratio.
    view.add_reading(reading(0.0, [1.0, 1.0], update_ratio=[None, None]))
    view.add_reading(reading(1.0, [1.0, 1.0], update_ratio=[2e-5, 4e-5]))
    view.add_reading(reading(1.0, [1.0, 1.0], update_ratio=[None, None]))
    view.redraw_now()

    assert view.captions()["update"].startswith("Updates are small")


def test_layer_chooser_switches_the_strips(view, qtbot):
    # Layer 1's weights sit at -0.5, layer 2's at +0.5; their outputs at 0.1 and 0.9.
    for epoch in range(3):
        view.add_reading(reading(float(epoch), [0.1, 1.0], weights=[[-0.5] * 10, [0.5] * 10],
                                 outputs=[[0.1] * 10, [0.9] * 10]))
    view.redraw_now()

    def heaviest_value(which, edges):
        image = view.strip_image(which)
        rows = image.sum(axis=1)
        centre = (edges[:-1] + edges[1:]) / 2
        return centre[int(np.argmax(rows))]

    assert view.chosen_layer() == 0
    assert view.strip_image("weights").shape[0] == 40  # one row per bin
    assert heaviest_value("weights", WEIGHT_EDGES) == pytest.approx(-0.475)
    assert heaviest_value("activations", OUTPUT_EDGES) == pytest.approx(0.125)
    bottom, top = view.strip_range("weights")
    assert (bottom, top) == pytest.approx((-1.0, 1.0))

    view.choose_layer(1)
    assert heaviest_value("weights", WEIGHT_EDGES) == pytest.approx(0.525)
    assert heaviest_value("activations", OUTPUT_EDGES) == pytest.approx(0.925)


def test_each_strip_column_is_a_share_of_the_layers_values(view):
    view.add_reading(reading(0.0, [1.0, 1.0], weights=[np.linspace(-0.9, 0.9, 50), [0.0]]))
    view.add_reading(reading(1.0, [1.0, 1.0], weights=[np.linspace(-0.2, 0.2, 50), [0.0]]))
    view.redraw_now()

    image = view.strip_image("weights")
    np.testing.assert_allclose(image.sum(axis=0), 1.0)
    first, last = image[:, 0], image[:, -1]
    assert np.count_nonzero(first) > np.count_nonzero(last)  # the spread narrowed


@pytest.mark.parametrize("size", [(624, 470), (1400, 900)])
def test_every_title_and_row_reads_whole_at_the_default_size_and_larger(view, qtbot, size):
    count = 7
    view.resize(*size)
    view.add_reading(reading(1.0, [10.0 ** -k for k in range(count - 1, -1, -1)], activation=["sigmoid"] * count,
                             saturated=[0.5] * count, batch_norm=[(0.01, 0.99)] * count))
    view.redraw_now()
    qtbot.wait(10)

    assert view.cut_titles() == []
    assert view.units_table_is_whole()


def test_clear_empties_everything(view):
    view.add_reading(reading(0.0, [1e-5, 1.0], dead=[0.5, None]))
    view.redraw_now()
    view.clear()

    assert view.is_empty()
    assert view.reading_count() == 0
    assert view.curve_count() == 0
    assert view.layer_titles() == []
    assert view.chosen_layer() == -1
    assert view.strip_image("weights").size == 0
    assert all(len(lengths) == 0 for lengths in view.bar_lengths())
    assert view.units_rows() == []
    assert set(view.captions().values()) == {""}


def test_another_network_or_a_new_run_starts_afresh(view):
    view.add_reading(reading(0.0, [1.0, 1.0]))
    view.add_reading(reading(1.0, [1.0, 1.0]))
    view.add_reading(reading(0.0, [0.5, 0.5, 0.5]))  # three layers now
    view.redraw_now()
    assert view.reading_count() == 1
    assert view.curve_count() == 3

    view.add_reading(reading(1.0, [0.5, 0.5, 0.5]))
    view.add_reading(reading(0.0, [0.2, 0.2, 0.2]))  # back to epoch 0: another run
    view.redraw_now()
    assert view.reading_count() == 1


def test_set_readings_shows_a_run_from_its_file(view):
    readings = [reading(float(epoch), [10.0 ** -(epoch + 4), 1.0]) for epoch in range(4)]
    records = records_from_json(instruments_json(readings))
    view.set_readings(records)

    assert view.reading_count() == 4
    np.testing.assert_allclose(view.gradient_curve_data(0)[1], [1e-4, 1e-5, 1e-6, 1e-7])
    assert "vanish" in view.captions()["gradient"]
    view.set_readings([])
    assert view.is_empty()


def test_five_hundred_readings_are_taken_and_drawn_quickly(view):
    rng = np.random.default_rng(0)
    count = 8
    readings = [reading(step / 10, list(10.0 ** -np.arange(count - 1, -1, -1.0)),
                        activation=["sigmoid"] * count, saturated=[0.1] * count,
                        weights=[rng.normal(0, 0.3, 200)] * count, outputs=[rng.uniform(0, 1, 200)] * count)
                for step in range(500)]
    for item in readings:
        view.add_reading(item)
    view.redraw_now()

    assert view.reading_count() == 500
    assert view.gradient_curve_data(7)[0].size == 500
    assert view.strip_image("activations").shape[1] > 0
    assert view.last_redraw_seconds() < 0.25  # about 10 ms here; generous for a loaded test machine
