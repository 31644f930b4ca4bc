"""Safe cells: text people typed is written as text, never as a formula.

openpyxl turns a string that starts with ``=`` into a formula. Every value
that came from a user goes through here: it is cleaned of the control
characters a workbook cannot hold, cut to Excel's limit, stored with
``data_type`` ``'s'``, and a value that a spreadsheet program could take for
a formula or a command (``= + - @``, a tab or a carriage return first) also
gets Excel's quote prefix, so editing the cell later keeps it text.
"""

from __future__ import annotations

import re
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell, WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet

RISKY_START = ("=", "+", "-", "@", "\t", "\r")
_RISKY_LINE = re.compile("^[=+\\-@\t\r]", re.MULTILINE)
CELL_MAX = 32_767  # Excel's limit on the characters of one cell


def clean(text: str) -> str:
    """The text without characters a workbook cannot store, within the cell limit."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)[:CELL_MAX]


def needs_cleaning(text: str) -> bool:
    """Whether ``clean`` would take a character out (the length aside)."""
    return ILLEGAL_CHARACTERS_RE.search(text) is not None


def may_be_risky(texts: str) -> bool:
    """Whether one of the lines of ``texts`` (several texts joined by newlines) is risky:
    False means none of the texts is."""
    return _RISKY_LINE.search(texts) is not None


def is_risky(text: str) -> bool:
    return text.startswith(RISKY_START)


def set_text(cell: Cell, text: str) -> None:
    """Put user text in a cell as text, whatever it starts with."""
    value = clean(text)
    cell.value = value
    cell.data_type = "s"  # undo openpyxl's formula guess for "=..."
    if is_risky(value):
        cell.quotePrefix = True


def text_cell(ws: Worksheet, row: int, column: int, text: str) -> Cell:
    """Write user text at (row, column) of a normal worksheet."""
    cell = ws.cell(row=row, column=column)
    assert isinstance(cell, Cell), "never write into a merged range's hidden cells"
    set_text(cell, text)
    return cell


def stream_value(ws: WriteOnlyWorksheet, value: Any) -> Any:
    """A value for ``ws.append`` in write-only mode: text that needs it becomes a safe cell.

    Plain text that cannot be taken for a formula is passed as it is (cheaper:
    the ledger writes millions of cells).
    """
    if not isinstance(value, str):
        return value
    text = clean(value)
    if not is_risky(text):
        return text
    cell = WriteOnlyCell(ws)
    set_text(cell, text)
    return cell
