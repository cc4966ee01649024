"""The Evaluation view, driven through the window: what it shows is what `models.evaluation` says."""


import numpy as np
from PySide6.QtCore import Qt

from datasets.choice import DatasetChoice

TRAINING_TIMEOUT_MS = 60_000


def _trained_view(qtbot, window):
    """Trains the window's project and brings the Evaluation view to the front."""
    with qtbot.waitSignal(window.training_done, timeout=TRAINING_TIMEOUT_MS) as done:
        window.start_training()
    assert done.args[0] is not None
    view = window.evaluation
    window.chart_tabs.setCurrentWidget(view)
    qtbot.waitExposed(view)
    return done.args[0], view


def _choose_split(qtbot, view, split: str) -> None:
    """Picks a split in the selector as a user does, and waits until it is shown."""
    index = view.split_box.findData(split)
    with qtbot.waitSignal(view.split_shown, timeout=TRAINING_TIMEOUT_MS):
        view.split_box.setCurrentIndex(index)
        view.split_box.activated.emit(index)


def _table_column(panel, name: str) -> list[str]:
    model = panel.table.model()
    header = [model.headerData(c, Qt.Horizontal) for c in range(model.columnCount())]
    column = header.index(name)
    return [model.data(model.index(r, column)) for r in range(model.rowCount())]


def test_clicking_a_cell_shows_exactly_its_samples(qtbot, make_window, tiny_project):
    window = make_window(tiny_project("iris", epochs=3))
    result, view = _trained_view(qtbot, window)
    evaluation = view.evaluation
    assert evaluation is result.evaluation  # the run's own test evaluation, not computed again
    matrix = evaluation.confusion_matrix()
    np.testing.assert_array_equal(view.matrix.matrix, matrix)
    true, predicted = np.unravel_index(np.argmax(matrix), matrix.shape)

    with qtbot.waitSignal(view.matrix.cell_clicked) as clicked:
        qtbot.mouseClick(view.matrix.viewport(), Qt.LeftButton, pos=view.matrix.cell_centre(true, predicted))

    assert clicked.args == [true, predicted]
    expected = evaluation.samples_in_cell(true, predicted)
    np.testing.assert_array_equal(view.samples.indices, expected)
    rows = _table_column(view.samples, "row")
    assert rows == [str(n) for n in np.arange(1, evaluation.size + 1)[expected]]
    assert set(_table_column(view.samples, "true")) == {evaluation.classes[true]}
    assert set(_table_column(view.samples, "predicted")) == {evaluation.classes[predicted]}
    assert "sepal length (cm)" in [view.samples.table.model().headerData(c, Qt.Horizontal)
                                   for c in range(view.samples.table.model().columnCount())]
    assert "accuracy" in view.headline.text() and f"{evaluation.baseline()['accuracy']:.3f}" in view.headline.text()


def test_top_losses_are_images_sorted_by_loss(qtbot, make_window, tiny_project):
    window = make_window(tiny_project("digits", epochs=2))
    _result, view = _trained_view(qtbot, window)
    evaluation = view.evaluation

    view.samples.worst_count.setValue(12)
    qtbot.mouseClick(view.samples.worst_button, Qt.LeftButton)

    shown = view.samples.indices
    np.testing.assert_array_equal(shown, evaluation.top_losses(12))
    losses = evaluation.losses[shown]
    assert np.all(np.diff(losses) <= 0) and losses[0] == evaluation.losses.max()
    assert view.samples.stack.currentWidget() is view.samples.grid_scroll
    assert len(view.samples.grid._images) == 12


def test_the_threshold_slider_moves_samples_between_columns(qtbot, make_window, tiny_project, tmp_path):
    window = make_window(tiny_project("breast_cancer", epochs=2))
    _result, view = _trained_view(qtbot, window)
    assert view.threshold_row.isVisible() and view.threshold() == 0.5
    at_half = view.matrix.matrix.copy()
    total = at_half.sum()

    qtbot.keyClick(view.threshold_slider, Qt.Key_Home)  # threshold 0: every row is the second class

    assert view.threshold() == 0.0 and view.evaluation.threshold == 0.0
    shown = view.matrix.matrix
    assert shown[:, 0].sum() == 0 and shown.sum() == total
    np.testing.assert_array_equal(shown, view.evaluation.confusion_matrix())
    assert not np.array_equal(shown, at_half) or at_half[:, 0].sum() == 0

    qtbot.keyClick(view.threshold_slider, Qt.Key_End)  # threshold 1: hardly any row reaches it
    assert view.matrix.matrix[:, 0].sum() >= at_half[:, 0].sum()

    assert view.figure_names() == ["matrix", "roc", "precision_recall"]
    for name in view.figure_names():
        for suffix in (".png", ".svg"):
            path = tmp_path / f"{name}{suffix}"
            assert view.save_figure(name, path)
            assert path.stat().st_size > 500
    assert (tmp_path / "matrix.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")


