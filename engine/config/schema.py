"""The experiment's settings: a typed schema with defaults, YAML load/validate/save.

Every key has a default that reproduces the reference experiment (config.yaml, interleaved traversal),
so a file written before most keys existed loads unchanged. Validation reports every problem at once,
each message naming the key, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import difflib
import io
import itertools
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML, CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from engine.storage.files import atomic_write_text, system_folder

MODES = ("interleaved", "streams")
DEVICES = ("auto", "cpu", "cuda", "mps")
LR_SCHEDULES = ("constant", "cosine", "step", "plateau")
SELECTIONS = ("train_loss", "validation")
TRAINING_NOISE = ("fixed", "fresh")
CELLS = ("lstm", "gru")
NON_CAUSAL = "non-causal reference (sees the future)"


@dataclass(frozen=True)
class ConfigProblem:
    """One invalid setting: the key it concerns (``section.key``, a section, or the file) and why."""

    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


class ConfigError(ValueError):
    """One or more invalid settings; ``problems`` holds one (key, message) pair per problem."""

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = list(problems)
        super().__init__("\n".join(self.messages))

    @property
    def messages(self) -> list[str]:
        """One line per problem, each starting with its key."""
        return [str(p) for p in self.problems]


def _f(default: Any, help: str, **limits: Any) -> Any:
    """A schema field: its default, a one-line help text, its limits (min, max, choices) and what a
    front end shows for it (label: its name in words; unit; mode: the one training mode that reads it; superseded)."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": help, **limits})
    return field(default=default, metadata={"help": help, **limits})


@dataclass
class DataConfig:
    frequencies: list[float] = _f(
        [1.0, 3.0, 5.0, 7.0], "Frequencies (Hz) mixed into S; one one-hot selector each.", label="Frequencies", min=0.0, unit="Hz"
    )
    sampling_rate: int = _f(
        1000, "Samples per second (Hz); frequencies must stay below half of it.", label="Sampling rate", min=1, max=1_000_000, unit="Hz"
    )
    duration: float = _f(
        10.0, "Signal length in seconds; n = sampling_rate x duration samples.", label="Signal duration", min=0.001, max=3600.0, unit="s"
    )
    train_seed: int = _f(1, "Noise seed of the training set.", label="Training noise seed", min=0, max=2**32 - 1)
    test_seed: int = _f(2, "Noise seed of the test set (same frequencies, other noise).", label="Test noise seed", min=0, max=2**32 - 1)
    validation_seed: int = _f(
        3, "Noise seed of the validation set used to pick the best checkpoint.", label="Validation noise seed", min=0, max=2**32 - 1
    )
    phase_multiplier: float = _f(
        0.01,
        "Phase noise is drawn from U(0, multiplier x 2pi) per sample. 0.01 (up to 3.6 deg of jitter) is the reference "
        "experiment's deliberate choice; 1.0 is a full 2pi, which leaves no trace of the phase in S.",
        label="Phase noise scale",
        min=0.0,
        max=1.0,
    )
    amp_min: float = _f(
        0.8, "Lower bound of the per-sample amplitude noise A ~ U(amp_min, amp_max).", label="Lowest amplitude", min=0.0, max=100.0
    )
    amp_max: float = _f(1.2, "Upper bound of the per-sample amplitude noise.", label="Highest amplitude", min=0.0, max=100.0)
    start_time: str = _f(
        "zero",
        "When the training and validation recordings start: zero (every recording at t = 0, as in the reference method) "
        "or random (each draw at its own random moment, so a model must extract the sines, not replay one curve). The test "
        "set always starts at 0.",
        label="Recording start",
        choices=("zero", "random"),
    )
    data_dir: str = _f("data", "Folder that caches generated data sets (keyed by the data settings).", label="Data cache folder")


