"""Lessons: each lesson's claim holds when the program runs it; faulty lesson files are sentences."""

import json
import shutil

import pytest

from cli import run_cli
from models.errors import UserError
from models.lessons import LESSONS_DIR, lesson_from_dict, load_lessons, run_lesson

LESSONS, PROBLEMS = load_lessons()


def test_the_lessons_shipped_all_load_with_both_languages():
    assert PROBLEMS == []
    assert [lesson.id for lesson in LESSONS] == ["activations", "dying_relu", "overfitting", "batch_norm", "optimizers"]
    for lesson in LESSONS:
        assert set(lesson.page) == {"en", "zh_CN"} and all(lesson.page["zh_CN"].values())


@pytest.mark.parametrize("lesson", LESSONS, ids=[lesson.id for lesson in LESSONS])
def test_each_lessons_claim_holds(lesson):
    outcome = run_lesson(lesson)
    assert outcome.held, [check.text for check in outcome.checks if not check.held]


def test_the_activations_lesson_shows_the_gradient_vanish_only_with_sigmoid():
    outcome = run_lesson(next(lesson for lesson in LESSONS if lesson.id == "activations"))
    sigmoid, relu = outcome.results["sigmoid"], outcome.results["relu"]
    first_over_last = [run.instruments[-1].layers[0].gradient_norm / run.instruments[-1].layers[-1].gradient_norm
                       for run in (sigmoid, relu)]
    assert first_over_last[0] < 1e-3 < first_over_last[1]


def lesson_data():
    return json.loads((LESSONS_DIR / "11_optimizers.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("spoil, words", [
    (lambda data: data.update(format="something"), "not a lesson file"),
    (lambda data: data["page"].pop("zh_CN"), "zh_CN page needs"),
    (lambda data: data["claim"]["checks"].append({"compare": ["adam", "happiness", "<", "sgd", "loss"]}),
     "a compare check reads"),
    (lambda data: data["claim"]["checks"].append({"fires": ["nobody", "underfitting"]}), "a fires or quiet check"),
    (lambda data: data["steps"][1]["changes"].update(optimizer="telepathy"), "optimizer"),
    (lambda data: data.update(steps=[]), "no steps"),
])
def test_a_faulty_lesson_is_refused_with_a_sentence(spoil, words):
    data = lesson_data()
    spoil(data)
    with pytest.raises(UserError, match=words):
        lesson_from_dict(data)


def test_a_faulty_file_among_the_lessons_is_named_and_the_others_still_load(tmp_path):
    for path in LESSONS_DIR.glob("*.json"):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "99_broken.json").write_text("{ not json", encoding="utf-8")
    lessons, problems = load_lessons(tmp_path)
    assert len(lessons) == len(LESSONS) and problems == ["99_broken.json: cannot be read (JSONDecodeError)."]


def test_the_lessons_command_lists_them_and_checks_a_claim(capsys):
    assert run_cli(["lessons"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].split()[:2] == ["4", "activations"] and "激活函数" in listed[0]
    assert run_cli(["lessons", "--check", "optimizers"]) == 0
    out = capsys.readouterr().out
    assert "held: adam loss" in out and "the claim held" in out
    assert run_cli(["lessons", "--check", "nonsense"]) == 2
    assert "no lesson named nonsense" in capsys.readouterr().err
