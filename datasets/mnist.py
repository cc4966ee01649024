"""MNIST and Fashion-MNIST: 28×28 grey images as 784 features from 0 to 255.

Where the images come from, in order:

1. `choice.data_file`, when given: Keras's ``mnist.npz`` (keys ``x_train``,
   ``y_train``, ``x_test``, ``y_test``), a folder holding the four original idx
   files (``train-images-idx3-ubyte.gz`` and so on, gzipped or not), or one of
   those idx files, meaning its folder.
2. Keras's own loader, when its cache already holds the set or the download
   site can be reached.
3. Otherwise a `UserError` says where to download the files and how to pass them.

The official split of 60,000 training and 10,000 test images is kept, so
`choice.test_fraction` does not apply. Keras is imported only when its loader runs.
"""

from __future__ import annotations

import gzip
import os
import re
import socket
import threading
from pathlib import Path

import numpy as np

from datasets.base import CLASSIFICATION, Dataset
from datasets.choice import DatasetChoice
from datasets.inputs import pixel_inputs
from models.errors import UserError
from models.text import Text

DOWNLOAD_BASE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
MNIST_URL = DOWNLOAD_BASE + "mnist.npz"
IDX_FILE_NAMES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)

MNIST_CLASS_NAMES = [str(digit) for digit in range(10)]
FASHION_CLASS_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
_CLASS_NAMES = {"mnist": MNIST_CLASS_NAMES, "fashion_mnist": FASHION_CLASS_NAMES}
_TITLES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}

_IDX_NAME = re.compile(r"^(train|t10k)-(images|labels)[-.]idx[13]-ubyte(\.gz)?$", re.IGNORECASE)
_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")

NETWORK_CHECK_SECONDS = 3.0
DOWNLOAD_TIMEOUT_SECONDS = 20.0

ImageArrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


# ---------------------------------------------------------------- idx files


def _read_maybe_gzipped(path: Path) -> bytes:
    """Returns the bytes of `path`, unzipping it when it starts with the gzip signature."""
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            return gzip.decompress(raw)
        return raw
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise UserError.of("The file '{path}' could not be read ({error}); download it again.", path=path, error=error) from error


def parse_idx(data: bytes, source: str = "idx data") -> np.ndarray:
    """Turns the bytes of an idx file of unsigned bytes into an array.

    The format starts with two zero bytes, a type byte (0x08 for unsigned
    bytes), a byte giving the number of dimensions, then one big-endian 32-bit
    size per dimension and the values.

    Args:
        data: the whole file, already unzipped.
        source: how to name the file in an error.

    Returns:
        A uint8 array with the stored shape.

    Raises:
        UserError: when the header is wrong or the file is shorter or longer
            than its header says.
    """
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08 or data[3] == 0:
        raise UserError.of("'{source}' is not an idx file of images or labels (its first bytes are wrong); download "
                           "the original file again.", source=source)
    ndim = data[3]
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise UserError.of("'{source}' is cut short inside its header; download it again.", source=source)
    shape = tuple(int(n) for n in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64))
    found = len(data) - header_size
    if found != expected:
        problem = Text("cut short") if found < expected else Text("longer than its header says")
        raise UserError.of("'{source}' is {problem}: its header promises {expected} values but it holds {found}; "
                           "download it again.",
                           source=source, problem=problem, expected=f"{expected:,}", found=f"{found:,}")
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(shape)