def test_the_split_selector_switches_the_matrix(qtbot, make_window, tiny_project):
    window = make_window(tiny_project("iris", epochs=2))
    result, view = _trained_view(qtbot, window)
    assert view.matrix.matrix.sum() == len(window.dataset.x_test)

    _choose_split(qtbot, view, "train")
    assert view.split == "train" and view.evaluation.split == "train"
    assert view.matrix.matrix.sum() == len(result.fit_rows)

    _choose_split(qtbot, view, "validation")
    assert view.matrix.matrix.sum() == len(result.validation_rows)

    _choose_split(qtbot, view, "test")  # known already: shown at once
    assert view.evaluation is result.evaluation
    assert view.matrix.matrix.sum() == len(window.dataset.x_test)


def test_validation_cannot_be_chosen_without_validation_rows(qtbot, make_window, tiny_project):
    project = tiny_project("iris", epochs=1)
    project.training.validation_fraction = 0.0
    window = make_window(project)
    _result, view = _trained_view(qtbot, window)
    item = view.split_box.model().item(view.split_box.findData("validation"))
    assert not item.isEnabled()


def test_a_regression_shows_r2_beside_the_mean_and_a_clicked_row(qtbot, make_window, tiny_project):
    window = make_window(tiny_project("diabetes", epochs=2))
    _result, view = _trained_view(qtbot, window)
    evaluation = view.evaluation

    text = view.headline.text()
    assert "R²" in text and f"{evaluation.r2():.3f}" in text and "MAE" in text and "RMSE" in text
    assert view.figure_names() == ["predicted", "histogram", "residuals"]
    x, y = view.predicted_points.getData()
    np.testing.assert_allclose(x, evaluation.y_true)
    np.testing.assert_allclose(y, evaluation.predicted)

    points = view.predicted_points.points()
    view.predicted_points.sigClicked.emit(view.predicted_points, [points[7]], None)

    np.testing.assert_array_equal(view.samples.indices, [7])
    assert _table_column(view.samples, "age") == [f"{window.dataset.x_test[7][0]:.6g}"]


def test_a_cell_of_two_feature_data_is_ringed_on_the_preview(qtbot, make_window, tiny_project):
    window = make_window(tiny_project("xor", epochs=2))
    _result, view = _trained_view(qtbot, window)
    matrix = view.evaluation.confusion_matrix()
    true, predicted = np.unravel_index(np.argmax(matrix), matrix.shape)

    indices = view.show_cell(true, predicted)

    np.testing.assert_allclose(window.evaluation_marks.shown_points(), window.dataset.x_test[indices])
    window.chart_tabs.setCurrentIndex(0)  # back to the training charts: the rings would explain nothing there
    assert len(window.evaluation_marks.shown_points()) == 0
    window.chart_tabs.setCurrentWidget(view)
    np.testing.assert_allclose(window.evaluation_marks.shown_points(), window.dataset.x_test[indices])


def test_csv_samples_are_the_files_own_rows(qtbot, make_window, tiny_project, tmp_path):
    rng = np.random.default_rng(0)
    lines = ["size,colour,label"]
    for _ in range(80):
        size = rng.uniform(0, 10)
        lines.append(f"{size:.2f},{rng.choice(['red', 'green'])},{'big' if size > 5 else 'small'}")
    data = tmp_path / "things.csv"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    project = tiny_project("iris", epochs=2)
    project.dataset = DatasetChoice(name="csv", data_file=str(data), target="label")
    window = make_window(project)
    result, view = _trained_view(qtbot, window)
    qtbot.waitUntil(lambda: view._csv is not None, timeout=10_000)

    view.show_top_losses(5)

    numbers = [int(n) for n in _table_column(view.samples, "row")]
    np.testing.assert_array_equal(numbers, result.test_row_numbers[view.samples.indices])
    assert _table_column(view.samples, "colour") == [lines[n].split(",")[1] for n in numbers]
    assert _table_column(view.samples, "size") == [lines[n].split(",")[0] for n in numbers]
