"""File ▸ Save report… in the window: a trained run's page, with its charts, and a PDF beside it."""

import base64
import re
from types import SimpleNamespace

from PySide6.QtGui import QImage

from gui.report_export import lesson_report_parts, save_report
from models.lessons import CheckResult, load_lessons

TRAINING_TIMEOUT_MS = 60_000


def _trained_window(qtbot, make_window, tiny_project):
    window = make_window(tiny_project())
    assert not window.report_action.isEnabled()  # nothing to report before a run
    with qtbot.waitSignal(window.training_done, timeout=TRAINING_TIMEOUT_MS):
        assert window.start_training()
    return window


def _pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def test_a_report_is_a_page_with_the_charts_and_a_pdf(qtbot, make_window, tiny_project, tmp_path):
    window = _trained_window(qtbot, make_window, tiny_project)
    assert window.report_action.isEnabled()
    path = tmp_path / "xor report.html"
    assert save_report(window, path)
    page = path.read_text(encoding="utf-8")
    images = [QImage.fromData(base64.b64decode(data)) for data in re.findall(r"data:image/png;base64,([^']+)", page)]
    assert len(images) == 3  # loss, accuracy and (two features) the decision boundary
    assert all(not image.isNull() and image.width() > 100 for image in images)
    assert "<h1>tiny</h1>" in page and "Finished all epochs." in page and "Diagnosis" in page
    assert "Confusion matrix" in page
    pdf = path.with_suffix(".pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and _pdf_pages(pdf) >= 1
    assert str(path.with_suffix(".pdf")) in window.statusBar().currentMessage()


def test_a_report_that_cannot_be_written_is_a_sentence_and_keeps_the_old_file(
        qtbot, make_window, tiny_project, tmp_path, dismiss_messages):
    window = _trained_window(qtbot, make_window, tiny_project)
    path = tmp_path / "report.html"
    path.with_suffix(".pdf").mkdir()  # a folder where the PDF should go
    (path.with_suffix(".pdf") / "kept.txt").write_text("old")
    with qtbot.waitSignal(window.message_shown) as shown:
        assert not save_report(window, path)
    assert shown.args[0].startswith(f"Could not write {path.with_suffix('.pdf')}")
    assert (path.with_suffix(".pdf") / "kept.txt").read_text() == "old"
    assert sorted(name.name for name in tmp_path.iterdir()) == ["report.html", "report.pdf"]  # no temporary file left
    dismiss_messages(window)


def test_a_lesson_report_has_the_page_the_claim_and_the_checks(qtbot, make_window, tiny_project, tmp_path):
    window = _trained_window(qtbot, make_window, tiny_project)
    lesson = load_lessons()[0][0]
    outcome = SimpleNamespace(checks=[CheckResult("val loss 0.4 < 0.5", True)],
                              results={lesson.steps[0].id: window.result})
    path = tmp_path / "lesson.html"
    assert save_report(window, path, **lesson_report_parts(lesson, outcome))
    page = path.read_text(encoding="utf-8")
    assert f"<h1>{lesson.number}. " in page
    assert "<h3>What the notes say</h3>" in page and "The claim" in page
    assert "✓</span> val loss 0.4 &lt; 0.5" in page
    assert lesson.steps[0].label["en"] in page
    assert path.with_suffix(".pdf").read_bytes().startswith(b"%PDF")


def test_file_save_report_asks_for_a_page_and_puts_the_pdf_beside_it(qtbot, make_window, tiny_project, tmp_path,
                                                                      monkeypatch):
    window = _trained_window(qtbot, make_window, tiny_project)
    chosen = tmp_path / "handout"
    monkeypatch.setattr("gui.report_export.QFileDialog.getSaveFileName", lambda *args: (str(chosen), ""))
    window.report_action.trigger()
    assert (tmp_path / "handout.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert (tmp_path / "handout.pdf").read_bytes().startswith(b"%PDF")
