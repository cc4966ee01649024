"""The compiled training loop, the model cache, and steering a run: step, pause, train on, resume."""

import gc
import threading
import weakref

import numpy as np
import pytest

from models.errors import UserError
from models.network.spec import BatchNormLayer, DenseLayer, DropoutLayer, ScheduleSpec
from models.training.model_cache import CACHE_SIZE, MODELS, structure_key
from models.training.runner import STOPPED, StopRequest, prepare_arrays, run_training
from tests.test_runner import Recorder, blobs, small_project

WAIT = 120  # seconds a test waits for the training thread at most (a slow shared machine)


@pytest.fixture(autouse=True)
def empty_cache():
    MODELS.clear()
    yield
    MODELS.clear()


def regularised_project(**training):
    """Dropout and batch normalisation: the state a reused model must reset besides its weights."""
    project = small_project(**training)
    project.layers = [DenseLayer(8, "relu"), BatchNormLayer(), DropoutLayer(0.3), DenseLayer(6, "tanh")]
    return project


def test_epoch_order_covers_every_row_once_and_reshuffles_by_epoch():
    from models.training.compiled_loop import epoch_order

    first, second = np.asarray(epoch_order(25, True, 3, 0)), np.asarray(epoch_order(25, True, 3, 1))
    assert sorted(first) == list(range(25)) and sorted(second) == list(range(25))
    assert list(first) != list(second)  # a new order each epoch
    assert list(np.asarray(epoch_order(25, True, 3, 0))) == list(first)  # the same seed and epoch: the same order
    assert list(np.asarray(epoch_order(25, True, 4, 0))) != list(first)
    assert list(np.asarray(epoch_order(25, False, 3, 5))) == list(range(25))


def test_the_compiled_loop_trains_as_keras_fit():
    """Unshuffled, the same model and rows: the loop's history and weights are fit's."""
    import keras

    from models.network.build import build_model, metric_function
    from models.training.compiled_loop import CompiledFunctions, fit_compiled

    project, dataset = regularised_project(epochs=3, shuffle=False), blobs()
    arrays = prepare_arrays(project, dataset)

    def new_model():
        keras.utils.set_random_seed(0)
        return build_model(project, dataset.n_features, dataset.task, dataset.n_classes)

    by_fit = new_model()
    fitted = by_fit.fit(arrays.x_train, arrays.y_train, batch_size=16, epochs=3, shuffle=False, verbose=0,
                        validation_data=(arrays.x_val, arrays.y_val), validation_batch_size=256).history
    by_loop = new_model()
    looped = fit_compiled(CompiledFunctions(by_loop, "accuracy", metric_function(keras, arrays.plan)), arrays.x_train, arrays.y_train, batch_size=16,
                          epochs=3, shuffle=False, seed=0, validation=(arrays.x_val, arrays.y_val),
                          validation_batch_size=256, steps_per_call=3)
    assert set(looped) == set(fitted)
    for key in fitted:
        assert looped[key] == pytest.approx(fitted[key], rel=1e-5), key
    for ours, keras_own in zip(by_loop.get_weights(), by_fit.get_weights(), strict=True):
        np.testing.assert_allclose(ours, keras_own, rtol=1e-5, atol=1e-6)


def test_the_first_validation_runs_untraced_and_gives_the_traced_figures():
    """A new network's first epoch is validated eagerly (no tracing before its first report), the next traced."""
    import keras

    from models.network.build import build_model, metric_function
    from models.training.compiled_loop import CompiledFunctions

    project, dataset = regularised_project(), blobs()
    arrays = prepare_arrays(project, dataset)
    model = build_model(project, dataset.n_features, dataset.task, dataset.n_classes)
    functions = CompiledFunctions(model, "accuracy", metric_function(keras, arrays.plan))
    _, traced = functions._traced(arrays.x_val, arrays.y_val)
    eager = functions.evaluate_soon(arrays.x_val, arrays.y_val, 7)
    assert traced.experimental_get_tracing_count() == 0
    again = functions.evaluate_soon(arrays.x_val, arrays.y_val, 7)
    assert traced.experimental_get_tracing_count() == 1
    assert again == pytest.approx(eager, rel=1e-6)
    keras_own = model.evaluate(arrays.x_val, arrays.y_val, batch_size=7, verbose=0, return_dict=True)
    assert eager["loss"] == pytest.approx(keras_own["loss"], rel=1e-5)
    assert eager["accuracy"] == pytest.approx(keras_own["accuracy"], rel=1e-5)


