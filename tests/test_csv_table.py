"""Loading the user's own CSV files: encodings, separators, targets, missing values, errors."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from datasets.base import CLASSIFICATION, REGRESSION
from datasets.choice import DatasetChoice
from datasets.csv_table import CsvFeatures, NumericColumn, TextColumn, read_table
from datasets.csv_text import detect_delimiter, read_csv_columns
from datasets.registry import load_dataset
from models.errors import UserError

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

CHINESE_IRIS = """种类,花萼长度,花萼宽度,产地
山鸢尾,5.1,3.5,北京
山鸢尾,4.9,3.0,上海
山鸢尾,4.7,3.2,北京
山鸢尾,4.6,3.1,上海
山鸢尾,5.0,3.6,北京
变色鸢尾,7.0,3.2,上海
变色鸢尾,6.4,3.2,北京
变色鸢尾,6.9,3.1,上海
变色鸢尾,5.5,2.3,北京
变色鸢尾,6.5,2.8,上海
"""


def write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "table.csv") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def load(data_file: str, target: str, **settings):
    return load_dataset(DatasetChoice(name="csv", data_file=data_file, target=target, **settings))


def numbered_rows(count: int, line: str) -> str:
    """`count` lines made from `line` formatted with the row number `i`."""
    return "".join(line.format(i=i) + "\n" for i in range(count))


# ---------------------------------------------------------------- encodings and separators


@pytest.mark.parametrize(
    ("encoding", "written_as"), [("gbk", "GBK"), ("utf-8-sig", "UTF-8 with BOM")]
)
def test_chinese_file_keeps_its_names(tmp_path, encoding, written_as):
    data = load(write(tmp_path, CHINESE_IRIS, encoding), "种类")
    assert data.task == CLASSIFICATION
    assert data.target_name == "种类"
    assert data.class_names == sorted(["山鸢尾", "变色鸢尾"])
    assert data.feature_names == ["花萼长度", "花萼宽度", "产地=上海", "产地=北京"]
    assert data.class_counts() == {"山鸢尾": 5, "变色鸢尾": 5}
    assert any(written_as in note for note in data.notes)


def test_gb18030_only_characters_are_read(tmp_path):
    text = "名字,值,类\n" + numbered_rows(10, "𠀀{i},{i},甲") + numbered_rows(10, "𠀀{i},{i},乙")
    data = load(write(tmp_path, text, "gb18030"), "类")
    assert data.class_names == ["乙", "甲"]


@pytest.mark.parametrize(("separator", "name"), [(";", "semicolon"), ("\t", "tab"), ("|", "pipe")])
def test_other_separators(tmp_path, separator, name):
    row = separator.join(["{i}", "{i}.5", "{label}"])
    text = separator.join(["a", "b", "label"]) + "\n"
    text += numbered_rows(6, row.replace("{label}", "x")) + numbered_rows(
        6, row.replace("{label}", "y")
    )
    data = load(write(tmp_path, text), "label", test_fraction=0.34)
    assert data.feature_names == ["a", "b"]
    assert data.class_counts() == {"x": 6, "y": 6}
    assert any(f"{name}-separated" in note for note in data.notes)


def test_semicolon_file_with_decimal_commas(tmp_path):
    text = (
        "länge;breite;art\n"
        + numbered_rows(10, "5,{i};3,{i};a")
        + numbered_rows(10, "6,{i};2,{i};b")
    )
    data = load(write(tmp_path, text), "art")
    assert data.feature_names == ["länge", "breite"]
    assert data.class_names == ["a", "b"]


def test_detect_delimiter_prefers_steady_column_counts():
    assert detect_delimiter("a;b;c\n1,5;2,5;x\n3,5;4,5;y\n") == ";"
    assert detect_delimiter('"a","b"\n"1;2",3\n') == ","
    assert detect_delimiter("one column\nvalue\n") == ","


def test_utf16_spreadsheet_export(tmp_path):
    data = load(write(tmp_path, CHINESE_IRIS.replace(",", "\t"), "utf-16"), "种类")
    assert data.class_names == sorted(["山鸢尾", "变色鸢尾"])


def test_numbers_with_a_few_stray_words_are_numbers(tmp_path):
    text = "age,y\n" + numbered_rows(19, "{i},a") + "unknown,b\n" + numbered_rows(20, "{i},b")
    data = load(write(tmp_path, text), "y", missing="fill")
    assert data.feature_names == ["age"]
    assert any("'age' was read as numbers" in note and "'unknown'" in note for note in data.notes)
    assert any("Filled 1 missing value(s)" in note for note in data.notes)


def test_repeated_column_names_are_numbered(tmp_path):
    text = "a,a ,y\n" + numbered_rows(10, "{i},{i},p") + numbered_rows(10, "{i},{i},q")
    assert load(write(tmp_path, text), "y").feature_names == ["a", "a.1"]


# ---------------------------------------------------------------- target and task


def test_integer_target_with_few_values_is_classification_sorted_as_numbers(tmp_path):
    text = (
        "x,grade\n"
        + numbered_rows(10, "{i},1")
        + numbered_rows(10, "{i},10")
        + numbered_rows(10, "{i},2")
    )
    data = load(write(tmp_path, text), "grade")
    assert data.task == CLASSIFICATION
    assert data.class_names == ["1", "2", "10"]
    assert data.class_counts() == {"1": 10, "2": 10, "10": 10}


def test_decimal_or_many_valued_target_is_regression(tmp_path):
    decimals = "x,price\n" + numbered_rows(20, "{i},{i}.25")
    many = "x,count\n" + numbered_rows(40, "{i},{i}")
    for text, target in [(decimals, "price"), (many, "count")]:
        data = load(write(tmp_path, text), target)
        assert data.task == REGRESSION
        assert data.y_train.dtype == np.float32 and data.class_names == []


def test_true_false_target_is_classification(tmp_path):
    text = "x,alone\n" + numbered_rows(10, "{i},True") + numbered_rows(10, "{i},False")
    data = load(write(tmp_path, text), "alone")
    assert data.class_names == ["False", "True"]
    assert data.y_train.dtype == np.int32


def test_target_name_matches_ignoring_case_and_spaces(tmp_path):
    data = load(write(tmp_path, CHINESE_IRIS.replace("种类", "Species")), " species ")
    assert data.target_name == "Species"


def test_text_values_are_stripped(tmp_path):
    text = "x,colour,y\n" + numbered_rows(10, "{i}, red ,a") + numbered_rows(10, "{i},red,b")
    data = load(write(tmp_path, text), "y")
    assert data.feature_names == ["x", "colour=red"]


# ---------------------------------------------------------------- features


def test_high_cardinality_text_column_is_skipped_with_a_note(tmp_path):
    text = (
        "name,size,kind\n"
        + numbered_rows(30, "person {i},{i},a")
        + numbered_rows(30, "other {i},{i},b")
    )
    data = load(write(tmp_path, text), "kind")
    assert data.feature_names == ["size"]
    assert any("'name' was skipped" in note for note in data.notes)


def test_column_that_gives_the_answer_away_is_noted(tmp_path):
    text = "x,alive,survived\n" + numbered_rows(10, "{i},yes,1") + numbered_rows(10, "{i},no,0")
    data = load(write(tmp_path, text), "survived")
    assert any("'alive' matches the target" in note for note in data.notes)


def test_numbers_kept_raw_with_training_statistics_and_one_hot_kept_0_1(tmp_path):
    text = "size,colour,y\n" + numbered_rows(50, "{i},red,a") + numbered_rows(50, "{i}0,blue,b")
    data = load(write(tmp_path, text), "y")
    size = data.inputs[0]
    assert (size.kind, size.column) == ("number", "size")
    assert size.mean == pytest.approx(data.x_train[:, 0].mean(), rel=1e-6)
    assert size.std == pytest.approx(data.x_train[:, 0].std(), rel=1e-5)
    assert data.x_test[:, 0].mean() != pytest.approx(size.mean, rel=1e-3)  # the test rows' own mean is not used
    assert set(np.unique(data.x_train[:, 1:])) == {0.0, 1.0}
    assert [(f.name, f.kind, f.category) for f in data.inputs[1:]] == [
        ("colour=blue", "one_hot", "blue"), ("colour=red", "one_hot", "red")]
    assert data.inputs[1].std == 1.0 and data.inputs[1].mean == 0.0


def test_same_seed_same_arrays(tmp_path):
    path = write(tmp_path, CHINESE_IRIS)
    first, again, other = (
        load(path, "种类", seed=3),
        load(path, "种类", seed=3),
        load(path, "种类", seed=4),
    )
    np.testing.assert_array_equal(first.x_train, again.x_train)
    np.testing.assert_array_equal(first.y_test, again.y_test)
    assert not np.array_equal(first.x_train, other.x_train)


# ---------------------------------------------------------------- missing values

MISSING = """size,colour,kind
1,red,a
2,,a
3,blue,a
,red,a
5,blue,a
6,red,b
7,blue,b
8,red,b
NA,blue,b
10,red,
11,blue,b
12,red,a
"""


def test_missing_values_dropped(tmp_path):
    data = load(write(tmp_path, MISSING), "kind", missing="drop")
    assert len(data.x_train) + len(data.x_test) == 8
    assert any("Dropped 1 row(s) with no value in the target" in note for note in data.notes)
    assert any("Dropped 3 of 11 rows" in note for note in data.notes)


def test_missing_values_filled(tmp_path):
    data = load(write(tmp_path, MISSING), "kind", missing="fill")
    assert len(data.x_train) + len(data.x_test) == 11
    assert any("Filled 3 missing value(s)" in note for note in data.notes)
    assert np.isfinite(data.x_train).all() and np.isfinite(data.x_test).all()
    assert set(np.unique(data.x_train[:, 1:])) == {0.0, 1.0}


def test_fill_uses_training_median_and_most_frequent_text():
    numbers = NumericColumn("n", np.array([1.0, 2.0, 6.0, np.nan, 100.0]))
    colours = TextColumn("c", np.array([0, 1, 1, -1, -1]), ["blue", "red"])
    features = CsvFeatures([numbers, colours])
    x_train, x_test, inputs = features.take(np.array([0, 1, 2, 3]), np.array([4]))
    filled = np.array([1.0, 2.0, 6.0, 2.0])  # training median of 1, 2, 6 is 2
    np.testing.assert_allclose(x_train[:, 0], filled)
    assert x_test[0, 0] == 100
    assert inputs[0].fill == 2.0
    assert inputs[0].mean == pytest.approx(filled.mean()) and inputs[0].std == pytest.approx(filled.std())
    np.testing.assert_array_equal(x_train[:, 1:], [[1, 0], [0, 1], [0, 1], [0, 1]])
    np.testing.assert_array_equal(x_test[:, 1:], [[0, 1]])
    assert [feature.fill for feature in inputs[1:]] == [0.0, 1.0]  # 'red' fills a missing colour
    assert features.feature_names == ["n", "c=blue", "c=red"]


def test_every_row_dropped_is_a_user_error(tmp_path):
    text = "a,b,y\n" + numbered_rows(5, "{i},,x") + numbered_rows(5, ",{i},z")
    with pytest.raises(UserError, match="Every row has a missing value.*'fill'"):
        load(write(tmp_path, text), "y", missing="drop")
    data = load(write(tmp_path, text), "y", missing="fill")
    assert len(data.x_train) + len(data.x_test) == 10


# ---------------------------------------------------------------- errors


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load(str(tmp_path / "nowhere.csv"), "y")


def test_empty_file(tmp_path):
    with pytest.raises(UserError, match="is empty"):
        load(write(tmp_path, ""), "y")
    with pytest.raises(UserError, match="is empty"):
        load(write(tmp_path, " \n\n"), "y")


def test_header_without_rows(tmp_path):
    with pytest.raises(UserError, match="header but no rows"):
        load(write(tmp_path, "a,b,y\n"), "y")


def test_unknown_target_lists_the_columns(tmp_path):
    with pytest.raises(UserError, match="no column named 'colour'.*'种类', '花萼长度'"):
        load(write(tmp_path, CHINESE_IRIS), "colour")


def test_target_with_one_class(tmp_path):
    with pytest.raises(UserError, match="only one value \\('a'\\)"):
        load(write(tmp_path, "x,y\n" + numbered_rows(10, "{i},a")), "y")


def test_no_usable_feature_column(tmp_path):
    with pytest.raises(UserError, match="No column is left.*'name' was skipped"):
        load(
            write(
                tmp_path, "name,y\n" + numbered_rows(30, "id {i},a") + numbered_rows(30, "n {i},b")
            ),
            "y",
        )
    with pytest.raises(UserError, match="No column is left"):
        load(write(tmp_path, "y\na\nb\n"), "y")


def test_binary_file(tmp_path):
    path = tmp_path / "picture.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(UserError, match="binary bytes"):
        load(str(path), "y")


def test_excel_workbook(tmp_path):
    path = tmp_path / "book.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(UserError, match="Excel"):
        load(str(path), "y")


def test_undecodable_text(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_bytes(b"a,b\n\xff\xfe\xfd\xfc\xfb,\x81\x8d\n")  # no Chinese, no European words
    with pytest.raises(UserError, match="UTF-8, GBK or Latin-1"):
        load(str(path), "b")


def test_ragged_rows(tmp_path):
    with pytest.raises(UserError, match="as many separators"):
        load(write(tmp_path, "a,y\n1,x\n2,y,3,4\n"), "y")


def test_identifier_target(tmp_path):
    with pytest.raises(UserError, match="names or ids"):
        load(write(tmp_path, "x,name\n" + numbered_rows(60, "{i},person {i}")), "name")


# ---------------------------------------------------------------- real tables


def real_table(name: str) -> str:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"{path} is not here")
    return str(path)


def test_penguins_species():
    data = load(real_table("penguins.csv"), "species")
    assert data.class_names == ["Adelie", "Chinstrap", "Gentoo"]
    assert "island=Biscoe" in data.feature_names and "sex=MALE" in data.feature_names
    assert len(data.x_train) + len(data.x_test) == 333
    filled = load(real_table("penguins.csv"), "species", missing="fill")
    assert len(filled.x_train) + len(filled.x_test) == 344


def test_titanic_survived():
    data = load(real_table("titanic.csv"), "survived", missing="fill")
    assert data.task == CLASSIFICATION and data.class_names == ["0", "1"]
    assert len(data.x_train) + len(data.x_test) == 891
    assert any("'alive' matches the target" in note for note in data.notes)
    assert "adult_male" in data.feature_names and "deck=C" in data.feature_names


def test_diamonds_price_is_regression_and_fast():
    path = real_table("diamonds.csv")
    started = time.perf_counter()
    data = load(path, "price")
    seconds = time.perf_counter() - started
    assert data.task == REGRESSION
    assert len(data.x_train) + len(data.x_test) == 53940
    assert data.n_features == 26 and "cut=Ideal" in data.feature_names
    assert seconds < 2.0


def test_iris_csv():
    data = load(real_table("iris.csv"), "species")
    assert data.class_counts() == {"setosa": 50, "versicolor": 50, "virginica": 50}
    assert data.feature_names == ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def test_infinite_numbers_count_as_missing(tmp_path):
    text = "x,y\n" + numbered_rows(10, "{i},a") + "inf,b\n" + numbered_rows(9, "{i},b")
    data = load(write(tmp_path, text), "y", missing="drop")
    assert len(data.x_train) + len(data.x_test) == 19
    assert np.isfinite(data.x_train).all()


def test_read_csv_columns_for_the_target_list(tmp_path):
    assert read_csv_columns(write(tmp_path, CHINESE_IRIS, "gbk")) == [
        "种类",
        "花萼长度",
        "花萼宽度",
        "产地",
    ]
    assert read_csv_columns(write(tmp_path, "a; b ;a\n1;2;3\n")) == ["a", "b", "a.1"]
    with pytest.raises(UserError, match="does not exist"):
        read_csv_columns(tmp_path / "none.csv")
    if SHARED_DATA.exists():
        assert read_csv_columns(SHARED_DATA / "diamonds.csv")[:3] == ["carat", "cut", "color"]


@pytest.mark.parametrize("header", [
    "a; b ;a\n1;2;3\n",
    'name,,"x, y",name, name ,\n1,2,3,4,5,6\n',
    "\ufeffid\tvalue\tvalue\n1\t2\t3\n",
    '"quoted ""name"""|plain\n1|2\n',
    "a,b\r1,2\r3,4\r",  # old Mac line ends
    "a,b\r\n1,2\r\n",
    "   \n\t\na,b\n1,2\n",  # blank lines before the header
    '"two\nlines",b\n1,2\n',
])
def test_the_header_reader_names_columns_as_the_table_loader_does(tmp_path, header):
    path = write(tmp_path, header)
    table, _ = read_table(Path(path))
    assert read_csv_columns(path) == list(table.columns)


def test_listing_a_csv_s_columns_does_not_import_pandas(tmp_path):
    import subprocess
    import sys

    path = write(tmp_path, CHINESE_IRIS, "gbk")
    code = ("import sys; from datasets.csv_text import read_csv_columns; "
            f"print(read_csv_columns({str(path)!r})); print('pandas' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines() == ["['种类', '花萼长度', '花萼宽度', '产地']", "False"]


def test_each_row_keeps_its_number_in_the_file_after_rows_are_dropped(tmp_path):
    text = "size,kind\n" + "".join(f"{i},{'a' if i % 2 else 'b'}\n" if i != 3 else "7,\n" for i in range(1, 41))
    data = load(write(tmp_path, text), "kind")
    assert 3 not in set(data.train_rows) | set(data.test_rows)  # the row with no target was dropped
    assert sorted([*data.train_rows, *data.test_rows]) == [i for i in range(1, 41) if i != 3]
    # Data row i holds size i, so the number says where each row came from.
    np.testing.assert_array_equal(data.x_train[:, 0], data.train_rows)
    np.testing.assert_array_equal(data.x_test[:, 0], data.test_rows)
