"""A sweep file: the experiment every trial starts from, the search space, explicit experiments.

Read and checked here, every problem at once, each naming its key (the config's treatment), before
anything runs or is written. Running the sweep is engine/sweeps/runner.py's job."""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.config.schema import (
    SECTION_TYPES,
    Config,
    ConfigError,
    ConfigProblem,
    _nearest,
    apply_overrides,
    config_from_dict,
    flat_values,
    format_number,
    is_number,
    load_config,
    parse_yaml,
)

SAMPLERS = ("tpe", "random", "grid")
PRUNING = ("none", "median")
OBJECTIVES = ("validation_mse",)  # the test set never chooses
TOP_KEYS = (
    "base",
    "study",
    "objective",
    "sampler",
    "trials",
    "seed",
    "repeats",
    "pruning",
    "fixed",
    "parameters",
    "experiments",
    "heartbeat",
)
MAX_GRID = 10_000


STUDY_NAME = re.compile(r"\w[\w .,+=()#-]{0,99}")  # it names a folder inside the sweeps folder


def study_name_problem(name: Any) -> str | None:
    """Why ``name`` cannot name a study, or None: it becomes one folder inside the sweeps folder, so
    "..", a leading dot, a slash or a NUL would put the study's files (ranking.md, sweep.yaml) elsewhere."""
    if isinstance(name, str) and STUDY_NAME.fullmatch(name.strip()):
        return None
    return (
        f"{name!r} is not allowed; allowed: up to 100 letters, digits, spaces and . , + = ( ) # _ -, "
        "starting with a letter or digit (the study's folder takes its name)"
    )


class SweepError(RuntimeError):
    """A sweep that cannot run as asked (a study that does not exist, or exists with other settings)."""


@dataclass(frozen=True)
class Parameter:
    """One dimension of the search space: a list of choices, or a numeric range (integers when the
    setting is an integer), optionally on a log scale."""

    key: str
    choices: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False

    @property
    def is_choice(self) -> bool:
        return bool(self.choices)

    @property
    def bounds(self) -> tuple[float, float]:
        """A range's (low, high): a parameter without choices always has both."""
        assert self.low is not None and self.high is not None, f"{self.key} is a list of choices, not a range"
        return self.low, self.high

    def grid(self) -> list[Any]:
        """The values a grid search tries: the choices, or every integer of an integer range."""
        if self.is_choice:
            return list(self.choices)
        low, high = self.bounds
        return list(range(int(low), int(high) + 1))

    def describe(self) -> str:
        if self.is_choice:
            return "one of " + ", ".join(format_number(c) for c in self.choices)
        scale = " (log)" if self.log else ""
        kind = "integers" if self.integer else "numbers"
        return f"{kind} from {format_number(self.low)} to {format_number(self.high)}{scale}"


@dataclass(frozen=True)
class SweepSpec:
    """A checked sweep: what each trial runs and how the next trial's settings are chosen."""

    base: dict[str, Any]  # the base config as a plain dict (so a worker on another machine needs no file)
    study: str
    objective: str = "validation_mse"
    sampler: str = "tpe"
    trials: int = 10
    seed: int = 0
    repeats: int = 1
    pruning: str = "none"
    fixed: dict[str, Any] = field(default_factory=dict)
    parameters: tuple[Parameter, ...] = ()
    experiments: tuple[dict[str, Any], ...] = ()
    heartbeat: int = 10  # seconds between a worker's heartbeats on a shared database; stale after 3 missed
    base_path: str = ""

    def base_config(self) -> Config:
        return config_from_dict(self.base)

    def trial_config(self, settings: dict[str, Any], seed_offset: int = 0) -> Config:
        """The base with the fixed overrides, then ``settings`` (a trial's parameters), then the repeat's model seed."""
        config = apply_overrides(self.base_config(), [f"{k}={_yaml(v)}" for k, v in {**self.fixed, **settings}.items()])
        if seed_offset:
            config = apply_overrides(config, [f"model.seed={config.model.seed + seed_offset}"])
        return config

    @property
    def total_trials(self) -> int:
        """How many trials the sweep runs in all: the experiments, then the sampler's up to ``trials``;
        an experiments-only sweep runs exactly its experiments; a grid at most its size."""
        if not self.parameters:
            return len(self.experiments)
        if self.sampler == "grid":
            return len(self.experiments) + min(self.trials, self.grid_size())
        return max(self.trials, len(self.experiments))

    def grid_size(self) -> int:
        return math.prod(len(p.grid()) for p in self.parameters)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> SweepSpec:
        """The spec as a study stores it (so ``--join`` needs only the study)."""
        raw = dict(raw)
        raw["parameters"] = tuple(Parameter(**{**p, "choices": tuple(p["choices"])}) for p in raw["parameters"])
        raw["experiments"] = tuple(raw["experiments"])
        return cls(**raw)


