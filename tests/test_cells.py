"""Safe cells: text from users never becomes a formula, in either writing mode."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook

from reports.cells import clean, stream_value, text_cell

RISKY = [
    "=1+1",
    '=HYPERLINK("http://evil.example","点我")',
    "+86 138",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    "=",
]
PLAIN = ["灭火器过期", "a=b", "100", " =1"]


def read_back(data: bytes) -> list:
    ws = load_workbook(io.BytesIO(data)).active
    return [(c.value, c.data_type, c.quotePrefix) for c in ws["A"]]


@pytest.mark.parametrize("text", RISKY + PLAIN)
def test_normal_sheet_keeps_text(text: str) -> None:
    wb = Workbook()
    text_cell(wb.active, 1, 1, text)
    buffer = io.BytesIO()
    wb.save(buffer)
    value, data_type, quoted = read_back(buffer.getvalue())[0]
    assert data_type == "s"
    assert value == text.replace("\r", "\n")  # XML keeps a line break, not a bare CR
    assert quoted == (text in RISKY)


@pytest.mark.parametrize("text", RISKY + PLAIN)
def test_write_only_sheet_keeps_text(text: str) -> None:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append([stream_value(ws, text)])
    buffer = io.BytesIO()
    wb.save(buffer)
    value, data_type, quoted = read_back(buffer.getvalue())[0]
    assert data_type == "s"
    assert value == text.replace("\r", "\n")  # XML keeps a line break, not a bare CR
    assert quoted == (text in RISKY)


def test_a_formula_like_description_stays_text_in_the_file() -> None:
    """No <f> element at all in the sheet's XML."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append([stream_value(ws, "=cmd|' /C calc'!A0")])
    buffer = io.BytesIO()
    wb.save(buffer)
    import zipfile

    xml = zipfile.ZipFile(io.BytesIO(buffer.getvalue())).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in xml
    assert b"calc" in xml or b"calc" in zipfile.ZipFile(io.BytesIO(buffer.getvalue())).read(
        "xl/sharedStrings.xml"
    )


def test_control_characters_are_dropped_and_length_capped() -> None:
    assert clean("a\x00b\x07c\x1fd") == "abcd"
    assert clean("x" * 40_000) == "x" * 32_767
    assert clean("行1\n行2\t!") == "行1\n行2\t!"


def test_numbers_pass_through() -> None:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    assert stream_value(ws, 12) == 12
    assert stream_value(ws, None) is None
