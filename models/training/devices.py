"""Which devices exist, and the `tf.distribute` strategy for the one chosen."""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from dataclasses import dataclass

from models.errors import UserError

_IMPORT_LOCK = threading.Lock()


def import_tensorflow():
    """Imports TensorFlow once, from whichever thread asks first, without its start-up chatter.

    Two threads importing TensorFlow at the same time deadlock inside its
    package (the window imports it in the background while a first training
    run may start), so every import goes through this lock.

    TensorFlow's native code prints lines such as "Could not find cuda drivers"
    and "oneDNN custom operations are on" before any logging setting applies.
    They are caught in a temporary file and shown only if the import fails.
    """
    with _IMPORT_LOCK:
        return _import_tensorflow_quietly()


def _import_tensorflow_quietly():
    module = sys.modules.get("tensorflow")
    if module is not None and hasattr(module, "config"):
        return module
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as caught:
        os.dup2(caught.fileno(), 2)
        try:
            import tensorflow

            # The first look at the devices prints CUDA's complaints when there is no GPU.
            tensorflow.config.list_physical_devices()
        except BaseException:
            os.dup2(saved, 2)
            caught.seek(0)
            sys.stderr.write(caught.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    # Each run builds a new model, which TensorFlow reports as 'retracing'; not a problem here.
    tensorflow.get_logger().setLevel("ERROR")
    return tensorflow


@dataclass(frozen=True)
class DeviceOption:
    """One entry of the device list: the key saved in a project and a label to show."""

    key: str
    label: str


def _gpu_name(tf, device, index: int) -> str:
    try:
        details = tf.config.experimental.get_device_details(device)
    except (ValueError, RuntimeError):
        details = {}
    return details.get("device_name") or f"GPU {index}"


def available_devices() -> list[DeviceOption]:
    """The devices this machine really has, `auto` first.

    Lists `cpu`, one `gpu:N` per GPU TensorFlow can see (with its name), and
    `all_gpus` when there are two or more GPUs to mirror the model across.
    """
    tf = import_tensorflow()
    gpus = tf.config.list_physical_devices("GPU")
    auto_target = _gpu_name(tf, gpus[0], 0) if gpus else "CPU"
    options = [DeviceOption("auto", f"Auto ({auto_target})"), DeviceOption("cpu", "CPU")]
    options += [DeviceOption(f"gpu:{i}", f"GPU {i}: {_gpu_name(tf, gpu, i)}") for i, gpu in enumerate(gpus)]
    if len(gpus) > 1:
        options.append(DeviceOption("all_gpus", f"All {len(gpus)} GPUs (MirroredStrategy)"))
    return options


def _logical_names(tf, kind: str) -> list[str]:
    return [device.name for device in tf.config.list_logical_devices(kind)]


def strategy_for(device: str):
    """The `tf.distribute.Strategy` that places training on ``device``.

    Args:
        device: `"auto"` (the first GPU, else the CPU), `"cpu"`, `"gpu:N"`, or
            `"all_gpus"` (every GPU through `MirroredStrategy`; on a machine
            whose CPU has been split into several logical devices and that has
            no GPU, it mirrors across those, which is how the tests run it).

    Returns:
        A pair ``(strategy, label)`` where ``label`` says in words where it runs.

    Raises:
        UserError: for a device this machine does not have.
    """
    import tensorflow as tf

    gpus = _logical_names(tf, "GPU")
    if device == "auto":
        device = "gpu:0" if gpus else "cpu"
    # TensorFlow's default placement already uses the first GPU, or the CPU when
    # there is none; a OneDeviceStrategy there would only add its per-step cost
    # (measured: three times slower on a small network on the CPU).
    if device == "cpu":
        strategy = tf.distribute.OneDeviceStrategy("/cpu:0") if gpus else tf.distribute.get_strategy()
        return strategy, "CPU"
    if device.startswith("gpu:"):
        index = int(device[4:])
        if index >= len(gpus):
            have = f"GPUs 0 to {len(gpus) - 1}" if gpus else "no GPU"
            raise UserError.of("there is no GPU {index} on this machine (it has {have}): choose another device.",
                               index=index, have=have)
        strategy = tf.distribute.get_strategy() if index == 0 else tf.distribute.OneDeviceStrategy(gpus[index])
        return strategy, f"GPU {index}"
    if device == "all_gpus":
        targets = gpus or _logical_names(tf, "CPU")
        if len(targets) < 2 and not gpus:
            raise UserError("'all GPUs' needs at least one GPU, and this machine has none: choose auto or cpu.")
        kind = "GPU" if gpus else "CPU device"
        return tf.distribute.MirroredStrategy(targets), f"{len(targets)} {kind}s mirrored"
    raise UserError.of("unknown device {device}: use auto, cpu, gpu:N or all_gpus.", device=repr(device))
