"""The ledger's whole-row writer (reports.rowsheet): the same sheet XML as XlsxWriter's
own cell-by-cell calls, for any text people can type."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from reports.cells import CELL_MAX, clean, is_risky, may_be_risky, needs_cleaning
from reports.rowsheet import _WHITESPACE, RowSheet

OPTIONS = {
    "constant_memory": True,
    "strings_to_numbers": False,
    "strings_to_formulas": False,
    "strings_to_urls": False,
}
# Text as people type it, and the awkward parts: XML's special characters, Excel's
# "_xHHHH_" escapes, control characters, edge whitespace, characters beyond U+FFFF.
awkward = st.sampled_from(
    ["&", "<", ">", '"', "_x0041_", "_X00a1_", "\r", "\t", "\n", " ", "\u3000", "😀", "=", "\ufffe"]
)
text = (
    st.lists(st.one_of(st.text(max_size=6), awkward), max_size=6)
    .map("".join)
    .filter(lambda t: not (t.startswith("<r>") and t.endswith("</r>")))
)
value = st.one_of(
    st.none(), st.just(""), text, st.integers(-(10**12), 10**12), st.floats(-1e9, 1e9)
)
row = st.lists(value, min_size=1, max_size=8)


def sheet_xml(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read("xl/worksheets/sheet1.xml").decode()


def write(rows: list[tuple[list[Any], set[int], float | None]], whole_rows: bool) -> bytes:
    """The same rows, through XlsxWriter's cell calls or through ``write_cells``."""
    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(buffer, OPTIONS)
    ws = wb.add_worksheet("台账", worksheet_class=RowSheet)
    assert isinstance(ws, RowSheet)
    quoted = wb.add_format({"quote_prefix": True, "font_name": "宋体"})
    wide = wb.add_format({"bold": True})
    ws.set_column(0, 0, 8)
    ws.set_column(2, 2, 14, wide)  # a column format: cells without their own take it
    ws.write_row(0, 0, ["编号", "学校"], wb.add_format({"bold": True}))  # the header, as usual
    for index, (values, formatted, height) in enumerate(rows, 1):
        if height is not None:
            ws.set_row(index, height)
        if whole_rows:
            ws.write_cells(index, values, formatted, quoted)
            continue
        for col, v in enumerate(values):
            if v is None or v == "":
                continue
            fmt = quoted if col in formatted else None
            if isinstance(v, str):
                ws.write_string(index, col, v, fmt)
            else:
                ws.write_number(index, col, v, fmt)
    ws.autofilter(0, 0, len(rows), 7)
    wb.close()
    return buffer.getvalue()


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            row,
            st.sets(st.integers(0, 7), max_size=3),
            st.one_of(st.none(), st.just(63.75)),
        ),
        max_size=6,
    )
)
def test_whole_rows_write_the_same_xml_as_cell_by_cell(
    rows: list[tuple[list[Any], set[int], float | None]],
) -> None:
    assert sheet_xml(write(rows, True)) == sheet_xml(write(rows, False))


def test_a_text_that_looks_like_rich_text_stays_the_text_typed() -> None:
    # XlsxWriter would write it as raw XML (a broken workbook); here it is text.
    typed = "<r><t>灭火器</t></r>"
    data = write([([1, typed], set(), None)], whole_rows=True)
    ws = load_workbook(io.BytesIO(data))["台账"]
    assert ws["B2"].value == typed


def test_rows_go_forward_only() -> None:
    wb = xlsxwriter.Workbook(io.BytesIO(), OPTIONS)
    ws = wb.add_worksheet(worksheet_class=RowSheet)
    assert isinstance(ws, RowSheet)
    ws.write_cells(3, ["a"])
    with pytest.raises(ValueError, match="already written"):
        ws.write_cells(2, ["b"])
    wb.close()


@given(st.lists(st.one_of(text, st.sampled_from(["=1", "+", "-", "@a", "\tx", "\rx", "a\n=b"]))))
def test_one_look_at_a_row_misses_no_risky_or_unclean_text(texts: list[str]) -> None:
    joined = "\n".join(texts)
    if any(is_risky(t) for t in texts):
        assert may_be_risky(joined)
    if any(clean(t) != t for t in texts):
        assert needs_cleaning(joined) or len(joined) > CELL_MAX


def test_white_space_is_what_xlsxwriter_takes_for_it() -> None:
    every = {chr(c) for c in range(0x110000)}
    assert {c for c in every if re.match(r"\s", c)} == _WHITESPACE
