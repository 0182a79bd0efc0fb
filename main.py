"""LSTM Frequency Extraction Workbench: `python main.py` opens the window; a subcommand runs headless."""

from __future__ import annotations

import sys
from pathlib import Path


def export_graphs(folder: Path, config) -> list[Path]:
    from gui.figures import export_run_graphs  # Qt is imported only when graphs are wanted

    return export_run_graphs(folder, config)


def cli_main(argv: list[str] | None = None) -> int:
    from engine.cli import main

    return main(argv, export_graphs=export_graphs)


def gui_main(argv: list[str] | None = None) -> int:
    from gui.app import run_app

    return run_app(argv if argv is not None else sys.argv[1:])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if (argv and not argv[0].startswith("-")) or any(a in ("--version", "-h", "--help") for a in argv[:1]):
        return cli_main(argv)
    return gui_main(argv)


if __name__ == "__main__":
    sys.exit(main())
