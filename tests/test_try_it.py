"""Try it and File ▸ Predict a file, driven through the window: what they show is what `models.saving.predict` gives."""

import csv

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from gui.try_it import number_text, pixel_values, row_values
from models.saving.predict import load_model

TRAINING_TIMEOUT_MS = 60_000


def _train(qtbot, window):
    with qtbot.waitSignal(window.training_done, timeout=TRAINING_TIMEOUT_MS) as done:
        window.start_training()
    result = done.args[0]
    assert result is not None and result.run_dir
    return result


def _type(qtbot, field, text: str) -> None:
    """Replaces a line edit's text the way a user does: select all, type."""
    field.setFocus()
    qtbot.keyClick(field, Qt.Key_A, Qt.ControlModifier)
    qtbot.keyClicks(field, text)


def test_before_a_model_exists_it_says_to_train_first(make_window, tiny_project):
    window = make_window(tiny_project("iris"))

    assert window.try_it.currentWidget() is window.try_it.empty
    assert "Train a model first" in window.try_it.empty.text()
    assert not window.predict_action.isEnabled()


def test_typing_a_test_row_shows_the_class_predict_gives(qtbot, make_window, tiny_project):
    window = make_window(tiny_project("iris", epochs=3))
    result = _train(qtbot, window)
    view = window.try_it
    assert view.currentWidget() is view.table_page and window.predict_action.isEnabled()
    assert list(view.form.fields) == ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
    assert "from" in view.form.fields["petal length (cm)"].placeholderText()
    saved = load_model(result.run_dir)  # the run folder's model, as `predict` loads it

    for row in window.dataset.x_test[[3, 17, 25]]:
        values = row_values(saved.preprocessing, row)
        for column, text in values.items():
            _type(qtbot, view.form.fields[column], text)

        assert view.shown_values == values
        expected, probabilities, _outputs, warnings = saved.predict_values(values)
        assert view.predicted == expected[0] and not warnings
        assert expected[0] in view.outcome.text()
        np.testing.assert_allclose(view.probabilities, probabilities[0], atol=1e-5)

    _type(qtbot, view.form.fields["sepal width (cm)"], "wide")  # not a number: filled as in training, and said
    assert not view.warning.isHidden() and "not numbers" in view.warning.text()
    assert view.predicted == saved.predict_values(view.form.values())[0][0]


def test_next_test_row_shows_the_rows_true_class(qtbot, make_window, tiny_project):
    window = make_window(tiny_project("iris", epochs=2))
    _train(qtbot, window)
    view = window.try_it

    qtbot.mouseClick(view.next_row_button, Qt.LeftButton)

    truth = window.dataset.class_names[int(window.dataset.y_test[1])]
    assert view.row_label.text().startswith("Test row 2 of 30") and view.row_label.text().endswith(truth)
    assert view.form.values() == row_values(view.model.preprocessing, window.dataset.x_test[1])


def test_drawing_a_digit_shows_the_class_predict_gives(qtbot, make_window, tiny_project):
    window = make_window(tiny_project("digits", epochs=2))
    result = _train(qtbot, window)
    view = window.try_it
    window.bottom_tabs.setCurrentWidget(view)
    canvas = view.canvas
    assert view.currentWidget() is view.image_page and canvas.maximum == 16
    saved = load_model(result.run_dir)

    qtbot.mouseClick(canvas, Qt.LeftButton, pos=canvas.position_of(0, 0))
    canvas.clear()
    # A real stroke with the mouse: a "7" (along the top, then down to the left).
    qtbot.mousePress(canvas, Qt.LeftButton, pos=canvas.position_of(1.5, 1.5))
    for x, y in ((3.5, 1.5), (6.5, 1.5), (5.5, 4.0), (4.0, 6.5)):
        QTest.mouseMove(canvas, canvas.position_of(x, y))
    qtbot.mouseRelease(canvas, Qt.LeftButton, pos=canvas.position_of(4.0, 6.5))
    qtbot.waitUntil(lambda: not view.drawing_pending, timeout=5000)

    pixels = canvas.pixels()
    assert pixels[1, 1] == 16 and pixels[1, 6] == 16 and pixels[6, 4] == 16 and pixels[7, 0] == 0
    assert view.predicted == saved.predict_values(pixel_values(pixels))[0][0]

    with qtbot.waitSignal(view.prediction_shown, timeout=5000):
        qtbot.mouseClick(view.test_image_button, Qt.LeftButton)
    np.testing.assert_array_equal(canvas.pixels(), window.dataset.x_test[1].reshape(8, 8))
    assert view.predicted == saved.predict_values(pixel_values(canvas.pixels()))[0][0]


