"""Inside the network: the Layers, Neurons, Weights and Loss-surface views, fed by one training job.

Each view is its own module and knows nothing of jobs; this composer puts
them into the window's chart tabs and hands them what a run reports: each
instruments reading (`models.instruments.readings.InstrumentReading`), every
unit's outputs over the input plane with the epoch reports, and the final
ones with the result. The main window only creates it and tells it when the
data change and when a run starts.
"""

from __future__ import annotations

from PySide6.QtWidgets import QTabWidget

from gui.i18n import tr
from gui.layers_view import LayersView
from gui.loss_surface_view import LossSurfaceView
from gui.neurons_view import NeuronsView
from gui.weights_view import WeightsView


class InsideViews:
    """The four views of what happens inside the network, and the one job they currently follow."""

    def __init__(self, tabs: QTabWidget):
        self.layers = LayersView()
        self.neurons = NeuronsView()
        self.weights = WeightsView()
        self.surface = LossSurfaceView()
        for view, title, tip in (
            (self.layers, tr("Layers"), tr("Gradient norms, update ratios, weight and activation distributions, "
                                           "dead and saturated units, layer by layer")),
            (self.neurons, tr("Neurons"), tr("Every unit's output over the input plane, for data with two inputs")),
            (self.weights, tr("Weights"), tr("Each Dense layer's weight matrix W as a heat map")),
            (self.surface, tr("Loss surface"), tr("Gradient descent on the loss over (w₁, w₂), for a linear "
                                                  "regression with two inputs")),
        ):
            index = tabs.addTab(view, title)
            tabs.setTabToolTip(index, tip)
        self._job = None

    def show_dataset(self, dataset, project) -> None:
        """Follows newly loaded data: what was shown belongs to the previous data, so it goes."""
        self._job = None
        for view in (self.layers, self.neurons, self.weights):
            view.clear()
        for view in (self.neurons, self.weights):
            view.set_dataset(dataset)
        self.surface.set_dataset(dataset, project)
        self.surface.clear()

    def follow_project(self, project, dataset) -> None:
        """An edited network may make the loss surface apply, or stop it applying."""
        if dataset is not None and self._job is None:
            self.surface.set_dataset(dataset, project)

    def start_run(self, job, project, dataset) -> None:
        """Empties every view for a new run on ``dataset`` and follows ``job``'s reports."""
        self.show_dataset(dataset, project)
        self._job = job
        job.instruments_read.connect(lambda reading, job=job: self._reading(job, reading))
        job.epoch_ended.connect(lambda result, job=job: self._units(job, result.unit_outputs))
        job.run_finished.connect(lambda result, job=job: self._units(job, result.unit_outputs))
        job.finished.connect(lambda job=job: self._job_ended(job))

    def _job_ended(self, job) -> None:
        if job is self._job:
            self._job = None

    def redraw_now(self) -> None:
        """Draws what each view holds now instead of at its timer's next tick (for a screenshot)."""
        for view in (self.layers, self.neurons, self.weights, self.surface):
            redraw = getattr(view, "redraw_now", None)
            if redraw is not None:
                redraw()

    def _reading(self, job, reading) -> None:
        if job is not self._job:  # a report of a run the views no longer show
            return
        self.layers.add_reading(reading)
        self.neurons.show_weights(reading)
        self.weights.show_reading(reading)
        self.surface.add_reading(reading)

    def _units(self, job, unit_outputs) -> None:
        if job is self._job and unit_outputs is not None:
            self.neurons.show_units(unit_outputs)
