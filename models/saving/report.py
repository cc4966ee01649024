"""A run (or a lesson) as one self-contained HTML page to hand out: `RunReport`, `report_html`.

The page holds the settings, the charts (PNG images embedded as base64), the
final figures, the evaluation, the diagnosis and any notes, with its CSS
inline, so the one file opens in any browser and prints as it shows. The
window renders the same HTML to a PDF (`gui.report_export`).

Every heading goes through a ``translate(template, **values)`` function (the
window passes its ``tr``), so the page reads in the window's language. Every
value put into the page is HTML-escaped. Nothing here imports Qt.
"""

from __future__ import annotations

import base64
import html
import math
import struct
from dataclasses import dataclass, field

from models.experiments.project_diff import flatten_paths, setting_name, value_text
from models.network.spec import Project, layer_from_dict, layer_to_dict, project_to_dict

# The width of the page's text in CSS pixels (an A4 page's, printed): no image is drawn wider.
PAGE_WIDTH = 680
AVERAGES = ("macro avg", "weighted avg")  # the per-class table's last rows (a class's own name is not translated)
MAX_MATRIX_CLASSES = 20  # a confusion matrix wider than this is unreadable on paper
PROBLEM_COLOR, NOTE_COLOR, GOOD_COLOR = "#C0392B", "#2E86C1", "#1E8449"

# The settings shown for every run, whatever their values; any other setting is shown when it is not the default.
KEY_SETTINGS = {
    ("dataset", "name"), ("optimizer", "name"), ("optimizer", "learning_rate"), ("training", "epochs"),
    ("training", "batch_size"), ("training", "validation_fraction"), ("training", "seed"),
}
# Layer settings shown with the layer's type whatever their values.
KEY_LAYER_SETTINGS = {"units", "activation", "rate"}

STYLE = """
body { font-family: "Segoe UI", "Helvetica Neue", Arial, "Noto Sans CJK SC", "Microsoft YaHei",
       "WenQuanYi Micro Hei", sans-serif; color: #222; max-width: 760px; margin: 24px auto; padding: 0 16px; }
p, li { line-height: 1.45; }
h1 { font-size: 22pt; margin-bottom: 2px; }
h2 { font-size: 15pt; margin-top: 22px; border-bottom: 1px solid #ccc; page-break-after: avoid; }
h3 { font-size: 12pt; margin-bottom: 4px; page-break-after: avoid; }
p.meta { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 6px 0 10px 0; }
th, td { border: 1px solid #d0d0d0; padding: 3px 8px; vertical-align: top; }
th { background-color: #f2f2f2; text-align: left; }
td.number { text-align: right; }
td.diagonal { background-color: #e3f1e6; font-weight: bold; }
table.figures td, table.figures th { border: none; padding: 4px; }
@media (max-width: 720px) { img { max-width: 100%; height: auto; } }
p.caption { color: #555; font-size: 9pt; margin-top: 0; }
div.finding { margin: 6px 0 10px 0; padding-left: 8px; }
span.where { color: #777; }
"""


def english(template: str, **values) -> str:
    """The English text: the template with its values put in (the default ``translate``)."""
    return template.format(**values) if values else template


@dataclass(frozen=True)
class ReportImage:
    """A picture on the page: PNG bytes, the caption under it (in the reader's language), and the width it is
    drawn at in CSS pixels (0: its pixels' width; never wider than `PAGE_WIDTH`). A chart rendered at twice the
    width it is drawn at prints sharply."""

    caption: str
    png: bytes
    width: int = 0


@dataclass(frozen=True)
class ReportCheck:
    """One checked statement of a claim (a lesson's check) and whether it held."""

    text: str
    held: bool


@dataclass
class RunReport:
    """Everything one report page shows, as plain data.

    Args:
        title: the page's title (the project's or the lesson's name).
        subtitle: a line under the title (a lesson's section of the notes). Defaults to none.
        created: when the report was made, as text. Defaults to none.
        project: the settings the run trained with. Defaults to `None` (no settings section).
        result: the finished run (a `models.training.reports.RunResult`). Defaults to `None`.
        images: charts, in the order shown.
        notes: ``(heading, text)`` pairs shown first, such as a lesson's page; a blank line in a text
            starts a new paragraph.
        claim: the sentence the checks test. Defaults to none.
        checks: the claim's checks and whether each held.
        runs: ``(label, RunResult)`` pairs compared in one table (a lesson's steps).
        language: the page's ``lang`` attribute. Defaults to `"en"`.
    """

    title: str
    subtitle: str = ""
    created: str = ""
    project: Project | None = None
    result: object = None
    images: list[ReportImage] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    claim: str = ""
    checks: list[ReportCheck] = field(default_factory=list)
    runs: list[tuple[str, object]] = field(default_factory=list)
    language: str = "en"


