"""The headless command line: train, evaluate, export-data. Bad input is one clear line on stderr
and exit status 2, never a traceback. Graph export is handed in by the caller (it needs Qt)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from tqdm import tqdm

from engine import __version__
from engine.analysis.findings import Findings, format_mse
from engine.analysis.report import ReportFigures, write_report
from engine.config.schema import Config, ConfigError, ConfigProblem, apply_overrides, load_config, non_causal_reason
from engine.process.events import GraphExporter
from engine.runs.checkpoint_import import import_checkpoint
from engine.runs.metrics import RunMetrics
from engine.runs.notes import notes_for, read_notes
from engine.runs.repeats import start_repeats, train_repeats
from engine.runs.run import Run, RunError, save_notes
from engine.runs.status import RunStatus
from engine.signals.dataset import export_csv, is_exported_table, load_splits
from engine.sweeps.space import SweepError
from engine.training.checkpoints import CheckpointError, load_checkpoint, model_from_checkpoint
from engine.training.evaluation import evaluate
from engine.training.history import History
from engine.training.model import DeviceError, resolve_device
from engine.training.trainer import TrainingControl

USER_ERRORS = (ConfigError, DeviceError, CheckpointError, RunError, SweepError)
EXIT_BAD_INPUT = 2
EXIT_SIGNAL = {signal.SIGINT: 130, signal.SIGTERM: 143}
EXIT_CLOSED_PIPE = 128 + signal.SIGPIPE  # as a command killed by SIGPIPE reports it to its shell


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse's own errors also exit 2, without usage noise
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lstm-workbench", description="LSTM frequency extraction workbench (headless).")
    parser.add_argument("--version", action="version", version=f"lstm-workbench {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    train = sub.add_parser("train", help="train a model and write a run folder")
    train.add_argument("--config", type=Path, help="YAML config (default: ./config.yaml)")
    train.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")
    train.add_argument("--runs-dir", type=Path, help="folder for run folders (default: training.runs_dir)")
    train.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue a stopped or killed run")
    train.add_argument("--no-graphs", action="store_true", help="skip the PNG export")
    train.add_argument(
        "--repeats",
        type=int,
        default=1,
        metavar="K",
        help="train K model seeds of this configuration (model.seed, model.seed+1, ...), together where the engine can",
    )
    _add_note_arguments(train)
    report = sub.add_parser("report", help="write the configuration-evolution record of runs as markdown with figures")
    report.add_argument("runs", type=Path, nargs="*", metavar="RUN_DIR", help="run folders, in the order of the experiments")
    report.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder for report.md and its PNGs")
    report.add_argument("--no-graphs", action="store_true", help="write report.md without figures")
    imp = sub.add_parser("import", help="turn a plain PyTorch checkpoint (model_state_dict, history) into an evaluated run folder")
    imp.add_argument("checkpoint", type=Path, metavar="CHECKPOINT")
    imp.add_argument("--config", type=Path, required=True, help="the config it was trained with (its data and architecture)")
    imp.add_argument("--runs-dir", type=Path, help="folder for run folders (default: training.runs_dir)")
    imp.add_argument("--note", default="", help="free text kept with the run")
    imp.add_argument("--no-graphs", action="store_true", help="skip the PNG export")
    sw = sub.add_parser("sweep", help="run many experiments on Optuna: a sweep file, or --join a study running elsewhere")
    sw.add_argument("--spec", type=Path, metavar="FILE", help="the sweep file (base, study, parameters, experiments, …)")
    sw.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes on this machine (default: one per core, the fastest measured)",
    )
    sw.add_argument(
        "--storage",
        metavar="URL",
        help="a shared database, e.g. postgresql+psycopg://user:pw@host/db (default: a file in the sweep folder)",
    )
    sw.add_argument("--threads", type=int, help="torch threads per worker (default: the cores shared among the workers)")
    sw.add_argument(
        "--population",
        type=int,
        help="trials a worker may train as one population when they differ only in model.seed, training.learning_rate"
        " and training.clip_grad_norm (default: 4; 1: one at a time)",
    )
    sw.add_argument("--sweeps-dir", type=Path, default=Path("sweeps"), help="folder for sweep folders (default: ./sweeps)")
    sw.add_argument("--join", action="store_true", help="add workers to the study --study in --storage")
    sw.add_argument("--study", help="with --join: the study's name")
    sw.add_argument("--no-graphs", action="store_true", help="skip the sweep's PNG figures")
    note = sub.add_parser("note", help="name, annotate or tag a run folder")
    note.add_argument("run", type=Path, metavar="RUN_DIR")
    _add_note_arguments(note)
    ev = sub.add_parser("evaluate", help="print a checkpoint's metrics as JSON")
    ev.add_argument("--checkpoint", type=Path, required=True)
    ex = sub.add_parser("export-data", help="write the train and test sets as CSV")
    ex.add_argument("--config", type=Path, required=True)
    ex.add_argument("--out", type=Path, required=True)
    return parser


def _add_note_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", help="the run's name (default for a new run: the settings it changes, e.g. 'hidden 256, lr 0.001')")
    parser.add_argument("--note", help="free text: why this run was made, what it tests")
    parser.add_argument("--tag", dest="tags", action="append", metavar="TAG", help="a tag (repeat for more)")


def main(
    argv: Sequence[str] | None = None,
    export_graphs: GraphExporter | None = None,
    report_figures: ReportFigures | None = None,
    sweep_figures: Callable | None = None,
) -> int:
    """Run one command; the exporters (they need Qt) are handed in by the caller, main.py."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "sweep":
            return _sweep(args, None if args.no_graphs else sweep_figures)
        if args.command == "report":
            print(write_report(args.runs, args.out, None if args.no_graphs else report_figures))
            return 0
        if args.command == "train":
            return _train(args, export_graphs)
        if args.command == "evaluate":
            return _evaluate(args)
        if args.command == "export-data":
            return _export_data(args)
        if args.command == "note":
            return _note(args)
        if args.command == "import":
            return _import(args, export_graphs)
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    build_parser().print_help(sys.stderr)
    return EXIT_BAD_INPUT


