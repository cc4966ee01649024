"""The report page (models.saving.report): settings, figures, evaluation, diagnosis and notes, escaped, in one file."""

import base64
import re
import struct
import zlib

import numpy as np
import pytest

from models.diagnosis.findings import NOTE, PROBLEM, DiagnosisReport, Finding, Text
from models.diagnosis.remedies import cap_dropout
from models.evaluation import evaluate
from models.network.spec import DenseLayer, DropoutLayer, Project
from models.saving.report import ReportCheck, ReportImage, RunReport, report_html
from models.training.reports import RunResult


def _png(width: int, height: int) -> bytes:
    """A tiny valid grey PNG of the given size."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def _result(classes=("<red>", "blue")) -> RunResult:
    y_true = np.array([0, 0, 1, 1, 1])
    outputs = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4]])
    evaluation = evaluate(outputs, y_true, np.array([0, 1, 1, 1]), "classification", list(classes), "softmax")
    findings = [Finding("overfitting", PROBLEM, Text.of("Validation loss rose from {low} to {high}.", low="0.31",
                                                        high="0.52"),
                        Text.of("The network learns the training rows <by heart>."), (cap_dropout(0.3),), epoch=7),
                Finding("validation_too_small", NOTE, Text.of("24 rows."), Text.of("Noisy."), (), epoch=0)]
    return RunResult(reason="completed", epochs_run=3,
                     history={"loss": [0.9, 0.5, 0.4321], "accuracy": [0.5, 0.7, 0.8],
                              "val_loss": [1.0, 0.6, 0.5123], "val_accuracy": [0.4, 0.6, 0.75]},
                     test_metrics={"loss": 0.4567, "accuracy": 0.8}, train_samples_per_second=1234.0, elapsed_s=2.5,
                     device="CPU", metric="accuracy", run_dir="/runs/20250101-spiral",
                     evaluation=evaluation, diagnosis=DiagnosisReport(findings, {"val_loss": 0.5}, "accuracy"))


def _project() -> Project:
    project = Project(name="Spiral & co", layers=[DenseLayer(64, "relu", kernel_initializer="he_normal"),
                                                  DropoutLayer(0.3), DenseLayer(8, "tanh")])
    project.optimizer.learning_rate = 0.01
    project.training.epochs = 30
    return project


def _report(**changes) -> RunReport:
    values = dict(title="Spiral <run>", created="2025-01-01 10:00", project=_project(), result=_result(),
                  images=[ReportImage("Loss", _png(800, 400), width=400), ReportImage("Accuracy", _png(200, 100)),
                          ReportImage("Boundary", _png(1400, 700))])
    values.update(changes)
    return RunReport(**values)


def test_the_page_is_one_self_contained_utf8_file():
    page = report_html(_report())
    assert page.startswith("<!DOCTYPE html>")
    assert "<meta charset='utf-8'>" in page
    assert "<html lang='en'>" in page
    assert "<style>" in page
    assert not re.search(r"(src|href)=['\"](?!data:)", page)  # nothing loaded from elsewhere


def test_the_page_has_the_settings():
    page = report_html(_report())
    assert "optimizer learning rate</td><td>0.01" in page
    assert "training epochs</td><td>30" in page
    assert "dataset name</td><td>spiral" in page
    assert "units 64, activation relu, kernel initializer he_normal" in page  # a setting not at its default
    assert "<td>dropout</td><td>rate 0.3</td>" in page
    assert "optimizer epsilon" not in page  # a default that says nothing is left out


def test_the_page_has_the_final_and_test_figures_and_the_run():
    page = report_html(_report())
    assert "Finished all epochs." in page
    assert "3 epoch(s) in 2.5 s on CPU, 1,234 training samples/s." in page
    assert "<td>loss</td><td class='number'>0.4321</td><td class='number'>0.5123</td><td class='number'>0.4567</td>" in page
    assert "/runs/20250101-spiral" in page


def test_the_charts_are_embedded_as_png_images_scaled_to_the_page():
    page = report_html(_report())
    sources = re.findall(r"<img src='data:image/png;base64,([^']+)'", page)
    assert len(sources) == 3
    assert base64.b64decode(sources[0]) == _png(800, 400)
    assert "width='400' height='200'" in page  # drawn at the width asked for (its pixels are twice that)
    assert "width='200' height='100'" in page
    assert "width='680' height='340'" in page  # no wider than the page
    rows = re.findall(r"<table class='figures'><tr>(.*?)</tr></table>", page)
    assert [row.count("<img") for row in rows] == [2, 1]  # side by side while they fit the page's width
    assert "<p class='caption'>Accuracy</p>" in page


def test_the_evaluation_has_the_baseline_the_confusion_matrix_and_each_class():
    page = report_html(_report())
    assert "5 test rows" in page
    assert "<td>accuracy</td><td class='number'>0.6</td><td class='number'>0.6</td>" in page  # as good as guessing
    assert "The model does no better on the test rows than always answering “blue”" in page
    assert "<th>&lt;red&gt;</th><td class='number diagonal'>1</td><td class='number'>1</td>" in page
    assert "<td>macro avg</td>" in page


def test_a_regression_shows_its_errors_against_the_training_mean():
    evaluation = evaluate(np.array([[1.0], [2.0], [3.5]]), np.array([1.0, 2.0, 3.0]), np.array([1.0, 3.0]),
                          "regression", [], "value")
    result = _result()
    result.evaluation = evaluation
    page = report_html(_report(result=result))
    assert "<td>MAE</td><td class='number'>0.1667</td><td class='number'>0.6667</td>" in page
    assert "Confusion matrix" not in page


def test_the_diagnosis_has_every_finding_in_sentences():
    page = report_html(_report())
    assert "1 problem(s) and 1 note(s) found." in page
    assert "Overfitting" in page and "epoch 7" in page
    assert "Validation loss rose from 0.31 to 0.52." in page
    assert "The network learns the training rows &lt;by heart&gt;." in page  # escaped
    assert "Validation set too small to trust" in page and "before training" in page
    assert "Remedies to try:" in page


def test_every_text_is_escaped():
    page = report_html(_report(title="A <script>alert(1)</script> & more", notes=[("Notes", "x < y & 'z'")]))
    assert "<script>" not in page
    assert "<title>A &lt;script&gt;alert(1)&lt;/script&gt; &amp; more</title>" in page
    assert "<p>x &lt; y &amp; &#x27;z&#x27;</p>" in page


def test_a_lessons_notes_claim_and_checks():
    checks = [ReportCheck("val loss 0.51 < 0.60", True), ReportCheck("gradient ratio 3.2 > 100", False)]
    page = report_html(_report(subtitle="D2L 5.1", notes=[("What the notes say", "First paragraph.\n\nSecond one."),
                                                          ("A question to think about", "")],
                               claim="ReLU trains deep stacks.", checks=checks,
                               runs=[("1. sigmoid", _result()), ("2. relu", _result())]))
    assert "<p class='meta'>D2L 5.1 · 2025-01-01 10:00</p>" in page
    assert "<h3>What the notes say</h3><p>First paragraph.</p><p>Second one.</p>" in page
    assert "A question to think about" not in page  # an empty part is left out
    assert "<li><span style='color:#1E8449; font-weight:bold'>✓</span> val loss 0.51 &lt; 0.60</li>" in page
    assert "<li><span style='color:#C0392B; font-weight:bold'>✗</span> gradient ratio 3.2 &gt; 100</li>" in page
    assert "<span style='color:#C0392B; font-weight:bold'>The claim did not hold.</span>" in page
    assert "<td>2. relu</td><td class='number'>3</td><td class='number'>0.4321</td>" in page


def test_a_report_with_nothing_but_a_title_is_still_a_page():
    page = report_html(RunReport(title="Empty"))
    assert "<h1>Empty</h1>" in page and "Settings" not in page and "Diagnosis" not in page


@pytest.mark.parametrize("language", ["zh_CN"])
def test_chinese_headings_come_through_translate(language):
    table = {"Settings": "设置", "Training": "训练", "Evaluation": "评估", "Diagnosis": "诊断", "loss": "损失",
             "{epochs} epoch(s) in {seconds} s on {device}, {speed} training samples/s.":
                 "{epochs} 轮，用时 {seconds} 秒，设备 {device}，每秒训练 {speed} 个样本。"}

    def translate(template, **values):
        return table.get(template, template).format(**values)

    page = report_html(_report(language=language), translate)
    assert "<html lang='zh-CN'>" in page
    for heading in ("设置", "训练", "评估", "诊断"):
        assert f"<h2>{heading}</h2>" in page
    assert "3 轮，用时 2.5 秒，设备 CPU" in page
    assert "<td>损失</td>" in page
