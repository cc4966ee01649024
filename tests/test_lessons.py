"""Lessons: each lesson's claim holds when the program runs it; faulty lesson files are sentences."""

import functools
import json
import shutil

import numpy as np
import pytest

from cli import run_cli
from models.errors import UserError
from models.lessons import LESSONS_DIR, lesson_from_dict, load_lessons, run_lesson

LESSONS, PROBLEMS = load_lessons()


def test_the_lessons_shipped_all_load_with_both_languages():
    assert PROBLEMS == []
    assert [lesson.number for lesson in LESSONS] == list(range(1, 16))
    for lesson in LESSONS:
        assert set(lesson.page) == {"en", "zh_CN"} and all(lesson.page["zh_CN"].values())


@functools.cache
def outcome_of(lesson_id: str, data_file: str = ""):
    """The lesson trained once for all the tests that read it (a run takes 1-13 s)."""
    return run_lesson(next(lesson for lesson in LESSONS if lesson.id == lesson_id), data_file=data_file)


@pytest.fixture(scope="module")
def digits_as_mnist(tmp_path_factory):
    """scikit-learn's 1,797 handwritten digits drawn at MNIST's 28×28 and saved as Keras's mnist.npz:
    the lesson's local-file route, since CI cannot download MNIST."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.pad(np.kron(digits.images, np.ones((3, 3))), ((0, 0), (2, 2), (2, 2)))
    images = (images / 16 * 255).astype(np.uint8)
    labels = digits.target.astype(np.uint8)
    path = tmp_path_factory.mktemp("mnist") / "mnist.npz"
    np.savez(path, x_train=images[:1500], y_train=labels[:1500], x_test=images[1500:], y_test=labels[1500:])
    return str(path)


@pytest.mark.parametrize("lesson", LESSONS, ids=[lesson.id for lesson in LESSONS])
def test_each_lessons_claim_holds(lesson, request):
    data_file = request.getfixturevalue("digits_as_mnist") if lesson.id == "mnist" else ""
    outcome = outcome_of(lesson.id, data_file)
    assert outcome.held, [check.text for check in outcome.checks if not check.held]


def test_the_linear_regression_lesson_prints_the_trained_and_the_closed_form_w_and_b():
    outcome = outcome_of("linear_regression")
    trained, closed = [line for line in outcome.readouts["sgd"] if " w = " in line]
    assert "w = [1.99" in trained or "w = [2.00" in trained
    weights = [float(part.strip(" ],")) for part in closed.split("w = [")[1].split("]")[0].split(",")]
    assert weights == pytest.approx([2.0, -3.4], abs=0.01)  # D2L's true w, found by (XᵀX)⁻¹Xᵀy


def test_a_sweep_step_names_each_run_by_its_value_and_a_check_reads_them():
    lesson = next(lesson for lesson in LESSONS if lesson.id == "learning_rate_batch")
    step = lesson.steps[0]
    assert [name for name, _ in step.sweep_points()] == ["lr@0.0001", "lr@0.001", "lr@0.01", "lr@0.1", "lr@1"]
    data = json.loads(lesson.path.read_text(encoding="utf-8"))
    data["claim"]["checks"].append({"compare": ["lr@0.5", "loss", "<", 1]})
    with pytest.raises(UserError, match="a compare check reads"):
        lesson_from_dict(data)  # no run of the sweep has that value


def test_the_activations_lesson_shows_the_gradient_vanish_only_with_sigmoid():
    outcome = outcome_of("activations")
    sigmoid, relu = outcome.results["sigmoid"], outcome.results["relu"]
    first_over_last = [run.instruments[-1].layers[0].gradient_norm / run.instruments[-1].layers[-1].gradient_norm
                       for run in (sigmoid, relu)]
    assert first_over_last[0] < 1e-3 < first_over_last[1]
    assert set(outcome.readouts) == {"sigmoid", "relu"}  # both steps print their ratio


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
    (lambda data: data["steps"][0].update(sweep={"param": "lr"}), "sweep needs a param and a list of values"),
    (lambda data: data["steps"][0].update(sweep={"param": "happiness", "values": [1]}), "happiness"),
    (lambda data: data["steps"][0].update(kfold="five"), "kfold is a number of folds"),
    (lambda data: data["steps"][0].update(search={"space": "lr=0..1:log"}, show=[]), "log"),
    (lambda data: data["steps"][0].update(show=["mood"]), "show lists figures"),
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
    assert listed[0].split()[:2] == ["1", "linear_regression"] and "线性回归" in listed[0] and len(listed) == 15
    assert run_cli(["lessons", "--check", "softmax_iris"]) == 0
    out = capsys.readouterr().out
    assert "held: softmax: test accuracy 1 >= 0.9" in out and "the claim held" in out
    assert run_cli(["lessons", "--check", "nonsense"]) == 2
    assert "no lesson named nonsense" in capsys.readouterr().err


def test_the_lessons_command_takes_a_local_data_file_and_speaks_chinese(capsys, monkeypatch, digits_as_mnist):
    monkeypatch.setenv("KERAS_TRAINER_LANGUAGE", "zh_CN")
    assert run_cli(["lessons", "--check", "mnist", "--data-file", digits_as_mnist]) == 0
    out = capsys.readouterr().out
    assert "Dense(512, relu) 加 softmax" in out and "成立: recipe: 测试准确率" in out and "→ 结论成立" in out


@pytest.mark.parametrize("spoil, words", [
    (lambda data: data["claim"]["checks"].append({"fires": [[1], "x"]}), "a fires or quiet check"),
    (lambda data: data["claim"]["checks"].append({"compare": ["adam", "loss", ["<"], 1]}), "a compare check reads"),
    (lambda data: data["steps"][1]["changes"].update(momentum=[1]), "momentum cannot be"),
    (lambda data: data["steps"][1]["changes"].update({"units:1": None}), "wrong kind|units"),
    (lambda data: data["claim"]["checks"].append({"compare": ["adam", "fold_spread", "<", 1]}), "a compare check"),
    (lambda data: data.update(steps=5), "no steps|wrong kind|step 1"),
])
def test_a_lesson_file_with_values_of_the_wrong_kind_is_a_sentence_not_a_crash(spoil, words, tmp_path):
    data = lesson_data()
    spoil(data)
    (tmp_path / "spoiled.json").write_text(json.dumps(data), encoding="utf-8")
    lessons, problems = load_lessons(tmp_path)
    assert lessons == [] and len(problems) == 1
    assert problems[0].startswith("spoiled.json: ") and __import__("re").search(words, problems[0]), problems[0]


def test_a_check_may_name_each_run_of_a_sweep_but_not_the_sweep_itself():
    data = json.loads((LESSONS_DIR / "12_learning_rate_batch.json").read_text(encoding="utf-8"))
    data["claim"]["checks"].append({"compare": ["lr", "loss", "<", 1]})
    with pytest.raises(UserError, match="a compare check reads"):
        lesson_from_dict(data)