def quiet_on_closed_pipe(command: Callable[[], int]) -> int:
    """Run ``command``; when the reader of stdout has gone (``| head`` has its lines), end quietly as a
    command killed by SIGPIPE does. stdout is pointed at devnull so the exit's own flush cannot fail again."""
    try:
        try:
            return command()
        finally:  # also after argparse's exit (--version): a pipe is block-buffered, what was printed is written here
            sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_CLOSED_PIPE


def _load(path: Path | None) -> tuple[Config, str | None]:
    path = path or Path("config.yaml")
    config = load_config(path)
    return config, path.read_text(encoding="utf-8")


def _latest_test(history: History) -> str:
    """The latest scored test MSE, with the epoch it was scored at when that was earlier (score_every > 1)."""
    latest = history.latest_test_mse()
    if latest is None:
        return "—"
    epoch, value = latest
    return f"{value:.4g}" if epoch == len(history) else f"{value:.4g} (epoch {epoch})"


def _train(args: argparse.Namespace, export_graphs: GraphExporter | None) -> int:
    """Train one run, or with --repeats K the K seeds of one configuration; the run folders are the last lines printed."""
    runs = _runs_to_train(args)
    control = TrainingControl()
    received: list[int] = []

    def on_signal(signum, _frame) -> None:
        received.append(signum)
        control.request_stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in EXIT_SIGNAL}
    t = runs[0].config.training
    data_dir = Path(runs[0].config.data.data_dir).expanduser().resolve()
    for run in runs:
        print(f"run folder: {run.folder}  data: {data_dir}  device: {run.device}  mode: {t.mode}", file=sys.stderr)
    total, done = sum(r.config.training.num_epochs for r in runs), sum(r.session.epoch for r in runs)
    bar = tqdm(total=total, initial=done, unit="epoch", file=sys.stderr, dynamic_ncols=True)
    try:
        for run, report in train_repeats(runs, control):
            seed = f"seed {run.config.model.seed}  " if len(runs) > 1 else ""
            bar.set_postfix_str(
                f"{seed}loss {report.train_loss:.4g}  test {_latest_test(run.session.history)}  "
                f"{report.epoch_seconds:.2f}s/ep  ETA {report.eta_seconds:.0f}s"
            )
            bar.update(1)
    finally:
        bar.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    for run in runs:
        _conclude(run, None if args.no_graphs else export_graphs)
    for run in runs:
        print(run.folder)
    if received:
        return EXIT_SIGNAL[signal.Signals(received[0])]
    return 1 if any(run.status == RunStatus.DIVERGED for run in runs) else 0


