"""docs/configuration.md from the schema's own help texts, so the reference cannot drift from what the engine checks.

Regenerate with ``python -m engine.config.reference > docs/configuration.md``; tests/test_config_reference.py
fails while the file differs from what this prints.
"""

from __future__ import annotations

import dataclasses

from engine.config.schema import SECTION_TYPES, _allowed, format_number, schema_fields

HEADER = """# Configuration reference

Every setting of an experiment file, by section, as `--set section.key=value` names it. Generated from
the schema in `engine/config/schema.py` by `python -m engine.config.reference > docs/configuration.md`: edit
the help texts there, not here. A value outside what is allowed is refused with a message naming the
key and what is allowed; a key a file leaves out takes its default.
"""


def _cell(text: str) -> str:
    """Text that stays inside one cell of a markdown table."""
    return text.replace("|", "\\|").replace("\n", " ")


def _default(field: dataclasses.Field) -> str:
    if field.default is not dataclasses.MISSING:
        return f"`{format_number(field.default)}`"
    assert field.default_factory is not dataclasses.MISSING  # every setting has a default
    return f"`{format_number(field.default_factory())}`"


def _meaning(field: dataclasses.Field) -> str:
    """The help text, with the training mode that reads the setting and whether the run folder supersedes it."""
    meta = field.metadata
    notes = []
    if "mode" in meta:
        notes.append(f"read in {meta['mode']} mode only")
    if meta.get("superseded"):
        notes.append("superseded by the run folder")
    return meta["help"] + (f" ({'; '.join(notes)})" if notes else "")


def _row(section: str, field: dataclasses.Field) -> str:
    meta = field.metadata
    kind = list if field.default is dataclasses.MISSING else type(field.default)
    unit = f" {meta['unit']}" if "unit" in meta else ""
    cells = (f"`{section}.{field.name}`", meta.get("label", ""), _default(field) + unit, _allowed(field, kind), _meaning(field))
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def reference_markdown() -> str:
    """The whole configuration reference: one table per section, in the schema's order."""
    lines = [HEADER]
    for section in SECTION_TYPES:
        lines += [f"## {section}", "", "| key | name | default | allowed | meaning |", "|---|---|---|---|---|"]
        lines += [_row(section, f) for f in schema_fields(section)]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(reference_markdown(), end="")
