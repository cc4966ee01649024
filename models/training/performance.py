"""How fast this machine multiplies matrices, and how many batches to run per call.

Keras calls back into Python after every "execution". Running several
batches per execution (``steps_per_execution``) removes that per-batch Python
cost, but a stop request and a progress report can only happen between
executions. So we size an execution to a human interval: about 100 ms of work,
estimated from the network's floating-point operations and this machine's
measured matrix-multiply speed.
"""

from __future__ import annotations

import functools
import time

TARGET_EXECUTION_SECONDS = 0.1
# A call's batches run in a loop inside the graph (models.training.compiled_loop), which returns every
# batch's loss, so the per-batch curve keeps its points however many a call holds: an epoch of the
# default spiral (24 batches of 16) is one call. The cap bounds a call where the estimate is off.
MAX_STEPS_PER_EXECUTION = 1024
# Each batch costs this much beside its arithmetic (gathering the rows, the optimizer's bookkeeping),
# measured on a 2-core CPU for 3×Dense(64) at batch 16: about 0.3 ms a step inside the graph.
STEP_OVERHEAD_SECONDS = 0.0003
# A Keras Dense training step runs at roughly this share of the speed that
# `machine_matmul_flops` measures (512×512 products): measured on a 2-core CPU,
# 784-512-10 at batch 128 took 2.2 ms a step, about 1.0 of it.
EXPECTED_EFFICIENCY = 1.0


def dense_training_flops_per_sample(weights_per_layer: list[int]) -> float:
    """FLOPs to train on one sample: forward 2·w, backward twice that, for each weight matrix."""
    return float(sum(6 * weights for weights in weights_per_layer))


def project_kernel_sizes(project, n_features: int, output_units: int) -> list[int]:
    """The number of weights in each Dense kernel a project describes, output layer included."""
    from models.network.spec import DenseLayer

    sizes, width = [], n_features
    for layer in project.layers:
        if isinstance(layer, DenseLayer):
            sizes.append(width * layer.units)
            width = layer.units
    sizes.append(width * output_units)
    return sizes


def model_training_flops_per_sample(model) -> float:
    """`dense_training_flops_per_sample` for a built Keras model's Dense kernels."""
    kernels = [int(layer.kernel.shape[0]) * int(layer.kernel.shape[1])
               for layer in model.layers if hasattr(layer, "kernel") and len(layer.kernel.shape) == 2]
    return dense_training_flops_per_sample(kernels)


def measure_matmul_flops(size: int = 1024, repeats: int = 10) -> float:
    """FLOP/s of a float32 square matrix multiply on TensorFlow's default device, best of a few."""
    from models.training.devices import import_tensorflow

    tf = import_tensorflow()
    a = tf.random.stateless_normal((size, size), seed=(1, 2))
    b = tf.random.stateless_normal((size, size), seed=(3, 4))
    multiply = tf.function(lambda a, b: tf.matmul(a, b))
    multiply(a, b).numpy()  # trace and warm up
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        multiply(a, b).numpy()
        best = min(best, time.perf_counter() - started)
    return 2.0 * size**3 / best


@functools.lru_cache(maxsize=1)
def machine_matmul_flops() -> float:
    """`measure_matmul_flops`, measured once per process (about 0.1 s)."""
    return measure_matmul_flops(size=512, repeats=5)


def choose_steps_per_execution(flops_per_batch: float, steps_per_epoch: int, flops_per_second: float) -> int:
    """Batches per execution so that one execution takes about `TARGET_EXECUTION_SECONDS`.

    Args:
        flops_per_batch: training FLOPs of one batch.
        steps_per_epoch: batches in an epoch, the most a call runs.
        flops_per_second: the machine's matmul speed.
    """
    seconds_per_step = flops_per_batch / max(flops_per_second * EXPECTED_EFFICIENCY, 1.0) + STEP_OVERHEAD_SECONDS
    steps = int(TARGET_EXECUTION_SECONDS / seconds_per_step)
    return max(1, min(steps, MAX_STEPS_PER_EXECUTION, steps_per_epoch))
