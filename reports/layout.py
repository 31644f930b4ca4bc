"""Shared looks: a font that suits Chinese text, borders, wrapping, saving to bytes."""

from __future__ import annotations

import io
import math
import unicodedata
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.worksheet.worksheet import Worksheet

# SimSun (宋体) is on every Chinese Windows and WPS install; Excel substitutes elsewhere.
FONT_NAME = "宋体"
TITLE_FONT_NAME = "黑体"
FONT = Font(name=FONT_NAME, size=11)
BOLD = Font(name=FONT_NAME, size=11, bold=True)
TITLE = Font(name=TITLE_FONT_NAME, size=16, bold=True)
THIN = Side(style="thin", color="000000")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
TOP_LEFT = Alignment(horizontal="left", vertical="top", wrap_text=True)
LINE_POINTS = 15.0  # height of one line of 11-point text


def display_width(text: str) -> int:
    """Columns a text takes: a Chinese character is two, a Latin letter one."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def lines_needed(text: str, width: float) -> int:
    """Lines a wrapped text takes in a column ``width`` characters wide."""
    usable = max(1.0, width - 1)
    return sum(max(1, math.ceil(display_width(line) / usable)) for line in text.split("\n"))


def fit_row(ws: Worksheet, row: int, widths: dict[str, float], texts: dict[str, str]) -> None:
    """Give a row the height its wrapped texts need (Excel does not grow it by itself)."""
    lines = max((lines_needed(texts[c], widths[c]) for c in texts), default=1)
    ws.row_dimensions[row].height = max(1, lines) * LINE_POINTS + 6


def to_bytes(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def seal_footer(ws: Any, seal: str | None) -> None:
    """The chain head (storage.chain.Seal) at the foot of every printed page, so that
    a paper copy can later be checked against the database with ``xiaoan verify``."""
    footer = ws.oddFooter
    if seal is None or footer is None:
        return
    footer.center.text = seal
    footer.center.size = 7