def _yaml(value: Any) -> str:
    """A value as ``--set`` parses it back (YAML flow style)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return format_number(value)


def _setting_field(key: str) -> dataclasses.Field | None:
    section, _, name = key.partition(".")
    fields = {f.name: f for f in dataclasses.fields(SECTION_TYPES[section])} if section in SECTION_TYPES else {}
    return fields.get(name)


def _all_keys() -> list[str]:
    return [f"{s}.{f.name}" for s, t in SECTION_TYPES.items() for f in dataclasses.fields(t)]


def _check_key(where: str, key: Any, problems: list[ConfigProblem]) -> bool:
    if not isinstance(key, str) or _setting_field(key) is None:
        hint = _nearest(str(key), _all_keys())
        problems.append(ConfigProblem(f"{where}.{key}", f"not a config setting{hint}; allowed: section.key as in --set"))
        return False
    return True


def _check_values(base: Config, where: str, key: str, values: list[Any], problems: list[ConfigProblem]) -> None:
    """Each value through the config's own schema (its message, placed at the sweep's key)."""
    for value in values:
        try:
            apply_overrides(base, [f"{key}={_yaml(value)}"])
        except ConfigError as exc:
            problems += [ConfigProblem(f"{where}.{key}", f"{format_number(value)}: {p.message}") for p in exc.problems]


def _parameter(base: Config, key: str, raw: Any, problems: list[ConfigProblem]) -> Parameter | None:
    where = "parameters"
    setting = _setting_field(key)
    integer = setting is not None and type(setting.default) is int
    if isinstance(raw, list):
        if not raw:
            problems.append(ConfigProblem(f"{where}.{key}", "an empty list of choices; allowed: one value or more"))
            return None
        _check_values(base, where, key, raw, problems)
        return Parameter(key, choices=tuple(raw))
    if not isinstance(raw, dict) or set(raw) - {"low", "high", "log"} or not {"low", "high"} <= set(raw):
        problems.append(ConfigProblem(f"{where}.{key}", "allowed: a list of choices, or {low: …, high: …, log: true|false}"))
        return None
    low, high, log = raw["low"], raw["high"], raw.get("log", False)
    numbers = all(is_number(v) and math.isfinite(v) for v in (low, high))
    if not numbers or not isinstance(log, bool):
        problems.append(ConfigProblem(f"{where}.{key}", "low and high must be numbers and log true or false"))
        return None
    if not low < high:
        problems.append(
            ConfigProblem(f"{where}.{key}", f"an empty range: low {format_number(low)} is not below high {format_number(high)}")
        )
        return None
    if log and low <= 0:
        problems.append(ConfigProblem(f"{where}.{key}", "a log range needs low above 0"))
        return None
    if integer and not (float(low).is_integer() and float(high).is_integer()):
        problems.append(ConfigProblem(f"{where}.{key}", "an integer setting: low and high must be whole numbers"))
        return None
    _check_values(base, where, key, [int(low) if integer else low, int(high) if integer else high], problems)
    return Parameter(key, low=low, high=high, log=log, integer=integer)


def _whole(raw: dict, key: str, default: int, low: int, problems: list[ConfigProblem]) -> int:
    value = raw.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        problems.append(ConfigProblem(key, f"{value!r} is not allowed; allowed: a whole number from {low}"))
        return default
    return value


def _choice(raw: dict, key: str, allowed: tuple[str, ...], problems: list[ConfigProblem]) -> str:
    value = raw.get(key, allowed[0])
    if value not in allowed:
        problems.append(ConfigProblem(key, f"{value!r} is not allowed; allowed: {', '.join(allowed)}"))
        return allowed[0]
    return value


def _base(raw: dict, source: Path, problems: list[ConfigProblem]) -> tuple[Config | None, str]:
    if not isinstance(raw.get("base"), str) or not raw["base"].strip():
        problems.append(ConfigProblem("base", "missing; allowed: the path of a config file, relative to the sweep file"))
        return None, ""
    path = (source.parent / raw["base"]).resolve()
    if not path.is_file():
        problems.append(ConfigProblem("base", f"{path} does not exist; allowed: the path of a config file, relative to the sweep file"))
        return None, str(path)
    try:
        return load_config(path), str(path)
    except ConfigError as exc:
        problems += [ConfigProblem(f"base ({path.name}) {p.key}", p.message) for p in exc.problems]
        return None, str(path)


def parse_sweep(text: str, source: Path) -> SweepSpec:
    """A sweep file's text checked as a whole; a ConfigError lists every problem, each at its key."""
    raw = parse_yaml(text, str(source), like="a sweep file (docs/user-guide.md: Sweeps)")
    if not isinstance(raw, dict):
        raise ConfigError([ConfigProblem(str(source), "not a sweep file; allowed: a YAML mapping with base, study, parameters, …")])
    problems: list[ConfigProblem] = []
    for key in raw:
        if key not in TOP_KEYS:
            problems.append(
                ConfigProblem(str(key), f"not a sweep setting{_nearest(str(key), list(TOP_KEYS))}; allowed: {', '.join(TOP_KEYS)}")
            )
    base, base_path = _base(raw, source, problems)
    study = raw.get("study", source.stem)
    if problem := study_name_problem(study):
        problems.append(ConfigProblem("study", problem))
    spec_values: dict[str, Any] = {  # SweepSpec's keyword arguments: text and whole numbers
        "objective": _choice(raw, "objective", OBJECTIVES, problems),
        "sampler": _choice(raw, "sampler", SAMPLERS, problems),
        "pruning": _choice(raw, "pruning", PRUNING, problems),
        "trials": _whole(raw, "trials", 10, 1, problems),
        "seed": _whole(raw, "seed", 0, 0, problems),
        "repeats": _whole(raw, "repeats", 1, 1, problems),
        "heartbeat": _whole(raw, "heartbeat", 10, 1, problems),
    }
    fixed, parameters, experiments = _space(raw, base, problems)
    if not raw.get("parameters") and not raw.get("experiments"):
        problems.append(ConfigProblem("parameters", "nothing to run; allowed: parameters (a search space), experiments (a list), or both"))
    if spec_values["sampler"] == "grid":
        ranges = [p.key for p in parameters if not p.is_choice and not p.integer]
        for key in ranges:
            problems.append(ConfigProblem(f"parameters.{key}", "a grid needs choices or an integer range; allowed: a list of values"))
        if not ranges and parameters and math.prod(len(p.grid()) for p in parameters) > MAX_GRID:
            problems.append(ConfigProblem("parameters", f"the grid has more than {MAX_GRID} points; allowed: fewer choices"))
    if problems:
        raise ConfigError(problems)
    assert base is not None  # _base reports a problem whenever it finds no config
    return SweepSpec(
        base=base.to_dict(),
        study=study.strip(),
        fixed=fixed,
        parameters=tuple(parameters),
        experiments=tuple(experiments),
        base_path=base_path,
        **spec_values,
    )


