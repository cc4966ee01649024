"""Built and traced models kept between runs, keyed on the network's structure (`ModelCache`).

Building a model and tracing its training, validation and test functions
took 1.5–2.5 s before every run of the default spiral project, though a
learner who changes the learning rate, the seed or the number of epochs
trains the very same graph. A run whose structure the process has trained
before takes the model back from here, gives it the weights and optimizer
state a new model would start from (`reset_for_run`) and trains at once.

What is traced into the graph (layer sizes, activations, regularisation and
dropout rates, the loss, the optimizer's constants, a decaying schedule, the
input and target scaling) is in the key; what lives in variables (the
weights, the optimizer's slots, a constant learning rate, dropout's random
state) is reset instead.

A model taken from the cache is out of it until the run puts it back, so two
runs never share one. The model a run returns stays the cached one: a later
run of the same structure retrains it in place.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from models.network.build import OutputPlan, metric_function, reset_weights
from models.network.spec import Project, project_to_dict
from models.training.compiled_loop import CompiledFunctions

# Models kept at most: each holds its weights, optimizer slots and traces (a few MB for small networks).
CACHE_SIZE = 3
DECAYING_SCHEDULES = ("exponential_decay", "cosine_decay")


@dataclass
class PreparedModel:
    """A built, compiled model with its optimizer built and its compiled functions."""

    key: str
    model: object
    functions: CompiledFunctions
    optimizer_start: list[np.ndarray]  # the optimizer's variables as built (slots, step count)
    # A model trained elsewhere (loaded from a run folder, or a run's evicted from here): its optimizer
    # state is not a new model's, so it is not kept for new runs.
    reusable: bool = True


def structure_key(project: Project, n_features: int, plan: OutputPlan, steps_per_epoch: int, jit_compile,
                  target_scale=None, input_scale=None) -> str:
    """What a model's traced functions depend on, as one string: equal keys can share a model."""
    described = project_to_dict(project)
    optimizer = dict(described["optimizer"])
    schedule = described.get("schedule", {})
    decays = schedule.get("name") in DECAYING_SCHEDULES
    if not decays:  # a constant learning rate is a variable, reset before each run
        optimizer.pop("learning_rate", None)
    return json.dumps({
        "layers": described["layers"], "augmentation": described.get("augmentation"),
        "output": described.get("output"), "optimizer": optimizer,
        "schedule": schedule if decays else None, "steps_per_epoch": steps_per_epoch if decays else None,
        "epochs": project.training.epochs if decays and not schedule.get("decay_epochs") else None,
        "features": n_features, "plan": [plan.units, plan.activation, plan.loss, plan.metric, plan.target],
        "device": project.training.device,  # where the variables live
        "jit_compile": str(jit_compile), "target_scale": _rounded(target_scale), "input_scale": _rounded(input_scale),
    }, sort_keys=True, default=str)


def same_network(key: str, other: str) -> bool:
    """Whether a run of ``key`` can train on a model of ``other``: the same structure, whatever number of
    epochs each was asked for (training on keeps the model's own schedule)."""
    def without_epochs(text: str) -> dict:
        described = json.loads(text)
        described.pop("epochs", None)
        return described

    return without_epochs(key) == without_epochs(other)


def _rounded(scale):
    if scale is None:
        return None
    return [np.asarray(part, dtype=np.float64).round(12).tolist() for part in scale]


def prepare(model, plan: OutputPlan, key: str, reusable: bool = True) -> PreparedModel:
    """Wraps a model whose optimizer is built; a freshly built one (``reusable``) gives the optimizer's
    starting state."""
    import keras

    return PreparedModel(key, model, CompiledFunctions(model, plan.metric, metric_function(keras, plan)),
                         [np.array(variable) for variable in model.optimizer.variables], reusable)


def reset_for_run(prepared: PreparedModel, project: Project, n_features: int, plan: OutputPlan, target_scale=None,
                  input_scale=None) -> None:
    """Starts a cached model afresh for ``project``: its seed's first weights, the optimizer as built, its learning rate."""
    model = prepared.model
    reset_weights(model, project, n_features, plan, target_scale, input_scale)
    for variable, value in zip(model.optimizer.variables, prepared.optimizer_start, strict=True):
        variable.assign(value)
    if project.schedule.name not in DECAYING_SCHEDULES:
        model.optimizer.learning_rate = project.optimizer.learning_rate
    model.stop_training = False


# How long a run waits for a model another thread is preparing under the same key, in seconds.
PREPARING_WAIT_S = 60.0


class ModelCache:
    """The few most recently trained models, by `structure_key`; safe to use from any thread.

    A model being prepared ahead of a run (`reserve`, then `keep`) is waited
    for by a run that asks for it meanwhile, instead of being built twice.
    """

    def __init__(self, size: int = CACHE_SIZE):
        self.size = size
        self._models: OrderedDict[str, PreparedModel] = OrderedDict()
        self._preparing: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def reserve(self, key: str) -> bool:
        """Claims ``key`` for preparing a model; `False` when one is kept or being prepared already."""
        with self._lock:
            if key in self._models or key in self._preparing:
                return False
            self._preparing[key] = threading.Event()
            return True

    def release(self, key: str) -> None:
        """Ends a claim by `reserve` (the model is kept, or preparing it failed)."""
        with self._lock:
            ready = self._preparing.pop(key, None)
        if ready is not None:
            ready.set()

    def take(self, key: str) -> PreparedModel | None:
        """The model kept under ``key``, taken out until `keep` puts it back; `None` when there is none.
        Waits while another thread prepares it."""
        with self._lock:
            preparing = self._preparing.get(key)
        if preparing is not None:
            preparing.wait(PREPARING_WAIT_S)
        with self._lock:
            return self._models.pop(key, None)

    def keep(self, prepared: PreparedModel) -> None:
        """Puts a model (back) in, dropping the least recently kept beyond `size`; one that is not
        ``reusable`` only ends a claim on its key."""
        if not prepared.reusable:
            self.release(prepared.key)
            return
        with self._lock:
            self._models[prepared.key] = prepared
            self._models.move_to_end(prepared.key)
            while len(self._models) > self.size:
                self._models.popitem(last=False)
        self.release(prepared.key)

    def forget(self, model) -> None:
        """Drops ``model`` if it is kept: it is in use elsewhere (a window shows and exports it) and must
        not be handed to another run, which would reset its weights."""
        with self._lock:
            for key, prepared in list(self._models.items()):
                if prepared.model is model:
                    del self._models[key]

    def clear(self) -> None:
        with self._lock:
            self._models.clear()

    def __len__(self) -> int:
        return len(self._models)


MODELS = ModelCache()
