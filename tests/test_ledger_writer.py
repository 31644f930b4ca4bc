"""The ledger's spreadsheet writer (XlsxWriter): what people typed stays text, the
sheet prints on A4 landscape, and the workbook reads back with openpyxl."""

from __future__ import annotations

import pytest

from storage.db import Database
from storage.photos import PhotoLimits, PhotoStore
from tests.conftest import seed_hazard, seed_school
from tests.test_ledger_export import export


@pytest.mark.parametrize(
    ("typed", "stored", "quoted"),
    [
        ('=HYPERLINK("http://x")', '=HYPERLINK("http://x")', True),
        ("+1 灭火器", "+1 灭火器", True),
        ("-2", "-2", True),
        ("@SUM(A1)", "@SUM(A1)", True),
        ("0012", "0012", False),  # a number's look does not make it a number
        ("http://example.com", "http://example.com", False),  # no link is made of it
        ("1e5", "1e5", False),
        ("电线\x07老化", "电线老化", False),  # a character a workbook cannot hold is dropped
        ("疏散通道堵塞", "疏散通道堵塞", False),
    ],
)
async def test_typed_text_stays_text(
    fresh_db: Database, tmp_path, typed: str, stored: str, quoted: bool
) -> None:
    s = await seed_school(fresh_db, "实验小学", ["教学楼A"])
    await seed_hazard(fresh_db, s, s.building_ids[0], typed)
    _, wb = export(fresh_db, s.campaign_id, PhotoStore(tmp_path / "p", PhotoLimits()))
    cell = wb["台账"]["E2"]
    assert cell.value == stored
    assert cell.data_type == "s"
    assert cell.quotePrefix is quoted
    assert cell.hyperlink is None


async def test_print_setup_and_layout(fresh_db: Database, tmp_path) -> None:
    s = await seed_school(fresh_db, "实验小学", ["教学楼A"])
    await seed_hazard(fresh_db, s, s.building_ids[0], "灭火器过期")
    _, wb = export(fresh_db, s.campaign_id, PhotoStore(tmp_path / "p", PhotoLimits()))
    for ws in (wb["台账"], wb["建筑物"]):
        assert ws.page_setup.orientation == "landscape"
        assert ws.page_setup.paperSize == 8  # A3
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        # One page wide (1 is the file format's default, so it may be left out), any length.
        assert (ws.page_setup.fitToWidth or 1, ws.page_setup.fitToHeight) == (1, 0)
        assert ws.print_title_rows.replace("$", "") == "1:1"
        assert ws.freeze_panes == "A2"
        assert all(cell.font.b for cell in ws[1])
    assert wb["台账"].column_dimensions["E"].width == pytest.approx(36, abs=1)
    assert wb["台账"]["A2"].value == 1 and wb["台账"]["A2"].data_type == "n"