def test_a_cached_model_trains_exactly_as_a_new_one():
    """The same seed gives the same history whether the model is new or reused after other runs."""
    dataset = blobs()
    first = run_training(regularised_project(seed=1), dataset=dataset)
    other = regularised_project(seed=2)
    other.optimizer.learning_rate = 0.05
    between = run_training(other, dataset=dataset)
    again = run_training(regularised_project(seed=1), dataset=dataset)
    assert again.model is between.model is first.model  # one model, reused
    assert again.history == first.history
    assert between.history != first.history
    assert float(np.asarray(between.model.optimizer.learning_rate)) != 0.05  # reset to this run's rate
    MODELS.clear()
    fresh = run_training(other, dataset=dataset)
    assert fresh.model is not first.model
    assert fresh.history == between.history  # the changed learning rate reached the reused model
    assert fresh.test_metrics == between.test_metrics


def test_the_cache_keeps_a_few_structures_and_lets_the_rest_go():
    dataset = blobs()
    first = run_training(small_project(epochs=1), dataset=dataset)
    gone = weakref.ref(first.model)
    del first
    for width in range(2, 3 + CACHE_SIZE):
        project = small_project(epochs=1)
        project.layers = [DenseLayer(width, "relu")]
        run_training(project, dataset=dataset)
    assert len(MODELS) == CACHE_SIZE
    gc.collect()
    assert gone() is None  # its weights, slots and traced functions are freed


def test_the_structure_key_sees_what_is_traced_and_ignores_what_is_reset():
    dataset = blobs()
    plan = prepare_arrays(small_project(), dataset).plan

    def key(project):
        return structure_key(project, dataset.n_features, plan, 10, "auto")

    base = small_project()
    changed_values = small_project(seed=5, epochs=40)
    changed_values.optimizer.learning_rate = 0.3
    assert key(changed_values) == key(base)
    for change in (lambda p: setattr(p.layers[0], "units", 9), lambda p: setattr(p.layers[0], "activation", "tanh"),
                   lambda p: setattr(p.layers[0], "l2", 0.01), lambda p: setattr(p.optimizer, "name", "sgd")):
        project = small_project()
        change(project)
        assert key(project) != key(base)
    decaying = small_project()
    decaying.schedule = ScheduleSpec(name="exponential_decay")
    faster = small_project()
    faster.schedule = ScheduleSpec(name="exponential_decay")
    faster.optimizer.learning_rate = 0.3
    assert key(decaying) != key(faster)  # a schedule holds its rate as a constant


class PauseWatcher(Recorder):
    """Notes each report and lets the test wait for one that says the run paused."""

    def __init__(self):
        super().__init__()
        self.reported = threading.Condition()

    def on_batch_progress(self, progress):
        super().on_batch_progress(progress)
        with self.reported:
            self.reported.notify_all()

    def on_epoch_ended(self, result):
        super().on_epoch_ended(result)
        with self.reported:
            self.reported.notify_all()

    def wait_for(self, condition):
        with self.reported:
            assert self.reported.wait_for(condition, timeout=WAIT)


def run_in_thread(project, listener, stop, **options):
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(result=run_training(
        project, listener, stop, dataset=blobs(), progress_interval=60.0, **options)))
    thread.start()
    return thread, outcome


def test_a_batch_step_runs_exactly_one_batch_and_then_waits():
    stop, watcher = StopRequest(), PauseWatcher()
    stop.step("batch")
    thread, outcome = run_in_thread(small_project(epochs=2), watcher, stop, probe_x=np.zeros((5, 4), np.float32))
    watcher.wait_for(lambda: watcher.batches)  # the pause sends what it paused at
    paused_at = watcher.batches[-1]
    assert (paused_at.step, paused_at.global_step, len(paused_at.points)) == (1, 1, 1)
    assert paused_at.probe is not None and paused_at.probe.shape[0] == 5  # the boundary can be drawn
    stop.step("batch")
    watcher.wait_for(lambda: watcher.batches[-1].global_step == 2)
    stop.set()
    thread.join(WAIT)
    result = outcome["result"]
    assert result.reason == STOPPED
    assert int(result.model.optimizer.iterations) == 2  # the stop ends the epoch there, as fit does
    assert len(result.history["loss"]) == 1 and result.history["loss"][0] == pytest.approx(
        float(np.mean([loss for _, loss, _ in watcher.batches[0].points + watcher.batches[1].points])), rel=1e-5)