def write_idx(path: Path, array: np.ndarray) -> None:
    """Writes a uint8 array as an idx file (gzipped when `path` ends in ``.gz``)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    data = header + array.tobytes()
    Path(path).write_bytes(gzip.compress(data) if str(path).endswith(".gz") else data)


def _read_idx_file(path: Path, ndim: int) -> np.ndarray:
    array = parse_idx(_read_maybe_gzipped(path), str(path))
    if array.ndim != ndim:
        wanted = "images (3 dimensions)" if ndim == 3 else "labels (1 dimension)"
        raise UserError.of("'{path}' should hold {wanted} but has {ndim} dimension(s); check that the files have "
                           "their original names.", path=path, wanted=wanted, ndim=array.ndim)
    return array


def _find_idx_files(folder: Path) -> dict[tuple[str, str], Path]:
    """Maps ("train" or "t10k", "images" or "labels") to the matching file in `folder`."""
    found: dict[tuple[str, str], Path] = {}
    for path in sorted(folder.iterdir()):
        match = _IDX_NAME.match(path.name)
        if match and path.is_file():
            found.setdefault((match.group(1).lower(), match.group(2).lower()), path)
    return found


def load_idx_folder(folder: Path) -> ImageArrays:
    """Reads the four idx files in `folder` as ``((x_train, y_train), (x_test, y_test))``."""
    files = _find_idx_files(folder)
    missing = [
        name.removesuffix(".gz")
        for name in IDX_FILE_NAMES
        if tuple(name.split("-")[:2]) not in files
    ]
    if missing:
        raise UserError.of("The folder '{folder}' lacks the idx file(s) {missing} (gzipped or not); put all four "
                           "files from the download in one folder.", folder=folder, missing=", ".join(missing))
    return (
        (
            _read_idx_file(files["train", "images"], 3),
            _read_idx_file(files["train", "labels"], 1),
        ),
        (
            _read_idx_file(files["t10k", "images"], 3),
            _read_idx_file(files["t10k", "labels"], 1),
        ),
    )


# ---------------------------------------------------------------- npz files


def load_npz(path: Path) -> ImageArrays:
    """Reads a Keras-style ``.npz`` with ``x_train``, ``y_train``, ``x_test`` and ``y_test``."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in _NPZ_KEYS if key not in archive.files]
            if missing:
                raise UserError.of("'{path}' lacks the array(s) {missing}; use the mnist.npz file downloaded from "
                                   "{mnist_url}.", path=path, missing=", ".join(missing), mnist_url=MNIST_URL)
            arrays = {key: archive[key] for key in _NPZ_KEYS}
    except UserError:
        raise
    except Exception as error:  # np.load raises several types for a damaged archive
        raise UserError.of("'{path}' could not be read as a .npz archive ({error}); download it again.",
                           path=path, error=error) from error
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def load_local_file(data_file: str) -> ImageArrays:
    """Reads images from a ``.npz`` file, an idx folder, or one idx file (meaning its folder)."""
    path = Path(data_file).expanduser()
    if not path.exists():
        raise UserError.of("The file or folder '{path}' does not exist; choose the downloaded file.", path=path)
    if path.is_dir():
        return load_idx_folder(path)
    if not path.is_file():  # a FIFO or a device: reading it would block, or never end
        raise UserError.of("'{path}' is not a regular file (a pipe or a device?); choose the downloaded file.",
                           path=path)
    if _IDX_NAME.match(path.name):
        return load_idx_folder(path.parent)
    if path.suffix.lower() == ".npz":
        return load_npz(path)
    raise UserError.of("'{name}' is neither an .npz file nor an idx file such as train-images-idx3-ubyte.gz; choose "
                       "mnist.npz or the folder of idx files.", name=path.name)


# ---------------------------------------------------------------- Keras


