"""The Chinese interface: every text the window translates has a translation, and the window uses them."""

import ast
import json
import re
import string
from pathlib import Path

import pytest

from gui import i18n

ROOT = Path(__file__).resolve().parents[1]
# Calls that translate some of their arguments, and which (by position).
MARKING_CALLS = {"tr": (0,), "_field_label": (0,), "_plural": (1, 2), "_action": (1, 4)}


def _literal_arguments(path: Path, calls: dict = MARKING_CALLS) -> set[str]:
    texts = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        for position in calls.get(name, ()):
            if position < len(node.args) and isinstance(node.args[position], ast.Constant):
                value = node.args[position].value
                if isinstance(value, str):
                    texts.add(value)
    return texts


def _strings(node: ast.AST, assigned: dict[str, list[ast.AST]]) -> set[str]:
    """The strings an expression can be: a literal, either branch of ``a if c else b``, or a name given one."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _strings(node.body, assigned) | _strings(node.orelse, assigned)
    if isinstance(node, ast.Name):
        return {text for value in assigned.get(node.id, []) for text in _strings(value, assigned)}
    return set()


# The engine's sentences: `Text(...)`, `Text.of(...)`, `UserError(...)` and `UserError.of(...)` (and its
# `TrainingFailed`), whose templates the window and the command line translate.
SENTENCE_CLASSES = {"Text", "UserError", "TrainingFailed"}


def _text_templates(path: Path) -> set[str]:
    """The templates of a module's `Text`/`UserError` calls (see `SENTENCE_CLASSES`), which are translated."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assigned: dict[str, list[ast.AST]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, []).append(node.value)
    texts = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        if (isinstance(func, ast.Name) and func.id in SENTENCE_CLASSES) or (
                isinstance(func, ast.Attribute) and func.attr == "of"
                and isinstance(func.value, ast.Name) and func.value.id in SENTENCE_CLASSES):
            texts |= _strings(node.args[0], assigned)
    return texts


def translatable_texts() -> set[str]:
    """Every English text the window passes through `tr`: literals, and the tables it looks texts up in."""
    from datasets.registry import DATASETS
    from gui import (
        charts,
        data_panel,
        help_text,
        main_window,
        network_editor,
        run_exports,
        training_panel,
    )
    from models.training.runner import REASON_TEXT

    texts = set()
    for path in sorted((ROOT / "gui").glob("*.py")):
        texts |= _literal_arguments(path)
    tables = [help_text.ACTIVATION_HELP, help_text.INITIALIZER_HELP, help_text.OPTIMIZER_HELP, help_text.SETTING_HELP,
              training_panel.CHOICE_LABELS, training_panel.DEVICE_LABELS, data_panel.MISSING_LABELS,
              data_panel.MISSING_TIPS, data_panel.TASK_LABELS, data_panel.TASK_TIPS, data_panel.EDIT_NAMES, network_editor._SETTING_NAMES, main_window.LOSS_NAMES,
              run_exports.EXPORT_TITLES, charts.METRIC_TITLES, charts.METRIC_AXIS_LABELS, REASON_TEXT]
    for table in tables:
        texts |= set(table.values())
    texts |= {title for title, _ in training_panel.GROUPS}
    texts |= {setting.label for _, settings in training_panel.GROUPS for setting in settings}
    texts |= {label for label in data_panel.FORM_ROWS if label}
    texts |= {"Loss", "loss"}  # the loss chart's title and axis
    texts |= {"loss", "accuracy", "mae", "val_loss", "val_accuracy", "val_mae"}  # Keras's names of the figures
    texts |= {info.title for info in DATASETS.values()} | {info.description for info in DATASETS.values()}
    from models.instruments import activations

    texts |= {curve.gradient_note for curve in activations.ACTIVATION_CURVES.values()}  # the explorer shows them
    from gui import inside_views

    texts |= {text for _name, _view, title, tip in inside_views._TABS for text in (title, tip)}  # the tabs
    from models.diagnosis import findings, repair

    texts |= set(findings.TITLES.values()) | set(repair.FIGURE_NAMES.values())  # a finding's title, a figure's name
    # The report's words: `models.saving.report` takes the window's translation as ``translate`` (``t``).
    texts |= _literal_arguments(ROOT / "models" / "saving" / "report.py", {"t": (0,), "translate": (0,)})
    from models.saving import report

    texts |= set(report.AVERAGES)
    from models import lessons

    texts |= {title for titles in lessons.FIGURE_TITLES.values()  # a lesson's figures, as its page names them
              for title in ((titles,) if isinstance(titles, str) else titles)}
    for path in engine_files():
        texts |= _text_templates(path)  # findings, errors and other sentences, shown with `Text.translated(tr)`
    texts |= _literal_arguments(ROOT / "cli.py")  # the command line's own sentences
    # Names kept as they are in every language: Keras's own words and symbols; and patterns of values
    # and symbols only, such as "{figure} {before} → {after}" (the names in braces are not words).
    return {text for text in texts if text and re.search("[A-Za-z]", re.sub(r"\{\w*\}", "", text))
            and text not in KEPT_AS_IS}