def report_setting_name(path: tuple) -> str:
    """A setting's short English name by its place in the project's dict; ``("layers", "units")`` names a
    layer's setting in the network's table."""
    return path[1].replace("_", " ") if path[0] == "layers" and len(path) == 2 else setting_name(path)


def report_html(report: RunReport, translate=english, name_of=report_setting_name) -> str:
    """The report as one HTML page, images and CSS included.

    Args:
        report: what the page shows.
        translate: ``translate(template, **values)`` gives a text in the reader's language.
            Defaults to English.
        name_of: names a setting by its place in the project's dict (``("optimizer",
            "learning_rate")``; a layer's setting as ``("layers", "units")``). Defaults to
            `report_setting_name` (short English names).
    """
    t = translate
    parts = [f"<h1>{_e(report.title)}</h1>"]
    meta = [text for text in (report.subtitle, report.created) if text]
    if meta:
        parts.append(f"<p class='meta'>{' · '.join(map(_e, meta))}</p>")
    parts += [_notes(report.notes), _claim(report, t), _runs(report.runs, t)]
    if report.project is not None:
        parts.append(_settings(report.project, t, name_of))
    if report.result is not None or report.images:
        parts.append(_training(report.result, report.images, t))
    evaluation = getattr(report.result, "evaluation", None)
    if evaluation is not None:
        parts.append(_evaluation(evaluation, t))
    diagnosis = getattr(report.result, "diagnosis", None)
    if diagnosis is not None:
        parts.append(_diagnosis(diagnosis, t))
    parts.append(f"<p class='meta'>{_e(t('Made with Keras Trainer.'))}</p>")
    return (f"<!DOCTYPE html>\n<html lang='{_e(_language_tag(report.language))}'>\n<head>\n<meta charset='utf-8'>\n"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>\n<title>{_e(report.title)}</title>\n"
            f"<style>{STYLE}</style>\n</head>\n<body>\n" + "\n".join(part for part in parts if part)
            + "\n</body>\n</html>\n")


def _e(value) -> str:
    return html.escape(str(value))


def _language_tag(language: str) -> str:
    """``zh_CN`` → ``zh-CN``, as HTML names languages."""
    return language.replace("_", "-")


def _number(value) -> str:
    if value is None:
        return "—"
    value = float(value)
    return f"{value:.4g}" if math.isfinite(value) else str(value)


def _paragraphs(text: str) -> str:
    return "".join(f"<p>{_e(paragraph.strip())}</p>" for paragraph in text.split("\n\n") if paragraph.strip())