def _runs_to_train(args: argparse.Namespace) -> list[Run]:
    """The run to resume, or the new run folders of the repeats (all made before any training)."""
    if args.resume:
        if args.config or args.overrides or args.repeats != 1:
            problem = ConfigProblem("--resume", "the run's own config is used; allowed: --resume alone (with --runs-dir ignored)")
            raise ConfigError([problem])
        run = Run.resume(args.resume)
        if args.name is not None or args.note is not None or args.tags:
            save_notes(run.folder, read_notes(run.folder).edited(args.name, args.note, args.tags))
        return [run]
    base, template = _load(args.config)
    config = apply_overrides(base, args.overrides)
    source = str(args.config or Path("config.yaml"))
    notes = notes_for(config, base, source, args.name or "", args.note or "", args.tags or ())
    return start_repeats(config, args.repeats, notes, args.runs_dir, template)


def _conclude(run: Run, export_graphs: GraphExporter | None) -> None:
    """Evaluate a run that trained (or was stopped) and say how it did; one a stop left unbegun stays resumable."""
    if run.status == RunStatus.RUNNING:
        print(f"{run.folder}: not begun before the stop; continue it with train --resume {run.folder}", file=sys.stderr)
        return
    metrics = run.finish()
    if run.status == RunStatus.DIVERGED:
        print(f"error: {run.message}", file=sys.stderr)
        return
    _summary(metrics, run.config)
    if export_graphs is not None:
        paths = export_graphs(run.folder, run.config)
        print(f"graphs: {len(paths)} PNG files in {run.folder / 'graphs'}", file=sys.stderr)


def _import(args: argparse.Namespace, export_graphs: GraphExporter | None) -> int:
    config, template = _load(args.config)
    run, metrics = import_checkpoint(args.checkpoint, config, args.runs_dir, template, args.note)
    _summary(metrics, run.config)
    if export_graphs is not None and not args.no_graphs:
        export_graphs(run.folder, run.config)
    print(run.folder)
    return 0


def _sweep(args: argparse.Namespace, figures: Callable | None) -> int:
    """Check everything first (nothing is written for a bad sweep), then run; the folder is the last line."""
    from engine.sweeps.runner import sweep
    from engine.sweeps.space import describe, load_sweep

    if args.join:
        if not args.storage or not args.study or args.spec:
            raise ConfigError([ConfigProblem("--join", "needs --storage URL and --study NAME, and no --spec (the study holds the sweep)")])
        spec, text = None, None
    else:
        if args.spec is None:
            raise ConfigError([ConfigProblem("--spec", "missing; allowed: a sweep file, or --join --storage URL --study NAME")])
        spec = load_sweep(args.spec)
        text = args.spec.read_text(encoding="utf-8")
        print("\n".join(describe(spec)), file=sys.stderr)
    join = args.study if args.join else None
    folder, interrupted, importance = sweep(
        spec, args.sweeps_dir, args.workers, args.storage, join, figures, text, args.threads, args.population
    )
    print(f"trials: {folder / 'trials.csv'}  ranking: {folder / 'ranking.md'}", file=sys.stderr)
    weights = ", ".join(f"{key} {value:.3f}" for key, value in importance.weights.items())
    print(f"parameter importance (fANOVA): {weights}" if weights else importance.note, file=sys.stderr)
    print(folder)
    return EXIT_SIGNAL[signal.SIGINT] if interrupted else 0


def _note(args: argparse.Namespace) -> int:
    """Edit a run's name, note or tags (what is not given is kept); print what it now holds."""
    if not (Path(args.run) / "checkpoints").is_dir():
        raise RunError(f"note: {args.run} is not a run folder; allowed: a folder made by train (it holds checkpoints/)")
    notes = read_notes(args.run).edited(args.name, args.note, args.tags)
    save_notes(args.run, notes)
    print(json.dumps(notes.to_dict(), indent=2))
    return 0