def engine_files() -> list[Path]:
    """The engine's modules (and the command line's), whose sentences are `Text` and `UserError`."""
    return sorted((ROOT / "models").rglob("*.py")) + sorted((ROOT / "datasets").rglob("*.py")) + [ROOT / "cli.py"]


KEPT_AS_IS = {"{layers} + BN", "SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta", "Nadam", "Huber", "MAE", "L1", "L2", "CPU",
              "ONNX", "TensorFlow Lite", "AMSGrad", "MNIST", "Nesterov", "Sigmoid", "Softmax"}


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.fixture
def chinese():
    i18n.set_language(i18n.CHINESE)
    yield
    i18n.set_language(i18n.ENGLISH)


def test_every_text_has_a_chinese_translation_and_no_translation_is_stale():
    table = i18n.load_table(i18n.CHINESE)
    wanted = translatable_texts()
    missing = sorted(wanted - set(table))
    assert not missing, "no Chinese for:\n" + "\n".join(missing)
    # A pattern of values only ("{reason}.") needs no translation, but may have one: Chinese ends with "。".
    stale = sorted(text for text in set(table) - wanted - KEPT_AS_IS if re.search("[A-Za-z]", re.sub(r"\{\w*\}", "", text)))
    assert not stale, "translations of texts the window no longer shows:\n" + "\n".join(stale)


def test_translations_keep_every_placeholder_and_accelerator():
    for english, chinese in i18n.load_table(i18n.CHINESE).items():
        assert _placeholders(english) == _placeholders(chinese), english
        assert chinese.strip() and chinese != english or english in KEPT_AS_IS, english
        if "&" in english and not english.startswith("<"):
            assert re.search(r"\(&[A-Z]\)|&", chinese), english  # keeps a keyboard accelerator


def test_tr_fills_values_and_falls_back_to_english(chinese):
    assert i18n.tr("fold {fold}/{folds}", fold=2, folds=5) == "第 2/5 折"
    assert i18n.tr("a text nobody translated {x}", x=1) == "a text nobody translated 1"
    i18n.set_language(i18n.ENGLISH)
    assert i18n.tr("fold {fold}/{folds}", fold=2, folds=5) == "fold 2/5"


@pytest.mark.parametrize(("requested", "saved", "system", "expected"), [
    (None, None, "zh_CN", "zh_CN"), (None, None, "zh_TW", "zh_CN"), (None, None, "en_GB", "en"),
    (None, "en", "zh_CN", "en"), ("zh_CN", "en", "de_DE", "zh_CN"), ("klingon", None, "C", "en"),
])
def test_language_comes_from_the_environment_then_the_saved_choice_then_the_system(requested, saved, system, expected):
    assert i18n.choose_language(requested, saved, system) == expected


def test_the_window_speaks_chinese(qtbot, make_window, tiny_project, chinese):
    window = make_window(tiny_project(epochs=2))
    menus = [action.text() for action in window.menuBar().actions()]
    assert menus == ["文件(&F)", "编辑(&E)", "运行(&R)", "帮助(&H)"]
    assert window.train_button.text().endswith("训练")
    assert [window.settings_tabs.tabText(i) for i in range(2)] == ["数据", "训练"]
    assert "参数" in window.network_editor.total_text()
    with qtbot.waitSignal(window.training_done, timeout=60_000):
        window.start_training()
    assert window.progress.format().startswith("结束")
    assert "测试" in window.results.toPlainText()


def test_choosing_a_language_saves_it_for_the_next_start(qtbot, make_window, tiny_project, dismiss_messages):
    window = make_window(tiny_project())
    assert window.language_actions["en"].isChecked()
    window.language_actions["zh_CN"].trigger()
    assert window.settings.value("language") == "zh_CN"
    assert dismiss_messages(window) == ["下次启动时，窗口将显示为简体中文。"]
    assert i18n.language() == "en"  # this window stays as it is until the next start


def test_the_table_is_valid_json_in_utf8():
    raw = (ROOT / "resources" / "i18n" / "zh_CN.json").read_bytes()
    assert isinstance(json.loads(raw.decode("utf-8")), dict)


def test_every_engine_error_is_a_template_not_an_english_sentence():
    """A ``UserError(f"...")`` would be English in every language: the engine builds its errors from templates."""
    found = []
    for path in engine_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in SENTENCE_CLASSES
                    and node.args and isinstance(node.args[0], ast.JoinedStr)):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, "f-strings where a template belongs:\n" + "\n".join(found)