@dataclass
class ModelConfig:
    input_size: int = _f(
        5, "Network input: S(t) plus the one-hot selector, so 1 + number of frequencies.", label="Input size", min=2, max=1025
    )
    hidden_size: int = _f(128, "LSTM hidden units per layer.", label="Hidden units", min=1, max=4096)
    num_layers: int = _f(1, "Stacked LSTM layers. L=1 means sequence length 1 and does not limit this.", label="LSTM layers", min=1, max=8)
    dropout: float = _f(
        0.0, "Dropout between stacked LSTM layers (used only when num_layers > 1).", label="Dropout between layers", min=0.0, max=0.9
    )
    cell: str = _f(
        "lstm",
        "Recurrent cell: lstm (four gates, state h and c; interleaved mode trains it on a hand-written fast path) or gru "
        "(three gates, state h only; interleaved mode trains it step by step with autograd, one seed at a time).",
        label="Recurrent cell",
        choices=CELLS,
    )
    attention_window: int = _f(
        0,
        "Attention over each sequence's last K top-layer states, the current one included: the current state queries them "
        "(scaled dot product, one head) and the head reads the state beside their weighted mean. The K - 1 earlier states "
        "are carried with the recurrent state, so an output still sees only its inputs so far. 0: off.",
        label="Attention window",
        min=0,
        max=1024,
        unit="steps",
    )
    bidirectional: bool = _f(
        False,
        "streams: read each TBPTT window of a sequence forwards (state carried) and backwards (from the window's end), "
        "in training and evaluation alike, so every output sees up to tbptt_steps samples of the future: a non-causal "
        "reference, labelled as such, never an extractor.",
        label="Bidirectional (sees the future)",
        mode="streams",
    )
    seed: int = _f(0, "Seed of the weight initialisation and of any training randomness.", label="Weight seed", min=0, max=2**32 - 1)

    @property
    def is_causal(self) -> bool:
        """Whether each output depends only on inputs up to its own step (a bidirectional cell reads ahead)."""
        return not self.bidirectional