def _extraction_line(found: Findings) -> list[str]:
    shifted = found.extraction
    if shifted is None:
        return []
    return [
        f"extraction ({shifted.draws} test draws starting at random moments, not t = 0): MSE {format_mse(shifted.mse)} "
        f"(known-model estimator {format_mse(shifted.known_model_mse)}); far above the test MSE means the model replays the t = 0 curve"
    ]


def _generalization_line(found: Findings) -> str:
    """The rule holds overall and at every frequency: a FAIL names the widest gap, which may not be the overall one."""
    widest = f", widest {found.widest.gap:.2%} at {found.widest.frequency_hz:g} Hz" if found.widest is not None else ""
    return (
        f"generalization (train vs test draw, gap below {found.threshold:.0%} overall and at every frequency): "
        f"gap {found.gap:.2%}{widest}  {found.rule}"
    )


def _memorisation_line(found: Findings) -> list[str]:
    check = found.memorisation
    if check is None:
        return []
    worst = check.lowest()
    lowest = "" if worst is None else f" (lowest z {worst.z:.2f} at {worst.frequency_hz:g} Hz; memorised below -2)"
    return [f"memorisation ({check.draws} unseen draws): " + ("MEMORISED" if check.memorised else "not memorised") + lowest]


def _quality_line(found: Findings) -> str:
    line = f"quality: MSE train {format_mse(found.train_mse)}  test {format_mse(found.test_mse)}"
    if found.share_of_zero is not None:
        line += f"  ({found.share_of_zero:.1%} of {format_mse(found.zero_output_mse)}, what a model that outputs zeros scores)"
    if found.known_model_mse is not None:
        line += f"; an estimator that knows the signal model scores {format_mse(found.known_model_mse)}"
    return line


def _summary(metrics: RunMetrics, config: Config) -> None:
    """Quality, the generalization rule and the memorisation check, each on its own line; a model that
    sees the future is named a non-causal reference first, so its numbers are not read as an extractor's."""
    found = Findings.of(metrics)
    seconds = metrics.seconds_per_epoch
    best = f"best.pt: epoch {metrics.best_epoch}" if metrics.best_epoch else "no epoch completed: the initial weights"
    lines = [
        *filter(None, [non_causal_reason(config)]),
        f"status {metrics.status}  epochs {metrics.epochs_completed}  {best}  " + ("" if seconds is None else f"{seconds:.3f} s/epoch"),
    ]
    if found is not None:
        per_frequency = "  ".join(f"{c.frequency_hz:g} Hz {format_mse(c.test_mse)}" for c in found.columns[1:])
        lines += [
            _quality_line(found),
            f"per frequency (test): {per_frequency}",
            _generalization_line(found),
            *_extraction_line(found),
            *_memorisation_line(found),
        ]
    print("\n".join(lines), file=sys.stderr)


def _evaluate(args: argparse.Namespace) -> int:
    checkpoint = load_checkpoint(args.checkpoint)
    config, model = model_from_checkpoint(checkpoint, args.checkpoint)
    model.to(resolve_device(config.training.device))
    splits = load_splits(config, Path(config.data.data_dir))
    t = config.training
    result = evaluate(model, splits.train, splits.test, t.mode, t.batch_size, config.evaluation.generalization_threshold)
    print(json.dumps({"mode": t.mode, "epoch": checkpoint.epoch if checkpoint.progress else None, **result.to_dict()}, indent=2))
    return 0


def _export_data(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    splits = load_splits(config, Path(config.data.data_dir))
    for name, signals in (("train", splits.train), ("test", splits.test)):
        path = args.out / f"{name}.csv"
        if path.exists() and not is_exported_table(path):
            raise RunError(f"--out: {path} exists and is not a table this workbench wrote; it was left alone; allowed: a new folder")
        try:
            export_csv(signals, path)
        except OSError as exc:
            raise RunError(f"--out: cannot write {path} ({exc.strerror or exc})") from None
        print(path)
    return 0
