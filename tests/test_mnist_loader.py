"""MNIST and Fashion-MNIST from tiny fake files; nothing is downloaded."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from datasets import mnist
from datasets.choice import DatasetChoice
from datasets.mnist import FASHION_CLASS_NAMES, MNIST_URL, parse_idx, write_idx
from datasets.registry import load_dataset
from models.errors import UserError

N_TRAIN, N_TEST = 20, 10


def fake_images(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255  # both ends of the range
    return images, (np.arange(count) % 10).astype(np.uint8)


def fake_arrays():
    return fake_images(N_TRAIN, 0), fake_images(N_TEST, 1)


def write_idx_folder(folder: Path, gzipped: bool = True) -> Path:
    """Writes the four idx files of a tiny fake MNIST into `folder`."""
    folder.mkdir(exist_ok=True)
    (x_train, y_train), (x_test, y_test) = fake_arrays()
    files = {
        "train-images-idx3-ubyte": x_train,
        "train-labels-idx1-ubyte": y_train,
        "t10k-images-idx3-ubyte": x_test,
        "t10k-labels-idx1-ubyte": y_test,
    }
    for name, array in files.items():
        write_idx(folder / (name + (".gz" if gzipped else "")), array)
    return folder


def load(name: str = "mnist", data_file: str = "", **settings):
    return load_dataset(DatasetChoice(name=name, data_file=data_file, **settings))


def check_fake_dataset(data, class_names=None):
    (x_train, y_train), (x_test, _) = fake_arrays()
    assert data.x_train.shape == (N_TRAIN, 784) and data.x_test.shape == (N_TEST, 784)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int32
    assert data.x_train.min() == 0.0 and data.x_train.max() == 255.0  # raw pixels; the model divides by 255
    np.testing.assert_allclose(data.x_train, x_train.reshape(N_TRAIN, -1), rtol=1e-6)
    np.testing.assert_allclose(data.input_scale[1], 255.0)
    np.testing.assert_array_equal(data.y_train, y_train)
    assert data.image_shape == (28, 28)
    assert data.class_names == (class_names or [str(d) for d in range(10)])
    assert any("official split" in note for note in data.notes)


# ---------------------------------------------------------------- idx format


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, suffix):
    images, labels = fake_images(5, 3)
    write_idx(tmp_path / f"images{suffix}", images)
    write_idx(tmp_path / f"labels{suffix}", labels)
    raw = (tmp_path / f"images{suffix}").read_bytes()
    if suffix:
        raw = gzip.decompress(raw)
    assert raw[:4] == bytes([0, 0, 8, 3])
    np.testing.assert_array_equal(parse_idx(raw), images)
    np.testing.assert_array_equal(mnist._read_idx_file(tmp_path / f"labels{suffix}", 1), labels)


def test_truncated_idx_is_a_user_error(tmp_path):
    images, _ = fake_images(4, 0)
    write_idx(tmp_path / "images", images)
    cut = (tmp_path / "images").read_bytes()[:-100]
    with pytest.raises(UserError, match="cut short"):
        parse_idx(cut, "images")
    with pytest.raises(UserError, match="cut short inside its header"):
        parse_idx(bytes([0, 0, 8, 3, 0, 0]), "images")


def test_wrong_magic_number_is_a_user_error():
    with pytest.raises(UserError, match="not an idx file"):
        parse_idx(b"P5\n28 28\n255\n" + bytes(100), "picture.pgm")


def test_truncated_gzip_is_a_user_error(tmp_path):
    folder = write_idx_folder(tmp_path / "idx")
    target = folder / "train-images-idx3-ubyte.gz"
    target.write_bytes(target.read_bytes()[:200])
    with pytest.raises(UserError, match="download it again"):
        load(data_file=str(folder))


# ---------------------------------------------------------------- local files


@pytest.mark.parametrize("gzipped", [True, False])
def test_idx_folder(tmp_path, gzipped):
    folder = write_idx_folder(tmp_path / "idx", gzipped)
    check_fake_dataset(load(data_file=str(folder)))


def test_one_idx_file_means_its_folder(tmp_path):
    folder = write_idx_folder(tmp_path / "idx")
    data = load("fashion_mnist", data_file=str(folder / "t10k-labels-idx1-ubyte.gz"))
    check_fake_dataset(data, FASHION_CLASS_NAMES)
    assert data.class_names[0] == "T-shirt/top" and data.class_names[9] == "Ankle boot"


def test_dotted_idx_names_are_accepted(tmp_path):
    folder = write_idx_folder(tmp_path / "idx", gzipped=False)
    for path in folder.iterdir():
        path.rename(folder / path.name.replace("-idx", ".idx"))
    check_fake_dataset(load(data_file=str(folder)))


def test_folder_missing_files(tmp_path):
    folder = write_idx_folder(tmp_path / "idx")
    (folder / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(UserError, match="lacks the idx file.*t10k-images-idx3-ubyte"):
        load(data_file=str(folder))


def test_npz_file(tmp_path):
    (x_train, y_train), (x_test, y_test) = fake_arrays()
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    check_fake_dataset(load(data_file=str(path), test_fraction=0.5))  # test fraction is ignored


def test_npz_with_missing_key(tmp_path):
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(UserError, match="lacks the array.*y_train"):
        load(data_file=str(path))


def test_damaged_npz(tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_bytes(b"not a zip archive at all")
    with pytest.raises(UserError, match="could not be read as a .npz"):
        load(data_file=str(path))


def test_labels_out_of_range(tmp_path):
    (x_train, y_train), (x_test, y_test) = fake_arrays()
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=x_train, y_train=y_train + 5, x_test=x_test, y_test=y_test)
    with pytest.raises(UserError, match="labels run from"):
        load(data_file=str(path))


def test_missing_or_unknown_file(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load(data_file=str(tmp_path / "nothing.npz"))
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    with pytest.raises(UserError, match="neither an .npz file nor an idx file"):
        load(data_file=str(other))


# ---------------------------------------------------------------- through Keras


def test_offline_without_file_says_where_to_download(monkeypatch):
    def never(name):
        raise AssertionError("Keras must not be asked when offline with nothing cached")

    monkeypatch.setattr(mnist, "in_keras_cache", lambda name: False)
    monkeypatch.setattr(mnist, "network_reachable", lambda: False)
    monkeypatch.setattr(mnist, "keras_load_data", never)
    with pytest.raises(UserError) as caught:
        load("mnist")
    message = str(caught.value)
    assert MNIST_URL in message and "--data-file PATH" in message and "file picker" in message
    with pytest.raises(UserError, match="tf-keras-datasets/ into one folder"):
        load("fashion_mnist")


def test_failed_keras_download_says_where_to_download(monkeypatch):
    def offline(name):
        raise Exception("URL fetch failure on mnist.npz: Temporary failure in name resolution")

    monkeypatch.setattr(mnist, "in_keras_cache", lambda name: False)
    monkeypatch.setattr(mnist, "network_reachable", lambda: True)
    monkeypatch.setattr(mnist, "keras_load_data", offline)
    with pytest.raises(UserError, match="download https://storage.googleapis.com.*name resolution"):
        load("mnist")


def test_cached_set_loads_through_keras(monkeypatch):
    asked = []
    monkeypatch.setattr(mnist, "in_keras_cache", lambda name: True)
    monkeypatch.setattr(
        mnist, "network_reachable", lambda: pytest.fail("no network check when cached")
    )
    monkeypatch.setattr(mnist, "keras_load_data", lambda name: asked.append(name) or fake_arrays())
    check_fake_dataset(load("fashion_mnist"), FASHION_CLASS_NAMES)
    assert asked == ["fashion_mnist"]


def test_keras_cache_is_looked_up_under_keras_home(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert mnist._keras_cache_dirs()[0] == tmp_path / "datasets"
    monkeypatch.setattr(mnist, "_keras_cache_dirs", lambda: [tmp_path / "datasets"])
    assert not mnist.in_keras_cache("mnist")
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "mnist.npz").write_bytes(b"")
    assert mnist.in_keras_cache("mnist")
    write_idx_folder(tmp_path / "datasets" / "fashion-mnist")
    assert mnist.in_keras_cache("fashion_mnist")