@dataclass
class TrainingConfig:
    mode: str = _f(
        "interleaved",
        "interleaved: the reference method (rows in order, batch position j carries its own state, "
        "TBPTT of 1 step). streams: each frequency's sequence in time, cut into segments, TBPTT of tbptt_steps.",
        label="Training mode",
        choices=MODES,
    )
    learning_rate: float = _f(0.0001, "Adam learning rate.", label="Learning rate", min=1e-9, max=100.0)
    lr_schedule: str = _f(
        "constant",
        "Learning-rate schedule after any warm-up: constant; cosine (decays to 0 over the remaining epochs); step "
        "(multiplied by the step factor after each milestone epoch); plateau (multiplied by the plateau factor once the "
        "validation MSE has not improved for more than the plateau patience, in scored epochs).",
        label="Learning-rate schedule",
        choices=LR_SCHEDULES,
    )
    lr_warmup_epochs: int = _f(
        0,
        "Epochs the rate rises linearly before the schedule starts: epoch k of W trains at k/(W+1) of the learning rate (0: no warm-up).",
        label="Warm-up",
        min=0,
        max=1_000_000,
        unit="epochs",
    )
    lr_milestones: list[int] = _f(
        [],
        "step schedule: the epochs after which the rate is multiplied by the step factor, in increasing order "
        "(e.g. [50, 80]: epochs 51 and 81 start the lower rates).",
        label="Step milestones",
        min=0,
        whole=True,
        unit="epochs",
    )
    lr_gamma: float = _f(0.1, "step schedule: what each milestone multiplies the rate by.", label="Step factor", min=1e-6, max=1.0)
    lr_patience: int = _f(
        10,
        "plateau schedule: scored epochs without a lower validation MSE that the rate waits through; the next one "
        "without improvement lowers it (as torch's ReduceLROnPlateau).",
        label="Plateau patience",
        min=0,
        max=1_000_000,
        unit="scored epochs",
    )
    lr_factor: float = _f(0.1, "plateau schedule: what each reduction multiplies the rate by.", label="Plateau factor", min=1e-6, max=1.0)
    lr_min: float = _f(0.0, "plateau schedule: the lowest rate a reduction goes to.", label="Lowest learning rate", min=0.0, max=100.0)
    num_epochs: int = _f(100, "Passes over the training set.", label="Epochs", min=1, max=1_000_000)
    batch_size: int = _f(
        32,
        "interleaved: consecutive rows per optimizer step, each position a sequence with its own state (L=1).",
        label="Batch size",
        min=1,
        max=65536,
        mode="interleaved",
    )
    tbptt_steps: int = _f(
        50,
        "streams: samples fed (one per step, state carried) between gradient cuts.",
        label="Truncated BPTT length",
        min=1,
        max=100000,
        unit="samples",
        mode="streams",
    )
    segments: int = _f(
        1,
        "streams: contiguous segments each frequency's sequence is cut into, run side by side.",
        label="Segments per sequence",
        min=1,
        max=10000,
        mode="streams",
    )
    clip_grad_norm: float = _f(
        1.0, "Gradient-norm clipping threshold (0 turns clipping off).", label="Gradient clipping norm", min=0.0, max=1e6
    )
    input_noise: float = _f(
        0.0,
        "streams: std of Gaussian noise added to S while training, drawn afresh each epoch, so the model cannot "
        "memorise the training set's own noise (0: off, as in the reference method).",
        label="Input noise",
        min=0.0,
        max=10.0,
        mode="streams",
    )
    training_noise: str = _f(
        "fixed",
        "fixed: every epoch trains on the one set drawn with train_seed (as in the reference method). fresh: each epoch "
        "after the first trains on a new draw of the same noise, so no single draw can be learned by heart.",
        label="Training noise",
        choices=TRAINING_NOISE,
    )
    draws_per_epoch: int = _f(
        1,
        "streams with training_noise fresh: independent noise draws trained side by side each epoch, so each "
        "optimizer step sees more sequences (with start_time random: more starts to lock on to).",
        label="Noise draws per epoch",
        min=1,
        max=256,
        mode="streams",
    )
    time_budget_s: float = _f(
        0.0,
        "Stop training after this many seconds of training, pauses excluded (0: no budget).",
        label="Time budget",
        min=0.0,
        max=1e7,
        unit="s",
    )
    score_every: int = _f(
        1,
        "Score the frozen weights on the validation and test sets every this many epochs (and always at the first and "
        "the last): best.pt is picked among the scored epochs. 1 scores every epoch; a larger interval leaves more of a "
        "short run's time to training.",
        label="Scoring interval",
        min=1,
        max=1_000_000,
        unit="epochs",
    )
    patience: int = _f(
        0,
        "Stop training after this many scored epochs (see the scoring interval) without a better validation MSE; "
        "best.pt stays the best scored epoch (0: off, train every epoch).",
        label="Patience",
        min=0,
        max=1_000_000,
        unit="scored epochs",
    )
    selection: str = _f(
        "validation",
        "What picks best.pt: validation (lowest MSE of the frozen weights on a set with its own noise seed) or "
        "train_loss (the lowest training loss, the reference method's pick; the loss is measured while the weights move). "
        "The test set never chooses.",
        label="Best checkpoint chosen by",
        choices=SELECTIONS,
    )
    device: str = _f("auto", "auto: CUDA, else Apple MPS, else CPU; or name one.", label="Device", choices=DEVICES)
    num_threads: int = _f(
        0,
        "CPU threads for torch (0: automatic; in interleaved mode on a CPU each epoch runs on all cores or on one,"
        " whichever the latest epochs showed faster; a fixed count gives bit-identical runs).",
        label="CPU threads",
        min=0,
        max=1024,
    )
    save_dir: str = _f(
        "models",
        "Accepted in older files; superseded: checkpoints now live in each run folder (RUN/checkpoints).",
        label="Checkpoint folder",
        superseded=True,
    )
    runs_dir: str = _f("runs", "Folder that holds one sub-folder per run.", label="Runs folder")


@dataclass
class EvaluationConfig:
    generalization_threshold: float = _f(
        0.1,
        "A run passes when |MSE_test - MSE_train| / MSE_train is below this, overall and per frequency.",
        label="Generalization threshold",
        min=0.0,
        max=100.0,
    )
    unseen_draws: int = _f(
        8,
        "Memorisation check: best.pt is also scored on this many further noise draws it never saw; a frequency whose "
        "train MSE is more than 2 standard deviations below theirs is memorised.",
        label="Unseen noise draws",
        min=2,
        max=256,
    )
    shifted_starts: int = _f(
        8,
        "Extraction check: best.pt is also scored on this many test draws whose recording starts at a random moment "
        "(not t = 0), so a model that replays the one curve the targets always are cannot score well; 0 turns it off.",
        label="Shifted-start draws",
        min=0,
        max=256,
    )


