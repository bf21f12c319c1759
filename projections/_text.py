"""The text report's formatting: durations, percentages, cut cells, aligned tables.

Plain string formatting, the same on every terminal width, in a pipe and
in a test. Shared by the report's sections (``_render``) and its v1.1
sections (``_render_v1_1``), which this keeps from importing each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

__all__ = [
    "CELL",
    "FEW",
    "TOP",
    "cut",
    "dur",
    "pct",
    "score_of",
    "table",
    "tail",
    "title",
]

#: Rows of a table cut to the top few, and the width of a text cell.
TOP: Final = 10
FEW: Final = 5
CELL: Final = 24


def dur(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    total = round(seconds)
    if total < 60:
        return f"{total}s"
    if total < 3600:
        return "{}m{:02d}s".format(*divmod(total, 60))
    if total < 86400:
        return "{}h{:02d}m".format(*divmod(round(total / 60), 60))
    return "{}d{:02d}h".format(*divmod(round(total / 3600), 24))


def pct(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio * 100:.1f}%"


def score_of(score: float | None) -> str:
    return "-" if score is None else f"{score:.3f}"


def cut(text: str | None, width: int = CELL) -> str:
    if text is None:
        return "-"
    return text if len(text) <= width else text[: width - 1] + "…"


def tail(text: str | None, width: int = CELL) -> str:
    """Cut from the left: a ref's end (the file, the id) tells refs apart."""
    if text is None:
        return "-"
    return text if len(text) <= width else "…" + text[len(text) - width + 1 :]


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str = "l") -> list[str]:
    """Columns padded to their widest cell, ``align`` ``l`` (text) or ``r`` (numbers).

    Columns past the end of ``align`` are numbers, aligned right.
    """
    widths = [max(len(cells[i]) for cells in (headers, *rows)) for i in range(len(headers))]
    flush = [align[i : i + 1] == "l" for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        padded = (
            cell.ljust(width) if text else cell.rjust(width)
            for cell, width, text in zip(cells, widths, flush, strict=True)
        )
        return ("  " + "  ".join(padded)).rstrip()

    return [line(headers), *(line(cells) for cells in rows)]


def title(text: str, shown: int, total: int) -> str:
    return f"{text} ({shown} of {total:,})" if shown < total else text