def _table(head: list[str], rows: list[list[str]], figures: range | set = range(1, 99)) -> str:
    """A table of escaped texts; the columns in ``figures`` hold numbers, right-aligned. Defaults to all but the first."""
    head_html = "".join(f"<th>{_e(text)}</th>" for text in head)
    body = "".join("<tr>" + "".join(
        f"<td class='number'>{_e(text)}</td>" if column in figures else f"<td>{_e(text)}</td>"
        for column, text in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><tr>{head_html}</tr>{body}</table>"


# ----------------------------------------------------------------- notes and claim
def _notes(notes: list[tuple[str, str]]) -> str:
    return "".join(f"<h3>{_e(heading)}</h3>{_paragraphs(text)}" for heading, text in notes if text)


def _claim(report: RunReport, t) -> str:
    if not report.claim and not report.checks:
        return ""
    parts = [f"<h2>{_e(t('The claim'))}</h2>", _paragraphs(report.claim)]
    if report.checks:
        items = "".join(f"<li>{_marked('✓' if check.held else '✗', check.held)} {_e(check.text)}</li>"
                        for check in report.checks)
        held = all(check.held for check in report.checks)
        verdict = t("The claim held.") if held else t("The claim did not hold.")
        parts.append(f"<ul>{items}</ul><p>{_marked(verdict, held)}</p>")
    return "".join(parts)


def _marked(text: str, good: bool) -> str:
    """``text`` in bold green when ``good``, else red (styled inline: a PDF renderer ignores a span's class)."""
    return f"<span style='color:{GOOD_COLOR if good else PROBLEM_COLOR}; font-weight:bold'>{_e(text)}</span>"


def _runs(runs: list[tuple[str, object]], t) -> str:
    """The compared runs (a lesson's steps): each one's final and test figures, and its diagnosis in a line."""
    if not runs:
        return ""
    rows = []
    for label, result in runs:
        final = {key: values[-1] for key, values in result.history.items() if values}
        metric = result.metric
        summary = result.diagnosis.summary().translated(t) if getattr(result, "diagnosis", None) else ""
        rows.append([label, str(result.epochs_run), _number(final.get("loss")), _number(final.get("val_loss")),
                     _number(result.test_metrics.get(metric)), summary])
    head = [t("run"), t("epochs"), t("loss"), t("val loss"), t("test {metric}", metric=t(runs[0][1].metric)),
            t("Diagnosis")]
    return f"<h2>{_e(t('Runs'))}</h2>" + _table(head, rows, figures=range(1, 5))


# ------------------------------------------------------------------------ settings
def _settings(project: Project, t, name_of) -> str:
    data = project_to_dict(project)
    shown = _shown_settings(data)
    parts = [f"<h2>{_e(t('Settings'))}</h2>"]
    data_rows = [[name_of(path), value] for path, value in shown.items() if path[0] == "dataset"]
    parts.append(f"<h3>{_e(t('Data'))}</h3>" + _table([t("setting"), t("value")], data_rows, figures=()))
    parts.append(f"<h3>{_e(t('Network'))}</h3>" + _table([t("layer"), t("type"), t("settings")],
                                                          _layer_rows(data, name_of, t("Output")), figures=()))
    other = [[name_of(path), value] for path, value in shown.items() if path[0] not in ("dataset", "layers")]
    parts.append(f"<h3>{_e(t('Optimizer and training'))}</h3>" + _table([t("setting"), t("value")], other, figures=()))
    return "".join(parts)


def _shown_settings(data: dict) -> dict[tuple, str]:
    """The key settings and every other one whose value is not the default's (empty values left out)."""
    defaults = flatten_paths(project_to_dict(Project()))
    return {path: value for path, value in flatten_paths(data).items()
            if path[0] != "layers" and value != "" and (path in KEY_SETTINGS or defaults.get(path) != value)}


def _layer_rows(data: dict, name_of, output_word: str) -> list[list[str]]:
    """One row per layer: its number, type, and its settings (the key ones, and any not at the default)."""
    rows = []
    for number, layer in enumerate(data.get("layers", []), start=1):
        kind = layer.get("type", "")
        default = layer_to_dict(type(layer_from_dict({"type": kind}, "a layer"))())
        settings = [f"{name_of(('layers', key))} {value_text(value)}" for key, value in layer.items()
                    if key != "type" and (key in KEY_LAYER_SETTINGS or default.get(key) != value)]
        rows.append([str(number), kind, ", ".join(settings)])
    output = [f"{name_of(('output', key))} {value_text(value)}" for key, value in data.get("output", {}).items()]
    rows.append(["", output_word, ", ".join(output)])
    return rows


# ------------------------------------------------------------------------ training
def _training(result, images: list[ReportImage], t) -> str:
    parts = [f"<h2>{_e(t('Training'))}</h2>"]
    if result is not None:
        reason = t(result.reason_text)
        parts.append(f"<p><b>{_e(t('{reason}.', reason=reason[:1].upper() + reason[1:]))}</b> " + _e(t(
            "{epochs} epoch(s) in {seconds} s on {device}, {speed} training samples/s.",
            epochs=result.epochs_run, seconds=f"{result.elapsed_s:.1f}", device=result.device,
            speed=f"{result.train_samples_per_second:,.0f}")) + "</p>")
    if result is not None:
        parts.append(_figures_table(result, t))
        if getattr(result, "run_dir", "") and not getattr(result, "save_error", ""):
            parts.append(f"<p class='meta'>{_e(t('Run folder:'))} <code>{_e(result.run_dir)}</code></p>")
    if images:
        parts.append(_images(images))
    return "".join(parts)


def _images(images: list[ReportImage]) -> str:
    """The images in rows as wide as the page, each with its caption (tables: a PDF renderer knows no CSS grid)."""
    rows, row, used = [], [], 0
    for image in images:
        width, height = _shown_size(image)
        if row and used + width > PAGE_WIDTH:
            rows.append(row)
            row, used = [], 0
        size = f" width='{width}'" + (f" height='{height}'" if height else "")
        row.append(f"<td><img src='data:image/png;base64,{base64.b64encode(image.png).decode('ascii')}' "
                   f"alt='{_e(image.caption)}'{size}><p class='caption'>{_e(image.caption)}</p></td>")
        used += width
    rows.append(row)
    # A table a row: one table's columns would be as wide as its widest image in any row.
    return "".join(f"<table class='figures'><tr>{''.join(cells)}</tr></table>" for cells in rows if cells)


def _shown_size(image: ReportImage) -> tuple[int, int]:
    """The width and height an image is drawn at: its own ``width`` (or its pixels'), no wider than the page;
    the height keeps the PNG's proportions (0 when its header cannot be read)."""
    png = image.png
    pixels = struct.unpack(">II", png[16:24]) if len(png) >= 24 and png[:8] == b"\x89PNG\r\n\x1a\n" else (0, 0)
    width = min(image.width or pixels[0] or PAGE_WIDTH, PAGE_WIDTH)
    return width, round(pixels[1] * width / pixels[0]) if pixels[0] > 0 else 0


def _figures_table(result, t) -> str:
    """Each quantity's final training and validation figure, and its test figure."""
    names = [name for name in result.history if not name.startswith("val_")]
    names += [name for name in result.test_metrics if name not in names]
    rows = []
    for name in names:
        train, validation = result.history.get(name) or [], result.history.get(f"val_{name}") or []
        rows.append([t(name), _number(train[-1]) if train else "—", _number(validation[-1]) if validation else "—",
                     _number(result.test_metrics.get(name))])
    return f"<h3>{_e(t('Figures'))}</h3>" + _table(
        ["", t("training (last epoch)"), t("validation (last epoch)"), t("test")], rows)


# ---------------------------------------------------------------------- evaluation
def _evaluation(evaluation, t) -> str:
    parts = [f"<h2>{_e(t('Evaluation'))}</h2>",
             f"<p>{_e(t('{count} {split} rows', count=f'{evaluation.size:,}', split=t(evaluation.split)))}</p>"]
    base = evaluation.baseline()
    if evaluation.is_classification:
        rows = [[t("accuracy"), _number(evaluation.accuracy()), _number(base["accuracy"])],
                [t("loss"), _number(sum(evaluation.losses) / max(evaluation.size, 1)), _number(base["loss"])]]
        worse = t("The model does no better on the {split} rows than always answering “{majority}”, the most "
                  "common class in training.", split=t(evaluation.split), majority=base["majority_class"])
    else:
        rows = [[t("MAE"), _number(evaluation.mae()), _number(base["mae"])],
                [t("RMSE"), _number(evaluation.rmse()), _number(base["rmse"])],
                ["R²", _number(evaluation.r2()), _number(base["r2"])]]
        worse = t("The model does no better on the {split} rows than always answering the training mean, "
                  "{mean}.", split=t(evaluation.split), mean=_number(base["mean"]))
    parts.append(_table(["", t("model"), t("always guessing the same")], rows))
    if not evaluation.beats_baseline():
        parts.append(f"<p>{_marked(worse, False)}</p>")
    if evaluation.is_classification:
        parts.append(_confusion_matrix(evaluation, t))
        per_class = evaluation.per_class()
        rows = [[t(name) if name in AVERAGES else name, _number(scores["precision"]), _number(scores["recall"]), _number(scores["f1"]),
                 str(scores["support"])] for name, scores in per_class.items()]
        parts.append(f"<h3>{_e(t('Each class'))}</h3>" + _table(
            [t("class"), t("precision"), t("recall"), t("F1"), t("rows")], rows))
    return "".join(parts)


def _confusion_matrix(evaluation, t) -> str:
    classes = evaluation.classes
    if len(classes) > MAX_MATRIX_CLASSES:
        return ""
    matrix = evaluation.confusion_matrix()
    head = f"<tr><th>{_e(t('true ↓ · predicted →'))}</th>" + "".join(f"<th>{_e(name)}</th>" for name in classes) + "</tr>"
    body = "".join(
        f"<tr><th>{_e(name)}</th>" + "".join(
            f"<td class='{'number diagonal' if row == column else 'number'}'>{int(matrix[row, column])}</td>"
            for column in range(len(classes))) + "</tr>"
        for row, name in enumerate(classes))
    return f"<h3>{_e(t('Confusion matrix'))}</h3><table>{head}{body}</table>"


# ----------------------------------------------------------------------- diagnosis
def _diagnosis(diagnosis, t) -> str:
    color = GOOD_COLOR if diagnosis.healthy else PROBLEM_COLOR
    mark = "✓" if diagnosis.healthy else "⚠"
    parts = [f"<h2>{_e(t('Diagnosis'))}</h2>",
             f"<p><b><span style='color:{color}'>{mark} {_e(diagnosis.summary().translated(t))}</span></b></p>"]
    for finding in diagnosis.findings:
        problem = finding.severity == "problem"
        where = finding.where(t)
        tag = t("Problem") if problem else t("Note")
        remedies = "".join(f"<li>{_e(remedy.text.translated(t))}</li>" for remedy in finding.remedies)
        parts.append(
            f"<div class='finding' style='border-left: 4px solid {PROBLEM_COLOR if problem else NOTE_COLOR}'>"
            f"<p><b><span style='color:{PROBLEM_COLOR if problem else NOTE_COLOR}'>{_e(tag)}</span> · "
            f"{_e(t(finding.title))}</b>" + (f" <span class='where'>· {_e(' · '.join(where))}</span>" if where else "")
            + f"</p><p>{_e(finding.evidence.translated(t))}</p>"
            f"<p><i>{_e(t('Why:'))}</i> {_e(finding.cause.translated(t))}</p>"
            + (f"<p>{_e(t('Remedies to try:'))}</p><ul>{remedies}</ul>" if remedies else "") + "</div>")
    return "".join(parts)
