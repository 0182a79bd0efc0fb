"""The next-experiments table: repeats grouped by name, effects against the baseline with their verdicts."""

from __future__ import annotations

import json

from benchmarks.next_experiments import effects_table, groups_by_name, results_table
from engine.config import NON_CAUSAL, dump_config
from engine.experiments import RunNotes, write_notes
from tests.conftest import small_config


def finished_run(runs_dir, folder: str, name: str, mse: float, config) -> None:
    run = runs_dir / folder
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.yaml").write_text(dump_config(config))
    per = [{"frequency_hz": f, "mse": mse} for f in (1.0, 3.0)]
    scores = {"mse": mse, "per_frequency": per}
    metrics = {
        "status": "completed",
        "train": scores,
        "test": scores,
        "generalization_gap": 0.0,
        "generalization_pass": True,
        "generalization_gap_per_frequency": [{"frequency_hz": f, "gap": 0.0} for f in (1.0, 3.0)],
    }
    (run / "metrics.json").write_text(json.dumps(metrics))
    write_notes(run, RunNotes(name=name))


def test_repeats_group_by_name_and_each_variant_gets_its_effect_and_verdict(tmp_path):
    causal, seeing = small_config(tmp_path), small_config(tmp_path, "training.mode=streams", "model.bidirectional=true")
    for k, (mse_base, mse_deep, mse_seeing) in enumerate([(0.020, 0.004, 0.030), (0.024, 0.005, 0.031), (0.022, 0.0045, 0.029)]):
        finished_run(tmp_path, f"b{k}", f"baseline (seed {k})", mse_base, causal)
        finished_run(tmp_path, f"d{k}", f"layers-3 (seed {k})", mse_deep, causal)
        finished_run(tmp_path, f"s{k}", f"bidirectional (seed {k})", mse_seeing, seeing)
    groups = groups_by_name(tmp_path)
    assert {name: g.test_mse().n for name, g in groups.items()} == {"baseline": 3, "layers-3": 3, "bidirectional": 3}
    results = "\n".join(results_table(groups))
    assert "| baseline | 3 | 0.0220 ± 0.0020 |" in results
    effects = {line.split(" | ")[0].strip("| "): line for line in effects_table(groups)[2:]}
    assert "better" in effects["layers-3"].split(" | ")[1]
    assert "worse" in effects[f"bidirectional ({NON_CAUSAL})"].split(" | ")[1]
