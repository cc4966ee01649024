"""CSV files and dataset settings that once went wrong: huge numbers, encodings, the task,
setting ranges, the validation split's message, zip files, repeated names, any bytes at all."""

from __future__ import annotations

import io
import math
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datasets.base import CLASSIFICATION, REGRESSION
from datasets.choice import TASK_CHOICES, DatasetChoice
from datasets.csv_table import load_csv, read_table
from datasets.csv_text import decode_text, read_csv_columns
from datasets.registry import load_dataset
from datasets.split import split_indices, validation_split
from models.errors import UserError

FLOAT32_MAX = float(np.finfo(np.float32).max)
TARGET_MAX = 1e15  # a batch of its squared errors stays finite in float32


def write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "table.csv") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def csv_choice(data_file: str, target: str, **settings) -> DatasetChoice:
    return DatasetChoice(name="csv", data_file=data_file, target=target, **settings)


def load(data_file: str, target: str, **settings):
    return load_dataset(csv_choice(data_file, target, **settings))


def rows(count: int, line: str, start: int = 0) -> str:
    return "".join(line.format(i=i) + "\n" for i in range(start, start + count))


# ---------------------------------------------------------------- 1. numbers beyond float32


def test_feature_beyond_float32_is_refused_naming_column_and_row(tmp_path):
    text = "price,y\n" + rows(16, "{i},a") + "1e308,b\n" + rows(10, "{i},b")
    with pytest.raises(UserError, match=r"'price' row 17 \(counting data rows below the header\) "
                                        r"holds 1e\+308, beyond what TensorFlow's 32-bit"):
        load_csv(csv_choice(write(tmp_path, text), "y"))


def test_negative_feature_beyond_float32_is_refused(tmp_path):
    text = "x,y\n" + rows(10, "{i},a") + "-3.5e38,b\n" + rows(10, "{i},b")
    with pytest.raises(UserError, match="'x' row 11.*-3.5e\\+38.*rescale that column"):
        load_csv(csv_choice(write(tmp_path, text), "y"))


def test_regression_target_whose_square_overflows_is_refused(tmp_path):
    text = "x,price\n" + rows(30, "{i},{i}.5") + "1,2e15\n"
    with pytest.raises(UserError, match="'price' in row 31.*squared error would overflow.*rescale"):
        load_csv(csv_choice(write(tmp_path, text), "price"))


def test_huge_value_only_in_a_test_row_is_refused(tmp_path):
    n_rows, seed = 41, 0
    # The registry splits a regression's rows like this, so this row lands in the test part.
    test_row = int(split_indices(np.zeros(n_rows), 0.2, seed, stratify=False).test[0])
    lines = [f"{i},{i}.5" for i in range(n_rows)]
    lines[test_row] = f"1e300,{test_row}.5"
    path = write(tmp_path, "x,price\n" + "\n".join(lines) + "\n")
    with pytest.raises(UserError, match=f"'x' row {test_row + 1} "):
        load(path, "price", seed=seed)


def test_row_numbers_count_rows_dropped_for_missing_values(tmp_path):
    text = "x,y\n" + rows(5, "{i},a") + "1,\n" + "7,\n" + rows(5, "{i},b") + "1e39,b\n"
    with pytest.raises(UserError, match="'x' row 13"):
        load_csv(csv_choice(write(tmp_path, text), "y"))


def test_numbers_at_the_bounds_load_without_a_warning(tmp_path):
    text = "big,small,price\n"
    for i in range(30):  # more than 20 different whole numbers: a regression
        sign = -1 if i % 2 else 1
        text += f"{sign * FLOAT32_MAX!r},{i},{sign * TARGET_MAX * (i + 1) / 30!r}\n"
    path = write(tmp_path, text)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        unsplit = load_csv(csv_choice(path, "price"))
        data = unsplit.split("csv", 0.2, 0)
    assert data.task == REGRESSION
    assert np.isfinite(data.x_train).all() and np.isfinite(data.x_test).all()
    assert np.isfinite(data.y_train).all() and float(np.abs(data.y_train).max()) <= TARGET_MAX


