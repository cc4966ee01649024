"""Starting the window: the application, TensorFlow in the background, and screenshot mode."""

from __future__ import annotations

import argparse
import os
import sys
import time

from models.errors import UserError


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="keras-trainer", description="Open the Keras Trainer window.",
        epilog="To train without the window: keras-trainer train --help (also predict, runs, list-datasets, list-devices).")
    parser.add_argument("project_file", nargs="?", help="a project file to open")
    parser.add_argument("--project", help="a project file to open")
    parser.add_argument("--dataset", help="start with this registry data set")
    parser.add_argument("--screenshot", metavar="OUT.png", help="save the window as a PNG and exit (works without a screen)")
    parser.add_argument("--train-epochs", type=int, default=0, metavar="N", help="with --screenshot: train N epochs first")
    parser.add_argument("--view", default="window", choices=SCREENSHOT_VIEWS,
                        help="with --screenshot: draw only this view (default: the whole window)")
    parser.add_argument("--lesson", metavar="ID", default="",
                        help="with --screenshot --view lessons: open this lesson and run its steps in the window first "
                             "(python main.py lessons lists the ids)")
    from cli import add_network_and_training_arguments

    # The same network and training flags as `train`, applied to the project the window opens with.
    project_flags = add_network_and_training_arguments(parser)
    args = parser.parse_args(argv)
    args.project_flags = project_flags
    return args


# What --view names, and how to find that view in the window (None: the whole window).
SCREENSHOT_VIEWS = ("window", "data", "training", "network", "charts", "results", "try", "evaluation", "layers",
                    "neurons", "weights", "surface", "activations", "diagnosis", "stepping", "history", "sweep", "search", "lessons",
                    "augmentation")


# --view NAME → (the tab widget holding it, the tab to bring to the front, the widget to draw).
_TABBED_VIEWS = {
    "data": ("settings_tabs", "data_panel", "settings_tabs"),
    "training": ("settings_tabs", "training_panel", "settings_tabs"),
    "results": ("bottom_tabs", "results_page", "bottom_tabs"),
    "diagnosis": ("bottom_tabs", "results_page", "results_page"),
    "try": ("bottom_tabs", "try_it", "bottom_tabs"),
    "charts": ("chart_tabs", "charts", "charts"),
    "evaluation": ("chart_tabs", "evaluation", "chart_tabs"),
    "layers": ("chart_tabs", "inside.layers_page", "chart_tabs"),
    "neurons": ("chart_tabs", "inside.neurons_page", "chart_tabs"),
    "weights": ("chart_tabs", "inside.weights_page", "chart_tabs"),
    "surface": ("chart_tabs", "inside.surface_page", "chart_tabs"),
    "sweep": ("chart_tabs", "sweep", "chart_tabs"),
    "search": ("chart_tabs", "search", "chart_tabs"),
    "augmentation": ("bottom_tabs", "augmentation_view", "bottom_tabs"),
}


def _view_widget(window, name: str):
    """The widget --view NAME draws, brought to the front of its tabs."""
    from operator import attrgetter

    if name in ("diagnosis", "search", "lessons"):  # more room than the window's first size leaves the tab
        window.resize(max(window.width(), 1400), max(window.height(), 1000))
        window.right_splitter.setSizes([800, 200] if name == "search" else [400, 600])
    if name in _TABBED_VIEWS:
        tabs, tab, drawn = _TABBED_VIEWS[name]
        getattr(window, tabs).setCurrentWidget(attrgetter(tab)(window))
        return getattr(window, drawn)
    if name == "activations":
        return _activation_explorer(window)
    if name == "lessons":
        window.experiments.show_lessons()  # the panel docked beside the charts: the whole window shows both
        return window
    return {"network": window.network_editor}.get(name, window)


def _overlay_newest_runs(window, count: int = 3) -> None:
    """The History tab with the newest runs selected and overlaid on the charts, as a learner compares them."""
    window.bottom_tabs.setCurrentWidget(window.history)
    window.history.refresh()
    window.history.select_runs([record.name for record in window.history.shown_records()[:count]])
    window.history.overlay_selected()


