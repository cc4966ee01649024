"""Inside the network: the Layers, Neurons, Weights and Loss-surface views, fed by one training job.

Each view is its own module and knows nothing of jobs; this composer puts
them into the window's chart tabs and hands them what a run reports: each
instruments reading (`models.instruments.readings.InstrumentReading`), every
unit's outputs over the input plane with the epoch reports, and the final
ones with the result. The main window only creates it and tells it when the
data change and when a run starts.
"""

from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from gui.i18n import tr
from gui.layers_view import LayersView
from gui.loss_surface_view import LossSurfaceView
from gui.neurons_view import NeuronsView
from gui.weights_view import WeightsView

_TABS = (
    ("layers", LayersView, "Layers", "Gradient norms, update ratios, weight and activation distributions, dead and "
                                     "saturated units, layer by layer"),
    ("neurons", NeuronsView, "Neurons", "Every unit's output over the input plane, for data with two inputs"),
    ("weights", WeightsView, "Weights", "Each Dense layer's weight matrix W as a heat map"),
    ("surface", LossSurfaceView, "Loss surface", "Gradient descent on the loss over (w₁, w₂), for a linear "
                                                 "regression with two inputs"),
)


class InsideViews:
    """The four views of what happens inside the network, and the one job they currently follow.

    The views are built when first needed (the first data set loaded, their
    tab opened, or a view asked for), not with the window: together they
    took 160 ms, which the window's first appearance should not wait for. Until then each
    tab holds an empty page (``layers_page`` …) and the latest data set waits here.
    """

    def __init__(self, tabs: QTabWidget):
        self._views: dict | None = None
        self._data = None  # (dataset, project) to show once the views exist
        self._job = None
        self._pages = {}
        for name, _view, title, tip in _TABS:
            page = QWidget()
            QVBoxLayout(page).setContentsMargins(0, 0, 0, 0)
            self._pages[name] = page
            index = tabs.addTab(page, tr(title))
            tabs.setTabToolTip(index, tr(tip))
        pages = set(self._pages.values())
        tabs.currentChanged.connect(lambda index: tabs.widget(index) in pages and self._build())

    layers = property(lambda self: self._build()["layers"])
    neurons = property(lambda self: self._build()["neurons"])
    weights = property(lambda self: self._build()["weights"])
    surface = property(lambda self: self._build()["surface"])
    layers_page = property(lambda self: self._pages["layers"])
    neurons_page = property(lambda self: self._pages["neurons"])
    weights_page = property(lambda self: self._pages["weights"])
    surface_page = property(lambda self: self._pages["surface"])

    def _build(self) -> dict:
        if self._views is None:
            self._views = {}
            for name, view_class, _title, _tip in _TABS:
                view = self._views[name] = view_class()
                self._pages[name].layout().addWidget(view)
            if self._data is not None:
                self._show(*self._data)
        return self._views

    def show_dataset(self, dataset, project) -> None:
        """Follows newly loaded data: what was shown belongs to the previous data, so it goes.

        The first data set builds the views: after the window has appeared, and
        before a click on Train, where building them stalled the window 160 ms.
        """
        self._job = None
        self._data = (dataset, project)
        if self._views is None:
            self._build()
        else:
            self._show(dataset, project)

    def _show(self, dataset, project) -> None:
        for view in (self.layers, self.neurons, self.weights):
            view.clear()
        for view in (self.neurons, self.weights):
            view.set_dataset(dataset)
        self.surface.set_dataset(dataset, project)
        self.surface.clear()

    def follow_project(self, project, dataset) -> None:
        """An edited network may make the loss surface apply, or stop it applying."""
        if dataset is not None and self._job is None:
            self._data = (dataset, project)
            if self._views is not None:
                self.surface.set_dataset(dataset, project)

    def start_run(self, job, project, dataset, continuing: bool = False) -> None:
        """Empties every view for a new run on ``dataset`` (unless ``continuing`` the run shown) and
        follows ``job``'s reports."""
        self._build()
        if continuing:
            self._data = (dataset, project)
        else:
            self.show_dataset(dataset, project)
        self._job = job
        job.instruments_read.connect(lambda reading, job=job: self._reading(job, reading))
        job.epoch_ended.connect(lambda result, job=job: self._units(job, result.unit_outputs))
        job.batch_progress.connect(lambda progress, job=job: self._units(job, progress.unit_outputs))
        job.run_finished.connect(lambda result, job=job: self._units(job, result.unit_outputs))
        job.finished.connect(lambda job=job: self._job_ended(job))

    def _job_ended(self, job) -> None:
        if job is self._job:
            self._job = None

    def redraw_now(self) -> None:
        """Draws what each view holds now instead of at its timer's next tick (for a screenshot)."""
        for view in (self._views or {}).values():
            for name in ("draw_pending", "redraw_now"):  # what a hidden view kept for its next show, too
                redraw = getattr(view, name, None)
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