@dataclass
class VisualizationConfig:
    comparison_freq_idx: int = _f(1, "Index (0-based) of the frequency shown in Graph 1.", label="Graph 1 frequency", min=0, max=1024)
    time_window: int = _f(1000, "Samples shown in Graphs 1 and 2.", label="Samples shown", min=2, max=10_000_000, unit="samples")
    dpi: int = _f(
        300,
        "Resolution of exported PNGs: an image of w x h inches is w*dpi x h*dpi pixels.",
        label="Export resolution",
        min=50,
        max=1200,
        unit="dpi",
    )
    output_dir: str = _f(
        "outputs/graphs",
        "Accepted in older files; superseded: graphs now live in each run folder (RUN/graphs).",
        label="Graph folder",
        superseded=True,
    )


@dataclass
class PathsConfig:
    """Output paths of older config files; accepted, and superseded by the run folder (docs/user-guide.md)."""

    train_data: str = _f("data/train_data.npy", "Superseded: data sets are cached in data_dir.")
    test_data: str = _f("data/test_data.npy", "Superseded: data sets are cached in data_dir.")
    model_checkpoint: str = _f("models/best_model.pth", "Superseded: RUN/checkpoints/best.pt.")
    metrics: str = _f("outputs/metrics.json", "Superseded: RUN/metrics.json.")
    predictions: str = _f("outputs/predictions.npz", "Superseded: RUN/predictions.npz.")
    training_history: str = _f("models/training_history.json", "Superseded: RUN/history.csv.")
    log_file: str = _f("logs/lstm_extraction.log", "Superseded: RUN/train.log.")


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    visualization: VisualizationConfig = field(default_factory=VisualizationConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)

    @property
    def n_samples(self) -> int:
        """Samples per frequency block (fs x T)."""
        return samples_per_block(self.data.sampling_rate, self.data.duration)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return dataclasses.asdict(self)


SECTION_TYPES = {
    "data": DataConfig,
    "model": ModelConfig,
    "training": TrainingConfig,
    "evaluation": EvaluationConfig,
    "visualization": VisualizationConfig,
    "paths": PathsConfig,
}


def format_number(value: Any) -> str:
    """The shortest text that reads back as exactly ``value``: 0.0001, 1e-5, 10, 4294967295, [1, 3], true."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_number(v) for v in value) + "]"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        mantissa, e, exponent = repr(value).partition("e")
        return f"{mantissa}e{int(exponent)}" if e else mantissa
    return str(value)


def flat_values(config: Config) -> dict[str, Any]:
    """Every setting under its dotted key, as ``--set`` names it: {"model.hidden_size": 64, ...}."""
    flat: dict[str, Any] = {}
    for section in dataclasses.fields(config):  # not to_dict: its deep copy of every value costs a Runs tab of 300 runs 0.5 s
        values = getattr(config, section.name)
        for f in dataclasses.fields(values):
            value = getattr(values, f.name)
            flat[f"{section.name}.{f.name}"] = list(value) if isinstance(value, list) else value  # a copy: callers may edit it
    return flat


SEED_KEYS = ("model.seed", "data.train_seed", "data.test_seed", "data.validation_seed")  # a configuration's repeats differ in these
# Settings that say only how or where a run was executed, or how its results are drawn: never a difference between configurations
EXECUTION_KEYS = (
    "training.num_threads",
    "training.device",
    "training.runs_dir",
    "data.data_dir",
    "training.save_dir",
    "visualization.output_dir",
    "visualization.dpi",
    "training.score_every",
)


def is_execution_key(key: str) -> bool:
    """Whether ``key`` says only how a run was executed (threads, device, folders, scoring interval, paths.*)."""
    return key in EXECUTION_KEYS or key.startswith("paths.")


def configuration_values(config: Config) -> dict[str, Any]:
    """The settings that make a configuration: every setting but the seeds and how the run was executed."""
    return {key: value for key, value in flat_values(config).items() if key not in SEED_KEYS and not is_execution_key(key)}


def config_changes(old: Config, new: Config) -> list[tuple[str, Any, Any]]:
    """The keys whose values differ, in schema order: (key, old value, new value)."""
    before, after = flat_values(old), flat_values(new)
    return [(key, before[key], after[key]) for key in after if before[key] != after[key]]


def samples_per_block(sampling_rate: int, duration: float) -> int:
    """n = fs x T, rounded, as the spec's time axis t_k = k / fs for k < n."""
    return round(sampling_rate * duration)


