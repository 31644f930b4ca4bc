"""A whole row at a time for XlsxWriter's constant-memory mode: the ledger's hot loop.

XlsxWriter spends about 8 µs of interpreter time on every cell (argument
checks, a tuple in its row table, then an XML element built attribute by
attribute with three regular expressions); a city ledger has two million
cells, so most of an export went there (``bench/bench_export.py``).
``RowSheet.write_cells`` writes one row's cells in one pass and in the very
XML XlsxWriter writes for the same ``write_string`` / ``write_number`` calls
(``tests/test_rowsheet.py`` compares the two byte for byte), checking the
row's text once for what needs escaping instead of every cell.

It is a ``worksheet_class`` (XlsxWriter's own way to extend a worksheet) and
leans on the worksheet's row bookkeeping, so XlsxWriter is pinned to the
versions the comparison test has passed on (``pyproject.toml``).

One deliberate difference: XlsxWriter writes a text that starts with ``<r>``
and ends with ``</r>`` as raw rich-text XML, so a hazard described as
``<r>…</r>`` would corrupt the workbook; here every text is escaped and comes
back as typed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Container, Sequence
from typing import Any

from xlsxwriter.format import Format
from xlsxwriter.utility import _utf16_len, _utf16_truncate, xl_col_to_name
from xlsxwriter.worksheet import Worksheet

# What XlsxWriter's inline strings escape: a control character, or a literal
# "_xHHHH_" that Excel would otherwise read as one, or a Unicode non-character.
_NEEDS_CONTROL_ESCAPE = re.compile("_x[0-9a-fA-F]{4}_|[\x00-\x08\x0b-\x1f\ufffe\uffff]")
_NEEDS_XML_ESCAPE = re.compile("[&<>]")
_STRING_MAX = 32_767  # UTF-16 units, Excel's limit for one cell


@functools.cache
def _column_name(col: int) -> str:
    return xl_col_to_name(col)


def _inline(text: str, control: bool, xml: bool) -> str:
    """The ``<is>`` part of an inline string cell, escaped as XlsxWriter escapes it."""
    if control:
        text = Worksheet._escape_control_characters(text)
    if xml:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if text and (text[0].isspace() or text[-1].isspace()):
        return f'<is><t xml:space="preserve">{text}</t></is></c>'
    return f"<is><t>{text}</t></is></c>"


class RowSheet(Worksheet):
    """A worksheet whose data rows can be written whole (constant-memory mode only)."""

    _whole_row = -1  # the row write_cells wrote last, while it is the row held

    def write_cells(
        self,
        row: int,
        values: Sequence[Any],
        formatted: Container[int] = (),
        cell_format: Format | None = None,
    ) -> None:
        """Write ``values`` from column A on: ``None`` and ``""`` are no cell, a ``str`` a
        text cell, anything else a number; the cells at the indices ``formatted`` get
        ``cell_format``.

        The same XML as ``write_string`` / ``write_number`` for each cell. Rows must come in
        order, as constant-memory mode wants anyway.
        """
        if not self.constant_memory:
            raise ValueError("RowSheet writes rows straight to the file: constant_memory only")
        columns = [col for col, value in enumerate(values) if value is not None and value != ""]
        if not columns:
            return  # as with no cell call at all
        if row < self.previous_row or row == self._whole_row or self.table.get(row):
            raise ValueError(f"row {row} was already written or started")
        # The dimensions of the sheet, and a check of the bounds, as for any cell.
        if self._check_dimensions(row, columns[0]) or self._check_dimensions(row, columns[-1]):
            raise ValueError(f"row {row} is outside the worksheet")
        if row > self.previous_row:
            self._write_single_row(row)  # a row still held (the header) goes out first
        texts = "\n".join(v for v in values if isinstance(v, str))
        control = _NEEDS_CONTROL_ESCAPE.search(texts) is not None
        xml = _NEEDS_XML_ESCAPE.search(texts) is not None
        info = self.row_info.get(row)
        row_format = info.row_format if info is not None else None
        ref = str(row + 1)
        parts = []
        for col in columns:
            value = values[col]
            fmt = cell_format if col in formatted else None
            if fmt is None:
                # XlsxWriter's fallback for a cell without a format of its own.
                if row_format is not None:
                    fmt = row_format
                elif col in self.col_info:
                    fmt = self.col_info[col].column_format
            style = f' s="{fmt._get_xf_index()}"' if fmt is not None else ""
            cell = f'<c r="{_column_name(col)}{ref}"{style}'
            if isinstance(value, str):
                if len(value) > _STRING_MAX // 2 and _utf16_len(value) > _STRING_MAX:
                    value = _utf16_truncate(value, _STRING_MAX)
                parts.append(f'{cell} t="inlineStr">{_inline(value, control, xml)}')
            else:
                parts.append(f"{cell}><v>{value:.16G}</v></c>")
        self._write_row(row, None, info)
        self.fh.write("".join(parts))
        self._xml_end_tag("row")
        # As after a cell call, this is the row held, but it is out already.
        self.previous_row = self._whole_row = row

    def _write_single_row(self, current_row_num: int = 0) -> None:
        """XlsxWriter's flush of the row held, unless ``write_cells`` wrote it."""
        if self.previous_row == self._whole_row:
            self.previous_row = current_row_num
            self.table.clear()
            self._whole_row = -1
            return
        super()._write_single_row(current_row_num)