def test_an_epoch_step_runs_exactly_one_epoch_and_then_waits():
    stop, watcher = StopRequest(), PauseWatcher()
    stop.step("epoch")
    thread, outcome = run_in_thread(small_project(epochs=5), watcher, stop)
    watcher.wait_for(lambda: watcher.epochs)
    assert stop.is_paused()
    stop.set()
    thread.join(WAIT)
    result = outcome["result"]
    assert result.epochs_run == 1 and len(result.history["loss"]) == 1
    assert int(result.model.optimizer.iterations) == watcher.info.steps_per_epoch


def test_pausing_and_resuming_changes_nothing():
    class PauseAtFirstEpoch(PauseWatcher):
        def on_epoch_ended(self, result):
            if result.epoch == 1:
                stop.pause()
            super().on_epoch_ended(result)

    uninterrupted = run_training(regularised_project(epochs=3), dataset=blobs())
    stop, watcher = StopRequest(), PauseAtFirstEpoch()
    thread, outcome = run_in_thread(regularised_project(epochs=3), watcher, stop)
    watcher.wait_for(lambda: watcher.epochs)
    stop.resume()
    thread.join(WAIT)
    assert outcome["result"].history == uninterrupted.history


def test_training_on_reaches_the_weights_of_an_uninterrupted_run():
    dataset = blobs()
    whole = run_training(regularised_project(epochs=5), dataset=dataset)
    whole_weights = [np.array(weight) for weight in whole.model.get_weights()]
    first = run_training(regularised_project(epochs=3), dataset=dataset)
    recorder = Recorder()
    more = run_training(regularised_project(epochs=2), recorder, dataset=dataset, continue_from=first.continuation())
    assert recorder.info.initial_epoch == 3 and recorder.info.epochs == 5
    assert [report.epoch for report in recorder.epochs] == [4, 5]  # numbered on from the first run
    assert more.epochs_run == 5 and more.history == whole.history
    for ours, theirs in zip(more.model.get_weights(), whole_weights, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_training_on_a_changed_network_is_refused_with_a_sentence():
    first = run_training(small_project(epochs=1), dataset=blobs())
    wider = small_project(epochs=1)
    wider.layers = [DenseLayer(9, "relu")]
    with pytest.raises(UserError, match="changed since that run"):
        run_training(wider, dataset=blobs(), continue_from=first.continuation())


def test_a_step_or_stop_wakes_a_paused_run_and_bad_units_are_refused():
    stop = StopRequest()
    stop.pause()
    woke = threading.Event()
    waiter = threading.Thread(target=lambda: (stop.wait_while_paused(), woke.set()))
    waiter.start()
    stop.set()
    waiter.join(WAIT)
    assert woke.is_set()
    with pytest.raises(ValueError):
        stop.step("fortnight")




def test_a_one_device_strategy_trains_and_prepares(monkeypatch):
    """On a GPU machine, device "cpu" or "gpu:1" is a OneDeviceStrategy; the loop runs its steps in its replica
    context as fit does (else Keras's optimizer fails in merge_call)."""
    import tensorflow as tf

    from models.training.runner import prepare_ahead

    monkeypatch.setattr("models.training.devices.strategy_for",
                        lambda device: (tf.distribute.OneDeviceStrategy("/cpu:0"), "CPU"))
    assert prepare_ahead(small_project(epochs=2), blobs())
    result = run_training(small_project(epochs=2), dataset=blobs())
    assert len(result.history["loss"]) == 2 and all(np.isfinite(result.history["loss"]))


def test_training_on_an_evicted_model_does_not_leave_its_state_for_new_runs():
    dataset = blobs()
    fresh = run_training(regularised_project(epochs=2), dataset=dataset)
    fresh_history = fresh.history
    MODELS.clear()  # as when three other networks were trained since
    run_training(regularised_project(epochs=1), dataset=dataset, continue_from=fresh.continuation())
    assert len(MODELS) == 0  # a trained optimizer's state is no new model's
    again = run_training(regularised_project(epochs=2), dataset=dataset)
    assert again.history == fresh_history
    assert int(again.model.optimizer.iterations) == 2 * 8  # 128 rows fitted (20 % validate), batches of 16


def test_training_on_takes_a_new_learning_rate_and_keeps_a_decaying_schedule():
    dataset = blobs()
    first = run_training(small_project(epochs=2), dataset=dataset)
    slower = small_project(epochs=1)
    slower.optimizer.learning_rate = 0.0001
    more = run_training(slower, dataset=dataset, continue_from=first.continuation())
    assert float(np.asarray(more.model.optimizer.learning_rate)) == pytest.approx(0.0001)
    decaying = small_project(epochs=2)
    decaying.schedule = ScheduleSpec(name="cosine_decay", decay_epochs=0)  # its length is the run's epochs
    first = run_training(decaying, dataset=dataset)
    decaying.training.epochs = 3
    assert run_training(decaying, dataset=dataset, continue_from=first.continuation()).epochs_run == 5


def test_a_run_stopped_before_training_on_keeps_the_earlier_history():
    dataset = blobs()
    first = run_training(small_project(epochs=2), dataset=dataset)
    stop = StopRequest()
    stop.set()
    more = run_training(small_project(epochs=3), stop=stop, dataset=dataset, continue_from=first.continuation())
    assert more.history == first.history


def test_batch_points_keep_a_nan_loss_as_nan():
    from models.training.progress import _at_least_0

    assert _at_least_0(-1e-9) == 0.0 and _at_least_0(0.5) == 0.5
    assert np.isnan(_at_least_0(float("nan"))) and _at_least_0(float("inf")) == float("inf")


def test_resume_from_a_run_folder_reaches_the_uninterrupted_weights(tmp_path, capsys):
    import keras

    from cli import run_cli

    common = ["train", "--quiet", "--no-diagnosis", "--dataset", "moons", "--samples", "200", "--hidden", "8"]
    assert run_cli([*common, "--epochs", "3", "--out", str(tmp_path / "a")]) == 0
    assert run_cli(["train", "--quiet", "--no-diagnosis", "--resume", str(tmp_path / "a"), "--epochs", "2",
                    "--out", str(tmp_path / "b")]) == 0
    assert run_cli([*common, "--epochs", "5", "--out", str(tmp_path / "c")]) == 0
    resumed = keras.saving.load_model(tmp_path / "b" / "model.keras")
    whole = keras.saving.load_model(tmp_path / "c" / "model.keras")
    for ours, theirs in zip(resumed.get_weights(), whole.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert (tmp_path / "b" / "history.csv").read_text() == (tmp_path / "c" / "history.csv").read_text()
    assert '"epochs": 5' in (tmp_path / "b" / "project.json").read_text()  # trained afresh, it reaches the same


def test_resume_refuses_what_it_cannot_change_and_damaged_folders_in_a_sentence(tmp_path, capsys):
    import shutil

    from cli import EXIT_BAD_INPUT, run_cli

    def error(*args) -> str:
        assert run_cli(["train", "--quiet", "--no-diagnosis", *args]) == EXIT_BAD_INPUT
        return capsys.readouterr().err.strip().splitlines()[-1]

    base = ["--dataset", "moons", "--samples", "200", "--epochs", "1"]
    assert run_cli(["train", "--quiet", "--no-diagnosis", *base, "--hidden", "8", "--out", str(tmp_path / "a")]) == 0
    assert run_cli(["train", "--quiet", "--no-diagnosis", *base, "--hidden", "4", "--out", str(tmp_path / "b")]) == 0
    assert "--hidden cannot change it" in error("--resume", str(tmp_path / "a"), "--hidden", "16")
    assert "no run folder at" in error("--resume", str(tmp_path / "nowhere"))
    shutil.copy(tmp_path / "b" / "model.keras", tmp_path / "a" / "model.keras")  # another run's model
    assert "not the network its project describes" in error("--resume", str(tmp_path / "a"))
    (tmp_path / "b" / "history.csv").write_text("epoch,loss\n1,0.5\n\nx,y\n")
    assert "is not a history row" in error("--resume", str(tmp_path / "b"))
    (tmp_path / "b" / "model.keras").write_bytes(b"not a zip")
    (tmp_path / "b" / "history.csv").write_text("epoch,loss\n1,0.5\n")
    assert "cannot be loaded as a Keras model" in error("--resume", str(tmp_path / "b"))