def _run_lesson_steps(app, window, lesson_id: str) -> None:
    """Opens the lesson and runs each of its steps in the window, as a learner presses them, then overlays them."""
    from PySide6.QtCore import QEventLoop

    view = window.experiments.lessons
    ids = [lesson.id for lesson in view.lessons]
    if lesson_id not in ids:
        print(f"note: no lesson named {lesson_id}: python main.py lessons lists them.", file=sys.stderr)
        return
    view.chooser.setCurrentIndex(ids.index(lesson_id) + 1)
    window.experiments.show_lessons()

    def busy() -> bool:
        return (window.job is not None or window.experiments.running or window.data_loading
                or window.experiments.lesson_steps.waiting)

    for step in view.lesson.steps:
        view.train_step(step)
        deadline = time.monotonic() + 1800
        while busy() and time.monotonic() < deadline:
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 100)
    view.overlay_steps()


def _activation_explorer(window):
    """The activation explorer, open on the first hidden Dense layer's activation, as its button opens it."""
    from gui.activation_explorer import ActivationExplorer
    from models.network.spec import DenseLayer

    dense = next((layer for layer in window.project.layers if isinstance(layer, DenseLayer)), DenseLayer())
    explorer = ActivationExplorer(window, activation=dense.activation, negative_slope=dense.negative_slope)
    explorer.show()
    return explorer


def import_tensorflow_and_list_devices():
    """Imports TensorFlow (slow, so off the window's thread) and lists the devices."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # scikit-learn's metrics take about a second to import: here, while the window waits for
    # TensorFlow anyway, rather than in the first run's last moment, where the import holds the
    # interpreter and the window stalls.
    import models.evaluation  # noqa: F401
    from models.training.devices import available_devices

    return available_devices()


def _initial_project(args):
    from models.network.spec import load_project

    path = args.project or args.project_file
    project = load_project(path) if path else None
    if args.dataset:
        from dataclasses import replace

        from datasets.registry import DATASETS
        from gui.main_window import default_project

        if args.dataset not in DATASETS:
            raise UserError(f"unknown data set {args.dataset!r}: choose one of {', '.join(DATASETS)}.")
        project = project or default_project()
        # Only a CSV's task can be chosen; another data set has its own.
        project.dataset = replace(project.dataset, name=args.dataset, task="auto")
        project.name = args.dataset
        project.check_values()
    if any(getattr(args, flag) is not None for flag in args.project_flags):
        from cli import apply_network_and_training_flags
        from gui.main_window import default_project

        project = apply_network_and_training_flags(project or default_project(), args)
        project.check_values()
    if args.train_epochs and not args.screenshot:
        raise UserError("--train-epochs works only with --screenshot.")
    if args.train_epochs:
        from models.network.spec import TrainingSpec

        problem = TrainingSpec.RANGES["epochs"].problem("--train-epochs", args.train_epochs)
        if problem:
            raise UserError(problem)
    return project, path


X11_PACKAGES = "libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxkbcommon-x11-0"


def _debian_package(library: str) -> str:
    """``libxcb-icccm.so.4`` → ``libxcb-icccm4``: Debian's usual name for a library's package."""
    name, _, version = library.partition(".so.")
    version = version.split(".")[0]
    return f"{name}{'-' if name[-1:].isdigit() else ''}{version}"


def _x11_plugin_problem() -> str:
    """The system library Qt's X11 plugin cannot load, or ``""``."""
    import ctypes
    import ctypes.util
    import re
    from pathlib import Path

    if not ctypes.util.find_library("xcb-cursor"):  # loaded at run time, so not a link dependency
        return "libxcb-cursor.so.0"
    from PySide6.QtCore import QLibraryInfo

    plugin = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms" / "libqxcb.so"
    if not plugin.exists():
        return ""
    try:
        ctypes.CDLL(str(plugin))
    except OSError as error:
        found = re.search(r"(lib[\w.+-]+\.so[\w.]*)", str(error))
        return found.group(1) if found and found.group(1) != plugin.name else str(error)
    return ""


