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


def _literal_arguments(path: Path) -> set[str]:
    texts = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        for position in MARKING_CALLS.get(name, ()):
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


def _text_templates(path: Path) -> set[str]:
    """The templates of the diagnosis's `Text.of(...)` and `Text(...)` calls, which the window translates."""
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
        if (isinstance(func, ast.Name) and func.id == "Text") or (
                isinstance(func, ast.Attribute) and func.attr == "of"
                and isinstance(func.value, ast.Name) and func.value.id == "Text"):
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
    for path in sorted((ROOT / "models" / "diagnosis").glob("*.py")):
        texts |= _text_templates(path)  # a finding's evidence, cause and remedies, shown with `Text.translated(tr)`
    # Names kept as they are in every language: Keras's own words and symbols; and patterns of values
    # and symbols only, such as "{figure} {before} → {after}" (the names in braces are not words).
    return {text for text in texts if text and re.search("[A-Za-z]", re.sub(r"\{\w*\}", "", text))
            and text not in KEPT_AS_IS}


KEPT_AS_IS = {"SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta", "Nadam", "Huber", "MAE", "L1", "L2", "CPU",
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
    stale = sorted(set(table) - wanted - KEPT_AS_IS)
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
