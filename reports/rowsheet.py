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

import re
from collections.abc import Container, Sequence
from typing import Any

from xlsxwriter.format import Format
from xlsxwriter.utility import _utf16_len, _utf16_truncate, xl_col_to_name
from xlsxwriter.worksheet import Worksheet

# What XlsxWriter's inline strings escape: a control character, or a literal
# "_xHHHH_" that Excel would otherwise read as one, or a Unicode non-character.
_NEEDS_ESCAPE = re.compile("_x[0-9a-fA-F]{4}_|[\x00-\x08\x0b-\x1f\ufffe\uffff&<>]")
_PRESERVED = '<t xml:space="preserve">'  # a text with white space first or last
# What str.isspace() (and so XlsxWriter's regular expression \s) takes for white space.
_WHITESPACE = frozenset(chr(c) for c in range(0x3001) if chr(c).isspace())  # U+3000 is the last
_STRING_MAX = 32_767  # UTF-16 units, Excel's limit for one cell


def _escape(text: str) -> str:
    """A text escaped as XlsxWriter escapes an inline string (a no-op on plain text)."""
    text = Worksheet._escape_control_characters(text)  # type: ignore[no-untyped-call]
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _style(fmt: Format | None) -> str:
    return f' s="{fmt._get_xf_index()}"' if fmt is not None else ""  # type: ignore[no-untyped-call]


class RowSheet(Worksheet):
    """A worksheet whose data rows can be written whole (constant-memory mode only)."""

    _whole_row = -1  # the row write_cells wrote last, while it is the row held
    _styles_of_columns: dict[int, str] | None = None
    _starts: list[str] = []  # noqa: RUF012 (replaced, never changed in place)

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
        if row < self.previous_row or row == self._whole_row or self.table.get(row):
            raise ValueError(f"row {row} was already written or started")
        # Most rows need no escaping at all: one look at all their text says so.
        plain = _NEEDS_ESCAPE.search("\n".join([v for v in values if isinstance(v, str)])) is None
        info = self.row_info.get(row)
        row_style = _style(info.row_format if info is not None else None)
        column_styles = self._column_styles()
        starts = self._cell_starts(len(values))
        ref = str(row + 1)
        first = last = -1
        parts: list[str] = []
        append = parts.append
        for col, value in enumerate(values):
            if value is None or value == "":
                continue
            if first < 0:
                first = col
            last = col
            # A cell's own format, else its row's, else its column's: as XlsxWriter falls back.
            if col in formatted:
                style = _style(cell_format)
            elif row_style or not column_styles:
                style = row_style
            else:
                style = column_styles.get(col, "")
            if isinstance(value, str):
                if len(value) > _STRING_MAX // 2 and _utf16_len(value) > _STRING_MAX:
                    value = _utf16_truncate(value, _STRING_MAX)
                if not plain:
                    value = _escape(value)
                if value[0] in _WHITESPACE or value[-1] in _WHITESPACE:
                    append(f'{starts[col]}{ref}"{style} t="inlineStr"><is>{_PRESERVED}{value}')
                else:
                    append(f'{starts[col]}{ref}"{style} t="inlineStr"><is><t>{value}')
                append("</t></is></c>")
            else:
                append(f'{starts[col]}{ref}"{style}><v>{value:.16G}</v></c>')
        if first < 0:
            return  # as with no cell call at all
        # The dimensions of the sheet, and a check of the bounds, as for any cell.
        if self._check_dimensions(row, first) or self._check_dimensions(row, last):
            raise ValueError(f"row {row} is outside the worksheet")
        if row > self.previous_row:
            self._write_single_row(row)  # a row still held (the header) goes out first
        self._write_row(row, None, info)
        assert self.fh is not None  # the row data file, in constant-memory mode
        self.fh.write("".join(parts))
        self._xml_end_tag("row")
        # As after a cell call, this is the row held, but it is out already.
        self.previous_row = self._whole_row = row

    def _cell_starts(self, columns: int) -> list[str]:
        """``<c r="A``, ``<c r="B``, …: the start of a cell in each column."""
        if len(self._starts) < columns:
            self._starts = [f'<c r="{xl_col_to_name(col)}' for col in range(columns)]
        return self._starts

    def set_column(self, *args: Any, **kwargs: Any) -> Any:
        """XlsxWriter's, and the columns' formats are looked at again."""
        self._styles_of_columns = None
        return super().set_column(*args, **kwargs)

    def _column_styles(self) -> dict[int, str]:
        if self._styles_of_columns is None:
            self._styles_of_columns = {
                col: _style(info.column_format)
                for col, info in self.col_info.items()
                if info.column_format is not None
            }
        return self._styles_of_columns

    def _write_single_row(self, current_row_num: int = 0) -> None:
        """XlsxWriter's flush of the row held, unless ``write_cells`` wrote it."""
        if self.previous_row == self._whole_row:
            self.previous_row = current_row_num
            self.table.clear()
            self._whole_row = -1
            return
        super()._write_single_row(current_row_num)