def test_targets_at_the_bound_get_a_target_scale_without_a_warning(tmp_path):
    text = "x,price\n" + "".join(f"{i},{(-1) ** i * TARGET_MAX * (i + 1) / 30!r}\n" for i in range(30))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load(write(tmp_path, text), "price")
    assert data.target_scale is not None and all(map(math.isfinite, data.target_scale))


def test_huge_class_labels_are_not_limited(tmp_path):
    text = "x,kind\n" + rows(10, "{i},1e300") + rows(10, "{i},-1e300")
    data = load(write(tmp_path, text), "kind")
    assert data.task == CLASSIFICATION and data.class_names == ["-1e+300", "1e+300"]


# ---------------------------------------------------------------- 2. encodings


def decoded(text: str, encoding: str) -> tuple[str, str]:
    return decode_text(text.encode(encoding), Path("x.csv"))


@pytest.mark.parametrize(("text", "encoding", "name"), [
    ("city,people\nZürich,400000\n", "cp1252", "Windows-1252"),
    ("name,n\ncafé,1\n", "cp1252", "Windows-1252"),
    ("island,area\nÆrø,88\n", "cp1252", "Windows-1252"),
    ("país,ciudad\nEspaña,Málaga\n", "cp1252", "Windows-1252"),
    ("ação,coração\nsim,não\n", "cp1252", "Windows-1252"),
    ("price,unit\n5,€\n“quoted”,1–2\n", "cp1252", "Windows-1252"),
    ("a,b\nZürich\x81,1\n", "latin-1", "Latin-1"),  # 0x81 is not defined in Windows-1252
    ("姓名,年龄\n张三,30\n", "gbk", "GBK"),
    ("姓名\n", "gbk", "GBK"),
    ("产品名称（中文）,数量\n电脑，笔记本,5\n", "gbk", "GBK"),
    ("名字,值\n𠀀,1\n甲,2\n", "gb18030", "GB18030"),
    ("a,b\n1,2\n", "utf-8", "UTF-8"),
    ("名字,café\n张三,Zürich\n", "utf-8", "UTF-8"),
])
def test_encoding_that_reads_most_plausibly_is_chosen(text, encoding, name):
    assert decoded(text, encoding) == (text, name)


def test_latin1_file_loads_with_its_words_and_says_the_encoding(tmp_path):
    text = "city,size,kind\n" + rows(10, "Zürich,{i},café") + rows(10, "Genève,{i},thé")
    path = write(tmp_path, text, "cp1252")
    data = load(path, "kind")
    assert data.class_names == ["café", "thé"]
    assert "city=Zürich" in data.feature_names and "city=Genève" in data.feature_names
    assert any("(Windows-1252, comma-separated)" in note for note in data.notes)


@pytest.mark.parametrize(("text", "encoding"), [
    ("Straße,Größe,Ærø\n" + rows(4000, "Müller {i},{i},é"), "cp1252"),
    ("种类,长度,产地\n" + rows(4000, "山鸢尾,{i},北京"), "gbk"),
])
def test_header_reader_agrees_with_the_loader_past_64_kib(tmp_path, text, encoding):
    path = write(tmp_path, text, encoding)
    assert Path(path).stat().st_size > 65536
    table, notes = read_table(Path(path))
    assert read_csv_columns(path) == list(table.columns) == text.splitlines()[0].split(",")


# ---------------------------------------------------------------- 3. the task


RINGS = "size,rings\n" + "".join(f"{i},{i % 12}\n" for i in range(60))


def test_auto_task_says_classification_and_how_to_change_it(tmp_path):
    data = load(write(tmp_path, RINGS), "rings")
    assert data.task == CLASSIFICATION
    assert ("Task: classification, because 'rings' holds 12 different whole numbers (at most 20 "
            "count as classes); choose regression (the Task setting, or --task regression) to predict it as a number."
            ) in data.notes


