"""Models that take raw values: preprocessing.json, `predict` in every format, and the exported predict.py."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cli import run_cli  # noqa: E402
from datasets.choice import DatasetChoice  # noqa: E402
from datasets.registry import load_dataset  # noqa: E402
from models.errors import UserError  # noqa: E402
from models.network.spec import DenseLayer, OptimizerSpec, Project, TrainingSpec  # noqa: E402
from models.saving.export import export_all  # noqa: E402
from models.saving.predict import load_model, predict_file  # noqa: E402
from models.saving.preprocessing import load_preprocessing, preprocessing_from_dict  # noqa: E402
from models.training.runner import run_training  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
FORMATS = ("keras", "onnx", "tflite", "savedmodel")
MODEL_PATHS = {"keras": "model.keras", "onnx": "model.onnx", "tflite": "model.tflite", "savedmodel": "saved_model"}

pytestmark = [
    pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:.*np.object:FutureWarning"),
    pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated:UserWarning"),
]


def animal_rows(n: int, seed: int = 0) -> list[dict]:
    """Raw rows of a made-up table: a weight in grams (far from 1), a colour and a yes/no, and the kind."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        kind = rng.choice(["cat", "dog", "hamster"])
        grams = {"cat": 4000, "dog": 20000, "hamster": 120}[kind] * rng.uniform(0.8, 1.2)
        colour = rng.choice(["black", "brown"] if kind != "hamster" else ["gold", "brown"])
        rows.append({"weight_g": f"{grams:.1f}", "colour": colour, "indoor": str(kind != "dog"), "kind": kind})
    return rows