def schema_fields(section: str) -> list[dataclasses.Field]:
    """The fields of one section, in file order; the GUI builds its form from these."""
    return list(fields(SECTION_TYPES[section]))


def _allowed(f: dataclasses.Field, kind: type) -> str:
    meta = f.metadata
    if "choices" in meta:
        return "one of " + ", ".join(meta["choices"])
    if kind is list:  # as _check_list judges it: items above min, whole ones may be an empty list
        return "a list of whole numbers > 0, or []" if meta.get("whole") else "a non-empty list of numbers > 0"
    word = {int: "an integer", float: "a number", str: "a text", bool: "true or false"}[kind]
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and hi is not None:
        return f"{word} from {lo} to {hi}"
    if lo is not None:
        return f"{word} >= {lo}"
    return word


def _check_value(key: str, f: dataclasses.Field, value: Any) -> tuple[Any, list[ConfigProblem]]:
    """Coerce one value to its field's type, or return problems saying what is allowed."""
    kind = type(f.default) if f.default is not dataclasses.MISSING else list
    meta = f.metadata
    if kind is list:
        return _check_list(key, meta, value)

    def bad() -> tuple[None, list[ConfigProblem]]:  # made only for a bad value: a run list validates thousands of good ones
        return None, [ConfigProblem(key, f"{value!r} is not allowed; allowed: {_allowed(f, kind)}")]

    if kind is str:
        if not isinstance(value, str) or (value == "" and "choices" not in meta) or "\x00" in value:
            return bad()
        if "choices" in meta and value not in meta["choices"]:
            return bad()
        return value, []
    if kind is bool or isinstance(value, bool) or not isinstance(value, (int, float)):
        return (value, []) if kind is bool and isinstance(value, bool) else bad()
    if kind is int:
        if isinstance(value, float) and not value.is_integer():
            return bad()
        number: int | float = int(value)
    else:
        if not _finite(value):
            return bad()
        number = float(value)
    if number < meta.get("min", -math.inf) or number > meta.get("max", math.inf):
        return bad()
    return number, []


def _check_list(key: str, meta: Any, value: Any) -> tuple[Any, list[ConfigProblem]]:
    """A list of numbers (frequencies: at least one), or with ``whole`` of whole numbers (epochs: may be empty)."""
    whole = meta.get("whole", False)
    if not isinstance(value, list) or not (value or whole):
        shape = "a list of whole numbers, e.g. [50, 80], or []" if whole else "a non-empty list of numbers, e.g. [1, 3, 5, 7]"
        return None, [ConfigProblem(key, f"{value!r} is not allowed; allowed: {shape}")]
    word = "whole numbers" if whole else "numbers"
    items, problems = [], []
    for item in value:
        if not is_number(item) or not _finite(item) or (whole and not float(item).is_integer()):
            problems.append(ConfigProblem(key, f"item {item!r} is not allowed; allowed: finite {word} > 0"))
        elif item <= meta.get("min", -math.inf):
            problems.append(ConfigProblem(key, f"item {item!r} is not allowed; allowed: {word} > {meta['min']}"))
        else:
            items.append(int(item) if whole else float(item))
    return items, problems


def error_line(exc: BaseException, limit: int = 200) -> str:
    """An exception as one line of a message: its class and the start of its first line (some have none)."""
    text = str(exc).splitlines()
    return f"{exc.__class__.__name__}: {text[0][:limit]}" if text else exc.__class__.__name__