def test_auto_task_says_regression_and_text_classification(tmp_path):
    many = "x,price\n" + rows(40, "{i},{i}.5")
    data = load(write(tmp_path, many), "price")
    assert any(note.startswith("Task: regression, because 'price' holds numbers with 40 different "
                               "values") for note in data.notes)
    species = "x,species\n" + rows(10, "{i},setosa") + rows(10, "{i},virginica")
    data = load(write(tmp_path, species), "species")
    assert "Task: classification, because 'species' holds text." in data.notes


def test_regression_can_be_chosen_for_few_whole_numbers(tmp_path):
    data = load(write(tmp_path, RINGS), "rings", task="regression")
    assert data.task == REGRESSION and data.y_train.dtype == np.float32 and data.class_names == []
    assert "Task: regression, as chosen; 'rings' is predicted as a number." in data.notes


def test_regression_of_text_is_refused(tmp_path):
    species = "x,species\n" + rows(10, "{i},setosa") + rows(10, "{i},virginica")
    with pytest.raises(UserError, match="'species' cannot be a regression because the column "
                                        "holds text"):
        load(write(tmp_path, species), "species", task="regression")
    flags = "x,alone\n" + rows(10, "{i},True") + rows(10, "{i},False")
    with pytest.raises(UserError, match="holds true/false values"):
        load(write(tmp_path, flags), "alone", task="regression")


def test_classification_can_be_chosen_with_readable_class_names(tmp_path):
    text = "x,grade\n" + rows(10, "{i},2.5") + rows(10, "{i},3") + rows(10, "{i},4.75")
    data = load(write(tmp_path, text), "grade", task="classification")
    assert data.task == CLASSIFICATION and data.class_names == ["2.5", "3", "4.75"]
    many = "x,count\n" + rows(40, "{i},{i}")  # 40 values in 40 rows: auto says regression
    assert load(write(tmp_path, many), "count").task == REGRESSION
    text = "x,count\n" + rows(30, "{i},{i}") + rows(30, "{i},{i}")  # each value twice: classes
    assert load(write(tmp_path, text), "count", task="classification").n_classes == 30


def test_classification_of_too_many_numbers_is_refused(tmp_path):
    text = "x,price\n" + rows(100, "{i},{i}.25")
    with pytest.raises(UserError, match="100 different numbers in 100 rows, too many to learn as "
                                        "classes; choose regression"):
        load(write(tmp_path, text), "price", task="classification")


def test_task_choice_is_checked():
    assert TASK_CHOICES == ("auto", "classification", "regression")
    assert any("dataset task must be 'auto', 'classification' or 'regression'" in problem
               for problem in DatasetChoice(name="csv", data_file="a.csv", target="y",
                                            task="guess").problems())
    assert DatasetChoice(name="iris", task="regression").problems() == [
        "iris is a classification data set; the task can be chosen only for a CSV file."]
    assert DatasetChoice(name="diabetes", task="classification").problems() == [
        "diabetes is a regression data set; the task can be chosen only for a CSV file."]
    assert DatasetChoice(name="iris", task="classification").problems() == []
    assert DatasetChoice(name="csv", data_file="a.csv", target="y", task="regression").problems() == []


def test_old_project_files_without_a_task_still_open():
    old = DatasetChoice().to_dict()
    del old["task"]
    assert DatasetChoice.from_dict(old).task == "auto"
    assert DatasetChoice.from_dict({**old, "task": "regression"}).task == "regression"
    with pytest.raises(UserError, match="dataset.task"):
        DatasetChoice.from_dict({**old, "task": 3})


# ---------------------------------------------------------------- 4. setting ranges


