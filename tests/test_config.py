from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.config.schema import Config, ConfigError, apply_overrides, config_from_dict, dump_config, load_config, parse_yaml, save_config
from engine.signals.dataset import generate
from tests.conftest import ROOT


def messages(raw) -> list[str]:
    with pytest.raises(ConfigError) as info:
        config_from_dict(raw)
    return info.value.messages


def test_user_file_loads_unchanged_with_their_values():
    config = load_config(ROOT / "config.yaml")
    assert config.data.frequencies == [1.0, 3.0, 5.0, 7.0]
    assert (config.data.sampling_rate, config.data.duration) == (1000, 10.0)
    assert (config.data.train_seed, config.data.test_seed) == (1, 2)
    assert config.data.phase_multiplier == 0.01  # not in their file: the default is their choice
    assert (config.model.hidden_size, config.model.num_layers, config.model.input_size) == (128, 1, 5)
    assert (config.training.learning_rate, config.training.batch_size, config.training.num_epochs) == (0.0001, 32, 100)
    assert config.training.mode == "interleaved"
    assert config.paths.model_checkpoint == "models/best_model.pth"
    assert config.n_samples == 10_000


def test_shipped_files_are_the_users_own_file():
    seed = (ROOT / "resources" / "presets" / "seed.yaml").read_text()
    assert (ROOT / "config.yaml").read_text() == seed
    assert "L=1 CONSTRAINT EXPLANATION" in seed


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"training": {"learnig_rate": 0.1}}, ["training.learnig_rate: unknown key", "did you mean 'learning_rate'"]),
        ({"trainig": {}}, ["trainig: unknown section", "did you mean 'training'"]),
        ({"training": {"batch_size": "big"}}, ["training.batch_size: 'big'", "an integer from 1 to 65536"]),
        ({"training": {"batch_size": 0}}, ["training.batch_size: 0", "from 1 to"]),
        ({"training": {"batch_size": 2.5}}, ["training.batch_size: 2.5"]),
        ({"training": {"learning_rate": -1}}, ["training.learning_rate: -1"]),
        ({"training": {"mode": "random"}}, ["training.mode: 'random'", "one of interleaved, streams"]),
        ({"training": {"device": "tpu"}}, ["training.device: 'tpu'", "auto, cpu, cuda, mps"]),
        ({"data": {"frequencies": [1, 3, 600]}}, ["data.frequencies: 600 Hz is at or above Nyquist (500 Hz"]),
        ({"data": {"frequencies": "1,3"}}, ["data.frequencies: '1,3'", "a non-empty list of numbers"]),
        ({"data": {"frequencies": [1, 3, 5]}}, ["model.input_size: 5 does not fit 3 frequencies; allowed: 4"]),
        ({"visualization": {"comparison_freq_idx": 4}}, ["visualization.comparison_freq_idx: 4 is out of range; allowed: 0 to 3"]),
        ({"data": {"amp_min": 2.0}}, ["data.amp_min: 2.0 is above data.amp_max"]),
        ({"data": {"phase_multiplier": 2.0}}, ["data.phase_multiplier: 2.0", "from 0.0 to 1.0"]),
        ({"model": {"dropout": True}}, ["model.dropout: True"]),
        (["a", "list"], ["the document is a list"]),
        (
            {"data": {"frequencies": [5e-324, 3, 5, 7]}},
            ["data.frequencies: 4.94066e-324 Hz is too low", "allowed: frequencies from 1e-06 Hz"],
        ),
        (
            {"data": {"frequencies": [1 + k for k in range(1100)], "sampling_rate": 10_000}, "model": {"input_size": 1101}},
            ["data.frequencies: 1100 frequencies; allowed: at most 1024"],
        ),
    ],
)
def test_each_invalid_value_is_named_with_what_is_allowed(raw, expected):
    text = "\n".join(messages(raw))
    for part in expected:
        assert part in text


def test_too_many_frequencies_is_one_message_not_advice_that_fails():
    found = messages({"data": {"frequencies": [1 + k for k in range(1100)], "sampling_rate": 10_000}})
    assert [m for m in found if "input_size" in m] == []  # "allowed: 1101" would itself be refused


def test_every_problem_is_reported_at_once():
    found = messages({"training": {"batch_size": 0, "mode": "x"}, "model": {"hidden_size": -3}, "extra": 1})
    assert len(found) == 4