def _keras_cache_dirs() -> list[Path]:
    """Folders where Keras keeps downloaded data sets (it falls back to /tmp)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return [Path(home) / "datasets", Path("/tmp/.keras/datasets")]


def in_keras_cache(name: str) -> bool:
    """Whether Keras has already downloaded the set, so loading needs no network."""
    for folder in _keras_cache_dirs():
        if name == "mnist" and (folder / "mnist.npz").is_file():
            return True
        if name == "fashion_mnist" and all(
            (folder / "fashion-mnist" / file).is_file() for file in IDX_FILE_NAMES
        ):
            return True
    return False


def network_reachable(
    host: str = "storage.googleapis.com", seconds: float = NETWORK_CHECK_SECONDS
) -> bool:
    """Whether a connection to `host` opens within `seconds`.

    The check runs in a daemon thread because a name lookup on a machine
    without network can block far longer than any socket timeout.
    """
    result = {"ok": False}

    def connect() -> None:
        try:
            with socket.create_connection((host, 443), timeout=seconds):
                result["ok"] = True
        except OSError:
            pass

    worker = threading.Thread(target=connect, daemon=True)
    worker.start()
    worker.join(seconds)
    return result["ok"]


def keras_load_data(name: str) -> ImageArrays:
    """Calls ``keras.datasets.<name>.load_data()`` with a short socket timeout."""
    import keras  # imported here: TensorFlow takes seconds to start

    module = keras.datasets.mnist if name == "mnist" else keras.datasets.fashion_mnist
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_SECONDS)
    try:
        return module.load_data()
    finally:
        socket.setdefaulttimeout(previous)


def download_help(name: str) -> str:
    """The sentence telling the user how to get the files without Keras downloading them."""
    if name == "mnist":
        where = Text.of("download {url}; then pass that file", url=MNIST_URL)
    else:
        where = (
            Text.of("download the four files {files} from {url} into one folder; then pass that "
                    "folder", files=", ".join(IDX_FILE_NAMES), url=DOWNLOAD_BASE)
        )
    return (
        Text.of("{title} is not on this computer and could not be downloaded. On a computer with internet access, "
                "{where} with --data-file PATH on the command line, or choose it with the file picker in the window.",
                title=_TITLES[name], where=where)
    )


def _load_through_keras(name: str) -> ImageArrays:
    if not in_keras_cache(name) and not network_reachable():
        raise UserError(download_help(name))
    try:
        return keras_load_data(name)
    except Exception as error:  # Keras raises a bare Exception for a failed download
        raise UserError.of("{download_help} (The download failed: {error})",
                           download_help=download_help(name), error=error) from error


# ---------------------------------------------------------------- the set


def _check_images(images: np.ndarray, labels: np.ndarray, part: str, n_classes: int) -> None:
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels) or len(images) == 0:
        raise UserError.of("The {part} images have shape {shape} and labels {shape2}; expected (n, height, width) "
                           "images with one label each. Use the original files.",
                           part=part, shape=images.shape, shape2=labels.shape)
    if labels.min() < 0 or labels.max() >= n_classes:
        raise UserError.of("The {part} labels run from {min} to {max}; expected 0 to {highest}. Use the original "
                           "files.", part=part, min=labels.min(), max=labels.max(), highest=n_classes - 1)


def _as_features(images: np.ndarray) -> np.ndarray:
    """Flattens (n, h, w) images to float32 rows from 0 to 255 (images stored in [0, 1] are brought there)."""
    scale = 1.0 if images.dtype == np.uint8 or images.max(initial=0) > 1 else 255.0
    return images.reshape(len(images), -1).astype(np.float32) * np.float32(scale)


def images_to_dataset(name: str, arrays: ImageArrays) -> Dataset:
    """Turns ``((x_train, y_train), (x_test, y_test))`` images into a `Dataset`."""
    (x_train, y_train), (x_test, y_test) = arrays
    n_classes = len(_CLASS_NAMES[name])
    _check_images(x_train, y_train, "training", n_classes)
    _check_images(x_test, y_test, "test", n_classes)
    if x_train.shape[1:] != x_test.shape[1:]:
        raise UserError.of("The training images are {shape} but the test images are {shape2}; use the original files.",
                           shape=x_train.shape[1:], shape2=x_test.shape[1:])
    height, width = (int(n) for n in x_train.shape[1:])
    return Dataset(
        name=name,
        task=CLASSIFICATION,
        x_train=_as_features(x_train),
        y_train=y_train.astype(np.int32),
        x_test=_as_features(x_test),
        y_test=y_test.astype(np.int32),
        feature_names=[f"pixel_{i}" for i in range(height * width)],
        class_names=list(_CLASS_NAMES[name]),
        target_name="digit" if name == "mnist" else "clothing",
        image_shape=(height, width),
        notes=[
            Text.of("The official split of {train} training and {test} test images is kept; the test fraction "
                    "setting does not apply.", train=f"{len(x_train):,}", test=f"{len(x_test):,}"),
            Text("Pixels run from 0 to 255; the model divides them by 255 itself."),
        ],
        inputs=pixel_inputs(height * width, None, 255.0, standardize=False),
    )


def load_images(choice: DatasetChoice) -> Dataset:
    """Loads `choice.name` ("mnist" or "fashion_mnist") from `choice.data_file` or Keras.

    Raises:
        UserError: for a bad file, or when offline without a file, with the
            download address and how to pass the file.
    """
    if choice.data_file:
        arrays = load_local_file(choice.data_file)
    else:
        arrays = _load_through_keras(choice.name)
    return images_to_dataset(choice.name, arrays)