@pytest.mark.parametrize(("setting", "value", "sentence"), [
    ("seed", -1, "dataset seed must be a whole number from 0 to 2,147,483,647 (got -1)."),
    ("seed", 2**40, "dataset seed must be a whole number from 0 to 2,147,483,647"),
    ("seed", 1.5, "dataset seed must be a whole number"),
    ("seed", True, "dataset seed must be a whole number"),
    ("samples", 9, "dataset samples must be a whole number from 10 to 1,000,000 (got 9)."),
    ("samples", 1_000_001, "dataset samples must be a whole number from 10 to 1,000,000"),
    ("samples", True, "dataset samples must be a whole number"),
    ("noise", -0.1, "dataset noise must be a number from 0 to 10 (got -0.1)."),
    ("noise", True, "dataset noise must be a number"),
    ("noise", float("inf"), "dataset noise must be a number"),
    ("noise", "loud", "dataset noise must be a number from 0 to 10 (got 'loud')."),
    ("test_fraction", float("nan"), "dataset test fraction must be a number from 0.05 to 0.5"),
    ("test_fraction", False, "dataset test fraction must be a number"),
    ("test_fraction", 0.6, "dataset test fraction must be a number from 0.05 to 0.5 (got 0.6)."),
    ("missing", ["drop"], "dataset missing-value choice must be 'drop' or 'fill'"),
    ("task", None, "dataset task must be"),
])
def test_out_of_range_settings_are_sentences(setting, value, sentence):
    found = DatasetChoice(**{setting: value}).problems()
    assert len(found) == 1 and found[0].startswith(sentence)
    with pytest.raises(UserError, match="dataset"):
        load_dataset(DatasetChoice(**{setting: value}))


def test_settings_at_the_ends_of_their_ranges_are_fine():
    for values in ({"seed": 0, "samples": 10, "noise": 0, "test_fraction": 0.05},
                   {"seed": 2**31 - 1, "samples": 1_000_000, "noise": 10, "test_fraction": 0.5},
                   {"seed": np.int64(3), "samples": np.int32(50), "noise": np.float32(0.5)}):
        assert DatasetChoice(**values).problems() == []


@given(st.fixed_dictionaries({}, optional={
    field: st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5),
                     st.lists(st.integers(), max_size=2), st.binary(max_size=3))
    for field in ("name", "samples", "noise", "test_fraction", "seed", "data_file", "target",
                  "missing", "task")
}))
@settings(max_examples=150, deadline=None)
def test_problems_never_raise(values):
    found = DatasetChoice(**values).problems()
    assert all(isinstance(problem, str) and problem.endswith(".") for problem in found)


# ---------------------------------------------------------------- 5. the validation split's message


def test_validation_split_failure_names_the_validation_fraction():
    x, y = np.zeros((2, 1), dtype=np.float32), np.array([0.0, 1.0])
    with pytest.raises(UserError) as caught:
        validation_split(x, y, 0.6, 0, False)
    message = str(caught.value)
    assert "validation" in message and "test" not in message
    assert "lower the validation fraction, or set it to 0" in message
    with pytest.raises(UserError, match="validation fraction"):
        validation_split(x[:1], y[:1], 0.2, 0, False)
    assert [len(part) for part in validation_split(x, y, 0.2, 0, True)] == [1, 1, 1, 1]


def test_test_split_failure_still_asks_for_more_rows():
    with pytest.raises(UserError, match="training and test rows.*use a file with more rows"):
        split_indices(np.array([1.0, 2.0]), 0.6, 0, False)


def test_two_row_csv_then_validation_split_names_validation(tmp_path):
    data = load(write(tmp_path, "x,price\n1,1.5\n2,2.5\n"), "price")
    assert (len(data.x_train), len(data.x_test)) == (1, 1)
    with pytest.raises(UserError, match="The training set has 1 row.*validation"):
        validation_split(data.x_train, data.y_train, 0.2, 0, False)


# ---------------------------------------------------------------- 6. zip files


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


KERAS_FILE = zipped({"metadata.json": b"{}", "config.json": b"{}",
                     "model.weights.h5": bytes(range(256)) * 400})  # 100 KiB, past what the header reader reads
