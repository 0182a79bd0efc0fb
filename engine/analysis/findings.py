"""What a run's numbers say, judged once for every front end: its test MSE as a share of the zero-output
level and a multiple of the known-model estimator, the generalization rule (and its widest gap), the
extraction check and memorisation. The report, the Results panel and the command line render these
``Findings``; none judges a run itself. ``format_mse`` is the one way an MSE is written as text."""

from __future__ import annotations

from dataclasses import dataclass

from engine.config.schema import EvaluationConfig
from engine.runs.metrics import Extraction, FrequencyGap, MemorisationCheck, MemorisationLevel, RunMetrics

DEFAULT_THRESHOLD = EvaluationConfig().generalization_threshold  # a file without its threshold was judged by the default


def format_mse(value: float | None, signed: bool = False) -> str:
    """An MSE as text: five decimals, or three significant digits below 0.001; "—" for none."""
    if value is None:
        return "—"
    sign = "+" if signed else ""
    return f"{value:{sign}.5f}" if value == 0 or abs(value) >= 1e-3 else f"{value:{sign}.2e}"


def times_text(times: float) -> str:
    """A multiple as a verdict writes it: whole above ten, two significant digits below."""
    return f"{times:.0f}×" if times >= 10 else f"{times:.2g}×"


@dataclass(frozen=True)
class Column:
    """The findings overall (``frequency_hz`` None) or at one frequency."""

    frequency_hz: float | None
    train_mse: float
    test_mse: float
    gap: float
    gap_passed: bool  # the gap below the threshold here
    share_of_zero: float | None  # test MSE ÷ the zero-output MSE
    known_model_mse: float | None
    extraction_mse: float | None
    memorisation: MemorisationLevel | None  # per frequency only


@dataclass(frozen=True)
class Findings:
    """A run's verdict as numbers and booleans, from its RunMetrics."""

    train_mse: float
    test_mse: float
    zero_output_mse: float | None
    known_model_mse: float | None
    gap: float
    threshold: float
    passed: bool  # the generalization rule, overall and at every frequency
    widest: FrequencyGap | None  # the frequency with the widest gap
    extraction: Extraction | None
    memorisation: MemorisationCheck | None
    columns: tuple[Column, ...]  # overall, then each frequency

    @property
    def share_of_zero(self) -> float | None:
        """Test MSE as a share of what a model that outputs zeros scores (0 is a perfect extraction)."""
        return self.test_mse / self.zero_output_mse if self.zero_output_mse else None

    @property
    def times_known(self) -> float | None:
        """Test MSE as a multiple of the known-model estimator's."""
        return self.test_mse / self.known_model_mse if self.known_model_mse else None

    @property
    def rule(self) -> str:
        """The generalization rule's word."""
        return "PASS" if self.passed else "FAIL"

    @property
    def memorised(self) -> bool | None:
        """None: no memorisation check."""
        return None if self.memorisation is None else self.memorisation.memorised

    @classmethod
    def of(cls, metrics: RunMetrics) -> Findings | None:
        """The findings of a run with results; None for one without."""
        results = metrics.results
        if results is None:
            return None
        reference, shifted, check = metrics.reference, metrics.shifted, metrics.memorisation
        threshold = DEFAULT_THRESHOLD if results.threshold is None else results.threshold
        zero = None if reference is None else reference.zero_output_mse
        known = None if reference is None else reference.known_model_mse
        overall = Column(
            None,
            results.train.mse,
            results.test.mse,
            results.gap,
            results.gap < threshold,
            results.test.mse / zero if zero else None,
            known,
            None if shifted is None else shifted.mse,
            None,
        )
        gaps = {row.frequency_hz: row.gap for row in results.gap_per_frequency}
        train = results.train.by_frequency()
        memorisation = {} if check is None else {row.frequency_hz: row for row in check.per_frequency}
        extraction = {} if shifted is None else shifted.by_frequency()
        columns = [overall]
        for row in results.test.per_frequency:
            f = row.frequency_hz
            gap = gaps.get(f, float("nan"))
            level = None if reference is None else reference.at(f)
            columns.append(
                Column(
                    f,
                    train.get(f, float("nan")),
                    row.mse,
                    gap,
                    gap < threshold,
                    row.mse / zero if zero else None,
                    None if level is None else level.known_model_mse,
                    extraction.get(f),
                    memorisation.get(f),
                )
            )
        widest = max(results.gap_per_frequency, key=lambda row: row.gap, default=None)
        return cls(
            results.train.mse, results.test.mse, zero, known, results.gap, threshold, results.passed, widest, shifted, check, tuple(columns)
        )