def write_rows(path: Path, rows: list[dict], columns: list[str]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_predictions(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def probability_matrix(table: list[list[str]]) -> np.ndarray:
    return np.array([[float(value) for value in row[2:]] for row in table[1:]])


def csv_project(data_file: Path, target: str, epochs: int = 40) -> Project:
    project = Project(
        name="raw rows", layers=[DenseLayer(16, "relu")],
        optimizer=OptimizerSpec("adam", 0.02), training=TrainingSpec(epochs=epochs, batch_size=16, seed=1),
    )
    project.dataset = DatasetChoice(name="csv", data_file=str(data_file), target=target, missing="fill")
    return project


@pytest.fixture(scope="module")
def animals(tmp_path_factory):
    """A model trained on the animal table, exported in every format, and its run folder."""
    folder = tmp_path_factory.mktemp("animals")
    data_file = write_rows(folder / "animals.csv", animal_rows(200), ["weight_g", "colour", "indoor", "kind"])
    project = csv_project(data_file, "kind")
    dataset = load_dataset(project.dataset)
    run_dir = folder / "run"
    result = run_training(project, dataset=dataset, run_dir=run_dir)
    export_all(result.model, [*FORMATS[1:], "python"], run_dir, project, dataset)
    return run_dir, dataset, result


def test_the_model_standardises_inside_so_it_takes_grams(animals):
    run_dir, dataset, result = animals
    weight = dataset.inputs[dataset.feature_names.index("weight_g")]
    assert weight.mean > 1000 and weight.std > 1000  # the raw grams, not standardised numbers
    assert dataset.x_train[:, dataset.feature_names.index("weight_g")].max() > 10000
    assert result.model.layers[0].name == "standardize"
    assert result.test_metrics["accuracy"] >= 0.9


def test_preprocessing_json_describes_every_input_and_the_classes(animals):
    run_dir, dataset, _ = animals
    data = json.loads((run_dir / "preprocessing.json").read_text(encoding="utf-8"))
    assert (data["format"], data["version"], data["task"], data["target"]) == (
        "keras-trainer-preprocessing", 1, "classification", "kind")
    assert data["classes"] == ["cat", "dog", "hamster"] and data["output"] == "softmax"
    assert [entry["name"] for entry in data["inputs"]] == dataset.feature_names
    by_name = {entry["name"]: entry for entry in data["inputs"]}
    assert by_name["weight_g"]["kind"] == "number" and by_name["weight_g"]["fill"] > 100
    assert by_name["colour=gold"] == {**by_name["colour=gold"], "kind": "one_hot", "column": "colour", "category": "gold"}
    assert by_name["indoor"]["kind"] == "number"  # True/False read as 1/0


def shuffled_with_extra_column(tmp_path: Path, rows: list[dict], with_target: bool = True) -> Path:
    columns = ["colour", "note", "indoor", "weight_g"] + (["kind"] if with_target else [])
    rows = [{**row, "note": "made up"} for row in rows]
    return write_rows(tmp_path / "new_animals.csv", rows, columns)


def test_predict_agrees_in_every_format_on_shuffled_columns(animals, tmp_path):
    run_dir, _, _ = animals
    rows_file = shuffled_with_extra_column(tmp_path, animal_rows(60, seed=7))
    tables = {}
    for fmt in FORMATS:
        report = predict_file(run_dir / MODEL_PATHS[fmt], rows_file, tmp_path / f"{fmt}.csv")
        assert report.rows == 60 and report.warnings == []
        assert report.score[0] == "accuracy" and report.score[1] >= 0.9
        tables[fmt] = read_predictions(report.out_path)
    header = tables["keras"][0]
    assert header == ["row", "predicted", "probability_cat", "probability_dog", "probability_hamster"]
    assert [row[0] for row in tables["keras"][1:]] == [str(i) for i in range(1, 61)]
    reference = probability_matrix(tables["keras"])
    np.testing.assert_allclose(reference.sum(axis=1), 1.0, atol=1e-5)
    for fmt in FORMATS[1:]:
        assert tables[fmt][0] == header
        np.testing.assert_allclose(probability_matrix(tables[fmt]), reference, atol=1e-4)
        assert [row[1] for row in tables[fmt]] == [row[1] for row in tables["keras"]]


def test_predictions_equal_the_trained_models_on_the_test_rows(animals, tmp_path):
    run_dir, dataset, result = animals
    loaded = load_model(run_dir)
    names = dataset.feature_names
    rows = []
    for x in dataset.x_test:
        colour = next(name.split("=", 1)[1] for name, value in zip(names, x) if name.startswith("colour=") and value == 1)
        rows.append({"weight_g": repr(float(x[names.index("weight_g")])), "colour": colour,
                     "indoor": "True" if x[names.index("indoor")] == 1 else "False"})
    rows_file = write_rows(tmp_path / "test_rows.csv", rows, ["weight_g", "colour", "indoor"])
    report = predict_file(loaded, rows_file, tmp_path / "out.csv")
    expected = np.asarray(result.model.predict(dataset.x_test, verbose=0))
    np.testing.assert_allclose(report.probabilities, expected, atol=1e-5)
    assert report.score is None  # no target column: nothing to compare with


def test_onnx_inputs_built_from_preprocessing_json_alone_match_predict(animals, tmp_path):
    """What someone with only numpy and onnxruntime would write, reading the description's keys."""
    import onnxruntime

    run_dir, _, _ = animals
    description = json.loads((run_dir / "preprocessing.json").read_text(encoding="utf-8"))
    raw = [{"weight_g": "3900", "colour": "black", "indoor": "True"},
           {"weight_g": "21000.5", "colour": "brown", "indoor": "False"},
           {"weight_g": "110", "colour": "gold", "indoor": "True"}]
    x = np.array([[float(row[entry["column"]] == "True") if entry["column"] == "indoor"
                   else float(row[entry["column"]]) if entry["kind"] == "number"
                   else float(row[entry["column"]] == entry["category"])
                   for entry in description["inputs"]] for row in raw], dtype=np.float32)
    session = onnxruntime.InferenceSession(str(run_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    by_hand = session.run(None, {session.get_inputs()[0].name: x})[0]
    report = predict_file(run_dir / "model.onnx", write_rows(tmp_path / "three.csv", raw, list(raw[0])),
                          tmp_path / "three_out.csv")
    np.testing.assert_allclose(report.probabilities, by_hand, atol=1e-6)
    assert [description["classes"][i] for i in by_hand.argmax(axis=1)] == ["cat", "dog", "hamster"]


def test_missing_values_are_filled_and_unseen_categories_counted(animals, tmp_path):
    run_dir, _, _ = animals
    raw = [{"weight_g": "", "colour": "black", "indoor": "True"},
           {"weight_g": "NA", "colour": "purple", "indoor": "True"},
           {"weight_g": "heavy", "colour": "", "indoor": "False"}]
    report = predict_file(run_dir, write_rows(tmp_path / "gaps.csv", raw, list(raw[0])), tmp_path / "gaps_out.csv")
    text = " ".join(report.warnings)
    assert "3 missing value(s) were filled as in training (2 in 'weight_g', 1 in 'colour')" in text
    assert "'colour' has value(s) never seen in training ('purple'; 1 row(s))" in text
    assert "1 value(s) in 'weight_g' are not numbers (such as 'heavy')" in text
    assert report.rows == 3 and np.isfinite(report.probabilities).all()


def test_exported_predict_py_needs_only_numpy_and_onnxruntime(animals, tmp_path):
    run_dir, _, _ = animals
    rows_file = shuffled_with_extra_column(tmp_path, animal_rows(25, seed=3))
    ours = predict_file(run_dir / "model.onnx", rows_file, tmp_path / "ours.csv").out_path
    # Any import of Keras, TensorFlow, pandas or this program fails inside the script's process.
    blocker = ("import sys, runpy\n"
               "for name in ('keras', 'tensorflow', 'pandas', 'sklearn', 'models', 'datasets'):\n"
               "    sys.modules[name] = None\n"
               "sys.argv = sys.argv[1:]\n"
               "runpy.run_path(sys.argv[0], run_name='__main__')\n")
    done = subprocess.run([sys.executable, "-c", blocker, str(run_dir / "predict.py"), str(rows_file),
                           str(tmp_path / "theirs.csv")], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "accuracy against 'kind'" in done.stdout
    assert (tmp_path / "theirs.csv").read_bytes() == ours.read_bytes()


def test_train_py_builds_the_same_standardising_model(animals):
    run_dir, _, _ = animals
    source = (run_dir / "train.py").read_text(encoding="utf-8")
    assert 'name="standardize"' in source and "input_mean" in source
    with np.load(run_dir / "train_data.npz") as data:
        assert data["input_mean"].shape == data["x_train"].shape[1:]
        assert data["x_train"].max() > 10000  # raw grams


def test_command_line_predict_writes_csv_and_scores(animals, tmp_path, capsys):
    run_dir, _, _ = animals
    rows_file = shuffled_with_extra_column(tmp_path, animal_rows(30, seed=5))
    assert run_cli(["predict", "--model", str(run_dir), "--data-file", str(rows_file)]) == 0
    out = capsys.readouterr().out
    assert "accuracy against the target column:" in out
    written = rows_file.with_name("new_animals.predictions.csv")
    assert f"wrote 30 prediction(s) to {written}" in out and len(read_predictions(written)) == 31


@pytest.mark.parametrize("problem, sentence", [
    ("missing_column", "the CSV file has no column 'weight_g', which the model needs"),
    ("empty_csv", "is empty"),
    ("header_only", "has a header but no rows"),
    ("damaged_json", "preprocessing.json is damaged (not valid JSON"),
    ("no_json", "has no preprocessing.json beside it"),
    ("wrong_json", "is not a Keras Trainer description"),
    ("no_model", "holds no model"),
])
def test_bad_input_is_one_sentence(animals, tmp_path, capsys, problem, sentence):
    run_dir, _, _ = animals
    model = run_dir
    rows_file = write_rows(tmp_path / "rows.csv", animal_rows(3), ["colour", "indoor"] if problem == "missing_column"
                           else ["weight_g", "colour", "indoor"])
    if problem == "empty_csv":
        rows_file.write_text("")
    elif problem == "header_only":
        rows_file.write_text("weight_g,colour,indoor\n")
    elif problem in ("damaged_json", "no_json", "wrong_json"):
        model = tmp_path / "model.onnx"
        model.write_bytes((run_dir / "model.onnx").read_bytes())
        if problem == "damaged_json":
            (tmp_path / "preprocessing.json").write_text('{"format": "keras-trainer-preprocessing", "inp')
        elif problem == "wrong_json":
            (tmp_path / "preprocessing.json").write_text('{"format": "something else"}')
    elif problem == "no_model":
        model = tmp_path
    with pytest.raises(UserError, match=None) as caught:
        predict_file(model, rows_file, tmp_path / "out.csv")
    assert sentence in str(caught.value)
    assert run_cli(["predict", "--model", str(model), "--data-file", str(rows_file), "--out",
                    str(tmp_path / "out.csv")]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("error: ") and sentence in error[0]
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("change, key", [
    ({"version": 99}, "newer Keras Trainer"),
    ({"task": "clustering"}, '"task"'),
    ({"output": "value"}, '"output"'),
    ({"classes": ["a"]}, '"classes"'),
    ({"inputs": []}, '"inputs"'),
    ({"inputs": [{"name": "x", "kind": "colour"}]}, "has the kind 'colour'"),
    ({"inputs": [{"name": "x", "kind": "number", "std": 0}]}, '"std" 0'),
    ({"inputs": [{"name": "x", "kind": "one_hot"}]}, 'no "category"'),
    ({"inputs": [{"name": "x", "kind": "number", "fill": "a lot"}]}, '"fill"'),
])
def test_a_damaged_description_names_what_is_wrong(change, key):
    good = {"format": "keras-trainer-preprocessing", "version": 1, "task": "classification", "target": "kind",
            "classes": ["a", "b"], "output": "softmax", "inputs": [{"name": "x", "kind": "number"}]}
    preprocessing_from_dict(good)
    with pytest.raises(UserError, match="preprocessing.json") as caught:
        preprocessing_from_dict({**good, **change})
    assert key in str(caught.value)


def test_a_regression_predicts_in_the_targets_units(tmp_path):
    rng = np.random.default_rng(2)
    area = rng.uniform(30, 200, 300)
    rows = [{"area_m2": f"{a:.1f}", "rooms": str(int(a // 30)), "price": f"{3000 * a + 20000:.0f}"} for a in area]
    data_file = write_rows(tmp_path / "flats.csv", rows, ["area_m2", "rooms", "price"])
    project = csv_project(data_file, "price", epochs=60)
    project.dataset.task = "regression"
    result = run_training(project, run_dir=tmp_path / "run")
    description = load_preprocessing(tmp_path / "run" / "preprocessing.json")
    assert (description.task, description.output, description.target) == ("regression", "value", "price")
    new = write_rows(tmp_path / "new.csv", rows[:50], ["price", "area_m2", "rooms"])
    report = predict_file(tmp_path / "run", new, tmp_path / "prices.csv")
    table = read_predictions(report.out_path)
    assert table[0] == ["row", "predicted"]
    prices = np.array([float(row[1]) for row in table[1:]])
    truth = np.array([float(row["price"]) for row in rows[:50]])
    assert report.score[0] == "mae" and report.score[1] == pytest.approx(np.abs(prices - truth).mean(), rel=1e-5)
    assert np.abs(prices - truth).mean() < 0.1 * truth.mean()  # dollars, not standardised units
    assert result.test_metrics["mae"] < 0.1 * truth.mean()


def test_digits_model_takes_raw_pixels_from_a_csv(tmp_path):
    project = Project(name="digits", layers=[DenseLayer(32, "relu")], optimizer=OptimizerSpec("adam", 0.01),
                      training=TrainingSpec(epochs=5, batch_size=64, seed=0))
    project.dataset = DatasetChoice(name="digits")
    dataset = load_dataset(project.dataset)
    run_training(project, dataset=dataset, run_dir=tmp_path / "run")
    description = json.loads((tmp_path / "run" / "preprocessing.json").read_text(encoding="utf-8"))
    assert description["image_shape"] == [8, 8]
    assert description["inputs"][5] == {**description["inputs"][5], "name": "pixel_5", "kind": "pixel",
                                        "minimum": 0.0, "maximum": 16.0}
    rows = [{f"pixel_{i}": str(int(v)) for i, v in enumerate(image)} | {"digit": str(label)}
            for image, label in zip(dataset.x_test[:100], dataset.y_test[:100])]
    report = predict_file(tmp_path / "run", write_rows(tmp_path / "pixels.csv", rows, list(rows[0])),
                          tmp_path / "digits_out.csv")
    assert report.score[0] == "accuracy" and report.score[1] >= 0.85


@pytest.mark.skipif(not (SHARED / "penguins.csv").exists(), reason="shared/data/penguins.csv is not beside the repository")
def test_penguins_from_the_shared_table_predict_raw_rows(tmp_path):
    project = csv_project(SHARED / "penguins.csv", "species", epochs=30)
    project.dataset.missing = "drop"
    run_training(project, run_dir=tmp_path / "run")
    with open(SHARED / "penguins.csv", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    complete = [row for row in rows if all(value not in ("", "NA") for value in row.values())]
    columns = list(reversed(list(rows[0]))) + ["extra"]
    report = predict_file(tmp_path / "run", write_rows(tmp_path / "p.csv", [{**r, "extra": "1"} for r in complete], columns),
                          tmp_path / "p_out.csv")
    assert report.score[1] >= 0.95


def quirky_table(n: int = 90) -> str:
    """A table as spreadsheets write them: Latin-1 accents, lowercase booleans with a gap,
    a repeated column name, an 'NA ' that is a word, and a line of separators alone."""
    rng = np.random.default_rng(4)
    lines = ["city;size;size;flag;kind"]
    for i in range(n):
        kind = "big" if i % 2 else "small"
        city = ["Zürich", "Genève", "Köln"][i % 3]
        size = f"{(10 if kind == 'big' else 1) + rng.uniform(0, 1):.2f}".replace(".", ",")
        flag = "" if i == 5 else ("true" if kind == "big" else "false")
        lines.append(f"{city};{size};{i % 7};{flag};{kind}")
        if i == 40:
            lines.append(";;;;")
    return "\n".join(lines) + "\n"


def test_predict_reads_a_file_exactly_as_training_did(tmp_path):
    data_file = tmp_path / "quirky.csv"
    data_file.write_bytes(quirky_table().encode("cp1252"))
    project = csv_project(data_file, "kind", epochs=5)
    dataset = load_dataset(project.dataset)
    assert {"flag=True", "flag=False", "size", "size.1"} <= set(dataset.feature_names)
    result = run_training(project, dataset=dataset, run_dir=tmp_path / "run")
    export_all(result.model, ["onnx", "python"], tmp_path / "run", project, dataset)
    report = predict_file(tmp_path / "run" / "model.onnx", data_file, tmp_path / "ours.csv")
    assert not [w for w in report.warnings if "never seen" in w]
    # Each row's number is its data row in the file, as training counted them.
    rows = np.concatenate([dataset.train_rows, dataset.test_rows])
    expected = np.asarray(result.model.predict(np.concatenate([dataset.x_train, dataset.x_test]), verbose=0))
    assert report.rows == 91  # the line of separators alone is a row too, as pandas counts it
    np.testing.assert_allclose(report.probabilities[rows - 1, 1:], expected, atol=1e-5)
    assert report.score[1] == pytest.approx(np.mean(np.array(report.predicted)[rows - 1] == np.array(
        [dataset.class_names[c] for c in np.concatenate([dataset.y_train, dataset.y_test])])))
    done = subprocess.run([sys.executable, str(tmp_path / "run" / "predict.py"), str(data_file),
                           str(tmp_path / "theirs.csv")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "theirs.csv").read_bytes() == (tmp_path / "ours.csv").read_bytes()
    assert oct((tmp_path / "theirs.csv").stat().st_mode & 0o777) == oct((tmp_path / "ours.csv").stat().st_mode & 0o777)


def test_a_description_with_a_huge_number_or_a_bom_is_read_or_refused_in_a_sentence(tmp_path):
    good = {"format": "keras-trainer-preprocessing", "version": 1, "task": "regression", "target": "y",
            "output": "value", "inputs": [{"name": "x", "kind": "number", "fill": 1.0}]}
    path = tmp_path / "preprocessing.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(good).encode())
    assert load_preprocessing(path).inputs[0].fill == 1.0
    path.write_text(json.dumps(good).replace('"fill": 1.0', '"fill": ' + "9" * 400))
    with pytest.raises(UserError, match='"fill"'):
        load_preprocessing(path)
    twice = {**good, "inputs": [{"name": "c=a", "column": "c", "kind": "one_hot", "category": "a"},
                                {"name": "c=a2", "column": "c", "kind": "one_hot", "category": "a"}]}
    with pytest.raises(UserError, match="listed twice"):
        preprocessing_from_dict(twice)