def test_a_csv_error_reads_in_chinese_in_the_window_and_in_english_as_text(tmp_path, chinese):
    from datasets.choice import DatasetChoice
    from datasets.csv_table import load_csv
    from models.errors import UserError

    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(UserError) as caught:
        load_csv(DatasetChoice(name="csv", data_file=str(path), target="y"))
    assert str(caught.value) == "The CSV file 'empty.csv' is empty; choose a file with a header and rows."
    shown = i18n.error_text(caught.value)
    assert "empty.csv" in shown and re.search("[\u4e00-\u9fff]", shown) and "choose" not in shown
    assert i18n.error_text(ValueError("plain")) == "plain"  # anything else as it is


def test_a_nested_sentence_is_translated_with_the_sentence_around_it(chinese):
    from models.errors import UserError
    from models.text import Text

    inner = UserError.of("there is no project file at {path}.", path="/p.json")
    outer = Text.of("{dimension}: {error}", dimension="lr", error=inner)
    assert str(outer) == "lr: there is no project file at /p.json."
    assert i18n.error_text(outer) == "lr: " + i18n.tr("there is no project file at {path}.", path="/p.json")
    assert i18n.error_text(outer) != str(outer)


def test_an_error_keeps_its_template_through_pickling():
    import pickle

    from models.errors import UserError

    error = pickle.loads(pickle.dumps(UserError.of("there is no run folder at {folder}.", folder="/r")))
    assert str(error) == "there is no run folder at /r." and error.text.template == "there is no run folder at {folder}."


@pytest.mark.parametrize(("language", "expected"), [("zh_CN", "无法扫描"), ("en", "error: cannot sweep 'nonsense': ")])
def test_the_command_line_speaks_the_chosen_language(capsys, monkeypatch, language, expected):
    from cli import run_cli

    monkeypatch.setenv("KERAS_TRAINER_LANGUAGE", language)
    assert run_cli(["sweep", "--dataset", "xor", "--param", "nonsense", "--values", "1,2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and expected in err
    assert i18n.language() == i18n.ENGLISH  # the command line leaves the language as it found it


def test_the_command_line_takes_the_system_language_when_none_is_set(monkeypatch):
    from models import language

    monkeypatch.delenv("KERAS_TRAINER_LANGUAGE", raising=False)
    monkeypatch.setattr(language, "system_locale", lambda: "zh_CN.UTF-8")
    assert language.language_from_environment() == language.CHINESE
    monkeypatch.setattr(language, "system_locale", lambda: "en_US")
    assert language.language_from_environment() == language.ENGLISH


_CJK = re.compile("[\u4e00-\u9fff]")
_ENGLISH_WORDS = re.compile(r"[A-Za-z]{3,} [A-Za-z]{3,}")  # two English words in a row: an untranslated phrase


@pytest.mark.parametrize("name", ["iris", "diabetes", "digits", "linear"])
def test_a_data_sets_notes_read_in_chinese_and_stay_english_as_text(chinese, name):
    from datasets.choice import DatasetChoice
    from datasets.registry import load_dataset

    dataset = load_dataset(DatasetChoice(name=name))
    assert dataset.notes
    for note in dataset.notes:
        shown = i18n.error_text(note)
        assert _CJK.search(shown) and not _ENGLISH_WORDS.search(shown), shown
        assert shown != str(note) and _ENGLISH_WORDS.search(str(note))  # the English sentence is unchanged


def test_a_csv_files_notes_read_in_chinese_and_the_data_panel_shows_them(tmp_path, chinese):
    from datasets.choice import DatasetChoice
    from datasets.registry import load_dataset

    path = tmp_path / "pets.csv"
    rows = [f"{i % 7}.5;{'red' if i % 3 else 'blue'};{'unknown' if i == 4 else i};{'cat' if i % 2 else 'dog'}"
            for i in range(40)]
    path.write_text("size;colour;age;kind\n" + "\n".join(rows) + "\n", encoding="utf-8-sig")
    dataset = load_dataset(DatasetChoice(name="csv", data_file=str(path), target="kind"))
    english = [str(note) for note in dataset.notes]
    assert "Read 40 rows and 4 columns (UTF-8 with BOM, semicolon-separated)." in english
    assert "Text column(s) colour became one 0/1 column per value (values taken from the whole file)." in english
    assert "Task: classification, because 'kind' holds text." in english
    shown = [i18n.error_text(note) for note in dataset.notes]
    assert "读取了 40 行、4 列（UTF-8，带 BOM，以分号分隔）。" in shown
    assert "文本列 colour 已按每个值变成一列 0/1（取值来自整个文件）。" in shown
    assert "任务：分类，因为 'kind' 存放的是文本。" in shown
    for text in shown:  # every note, the 'age' column's stray word and the encoding notes included
        assert _CJK.search(text) and not _ENGLISH_WORDS.search(text), text


def test_the_data_panel_shows_a_data_sets_notes_in_chinese(qtbot, chinese):
    from datasets.choice import DatasetChoice
    from datasets.registry import load_dataset
    from gui.data_panel import DataPanel

    panel = DataPanel()
    qtbot.addWidget(panel)
    panel.show_dataset(load_dataset(DatasetChoice(name="iris")))
    shown = panel.status.text()
    assert "标准化" in shown and "standardises" not in shown
