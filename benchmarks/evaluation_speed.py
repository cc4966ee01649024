"""How long evaluating MNIST-sized test data takes: 10,000 rows of 784 features, 10 classes.

Run ``python benchmarks/evaluation_speed.py [rows]``; it builds an untrained
Dense 784-512-10 softmax model on random inputs and prints the seconds that
predicting the rows and working out everything the Evaluation view shows take:
`evaluate`, the confusion matrix, the per-class report and ``metrics_json``
(the target is under 2 s). `measure_evaluation_s` returns the same figures.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

TARGET_S = 2.0


def measure_evaluation_s(rows: int = 10_000, features: int = 784, classes: int = 10, seed: int = 0) -> dict:
    """Seconds taken by each step of evaluating ``rows`` random rows with an untrained model, and in all."""
    import keras

    from models.evaluation import evaluate

    rng = np.random.default_rng(seed)
    x = rng.random((rows, features), dtype=np.float32)
    y = rng.integers(0, classes, rows)
    train_y = rng.integers(0, classes, rows * 6)
    model = keras.Sequential([keras.Input((features,)), keras.layers.Dense(512, activation="relu"),
                              keras.layers.Dense(classes, activation="softmax")])
    model.predict(x[:256], batch_size=256, verbose=0)  # the first call builds the graph: not part of a run's cost
    names = [str(i) for i in range(classes)]
    times = {}
    start = time.perf_counter()
    outputs = model.predict(x, batch_size=256, verbose=0)
    times["predict"] = time.perf_counter() - start
    mark = time.perf_counter()
    evaluation = evaluate(outputs, y, train_y, "classification", names, "softmax")
    times["evaluate"] = time.perf_counter() - mark
    mark = time.perf_counter()
    evaluation.confusion_matrix()
    evaluation.confusion_matrix(normalize=True)
    times["confusion_matrix"] = time.perf_counter() - mark
    mark = time.perf_counter()
    evaluation.per_class()
    times["per_class"] = time.perf_counter() - mark
    mark = time.perf_counter()
    evaluation.metrics_json()
    evaluation.top_losses(24)
    evaluation.most_confused()
    times["metrics_json"] = time.perf_counter() - mark
    times["total"] = time.perf_counter() - start
    return {key: round(value, 4) for key, value in times.items()}


def main(argv: list[str]) -> int:
    rows = int(argv[0]) if argv else 10_000
    times = measure_evaluation_s(rows)
    print(json.dumps(times))
    verdict = "under" if times["total"] < TARGET_S else "OVER"
    print(f"evaluating {rows:,} rows took {times['total']:.2f} s ({verdict} the {TARGET_S:.0f} s target)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