def _space(raw: dict, base: Config | None, problems: list[ConfigProblem]) -> tuple[dict, list[Parameter], list[dict]]:
    fixed = raw.get("fixed") or {}
    parameters_raw = raw.get("parameters") or {}
    experiments_raw = raw.get("experiments") or []
    for key, value, kind in (("fixed", fixed, dict), ("parameters", parameters_raw, dict), ("experiments", experiments_raw, list)):
        if not isinstance(value, kind):
            problems.append(ConfigProblem(key, f"allowed: a {'mapping of section.key: value' if kind is dict else 'list of mappings'}"))
            return {}, [], []
    checked_fixed = {k: v for k, v in fixed.items() if _check_key("fixed", k, problems)}
    if base is None:  # the keys can still be checked; the values need the base
        for key in parameters_raw:
            _check_key("parameters", key, problems)
        for k, experiment in enumerate(experiments_raw):
            for key in experiment if isinstance(experiment, dict) else ():
                _check_key(f"experiments[{k}]", key, problems)
        return checked_fixed, [], []
    for key, value in checked_fixed.items():
        _check_values(base, "fixed", key, [value], problems)
    try:
        with_fixed = apply_overrides(base, [f"{k}={_yaml(v)}" for k, v in checked_fixed.items()])
    except ConfigError:
        with_fixed = base
    parameters = [
        p
        for key, spec in parameters_raw.items()
        if _check_key("parameters", key, problems)
        for p in [_parameter(with_fixed, key, spec, problems)]
        if p
    ]
    experiments = []
    for k, experiment in enumerate(experiments_raw):
        where = f"experiments[{k}]"
        if not isinstance(experiment, dict) or not experiment:
            problems.append(ConfigProblem(where, "allowed: a mapping of section.key: value"))
            continue
        good = {key: value for key, value in experiment.items() if _check_key(where, key, problems)}
        try:
            apply_overrides(with_fixed, [f"{key}={_yaml(value)}" for key, value in good.items()])
        except ConfigError as exc:
            problems += [ConfigProblem(f"{where}.{p.key}", p.message) for p in exc.problems]
            continue
        experiments.append(good)
    return checked_fixed, parameters, experiments


def load_sweep(path: Path) -> SweepSpec:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigProblem("--spec", f"{path}: cannot be read ({getattr(exc, 'strerror', None) or exc})")]) from None
    return parse_sweep(text, path)


def describe(spec: SweepSpec) -> list[str]:
    """The sweep in a few lines, for the command line and the window."""
    lines = [f"study {spec.study}: {spec.total_trials} trials, sampler {spec.sampler}, objective {spec.objective} (minimised)"]
    lines += [f"  {p.key}: {p.describe()}" for p in spec.parameters]
    lines += [
        f"  experiment {k + 1}: " + ", ".join(f"{key}={format_number(v)}" for key, v in e.items()) for k, e in enumerate(spec.experiments)
    ]
    return lines


def settings_of(spec: SweepSpec) -> list[str]:
    """Every key a trial may set: the columns of trials.csv."""
    keys = [p.key for p in spec.parameters]
    for experiment in spec.experiments:
        keys += [k for k in experiment if k not in keys]
    return keys


def base_values(spec: SweepSpec) -> dict[str, Any]:
    return flat_values(spec.trial_config({}))