def test_clicking_the_data_preview_shows_the_class_at_that_point(qtbot, make_window, tiny_project):
    window = make_window(tiny_project("xor", epochs=3))
    result = _train(qtbot, window)
    assert window.bottom_tabs.currentWidget() is window.preview
    saved = load_model(result.run_dir)
    plot = window.preview.plot
    box = plot.plotItem.vb

    for x, y in ((-0.6, 0.5), (0.7, 0.6)):
        where = plot.mapFromScene(box.mapViewToScene(QPointF(x, y)))
        qtbot.mouseClick(plot.viewport(), Qt.LeftButton, pos=QPoint(where.x(), where.y()))

        view = window.try_it
        shown = {column: float(text) for column, text in view.shown_values.items()}
        assert abs(shown["x1"] - x) < 0.05 and abs(shown["x2"] - y) < 0.05  # within a pixel of the click
        expected = saved.predict_values({column: number_text(value) for column, value in shown.items()})[0][0]
        assert view.predicted == expected
        assert window.point_trial.marker.isVisible()
        assert window.point_trial.label.textItem.toPlainText().startswith(expected)


def test_predict_a_file_writes_the_csv_and_reports_it(qtbot, make_window, tiny_project, tmp_path):
    window = make_window(tiny_project("iris", epochs=2))
    _train(qtbot, window)
    dataset = window.dataset
    rows = tmp_path / "flowers.csv"
    with rows.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow([*dataset.feature_names, dataset.target_name])
        for x, y in zip(dataset.x_test, dataset.y_test, strict=True):
            writer.writerow([number_text(v) for v in x] + [dataset.class_names[int(y)]])

    with qtbot.waitSignal(window.model_files.predictions_written, timeout=30_000) as written:
        job = window.model_files.predict_file(rows)
    job.wait()

    report = written.args[0]
    out = tmp_path / "flowers.predictions.csv"
    assert report.out_path == out and report.rows == 30
    table = list(csv.reader(out.open()))
    assert table[0][:2] == ["row", "predicted"] and len(table) == 31
    assert str(out) in window.statusBar().currentMessage()
    assert "accuracy" in window.statusBar().currentMessage()


def test_a_model_opened_from_its_run_folder_can_be_tried(qtbot, make_window, tiny_project):
    window = make_window(tiny_project("iris", epochs=2))
    result = _train(qtbot, window)
    window.try_it.set_model(None)
    assert not window.predict_action.isEnabled()

    with qtbot.waitSignal(window.try_it.model_changed, timeout=30_000):
        job = window.model_files.open_model(result.run_dir)
    job.wait()

    view = window.try_it
    assert view.model.fmt == "keras" and view.dataset is window.dataset  # same inputs: its test rows are offered
    assert not view.next_row_button.isHidden() and window.predict_action.isEnabled()
    assert view.predicted == view.model.predict_values(view.form.values())[0][0]


def test_a_bad_model_path_is_a_sentence(qtbot, make_window, tiny_project, tmp_path):
    window = make_window(tiny_project("iris"))

    with qtbot.waitSignal(window.message_shown, timeout=10_000) as shown:
        window.model_files.open_model(tmp_path / "nothing.keras")

    assert shown.args[0].startswith("Could not open the model nothing.keras: there is no model")
    assert window.try_it.model is None