def is_number(value: Any) -> bool:
    """An int or a float, never a bool (YAML's true is an int to Python): what every number check here means."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite(number: int | float) -> bool:
    """A finite number that fits a float (an integer of 400 digits does not)."""
    try:
        return math.isfinite(float(number))
    except OverflowError:
        return False


def _nearest(name: str, options: list[str]) -> str:
    match = difflib.get_close_matches(name, options, n=1, cutoff=0.5)
    return f" (did you mean '{match[0]}'?)" if match else ""


def config_from_dict(raw: Any) -> Config:
    """Validate a parsed YAML document; raise ConfigError listing every problem."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        allowed = ", ".join(SECTION_TYPES)
        raise ConfigError([ConfigProblem("config", f"the document is a {type(raw).__name__}; allowed: a mapping of sections ({allowed})")])
    errors: list[ConfigProblem] = []
    sections: dict[str, Any] = {}
    for name in raw:
        if name not in SECTION_TYPES:
            allowed = ", ".join(SECTION_TYPES)
            errors.append(ConfigProblem(str(name), f"unknown section{_nearest(str(name), list(SECTION_TYPES))}; allowed: {allowed}"))
    for name, cls in SECTION_TYPES.items():
        body = raw.get(name, {}) or {}
        if not isinstance(body, dict):
            errors.append(ConfigProblem(name, f"{body!r} is not allowed; allowed: a mapping of keys"))
            sections[name] = cls()
            continue
        by_name = {f.name: f for f in fields(cls)}
        values = {}
        for key, value in body.items():
            if key not in by_name:
                allowed = ", ".join(by_name)
                errors.append(ConfigProblem(f"{name}.{key}", f"unknown key{_nearest(str(key), list(by_name))}; allowed: {allowed}"))
                continue
            checked, problems = _check_value(f"{name}.{key}", by_name[key], value)
            errors.extend(problems)
            if not problems:
                values[key] = checked
        sections[name] = cls(**values)
    config = Config(**sections)
    errors.extend(cross_check(config))
    if errors:
        raise ConfigError(errors)
    return config


MIN_FREQUENCY = 1e-6  # Hz
MAX_FREQUENCIES = 1024  # model.input_size, 1 + one selector per frequency, is at most 1025


def cross_check(config: Config) -> list[ConfigProblem]:
    """Rules that tie keys together (Nyquist, input size, indices, amplitude range)."""
    errors = []
    d = config.data
    nyquist = d.sampling_rate / 2
    for f in d.frequencies:
        if f < MIN_FREQUENCY:  # a period too long to compute with (1/f overflows for the tiniest floats)
            errors.append(ConfigProblem("data.frequencies", f"{f:g} Hz is too low; allowed: frequencies from {MIN_FREQUENCY:g} Hz"))
        elif f >= nyquist:
            errors.append(
                ConfigProblem(
                    "data.frequencies",
                    f"{f:g} Hz is at or above Nyquist ({nyquist:g} Hz for sampling_rate {d.sampling_rate}); "
                    f"allowed: frequencies below {nyquist:g} Hz",
                )
            )
    if len(set(d.frequencies)) != len(d.frequencies):
        errors.append(ConfigProblem("data.frequencies", f"{d.frequencies} repeats a frequency; allowed: distinct frequencies"))
    n_freq = len(d.frequencies)
    if n_freq > MAX_FREQUENCIES:
        errors.append(
            ConfigProblem("data.frequencies", f"{n_freq} frequencies; allowed: at most {MAX_FREQUENCIES} (one selector input each)")
        )
    elif config.model.input_size != 1 + n_freq:
        errors.append(
            ConfigProblem(
                "model.input_size",
                f"{config.model.input_size} does not fit {n_freq} frequencies; allowed: {1 + n_freq} (S plus one selector each)",
            )
        )
    index = config.visualization.comparison_freq_idx
    if not 0 <= index < n_freq:
        errors.append(ConfigProblem("visualization.comparison_freq_idx", f"{index} is out of range; allowed: 0 to {n_freq - 1}"))
    if d.amp_min > d.amp_max:
        errors.append(ConfigProblem("data.amp_min", f"{d.amp_min} is above data.amp_max ({d.amp_max}); allowed: amp_min <= amp_max"))
    samples = f"{d.duration} s at {d.sampling_rate} Hz gives {config.n_samples} samples"
    if config.n_samples < 2:
        errors.append(ConfigProblem("data.duration", f"{samples}; allowed: at least 2 samples"))
    if config.n_samples > 10_000_000:
        errors.append(ConfigProblem("data.duration", f"{samples}; allowed: at most 10,000,000"))
    if config.training.mode == "streams" and config.training.segments > config.n_samples:
        errors.append(
            ConfigProblem(
                "training.segments",
                f"{config.training.segments} exceeds the {config.n_samples} samples per sequence; allowed: 1 to {config.n_samples}",
            )
        )
    t = config.training
    if t.mode == "streams" and t.draws_per_epoch > 1 and t.training_noise != "fresh":
        errors.append(
            ConfigProblem(
                "training.draws_per_epoch",
                f"{t.draws_per_epoch} needs fresh noise draws; allowed: 1 with training.training_noise "
                "fixed, or set training.training_noise to fresh",
            )
        )
    if t.patience > 0 and t.selection != "validation":
        errors.append(
            ConfigProblem(
                "training.patience",
                f"{t.patience} counts epochs without a better validation MSE; allowed: 0 with training.selection "
                f"{t.selection}, or set training.selection to validation",
            )
        )
    errors.extend(schedule_problems(t))
    errors.extend(model_problems(config))
    for key, value in (("data.data_dir", d.data_dir), ("training.runs_dir", config.training.runs_dir)):
        inside = system_folder(value)
        if inside is not None:
            errors.append(
                ConfigProblem(
                    key,
                    f"{value!r} resolves to {inside[0]}, inside the system folder {inside[1]}; "
                    "allowed: a folder of your own (relative paths start at the working directory)",
                )
            )
    return errors


