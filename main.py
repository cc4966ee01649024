"""Keras Trainer: ``python main.py`` opens the window; ``python main.py train ...`` trains from the command line."""

from __future__ import annotations

import sys

CLI_COMMANDS = ("train", "predict", "search", "sweep", "runs", "lessons", "list-datasets", "list-devices")


def main(argv: list[str] | None = None) -> int:
    """Starts the window, or the command line when the first argument is one of its commands."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in CLI_COMMANDS:
        from cli import run_cli

        return run_cli(argv)
    from gui.app import run_gui

    return run_gui(argv)


if __name__ == "__main__":
    sys.exit(main())