WORKBOOK = zipped({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>",
                   "xl/worksheets/sheet1.xml": bytes(range(256)) * 400})
OTHER_ZIP = zipped({"data/table.csv": b"a,b\n1,2\n"})


@pytest.mark.parametrize(("name", "raw", "sentence"), [
    ("model.keras", KERAS_FILE, "'model.keras' is a Keras model file, not a CSV table; choose the "
                                "CSV the model was trained on."),
    ("book.xlsx", WORKBOOK, "'book.xlsx' looks like an Excel workbook"),
    ("book.csv", WORKBOOK, "'book.csv' looks like an Excel workbook"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "'old.xls' looks like an Excel"),
    ("data.zip", OTHER_ZIP, "'data.zip' is a zip archive, not a CSV text file; unzip it first"),
    ("cut.keras", KERAS_FILE[:300], "'cut.keras' is a Keras model file"),
    ("cut.zip", OTHER_ZIP[:30], "'cut.zip' is a zip archive"),
])
def test_zip_files_are_named_for_what_they_are(tmp_path, name, raw, sentence):
    path = tmp_path / name
    path.write_bytes(raw)
    for read in (lambda: load(str(path), "y"), lambda: read_csv_columns(path)):
        with pytest.raises(UserError) as caught:
            read()
        assert str(caught.value).startswith(sentence)


def test_header_reader_names_a_large_keras_file_from_its_first_bytes(tmp_path):
    path = tmp_path / "model.keras"
    path.write_bytes(KERAS_FILE)
    assert path.stat().st_size > 65536  # read_csv_columns sees a cut archive
    with pytest.raises(UserError, match="is a Keras model file"):
        read_csv_columns(path)


# ---------------------------------------------------------------- 7. repeated column names


def test_the_file_s_own_dotted_name_keeps_its_name(tmp_path):
    path = write(tmp_path, "a,a,a.1,y\n" + rows(10, "{i},1{i},2{i},p") + rows(10, "{i},1{i},2{i},q"))
    table, _ = read_table(Path(path))
    assert list(table.columns) == ["a", "a.2", "a.1", "y"] == read_csv_columns(path)
    assert table["a.1"].iloc[3] == 23 and table["a.2"].iloc[3] == 13
    assert read_csv_columns(write(tmp_path, "a,a,a\n1,2,3\n")) == ["a", "a.1", "a.2"]


# ---------------------------------------------------------------- any bytes at all