def model_problems(config: Config) -> list[ConfigProblem]:
    """Rules of the model options: a bidirectional cell reads whole windows (streams only) and has no
    causal buffer for attention to keep."""
    m, errors = config.model, []
    if m.bidirectional and config.training.mode != "streams":
        errors.append(
            ConfigProblem(
                "model.bidirectional",
                f"true needs training.mode streams (it reads each window ahead; {config.training.mode} trains one step "
                f"per row); allowed: false with training.mode {config.training.mode}, or set training.mode to streams",
            )
        )
    if m.bidirectional and m.attention_window:
        errors.append(
            ConfigProblem(
                "model.attention_window",
                f"{m.attention_window} keeps causal past states, which a bidirectional cell does not have; "
                "allowed: 0 with model.bidirectional true, or set model.bidirectional to false",
            )
        )
    return errors


def non_causal_reason(config: Config) -> str | None:
    """What to label a run whose outputs see the future (None: causal, comparable with extractors)."""
    return None if config.model.is_causal else f"{NON_CAUSAL}: model.bidirectional reads each sequence both ways"


def schedule_problems(t: TrainingConfig) -> list[ConfigProblem]:
    """Rules of the learning-rate schedule: milestones in order and after the warm-up, a warm-up that ends,
    a plateau that has a validation MSE to watch."""
    errors = []
    milestones = t.lr_milestones
    if any(b <= a for a, b in itertools.pairwise(milestones)):
        errors.append(ConfigProblem("training.lr_milestones", f"{milestones} is not increasing; allowed: epochs in increasing order"))
    if t.lr_schedule == "step" and not milestones:
        errors.append(ConfigProblem("training.lr_milestones", "[] gives the step schedule nothing to do; allowed: one epoch or more"))
    if t.lr_schedule == "step" and milestones and milestones[0] <= t.lr_warmup_epochs:
        errors.append(
            ConfigProblem(
                "training.lr_milestones",
                f"{milestones[0]} falls in the warm-up (training.lr_warmup_epochs {t.lr_warmup_epochs}); "
                f"allowed: epochs above {t.lr_warmup_epochs}",
            )
        )
    if t.lr_warmup_epochs >= t.num_epochs:
        errors.append(
            ConfigProblem(
                "training.lr_warmup_epochs",
                f"{t.lr_warmup_epochs} leaves no epoch at the learning rate; allowed: 0 to {t.num_epochs - 1} (below training.num_epochs)",
            )
        )
    if t.lr_schedule == "plateau" and t.selection != "validation":
        errors.append(
            ConfigProblem(
                "training.lr_schedule",
                f"plateau watches the validation MSE, which training.selection {t.selection} does not measure; "
                "allowed: constant, cosine or step, or set training.selection to validation",
            )
        )
    if t.lr_schedule == "plateau" and t.lr_min > t.learning_rate:
        errors.append(
            ConfigProblem(
                "training.lr_min",
                f"{t.lr_min:g} is above training.learning_rate ({t.learning_rate:g}); allowed: 0 to the learning rate",
            )
        )
    return errors


