"""The Augmentation tab: a few training rows as the network sees them under data augmentation.

Images: each row's original, then three random draws of the shift, rotation,
zoom and noise the Training tab sets (the same Keras layers the model trains
with). Two-feature sets: the original points, and the jittered copies the
noise makes around them. **Redraw** takes new random draws. The view draws
only while shown and follows every edit of the project.
"""

from __future__ import annotations

import html
import sys

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from gui.charts import TEXT_COLOR, style_axes
from gui.i18n import error_text, tr
from gui.panel import DrawnWhenShown
from models.errors import UserError

DRAWS = 3  # augmented copies shown beside each original
IMAGE_ROWS = 6
POINTS = 60
INK = pg.ColorMap([0.0, 1.0], [(255, 255, 255), (20, 20, 20)])  # 0 (the background) white, ink dark
PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)]


class AugmentationView(DrawnWhenShown, QWidget):
    """Originals and augmented draws of a few training rows.

    Args:
        context: ``() -> (project, dataset)``, what the window would train now.
    """

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.context = context
        self.seed = 0
        self.samples = None
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.redraw_button = QPushButton("↻  " + tr("Redraw"))
        self.redraw_button.setToolTip(tr("Draw new random shifts, turns, zooms and noise for the same rows."))
        self.redraw_button.clicked.connect(self.redraw)
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground("w")
        top = QHBoxLayout()
        top.addWidget(self.note, 1)
        top.addWidget(self.redraw_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.canvas, 1)
        self._timer = QTimer(self, singleShot=True, interval=150)  # edits come in bursts (a spin box held down)
        self._timer.timeout.connect(self.draw)

    @classmethod
    def attach(cls, window) -> AugmentationView:
        """Adds the tab beside the data preview and follows the window's edits and data."""
        view = cls(lambda: (window.project, window.dataset))
        window.bottom_tabs.addTab(view, tr("Augmentation"))
        window.undo_stack.indexChanged.connect(lambda _index: view.refresh_soon())
        window.dataset_ready.connect(lambda _dataset: view.refresh_soon())
        view.refresh_soon()  # drawn when first shown
        return view

    def refresh_soon(self) -> None:
        self._timer.start()

    def redraw(self) -> None:
        self.seed += 1
        self.draw()

    def draw(self) -> None:
        """Draws the samples for the project and data set as they are now (when shown)."""
        if self.later(self.draw):
            return
        from models.augmentation import augmented_samples

        self.canvas.clear()
        self.samples = None
        project, dataset = self.context()
        if dataset is None:
            self._say(tr("The data set is not loaded yet."))
            return
        if not project.augmentation.active:
            self._say(tr("Augmentation is off: set a shift, rotation, zoom or noise in the Training tab's Data "
                         "augmentation group, and the rows the network trains on change a little every batch."))
            return
        if "keras" not in sys.modules:  # importing it here would hold the window for seconds at start-up
            self._say(tr("The preview appears once TensorFlow has loaded."))
            QTimer.singleShot(500, self, self.draw)
            return
        try:
            self.samples = augmented_samples(project, dataset, rows=IMAGE_ROWS if dataset.image_shape else POINTS,
                                             draws=DRAWS, seed=self.seed)
        except UserError as error:
            self._say(error_text(error))
            return
        except Exception as error:  # a bug of ours or Keras's: a sentence, never a crash in a slot
            self._say(tr("The preview could not be drawn ({error}).", error=f"{type(error).__name__}: {error}"))
            return
        if self.samples.image_shape is not None:
            self._say(tr("Each column: a training image, then {draws} random draws of the augmentation as the network "
                         "sees them while it trains. Predictions and exports see the images unchanged.", draws=DRAWS))
            self._draw_images()
        elif dataset.n_features == 2:
            self._say(tr("Rings: training points as they are; dots: {draws} noisy copies of each, as the network "
                         "sees them while it trains.", draws=DRAWS))
            self._draw_points()
        else:
            moved = float(np.mean(np.abs(self.samples.augmented - self.samples.originals[None])))
            self._say(tr("The noise moves each input by {size} on average in its own units; with more than two "
                         "features there is no plane to draw them on.", size=f"{moved:.3g}"))

    def _say(self, text: str) -> None:
        self.note.setText(html.escape(text))

    def _draw_images(self) -> None:
        """A column per training image: the original on top, the random draws below it."""
        samples, (height, width) = self.samples, self.samples.image_shape
        low, high = float(samples.originals.min()), float(samples.originals.max())
        self.canvas.ci.layout.setSpacing(2)
        titles = [tr("original"), *[tr("draw {number}", number=n) for n in range(1, DRAWS + 1)]]
        for row, title in enumerate(titles):
            self.canvas.addLabel(title, row=row, col=0, color=TEXT_COLOR)
        for column, original in enumerate(samples.originals, start=1):
            for row, image in enumerate([original, *samples.augmented[:, column - 1]]):
                box = self.canvas.addViewBox(row=row, col=column, lockAspect=True, enableMouse=False)
                box.invertY(True)
                item = pg.ImageItem(np.asarray(image).reshape(height, width).T, levels=(low, high))
                item.setColorMap(INK)
                box.addItem(item)

    def _draw_points(self) -> None:
        """Each training point as a black ring, its noisy copies as dots in its class's colour around it."""
        samples = self.samples
        plot = self.canvas.addPlot()
        style_axes(plot)
        classes = samples.labels.astype(int) if np.issubdtype(samples.labels.dtype, np.integer) else None
        for draw in samples.augmented:
            brushes = [pg.mkBrush(*PALETTE[label % len(PALETTE)], 170) for label in classes] \
                if classes is not None else pg.mkBrush(31, 119, 180, 170)
            plot.addItem(pg.ScatterPlotItem(draw[:, 0], draw[:, 1], size=5, pen=None, brush=brushes))
        plot.addItem(pg.ScatterPlotItem(samples.originals[:, 0], samples.originals[:, 1], size=8,
                                        pen=pg.mkPen(30, 30, 30, width=1.5), brush=None))
        plot.setLabel("bottom", "x1", color=TEXT_COLOR)
        plot.setLabel("left", "x2", color=TEXT_COLOR)
        plot.autoRange()