def check_loads_or_refuses(raw: bytes, target: str | None = None) -> None:
    """Any bytes give a Dataset with finite float32 features, or a UserError."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "any.csv"
        path.write_bytes(raw)
        try:
            columns = read_csv_columns(path)
        except UserError:
            columns = []
        choice = csv_choice(str(path), target or (columns[0] if columns else "y"))
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            try:
                unsplit = load_csv(choice)
            except UserError:
                pass
            else:
                assert unsplit.task in (CLASSIFICATION, REGRESSION)
            try:
                data = load_dataset(choice)
            except UserError:
                return
        for x in (data.x_train, data.x_test):
            assert x.dtype == np.float32 and x.ndim == 2 and np.isfinite(x).all()
        assert len(data.y_train) == len(data.x_train) and len(data.y_test) == len(data.x_test)
        if data.task == REGRESSION:
            assert np.isfinite(data.y_train).all() and np.isfinite(data.y_test).all()


NUMBERS = st.one_of(
    st.integers(-10, 10).map(str),
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["1e308", "-1e308", "1e39", "3.4028234663852886e+38", "1.8e19", "2e19", "1e15", "1.1e15", "nan",
                     "inf", "-inf", "NaN", "-0", "0.0", "99999999999999999999999", "5,1", "1_000",
                     "", " ", "NA", "?", "True", "false"]),
)
WORDS = st.one_of(
    st.sampled_from(["Zürich", "café", "Ærø", "姓名", "张三", "€", "“x”", "a.1", "a", "Unnamed: 0",
                     "é", "niño"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6),
)
CELLS = st.one_of(NUMBERS, WORDS)


@st.composite
def csv_like_bytes(draw) -> bytes:
    separator = draw(st.sampled_from([",", ";", "\t", "|", " "]))
    width = draw(st.integers(1, 4))
    n_rows = draw(st.integers(0, 12))
    quote = draw(st.sampled_from(["", '"', "'"]))
    header = draw(st.lists(WORDS, min_size=width, max_size=width))
    body = draw(st.lists(st.lists(CELLS, min_size=width, max_size=width + draw(st.integers(0, 1))),
                         min_size=n_rows, max_size=n_rows))
    line_end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines = [separator.join(quote + cell + quote for cell in row) for row in [header, *body]]
    text = line_end.join(lines) + draw(st.sampled_from(["", line_end, line_end * 2]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "gbk", "gb18030", "cp1252",
                                     "latin-1"]))
    return text.encode(encoding, errors="replace")


@st.composite
def number_tables(draw) -> bytes:
    """Mostly numbers under short, sometimes repeated names: tables that often load."""
    width = draw(st.integers(2, 4))
    header = draw(st.lists(st.sampled_from(["a", "a", "a.1", "b", "y", "", " "]),
                           min_size=width, max_size=width))
    cells = st.one_of(st.integers(0, 3).map(str), NUMBERS, st.sampled_from(["x", "y", "Zürich"]))
    body = draw(st.lists(st.lists(cells, min_size=width, max_size=width), min_size=2, max_size=30))
    text = "\n".join(",".join(row) for row in [header, *body]) + "\n"
    return text.encode(draw(st.sampled_from(["utf-8", "cp1252"])), errors="replace")


ANY_SETTINGS = settings(max_examples=150, deadline=None,
                        suppress_health_check=[HealthCheck.too_slow])


@given(st.binary(max_size=2000))
@ANY_SETTINGS
def test_any_bytes_load_or_give_a_user_error(raw):
    check_loads_or_refuses(raw)


@given(st.one_of(csv_like_bytes(), number_tables()),
       st.one_of(st.none(), st.sampled_from(["a", "a.1", "a.2", "y", "Unnamed: 0"]), WORDS))
@ANY_SETTINGS
def test_any_csv_like_text_loads_or_gives_a_user_error(raw, target):
    check_loads_or_refuses(raw, target)


def test_awkward_bytes_load_or_give_a_user_error():
    for raw in (b"a,b\n1,2,3\n4,5,6\n",  # more values than names: pandas made an index
                b"\xef\xbb\xbf", b"PK\x05\x06", b"x,y\n" + b"1,-0\n2,0\n" * 5):
        check_loads_or_refuses(raw)


def test_number_beyond_any_float_is_refused_but_the_word_inf_is_missing(tmp_path):
    numbers = "x,y\n" + rows(10, "{i},a") + "inf,b\n-Infinity,a\n" + rows(9, "{i},b")
    data = load(write(tmp_path, numbers), "y")
    assert len(data.x_train) + len(data.x_test) == 19
    for huge in ("1e400", "-" + "9" * 400):
        text = "x,y\n" + rows(10, "{i},a") + f"{huge},b\n" + rows(9, "{i},b")
        with pytest.raises(UserError, match="'x' row 11 .*holds a number too large for any computer"):
            load(write(tmp_path, text), "y")
    text = "x;y\n" + rows(10, "{i},5;a") + "1e400;b\n" + rows(9, "{i},5;b")  # read from text
    with pytest.raises(UserError, match="'x' row 11 "):
        load(write(tmp_path, text), "y")


def test_rows_with_more_values_than_the_header_are_refused(tmp_path):
    with pytest.raises(UserError, match="more values than its header has names"):
        load(write(tmp_path, "a,y\n" + rows(10, "{i},p,1") + rows(10, "{i},q,1")), "y")
