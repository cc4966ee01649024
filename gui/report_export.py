"""File ▸ Save report…: the last run (or a lesson) as one HTML page and a PDF beside it, to hand out.

The page is `models.saving.report`'s; this module gathers what the window
shows (the charts, the decision boundary, the settings the run trained with,
its evaluation and diagnosis), writes the page, and prints the same HTML to
a PDF with Qt. Each file is written through a temporary name, so a failure
never leaves half a file and never loses the one that was there.

A lesson's view saves its page and claim with the run::

    save_report_dialog(window, **lesson_report_parts(lesson, outcome))
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QBuffer, QIODevice, QMarginsF, QRectF, QSizeF
from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPdfWriter, QTextDocument
from PySide6.QtWidgets import QFileDialog

from gui.charts import figure_bytes
from gui.i18n import language, tr
from models.saving.report import PAGE_WIDTH, ReportCheck, ReportImage, RunReport, report_html

CHART_SCALE = 2  # charts are rendered at twice the size they are drawn on the page, to print sharply
BOUNDARY_SIDE = 400  # the decision boundary's width and height on the page
PDF_MARGIN_MM = 15
A4_TEXT_WIDTH_MM, A4_TEXT_HEIGHT_MM = 210 - 2 * PDF_MARGIN_MM, 297 - 2 * PDF_MARGIN_MM

# A lesson page's parts, in their order, with their headings (in English, for `tr`).
PAGE_PARTS = {"notes": "What the notes say", "press": "What to press", "look": "What to look at",
              "expect": "What should happen", "question": "A question to think about"}


def save_report_dialog(window, **parts) -> bool:
    """Asks where to save the report (an ``.html`` name; the PDF goes beside it), then saves it.

    Args:
        window: the `MainWindow` whose last run is reported.
        **parts: what `save_report` takes besides the path (a lesson's page, claim and checks).
    """
    name = parts.get("title") or window.project.name
    path, _ = QFileDialog.getSaveFileName(window, tr("Save report"), f"{_file_name(name)}.html",
                                          tr("Web page") + " (*.html *.htm)")
    if not path:
        return False
    if Path(path).suffix.lower() not in (".html", ".htm"):
        path += ".html"
    return save_report(window, path, **parts)


def save_report(window, path, *, title: str = "", subtitle: str = "", notes=(), claim: str = "", checks=(),
                runs=()) -> bool:
    """Writes the report of ``window``'s last run as ``path`` (HTML) and a PDF of the same name beside it.

    Args:
        window: the `MainWindow`; its last finished run (if any) gives the settings, charts, evaluation
            and diagnosis.
        path: the ``.html`` file to write; the PDF is ``path`` with the suffix ``.pdf``.
        title: the page's title. Defaults to the project's name.
        subtitle: a line under the title (a lesson's section). Defaults to none.
        notes: ``(heading, text)`` pairs shown first (a lesson's page).
        claim: a sentence the ``checks`` test.
        checks: `ReportCheck`\\ s (or anything with ``text`` and ``held``).
        runs: ``(label, RunResult)`` pairs compared in one table (a lesson's steps).

    Returns:
        Whether both files were written. The status bar says where they went; a failure is a sentence
        (`MainWindow.show_message`), and a file that could not be written keeps what it held.
    """
    if window.result is None and not (notes or claim or checks or runs):
        window.show_message(tr("There is no finished run to report yet: train the network first."))
        return False
    report = collect_report(window, title=title, subtitle=subtitle, notes=notes, claim=claim, checks=checks, runs=runs)
    page = report_html(report, tr, setting_label)
    html_path, pdf_path = Path(path), Path(path).with_suffix(".pdf")
    target = html_path
    try:
        from models.files import write_bytes_atomic, write_text_atomic

        write_text_atomic(html_path, page)
        target = pdf_path
        write_bytes_atomic(pdf_path, pdf_bytes(page, report.title))
    except OSError as error:
        window.show_message(tr("Could not write {path}: {error}.", path=target, error=error.strerror or error))
        return False
    window.statusBar().showMessage(tr("Saved the report as {html} and {pdf}.", html=html_path, pdf=pdf_path), 15000)
    return True


def collect_report(window, *, title: str = "", subtitle: str = "", notes=(), claim: str = "", checks=(),
                   runs=()) -> RunReport:
    """What the window shows of its last run, as a `RunReport` (see `save_report` for the arguments)."""
    result = window.result
    project = window._trained_with[0] if result is not None else None  # the panels may have moved on since
    return RunReport(
        title=title or (project or window.project).name, subtitle=subtitle,
        created=tr("Keras Trainer report, {date}", date=time.strftime("%Y-%m-%d %H:%M")),
        project=project, result=result, images=window_images(window) if result is not None else [],
        notes=[(heading, text) for heading, text in notes], claim=claim,
        checks=[ReportCheck(check.text, bool(check.held)) for check in checks], runs=list(runs),
        language=language())


def window_images(window) -> list[ReportImage]:
    """The loss and metric charts, and the decision boundary when the preview shows the run's."""
    charts = window.charts
    images = [_report_image(charts.chart_title(which), charts.image(which, CHART_SCALE)) for which in ("loss", "metric")]
    preview = window.preview
    if (window.result.probe is not None and preview.dataset is window._trained_with[1]
            and preview.currentWidget() is preview.plot):
        images.append(_report_image(tr("Decision boundary"), _square_png(preview.plot.getPlotItem(), BOUNDARY_SIDE)))
    return images


def _square_png(plot_item, side: int) -> bytes:
    """A plot drawn ``side`` pixels square (the window's strip below the charts would squash the input plane),
    at `CHART_SCALE`; the plot is put back as it was at once."""
    shown = plot_item.geometry()
    plot_item.setGeometry(QRectF(shown.topLeft(), QSizeF(side, side)))
    try:
        return figure_bytes(plot_item, ".png", CHART_SCALE)
    finally:
        plot_item.setGeometry(shown)


def _report_image(caption: str, png: bytes) -> ReportImage:
    """A chart for the page, drawn at the size it has in the window."""
    return ReportImage(caption, png, width=QImage.fromData(png).width() // CHART_SCALE)


def setting_label(path: tuple) -> str:
    """A setting named as the window's controls name it; ``("layers", "units")`` is a layer's own setting."""
    from gui.history_view import setting_label as window_setting_label
    from gui.network_editor import _SETTING_NAMES

    if path[0] == "layers" and len(path) == 2:
        return tr(_SETTING_NAMES.get(path[1], path[1].replace("_", " ")))
    return window_setting_label(path)


def pdf_bytes(page: str, title: str) -> bytes:
    """The HTML ``page`` printed to an A4 PDF by Qt's rich-text engine (its embedded images included)."""
    document = QTextDocument()
    document.setHtml(page)
    # Laid out as wide as the page's text in a browser, then scaled onto the paper: what fits one fits the other.
    width = PAGE_WIDTH + 2 * document.documentMargin() + 40
    document.setPageSize(QSizeF(width, width * A4_TEXT_HEIGHT_MM / A4_TEXT_WIDTH_MM))
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setTitle(title)
    writer.setCreator("Keras Trainer")
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageMargins(QMarginsF(*[PDF_MARGIN_MM] * 4), QPageLayout.Unit.Millimeter)
    document.print_(writer)
    del writer  # ends the PDF
    data = bytes(buffer.data())
    if not data.startswith(b"%PDF"):
        raise OSError("the PDF could not be made")
    return data


def lesson_report_parts(lesson, outcome=None) -> dict:
    """A lesson's page, claim and (when it was checked) its checks and steps' runs, for `save_report`.

    Args:
        lesson: a `models.lessons.Lesson`.
        outcome: its `models.lessons.LessonOutcome`, when the claim was checked. Defaults to `None`.
    """
    lang = language()
    page = lesson.page.get(lang) or lesson.page.get("en", {})
    parts = {"title": f"{lesson.number}. {lesson.text(lesson.title, lang)}", "subtitle": lesson.text(lesson.section, lang),
             "notes": [(tr(heading), page.get(part, "")) for part, heading in PAGE_PARTS.items()],
             "claim": lesson.text(lesson.claim, lang)}
    if outcome is not None:
        labels = {step.id: step.label.get(lang) or step.label.get("en", step.id) for step in lesson.steps}
        parts["checks"] = list(outcome.checks)
        parts["runs"] = [(labels.get(step_id, step_id), result) for step_id, result in outcome.results.items()]
    return parts


def _file_name(name: str) -> str:
    """``name`` as a file name: the characters a file system refuses become "-"."""
    return "".join("-" if character in '<>:"/\\|?*' else character for character in name).strip() or "report"

