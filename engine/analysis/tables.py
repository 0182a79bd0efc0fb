"""Any table (a header and rows of cells) as CSV and as LaTeX with booktabs rules: what the report's
tables and the Runs table export to, so a spreadsheet or a paper takes the same numbers."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from engine.config.schema import format_number, is_number

LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}"}
LATEX_SPECIAL |= {"~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "±": r"$\pm$"}


def cell_text(value: Any) -> str:
    """A cell as text: numbers as the shortest text that reads back equal, None as empty."""
    if value is None:
        return ""
    return format_number(value) if is_number(value) or isinstance(value, (list, tuple)) else str(value)


def table_csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """The table as CSV (RFC 4180 quoting, one line per row)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([cell_text(v) for v in row] for row in rows)
    return out.getvalue()


def latex_escape(text: str) -> str:
    return "".join(LATEX_SPECIAL.get(ch, ch) for ch in text)


def table_latex(header: Sequence[str], rows: Sequence[Sequence[Any]], significant: int | None = None) -> str:
    """The table as a LaTeX tabular with booktabs rules (\\usepackage{booktabs}); number columns right-aligned,
    floats to ``significant`` digits when given (a printed table, not the data: CSV keeps every digit)."""
    numeric = [
        all(is_number(row[k]) or row[k] is None for row in rows) and any(is_number(row[k]) for row in rows) for k in range(len(header))
    ]

    def text(value: Any) -> str:
        return f"{value:.{significant}g}" if significant and isinstance(value, float) else cell_text(value)

    def line(cells: Sequence[Any]) -> str:
        return " & ".join(latex_escape(text(c)) for c in cells) + r" \\"

    return "\n".join(
        [
            r"\begin{tabular}{" + "".join("r" if n else "l" for n in numeric) + "}",
            r"\toprule",
            line(header),
            r"\midrule",
            *[line(row) for row in rows],
            r"\bottomrule",
            r"\end{tabular}",
            "",
        ]
    )