def _safe_yaml() -> YAML:
    """The one reader of YAML values (YAML 1.2: 1e-4, 1E-4 and .0001 are floats): what is saved reads back equal."""
    return YAML(typ="safe", pure=True)


def _round_trip_yaml() -> YAML:
    """The one writer: ruamel's round-trip mode keeps a file's comments and order."""
    rt = YAML()
    rt.preserve_quotes = True
    rt.indent(mapping=2, sequence=4, offset=2)
    return rt


def parse_yaml(text: str, source: str = "config", like: str = "the shipped config.yaml") -> Any:
    """Parse YAML text, turning a syntax error into a ConfigError naming the file, the line and what
    the parser found (a duplicate key, a second document)."""
    try:
        return _safe_yaml().load(text)
    except (YAMLError, ValueError, OverflowError) as exc:  # a bad tag (!!int abc) raises ValueError
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        problem = getattr(exc, "problem", None)
        found = f": {problem}" if isinstance(problem, str) and problem else ""
        raise ConfigError([ConfigProblem(source, f"not valid YAML{line}{found}; allowed: a YAML mapping like {like}")]) from None


def parse_value(text: str) -> Any:
    """A typed value as a person writes it (``1e-4``, ``[1, 3]``, ``streams``); unparsable text stays text."""
    try:
        return _safe_yaml().load(text)
    except (YAMLError, ValueError, OverflowError):
        return text


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML config file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problem = ConfigProblem(str(path), f"cannot be read ({exc.__class__.__name__}: {exc}); allowed: a readable UTF-8 YAML file")
        raise ConfigError([problem]) from None
    return config_from_dict(parse_yaml(text, str(path)))


def apply_overrides(config: Config, assignments: list[str]) -> Config:
    """Apply ``section.key=value`` strings (values parsed as YAML) and re-validate."""
    raw = config.to_dict()
    errors = []
    for item in assignments:
        key, sep, text = item.partition("=")
        section, dot, name = key.strip().partition(".")
        if not sep or not dot:
            errors.append(ConfigProblem(f"--set {item!r}", "allowed: section.key=value, e.g. training.num_epochs=5"))
            continue
        raw.setdefault(section, {})[name] = parse_value(text)
    if errors:
        raise ConfigError(errors)
    return config_from_dict(raw)


def _yaml_value(value: Any) -> Any:
    """Lists are written in flow style, as a person writes ``frequencies: [1, 3, 5, 7]``."""
    if isinstance(value, list):
        seq = CommentedSeq(value)
        seq.fa.set_flow_style()
        return seq
    return value


def dump_config(config: Config, template: str | None = None) -> str:
    """YAML text of a config; with the text of an existing file, its comments and order are kept."""
    rt = _round_trip_yaml()
    try:
        loaded = rt.load(template) if template else None
    except YAMLError:
        loaded = None
    doc = loaded if isinstance(loaded, dict) else CommentedMap()
    defaults = Config().to_dict()
    fresh = not doc
    for section, values in config.to_dict().items():
        target = doc.get(section)
        for key, value in values.items():
            if isinstance(target, dict) and key in target:
                if target[key] != value:
                    target[key] = _yaml_value(value)
            elif fresh or value != defaults[section][key]:
                if not isinstance(target, dict):
                    doc[section] = target = CommentedMap()
                target[key] = _yaml_value(value)
    out = io.StringIO()
    rt.dump(doc, out)
    return out.getvalue()


def save_config(config: Config, path: str | Path, keep_comments_from: str | None = None) -> None:
    """Write a config atomically; pass the file's previous text to keep its comments."""
    atomic_write_text(Path(path), dump_config(config, keep_comments_from))