def no_screen_problem() -> str:
    """A sentence when there is no screen to open the window on, else ``""``.

    Without one, Qt aborts the whole process (status 134) with a message
    about the X11 plugin, which wrongly suggests a missing library.
    """
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM", "xcb") != "xcb":
        return ""
    advice = ("start it from a desktop session, or use --screenshot OUT.png to draw the window without a screen; "
              "the command line (python main.py train ...) needs no screen.")
    if os.environ.get("WAYLAND_DISPLAY"):
        return ""
    display = os.environ.get("DISPLAY")
    if not display:
        return f"there is no screen to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set): {advice}"
    # Only a local screen is asked: a remote one that does not answer could take a TCP timeout.
    if display.startswith(":") and not _x_server_answers():
        return f"the screen DISPLAY={display} does not answer (is the X server running?): {advice}"
    return ""


def _x_server_answers() -> bool:
    """Whether the X server named by DISPLAY accepts a connection (True when that cannot be asked)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("xcb")
    if not name:
        return True  # missing_system_library names what is missing
    try:
        xcb = ctypes.CDLL(name)
        xcb.xcb_connect.restype = ctypes.c_void_p
        xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
        xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
        xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
        connection = xcb.xcb_connect(None, None)
        failed = xcb.xcb_connection_has_error(connection)
        xcb.xcb_disconnect(connection)
    except (OSError, AttributeError):
        return True
    return not failed


def missing_system_library() -> str:
    """A sentence naming a system library Qt needs on this screen and lacks, else ``""``.

    Qt 6's X11 plugin needs several xcb libraries that a minimal Linux lacks;
    without them Qt aborts the process with a message that does not say
    which one is missing.
    """
    on_x11 = sys.platform.startswith("linux") and os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")
    if not on_x11 or os.environ.get("QT_QPA_PLATFORM", "xcb") != "xcb":
        return ""
    library = _x11_plugin_problem()
    if not library:
        return ""
    return (f"the window needs the system library {library}, which Qt 6 uses on X11: install it "
            f"(Debian/Ubuntu: sudo apt install {_debian_package(library)}, or all of them at once: "
            f"sudo apt install {X11_PACKAGES}) and start again. "
            "The command line (python main.py train ...) works without it.")


def _report_unexpected_errors_in(window) -> None:
    """A bug in a slot becomes a sentence in the window (and a traceback on stderr), never a crash."""
    import traceback

    from gui.i18n import tr

    def hook(kind, error, trace):
        traceback.print_exception(kind, error, trace)
        if issubclass(kind, KeyboardInterrupt):
            window.close()
            return
        window.show_message(tr("Something went wrong inside the program ({error}). Your project is unchanged and "
                               "you can go on working.", error=f"{kind.__name__}: {error}"))

    sys.excepthook = hook


def run_gui(argv: list[str]) -> int:
    """Opens the window; returns the exit status."""
    try:
        args = _parse(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    if args.screenshot and no_screen_problem():  # a picture needs no screen
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    try:
        project, path = _initial_project(args)
    except UserError as error:
        from gui.i18n import error_text

        print(f"error: {error_text(error)}", file=sys.stderr)
        return 2

    missing = no_screen_problem() or missing_system_library()
    if missing:
        print(f"error: {missing}", file=sys.stderr)
        return 2
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from gui.main_window import MainWindow
    from gui.settings import AppSettings
    from gui.worker import FunctionJob
    from resources import resource_path

    _quiet_harmless_qt_messages()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Keras Trainer")
    app.setOrganizationName("Keras Trainer")
    app.setWindowIcon(QIcon(str(resource_path("icon.svg"))))
    settings = AppSettings()
    set_up_language(app, settings)
    window = MainWindow(settings=settings, project=project)
    _report_unexpected_errors_in(window)
    if path:
        window.project_path = path
        window._update_title()
    window.show()
    from PySide6.QtCore import QTimer

    # The first turn of the event loop after show() is when the window is on screen.
    window.window_shown_at = None
    tensorflow = FunctionJob(import_tensorflow_and_list_devices, parent=window)
    tensorflow.succeeded.connect(window.set_devices)
    tensorflow.failed.connect(window.set_tensorflow_failed)

    def after_first_paint():
        # TensorFlow's import holds the GIL for seconds: start it once the window is up.
        window.window_shown_at = time.time()
        window._start_job(tensorflow)

    QTimer.singleShot(0, after_first_paint)
    if os.environ.get("KERAS_TRAINER_STARTUP_REPORT"):
        _report_startup_when_ready(app, window, tensorflow)
    if args.screenshot:
        return _take_screenshot(app, window, args.screenshot, args.train_epochs, args.view, args.lesson)
    return app.exec()


def set_up_language(app, settings) -> str:
    """Chooses the window's language (see `gui.i18n`) and Qt's own words for its dialogs' buttons."""
    from PySide6.QtCore import QLibraryInfo, QLocale, QTranslator

    from gui.i18n import ENGLISH, choose_language, set_language

    code = choose_language(os.environ.get("KERAS_TRAINER_LANGUAGE"), settings.value("language"), QLocale.system().name())
    set_language(code)
    if code != ENGLISH:
        translator = QTranslator(app)
        if translator.load(f"qtbase_{code}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
            app.installTranslator(translator)
    return code


def _report_startup_when_ready(app, window, tensorflow_job) -> None:
    """For the benchmark: prints when the window was shown and TensorFlow ready (wall-clock
    seconds, so the parent process can subtract its own start time), then quits."""
    import json

    def report(*_):
        print(json.dumps({"window_shown_at": window.window_shown_at, "tensorflow_ready_at": time.time()}),
              flush=True)
        window.close()
        app.quit()

    tensorflow_job.succeeded.connect(report)
    tensorflow_job.failed.connect(report)


HARMLESS_QT_MESSAGES = ("This plugin does not support propagateSizeHints()",)


def _quiet_harmless_qt_messages() -> None:
    """Drops Qt's offscreen-platform notices that say nothing to a user; prints the rest."""
    from PySide6.QtCore import qInstallMessageHandler

    def handler(mode, context, message):
        if not message.startswith(HARMLESS_QT_MESSAGES):
            sys.stderr.write(message + "\n")

    qInstallMessageHandler(handler)


def _take_screenshot(app, window, out: str, epochs: int, view: str = "window", lesson: str = "") -> int:
    """Waits for the data (and N epochs of training), then saves the window as a PNG."""
    from PySide6.QtCore import QEventLoop, QTimer

    failures = []
    window.message_shown.connect(failures.append)

    def wait_for(signal, seconds: float) -> None:
        loop = QEventLoop()
        signal.connect(loop.quit)
        window.message_shown.connect(loop.quit)
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    if window.dataset is None:
        wait_for(window.dataset_ready, 120)
    if epochs > 0 and window.dataset is not None:
        window.project.training.epochs = epochs
        window.training_panel.set_project(window.project)
        if window.start_training():
            wait_for(window.training_done, 1800)
    if view == "stepping" and window.dataset is not None:
        window.run_controls.step("batch")  # Run ▸ Step one batch: the run goes on one batch, then waits
        if window.job is not None:
            wait_for(window.job.batch_progress, 120)
    else:
        window.wait_for_jobs()
    if view == "history":
        _overlay_newest_runs(window)
    if view == "lessons" and lesson:
        _run_lesson_steps(app, window, lesson)
    if view == "search" and window.dataset is not None:
        window.chart_tabs.setCurrentWidget(window.search)  # the learning rate and the first layer's width
        window.search.trials_spin.setValue(12)
        if window.search.start():
            wait_for(window.search.running_changed, 1800)
    if view == "sweep" and window.dataset is not None:
        window.chart_tabs.setCurrentWidget(window.sweep)  # the first hidden layer's width, the suggested values
        if window.sweep.start():
            wait_for(window.sweep.running_changed, 1800)
    app.processEvents()
    window.charts.redraw_now()
    widget = _view_widget(window, view)
    app.processEvents()
    window.inside.redraw_now()
    app.processEvents()
    from models.files import atomic_path

    with atomic_path(out) as temporary:
        if not widget.grab().save(str(temporary), "PNG"):
            print(f"error: could not write {out}.", file=sys.stderr)
            return 2
    print(f"saved {out}")
    for message in failures:
        print(f"note: {message}", file=sys.stderr)
    window.close()
    return 0
