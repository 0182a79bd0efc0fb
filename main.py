"""LSTM Frequency Extraction Workbench: `python main.py [config.yaml]` opens the window; a subcommand runs headless.

`--version` and `--self-test` work from every entry point, so an installed build can be checked
without a screen.
"""

from __future__ import annotations

import multiprocessing
import sys
from pathlib import Path


def cli_main(argv: list[str] | None = None) -> int:
    """Every headless command; its output piped into a reader that stops early (``| head``) ends it quietly."""
    from cli.commands import quiet_on_closed_pipe

    return quiet_on_closed_pipe(lambda: _command(sys.argv[1:] if argv is None else argv))


def _command(argv: list[str]) -> int:
    if argv[:1] == ["--self-test"]:  # a 2-epoch headless run of the installed build
        from gui.self_test import self_test

        return self_test()
    from cli.commands import main
    from gui.plots.run_graphs import export_graphs, export_report_figures, export_sweep_figures  # Qt only when graphs are written

    return main(argv, export_graphs=export_graphs, report_figures=export_report_figures, sweep_figures=export_sweep_figures)


def gui_main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["--self-test"], ["--version"]):
        return cli_main(argv)
    from gui.app import run_app

    return run_app(argv)


def main(argv: list[str] | None = None) -> int:
    """A subcommand (or a word meant as one) runs headless; nothing, or a config file to open, opens the window."""
    argv = sys.argv[1:] if argv is None else argv
    opens_a_file = bool(argv) and Path(argv[0]).suffix.lower() in (".yaml", ".yml") and Path(argv[0]).is_file()
    if (argv and not argv[0].startswith("-") and not opens_a_file) or argv[:1] in (["--version"], ["-h"], ["--help"]):
        return cli_main(argv)
    return gui_main(argv)


if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen bundle's training child starts through here
    sys.exit(main())
