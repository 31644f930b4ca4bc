"""The ledger writers the product does not use, kept to be measured beside the one it does.

``bench/bench_export.py`` runs each on the same city ledger. The product's writer
(``reports.ledger.write_ledger``, XlsxWriter in constant-memory mode) won; these
are the candidates it was measured against:

- openpyxl in write-only mode: what the ledger was written with before; the
  same workbook (header, widths, frozen row, thumbnails, filter), no print setup.
- pyexcelerate: cells only. It cannot embed pictures, so it cannot write the
  same workbook; shown for what a writer without pictures costs.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

from openpyxl import Workbook
from openpyxl.cell.cell import WriteOnlyCell
from openpyxl.drawing.image import Image as SheetImage
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from reports.cells import clean, stream_value
from reports.layout import FONT_NAME
from reports.ledger import (
    AFTER_COLUMN,
    BEFORE_COLUMN,
    BUILDING_COLUMNS,
    HAZARD_COLUMNS,
    PHOTO_ROW_POINTS,
    building_values,
    hazard_values,
    thumbnail,
)
from storage.reporting import LedgerBuilding, LedgerRow

HEADER_FONT = Font(name=FONT_NAME, bold=True)


def _header(ws: WriteOnlyWorksheet, columns: tuple[tuple[str, int], ...]) -> None:
    """Column widths, the frozen bold header row."""
    for index, (_, width) in enumerate(columns, 1):
        # Write-only sheets have column dimensions (the stubs miss them).
        ws.column_dimensions[get_column_letter(index)].width = width  # type: ignore[attr-defined]
    ws.freeze_panes = "A2"
    cells = []
    for title, _ in columns:
        cell = WriteOnlyCell(ws, value=title)
        cell.font = HEADER_FONT
        cells.append(cell)
    ws.append(cells)


def _embed(ws: WriteOnlyWorksheet, jpeg: bytes, column: int, row: int) -> None:
    picture = SheetImage(io.BytesIO(jpeg))
    picture.anchor = f"{get_column_letter(column)}{row}"
    ws.add_image(picture)  # type: ignore[misc]  # shared with Worksheet


def write_openpyxl(
    target: Path | IO[bytes],
    rows: Iterable[LedgerRow],
    buildings: Iterable[LedgerBuilding],
    photo_path: Callable[[str], Path],
) -> int:
    """Write the ledger workbook to ``target``; return the number of hazards written."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("台账")
    _header(ws, HAZARD_COLUMNS)
    count = 0
    for row in rows:
        excel_row = count + 2
        firsts = ((BEFORE_COLUMN, row.photos_before), (AFTER_COLUMN, row.photos_after))
        thumbs = [(column, thumbnail(photo_path(shas[0]))) for column, shas in firsts if shas]
        if thumbs:
            ws.row_dimensions[excel_row].height = PHOTO_ROW_POINTS
        for column, jpeg in thumbs:
            if jpeg is not None:
                _embed(ws, jpeg, column, excel_row)
        # An empty text is no cell at all: smaller and faster than an empty string.
        ws.append([stream_value(ws, v) if v != "" else None for v in hazard_values(row)])
        count += 1
    ws.auto_filter.ref = f"A1:{get_column_letter(len(HAZARD_COLUMNS))}{count + 1}"

    sheet = wb.create_sheet("建筑物")
    _header(sheet, BUILDING_COLUMNS)
    total = 0
    for building in buildings:
        sheet.append([stream_value(sheet, v) for v in building_values(building)])
        total += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(BUILDING_COLUMNS))}{total + 1}"
    wb.save(target)
    return count


def write_pyexcelerate(
    target: Path | IO[bytes],
    rows: Iterable[LedgerRow],
    buildings: Iterable[LedgerBuilding],
    photo_path: Callable[[str], Path],
) -> int:
    """Cells only (pyexcelerate embeds no pictures): every row is held in memory first."""
    from pyexcelerate import Workbook as FastWorkbook  # type: ignore[import-untyped]

    def text(values: list[object]) -> list[object]:
        return [clean(v) if isinstance(v, str) else v for v in values]

    hazard_rows: list[list[object]] = [[title for title, _ in HAZARD_COLUMNS]]
    hazard_rows += [text(hazard_values(row)) for row in rows]
    building_rows: list[list[object]] = [[title for title, _ in BUILDING_COLUMNS]]
    building_rows += [text(building_values(b)) for b in buildings]
    wb = FastWorkbook()
    wb.new_sheet("台账", data=hazard_rows)
    wb.new_sheet("建筑物", data=building_rows)
    wb.save(target)
    return len(hazard_rows) - 1


def read_only(
    target: Path | IO[bytes],
    rows: Iterable[LedgerRow],
    buildings: Iterable[LedgerBuilding],
    photo_path: Callable[[str], Path],
) -> int:
    """The anchor: read every row and compute its cells, thumbnails included; write nothing."""
    count = 0
    for row in rows:
        for shas in (row.photos_before, row.photos_after):
            if shas:
                thumbnail(photo_path(shas[0]))
        hazard_values(row)
        count += 1
    for building in buildings:
        building_values(building)
    return count


WRITERS: dict[str, Callable[..., int]] = {
    "openpyxl write-only": write_openpyxl,
    "pyexcelerate (no pictures)": write_pyexcelerate,
    "anchor: read rows, no writer": read_only,
}
