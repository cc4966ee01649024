"""The live training charts: data reaching curves, redraw timer, log axis, smoothing, saving."""

import math
import warnings

import numpy as np
import pytest
from PySide6.QtWidgets import QAbstractButton, QAbstractSlider, QAbstractSpinBox, QApplication

from gui.charts import TrainingCharts, debiased_ema

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def charts(show_widget):
    return show_widget(TrainingCharts(), 1200, 500)


def _feed(charts, epochs=3, steps=10):
    for epoch in range(1, epochs + 1):
        for step in range(1, steps + 1):
            x = epoch - 1 + step / steps
            charts.add_batch(x, 1.0 / (x + 1.0), x / (x + 1.0))
        charts.add_epoch(
            epoch,
            {
                "loss": 1.0 / epoch,
                "accuracy": 0.5 + 0.1 * epoch,
                "val_loss": 1.2 / epoch,
                "val_accuracy": 0.45 + 0.1 * epoch,
            },
        )


def test_points_reach_the_curves_after_redraw_now(charts):
    charts.set_smoothing(0.0)
    _feed(charts, epochs=3, steps=10)
    charts.redraw_now()

    assert charts.points_count()["batch"] == 30
    assert charts.points_count()["epoch"] == 3
    x, y = charts.curve_data("batch_loss")
    assert x.size == 30
    assert x[0] == pytest.approx(0.1)
    assert y[-1] == pytest.approx(1.0 / 4.0)
    for name in ("loss", "val_loss", "metric", "val_metric"):
        x, _ = charts.curve_data(name)
        np.testing.assert_allclose(x, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(charts.curve_data("val_metric")[1], [0.55, 0.65, 0.75])
    assert charts.curve_data("batch_metric")[0].size == 30


def test_nothing_is_drawn_before_the_timer_or_redraw_now(charts):
    charts.add_batch(0.5, 1.0, 0.5)
    assert charts.curve_data("batch_loss")[0].size == 0


def test_the_timer_redraws_by_itself(charts, qtbot):
    _feed(charts, epochs=2, steps=5)
    qtbot.waitUntil(lambda: charts.curve_data("batch_loss")[0].size == 10, timeout=2000)
    qtbot.waitUntil(lambda: charts.curve_data("val_metric")[0].size == 2, timeout=2000)


def test_the_two_charts_take_turns_so_one_turn_of_the_event_loop_paints_one(charts):
    _feed(charts, epochs=2, steps=5)
    charts._redraw_if_visible()  # what the timer does
    assert charts.curve_data("batch_loss")[0].size == 10
    assert charts.curve_data("batch_metric")[0].size == 0
    assert charts._timer.isActive()  # the other chart's turn comes
    charts._redraw_if_visible()
    assert charts.curve_data("batch_metric")[0].size == 10
    charts.add_epoch(3, {"accuracy": 0.9})  # only the metric chart changed: it need not wait its turn
    charts._redraw_if_visible()
    assert charts.curve_data("metric")[0].size == 3


def test_epoch_markers_go_when_a_curve_grows_long_and_come_back_after_clear(charts):
    from gui.charts import MARKED_POINTS_AT_MOST

    def marked():
        return charts._loss.train_curve.opts["symbol"]

    _feed(charts, epochs=MARKED_POINTS_AT_MOST, steps=1)
    charts.redraw_now()
    assert marked() == "o"
    _feed(charts, epochs=1, steps=1)  # one more point
    charts.redraw_now()
    assert marked() is None
    charts.clear()
    _feed(charts, epochs=2, steps=1)
    charts.redraw_now()
    assert marked() == "o"


def test_a_hidden_chart_is_drawn_when_shown_but_redraw_now_always_draws(qtbot):
    widget = TrainingCharts()
    qtbot.addWidget(widget)
    widget.add_batch(0.5, 1.0, 0.5)
    widget._redraw_if_visible()  # what the timer does
    assert widget.curve_data("batch_loss")[0].size == 0
    widget.show()
    qtbot.waitUntil(lambda: widget.curve_data("batch_loss")[0].size == 1, timeout=2000)
    widget.hide()
    widget.add_batch(0.6, 0.9, 0.6)
    widget.redraw_now()
    assert widget.curve_data("batch_loss")[0].size == 2


def test_clear_empties_buffers_and_curves(charts):
    _feed(charts)
    charts.redraw_now()
    charts.clear()
    charts.redraw_now()
    assert all(count == 0 for count in charts.points_count().values())
    for name in ("batch_loss", "loss", "val_loss", "batch_metric", "metric", "val_metric"):
        assert charts.curve_data(name)[0].size == 0
    charts.add_batch(0.1, 0.7, None)
    charts.redraw_now()
    assert charts.curve_data("batch_loss")[0].size == 1
    assert charts.curve_data("batch_metric")[0].size == 0


def test_switching_the_metric_changes_titles_and_reads_its_logs(charts):
    axis = charts._metric_panel.plot.getPlotItem().getAxis("left")
    assert axis.labelText == "accuracy"
    charts.set_metric("mae")
    assert charts.metric_name() == "mae"
    assert axis.labelText == "MAE"
    assert "MAE" in charts._metric_panel.plot.getPlotItem().titleLabel.text
    charts.add_epoch(1, {"loss": 0.4, "mae": 0.3, "val_loss": 0.5, "val_mae": 0.35})
    charts.add_epoch(2, {"loss": 0.3, "mean_absolute_error": 0.25})
    charts.redraw_now()
    np.testing.assert_allclose(charts.curve_data("metric")[1], [0.3, 0.25])
    np.testing.assert_allclose(charts.curve_data("val_metric")[1], [0.35])
    charts.set_metric("accuracy")
    assert axis.labelText == "accuracy"


def test_epoch_logs_with_missing_keys_are_skipped(charts):
    charts.add_epoch(1, {"loss": 0.9, "acc": 0.6, "val_loss": None})
    charts.redraw_now()
    counts = charts.points_count()
    assert [counts[name] for name in ("loss", "metric", "val_loss", "val_metric")] == [1, 1, 0, 0]


def test_log_scale_survives_zero_and_negative_losses(charts, qtbot):
    charts._log_check.click()
    assert charts.is_log_y()
    assert charts._loss.plot.getPlotItem().getAxis("left").logMode
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for i, loss in enumerate([1.0, 0.0, -0.5, 0.1, math.nan, 0.01]):
            charts.add_batch(i / 6, loss, 0.5)
        charts.add_epoch(1, {"loss": 0.0, "val_loss": -1.0})
        charts.add_epoch(2, {"loss": 0.2, "val_loss": 0.3})
        charts.redraw_now()
        charts.grab()  # paints every item
        QApplication.processEvents()
        charts.set_log_y(False)
        charts.grab()
    assert not charts._log_check.isChecked()
    assert not charts._loss.plot.getPlotItem().getAxis("left").logMode


def test_smoothing_changes_the_plotted_batch_curve_but_not_the_raw_values(charts):
    rng = np.random.default_rng(1)
    values = 1.0 + rng.normal(0.0, 0.3, 200)
    charts.set_smoothing(0.0)
    for i, value in enumerate(values):
        charts.add_batch(i / 100, float(value), float(value) / 2)
    charts.redraw_now()
    np.testing.assert_allclose(charts.curve_data("batch_loss")[1], values)

    charts._smoothing_spin.setValue(0.9)
    assert charts.smoothing() == pytest.approx(0.9)
    assert charts._smoothing_slider.value() == 90
    charts.redraw_now()
    smoothed = charts.curve_data("batch_loss")[1]
    assert smoothed.std() < values.std() / 2
    np.testing.assert_allclose(smoothed, debiased_ema(values, 0.9)[0])
    np.testing.assert_allclose(charts.raw_data("batch_loss")[1], values)
    np.testing.assert_allclose(
        charts.curve_data("batch_metric")[1], debiased_ema(values / 2, 0.9)[0]
    )
    # epoch curves are never smoothed
    charts.add_epoch(1, {"loss": 5.0})
    charts.redraw_now()
    np.testing.assert_allclose(charts.curve_data("loss")[1], [5.0])


def _tensorboard_smoothing(values, weight):
    last, count, out = 0.0, 0, []
    for value in values:
        if not math.isfinite(value):
            out.append(value)
            continue
        last = last * weight + (1 - weight) * value
        count += 1
        out.append(last / (1 - weight**count))
    return np.array(out)


@pytest.mark.parametrize("weight", [0.0, 0.01, 0.3, 0.6, 0.9, 0.99])
def test_debiased_ema_matches_tensorboards_loop_also_when_continued(weight):
    values = np.random.default_rng(2).normal(2.0, 1.0, 3000)
    values[[5, 700]] = [math.nan, math.inf]
    expected = _tensorboard_smoothing(values, weight)
    whole, _, _ = debiased_ema(values, weight)
    np.testing.assert_allclose(whole, expected, rtol=1e-9, equal_nan=True)
    first, last, count = debiased_ema(values[:1234], weight)
    rest, _, _ = debiased_ema(values[1234:], weight, last, count)
    np.testing.assert_allclose(np.concatenate([first, rest]), expected, rtol=1e-9, equal_nan=True)


def test_smoothing_is_extended_incrementally_as_batches_arrive(charts):
    values = np.linspace(1.0, 0.1, 50) + np.tile([0.05, -0.05], 25)
    charts.set_smoothing(0.8)
    for i, value in enumerate(values):
        charts.add_batch(i / 10, float(value), None)
        if i % 7 == 0:
            charts.redraw_now()
    charts.redraw_now()
    np.testing.assert_allclose(
        charts.curve_data("batch_loss")[1], _tensorboard_smoothing(values, 0.8)
    )


def test_save_chart_writes_png_and_svg(charts, tmp_path, qtbot):
    _feed(charts)
    png = tmp_path / "loss.png"
    with qtbot.waitSignal(charts.message, timeout=2000) as blocker:
        assert charts.save_chart("loss", png)
    assert "Saved" in blocker.args[0]
    assert png.read_bytes()[:8] == PNG_SIGNATURE
    svg = tmp_path / "accuracy.SVG"
    assert charts.save_chart("metric", svg)
    assert "<svg" in svg.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["accuracy.SVG", "loss.png"]


def test_a_failed_save_emits_a_message_and_leaves_no_temporary_file(charts, tmp_path, qtbot):
    _feed(charts)
    occupied = tmp_path / "chart.png"
    occupied.mkdir()  # a folder where the file should go: the final rename fails
    with qtbot.waitSignal(charts.message, timeout=2000) as blocker:
        assert not charts.save_chart("loss", occupied)
    assert blocker.args[0].startswith("Could not save the loss chart")
    assert [p.name for p in tmp_path.iterdir()] == ["chart.png"]
    assert list(occupied.iterdir()) == []

    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    with qtbot.waitSignal(charts.message, timeout=2000):
        assert not charts.save_chart("metric", a_file / "chart.svg")
    with qtbot.waitSignal(charts.message, timeout=2000) as blocker:
        assert not charts.save_chart("loss", tmp_path / "chart.jpg")
    assert ".png or .svg" in blocker.args[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chart.png", "notes.txt"]


def test_the_save_button_path_never_raises(charts, tmp_path, qtbot, monkeypatch):
    blocked = tmp_path / "taken.svg"
    blocked.mkdir()
    monkeypatch.setattr(charts, "_ask_save_path", lambda which: str(blocked))
    with qtbot.waitSignal(charts.message, timeout=2000) as blocker:
        charts._save_metric_action.trigger()
    assert "Could not save" in blocker.args[0]

    good = tmp_path / "ok.png"
    monkeypatch.setattr(charts, "_ask_save_path", lambda which: str(good))
    charts._save_loss_action.trigger()
    assert good.read_bytes()[:8] == PNG_SIGNATURE

    monkeypatch.setattr(charts, "_ask_save_path", lambda which: None)  # cancelled
    charts._save_loss_action.trigger()


def test_hovering_shows_the_nearest_value_and_a_crosshair(charts, qtbot):
    charts.set_smoothing(0.0)
    _feed(charts, epochs=3, steps=10)
    charts.redraw_now()
    QApplication.processEvents()
    plot_item = charts._loss.plot.getPlotItem()
    view = plot_item.getViewBox()
    from PySide6.QtCore import QPointF

    scene_pos = view.mapViewToScene(QPointF(2.0, 1.2 / 2.0))  # on the val_loss point of epoch 2
    charts._loss.plot.scene().sigMouseMoved.emit(scene_pos)
    qtbot.waitUntil(lambda: charts._readout.text() != "", timeout=2000)
    assert charts._readout.text() == "epoch 2 · val_loss 0.6"
    assert charts._loss.crosshair.isVisible()
    assert charts._loss.crosshair.value() == pytest.approx(2.0)

    charts._loss.plot.scene().sigMouseMoved.emit(QPointF(-50.0, -50.0))  # outside
    qtbot.waitUntil(lambda: charts._readout.text() == "", timeout=2000)
    assert not charts._loss.crosshair.isVisible()


def test_every_control_has_a_tooltip(charts):
    controls = [
        control
        for kind in (QAbstractButton, QAbstractSlider, QAbstractSpinBox)
        for control in charts.findChildren(kind)
        if control.isVisibleTo(charts)  # not the plots' hidden scroll bars
    ]
    assert len(controls) == 4
    for control in controls:
        assert control.toolTip(), (
            f"{type(control).__name__} {control.objectName()!r} has no tooltip"
        )


def test_half_a_million_batch_points_are_drawn_downsampled(charts):
    n = 500_000
    x = np.arange(n) / 10_000
    loss = 2.0 * np.exp(-x / 10) + 0.1 * np.random.default_rng(3).random(n)
    for xi, yi in zip(x.tolist(), loss.tolist()):
        charts.add_batch(xi, yi, 1.0 - yi / 3)
    charts.redraw_now()
    QApplication.processEvents()
    charts.grab()
    assert charts.points_count()["batch"] == n
    plotted_x, _ = charts.curve_data("batch_loss")
    assert plotted_x.size == n
    # what reaches Qt is a peak-downsampled few thousand points, not half a million
    drawn = charts._loss.batch_curve.curve.xData
    assert 0 < drawn.size < 20_000


def _legend_texts(charts, which):
    return [label.text for _, label in charts._panels[which].legend.items]


def test_the_finished_run_stays_as_a_dashed_previous_run_for_comparison(charts):
    assert "previous run (dashed)" not in _legend_texts(charts, "loss")  # nothing to compare with yet
    _feed(charts, epochs=3)
    charts.redraw_now()
    charts.clear()
    x, y = charts.previous_data("val_loss")
    assert list(x) == [1.0, 2.0, 3.0] and list(y) == pytest.approx([1.2, 0.6, 0.4])
    previous = charts._panels["loss"].previous_curves["val_loss"].getOriginalDataset()
    assert list(previous[1]) == pytest.approx([1.2, 0.6, 0.4])
    assert _legend_texts(charts, "loss").count("previous run (dashed)") == 1
    assert charts.points_count()["epoch"] == 0  # the new run starts empty

    _feed(charts, epochs=1)
    charts.clear()  # the second run becomes the previous one
    assert list(charts.previous_data("loss")[0]) == [1.0]
    charts.clear()  # a run that ended before its first epoch keeps the last real one
    assert list(charts.previous_data("loss")[0]) == [1.0]


def test_a_previous_run_of_another_metric_is_not_drawn_and_can_be_forgotten(charts):
    _feed(charts)
    charts.clear()
    charts.set_metric("mae")
    assert charts._panels["metric"].previous_curves["metric"].getOriginalDataset()[0] is None or \
        len(charts._panels["metric"].previous_curves["metric"].getOriginalDataset()[0]) == 0
    assert "previous run (dashed)" not in _legend_texts(charts, "metric")
    assert "previous run (dashed)" in _legend_texts(charts, "loss")
    charts.forget_previous()
    assert "previous run (dashed)" not in _legend_texts(charts, "loss")
    assert charts.previous_data("loss")[0].size == 0