def test_unreadable_and_non_yaml_files(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [1, 2\n  model: {")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(tmp_path / "missing.yaml")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError):
        load_config(binary)


def test_a_repeated_key_or_a_second_document_is_named_for_what_it_is(tmp_path: Path):
    from engine.sweeps.space import parse_sweep

    repeated = tmp_path / "repeated.yaml"
    repeated.write_text("model:\n  hidden_size: 16\n  hidden_size: 32\n")
    with pytest.raises(ConfigError, match=r"line 3\).*duplicate key \"hidden_size\"") as caught:
        load_config(repeated)
    assert "allowed: a YAML mapping like the shipped config.yaml" in str(caught.value)
    two = tmp_path / "two.yaml"
    two.write_text("data: {duration: 2}\n---\nmodel: {hidden_size: 8}\n")
    with pytest.raises(ConfigError, match="another document"):
        load_config(two)
    with pytest.raises(ConfigError, match="duplicate key") as caught:
        parse_sweep("study: a\nstudy: b\n", tmp_path / "s.yaml")
    assert "config.yaml" not in str(caught.value) and "sweep file" in str(caught.value)


def test_nothing_is_hard_wired_to_four_frequencies_or_1000_hz():
    config = config_from_dict({"data": {"frequencies": [2, 10, 40], "sampling_rate": 200, "duration": 3}, "model": {"input_size": 4}})
    signals = generate(config.data, config.data.train_seed)
    inputs, targets = signals.rows()
    assert inputs.shape == (3 * 600, 4) and targets.shape == (3 * 600,)
    assert signals.t[-1] == 599 / 200
    np.testing.assert_allclose(signals.targets[2], np.sin(2 * np.pi * 40 * np.arange(600) / 200), atol=1e-12)
    assert (inputs[600:1200, 1:] == [0, 1, 0]).all()  # block 2 selects the second frequency


def test_overrides_parse_yaml_values_and_revalidate():
    config = apply_overrides(Config(), ["training.num_epochs=5", "data.frequencies=[1, 2]", "model.input_size=3"])
    assert config.training.num_epochs == 5 and config.data.frequencies == [1.0, 2.0]
    with pytest.raises(ConfigError, match=r"training\.num_epochs"):
        apply_overrides(Config(), ["training.num_epochs=zero"])
    with pytest.raises(ConfigError, match=r"section\.key=value"):
        apply_overrides(Config(), ["num_epochs"])


def test_saving_keeps_the_users_comments_and_round_trips(tmp_path: Path):
    original = (ROOT / "config.yaml").read_text()
    config = apply_overrides(load_config(ROOT / "config.yaml"), ["model.hidden_size=64", "training.mode=streams"])
    path = tmp_path / "mine.yaml"
    save_config(config, path, keep_comments_from=original)
    text = path.read_text()
    assert "# IMPORTANT: L=1 CONSTRAINT EXPLANATION" in text
    assert "hidden_size: 64" in text and "# LSTM hidden dimension" in text
    assert "mode: streams" in text
    assert load_config(path) == config
    assert "phase_multiplier" not in text  # untouched defaults are not added to the file


def test_dump_without_template_is_complete_yaml():
    text = dump_config(Config())
    assert config_from_dict(parse_yaml(text)) == Config()
    assert "frequencies: [1.0, 3.0, 5.0, 7.0]" in text and "paths:" in text


@pytest.mark.parametrize("spelling", ["1e-4", "1E-4", ".0001", "0.0001", "1.0e-4", "+1e-4"])
def test_every_float_spelling_a_person_types_is_accepted(spelling):
    assert apply_overrides(Config(), [f"training.learning_rate={spelling}"]).training.learning_rate == 0.0001
    assert config_from_dict(parse_yaml(f"training:\n  learning_rate: {spelling}\n")).training.learning_rate == 0.0001


@pytest.mark.parametrize("template", [None, "users file"])
def test_the_users_lower_learning_rate_saves_and_loads_back(tmp_path: Path, template):
    """An experiment from the configuration record: lr 0.00001 was written as 1e-05 and then refused on loading."""
    config = apply_overrides(load_config(ROOT / "config.yaml"), ["training.learning_rate=0.00001", "data.train_seed=4294967295"])
    path = tmp_path / "run.yaml"
    save_config(config, path, keep_comments_from=(ROOT / "config.yaml").read_text() if template else None)
    assert load_config(path) == config
    assert load_config(path).training.learning_rate == 0.00001


def test_problems_carry_their_key_apart_from_the_message():
    with pytest.raises(ConfigError) as info:
        config_from_dict({"model": {"hidden_size": 0}, "data": {"frequencies": [1, 3, 5]}})
    keys = {p.key for p in info.value.problems}
    assert keys == {"model.hidden_size", "model.input_size"}
    assert all(str(p).startswith(p.key + ": ") for p in info.value.problems)


@pytest.mark.parametrize("preset", sorted((ROOT / "resources" / "presets").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_preset_ends_on_an_epoch_count_so_a_seed_reproduces(preset):
    config = load_config(preset)
    assert config.training.time_budget_s == 0 and config.training.num_epochs < 100_000


@pytest.mark.parametrize(
    ("text", "key"),
    [("1" + "0" * 400, "training.learning_rate"), ("!!int abc", "training.learning_rate"), ("[1, 1" + "0" * 400 + "]", "data.frequencies")],
)
def test_numbers_too_large_for_a_float_and_bad_tags_are_named_not_raised(text, key):
    with pytest.raises(ConfigError) as info:
        apply_overrides(Config(), [f"{key}={text}"])
    assert [p.key for p in info.value.problems] == [key]
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_yaml("training:\n  learning_rate: !!float x\n")
