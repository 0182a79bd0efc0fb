"""The config form: settings named in words with their key in the tooltip, the few a first run
changes in view, the rest in sections that open on demand, and every schema field editable."""

from __future__ import annotations

import pytest

from engine.config.schema import Config, schema_fields
from gui.panels.config_form import BASIC_KEYS, EDITED_SECTIONS, ConfigForm


@pytest.fixture
def form(qtbot) -> ConfigForm:
    form = ConfigForm()
    qtbot.addWidget(form)
    form.set_config(Config())
    form.resize(520, 900)
    form.show()
    qtbot.waitExposed(form)
    return form


def schema_keys() -> set[str]:
    return {f"{section}.{f.name}" for section in EDITED_SECTIONS for f in schema_fields(section)}


def test_every_schema_field_has_an_editor_and_a_label_in_words(form):
    assert set(form.editors) == schema_keys()
    assert form.labels["training.tbptt_steps"].text() == "Truncated BPTT length"
    assert form.labels["training.time_budget_s"].text() == "Time budget"
    assert form.labels["visualization.comparison_freq_idx"].text() == "Graph 1 frequency"
    for key, label in form.labels.items():
        assert "_" not in label.text() and label.text() != key.split(".")[1].replace("_", " "), key


def test_the_tooltip_names_the_key_and_its_help(form):
    help_text = next(f for f in schema_fields("training") if f.name == "tbptt_steps").metadata["help"]
    form.editors["training.mode"].setCurrentText("streams")  # the field in use: its tooltip is its help alone
    for widget in (form.labels["training.tbptt_steps"], form.editors["training.tbptt_steps"]):
        assert widget.toolTip() == f"training.tbptt_steps: {help_text}"
    form.editors["training.mode"].setCurrentText("interleaved")
    assert "training.tbptt_steps: " in form.editors["training.tbptt_steps"].toolTip()  # and when it says it is unused


def test_a_first_run_s_settings_are_in_view_and_the_rest_open_on_demand(form, qtbot):
    for key in BASIC_KEYS:
        assert form.editors[key].isVisible(), key
    assert {"data.frequencies", "model.hidden_size", "model.num_layers", "training.learning_rate", "training.num_epochs"} <= set(BASIC_KEYS)
    advanced = schema_keys() - set(BASIC_KEYS)
    assert not any(form.editors[key].isVisible() for key in advanced)
    form.sections["training.tbptt_steps"].toggle.click()
    assert form.editors["training.tbptt_steps"].isVisible() and not form.editors["data.train_seed"].isVisible()


def test_a_problem_in_a_closed_section_opens_it_at_the_field(form, qtbot):
    form.editors["data.sampling_rate"].setText("0")
    qtbot.waitUntil(lambda: not form.field_errors["data.sampling_rate"].isHidden())
    assert form.editors["data.sampling_rate"].isVisible() and form.field_errors["data.sampling_rate"].isVisible()


def test_step_milestones_are_typed_as_a_list_and_read_back_as_whole_epochs(form, qtbot):
    assert form.editors["training.lr_milestones"].text() == "" and form.validate() == Config()
    form.editors["training.lr_schedule"].setCurrentText("step")
    form.editors["training.lr_milestones"].setText("30, 60")
    form.editors["training.lr_warmup_epochs"].setText("5")
    config = form.validate()
    assert config is not None and config.training.lr_milestones == [30, 60] and config.training.lr_warmup_epochs == 5
    form.set_config(config)
    assert form.editors["training.lr_milestones"].text() == "30, 60" and form.validate() == config
    form.editors["training.lr_milestones"].setText("60, 30")
    qtbot.waitUntil(lambda: not form.field_errors["training.lr_milestones"].isHidden())
    assert "training.lr_milestones: [60, 30] is not increasing" in form.field_errors["training.lr_milestones"].text()
