"""docs/configuration.md is what the schema's help texts generate: a changed field without a regenerated file fails here."""

from __future__ import annotations

from pathlib import Path

from engine.config.reference import reference_markdown
from engine.config.schema import SECTION_TYPES, schema_fields

REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"


def test_configuration_reference_is_up_to_date() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == reference_markdown(), (
        "docs/configuration.md is out of date with engine/config/schema.py; regenerate it: "
        "python -m engine.config.reference > docs/configuration.md"
    )


def test_reference_names_every_setting_with_its_help() -> None:
    text = reference_markdown()
    for section in SECTION_TYPES:
        for field in schema_fields(section):
            assert f"`{section}.{field.name}`" in text
            assert field.metadata["help"].replace("|", "\\|") in text
