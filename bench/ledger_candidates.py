"""The ledger writers the product does not use, kept to be measured beside the one it does.

``bench/bench_export.py`` runs each on the same city ledger. The product's writer
(``reports.ledger.write_ledger``, XlsxWriter in constant-memory mode) won; these
are the candidates it was measured against:

- openpyxl in write-only mode: what the ledger was written with before; the
  same workbook (header, widths, frozen row, thumbnails, filter, print setup).
- the product's own writer as it was before issue 13 (XlsxWriter cell by cell,
  thumbnails made on every export): the "before" of a before/after in one run.
- pyexcelerate: cells only. It cannot embed pictures, so it cannot write the
  same workbook; shown for what a writer without pictures costs.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell.cell import WriteOnlyCell
from openpyxl.drawing.image import Image as SheetImage
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.properties import PageSetupProperties

from reports.cells import clean, stream_value
from reports.layout import FONT_NAME
from reports.ledger import (
    AFTER_COLUMN,
    BEFORE_COLUMN,
    BUILDING_COLUMNS,
    HAZARD_COLUMNS,
    HEADER_ROW_POINTS,
    PHOTO_ROW_POINTS,
    building_values,
    hazard_values,
    safe_cells,
)
from reports.thumbs import Thumbnails, cache_path
from reports.thumbs import make_thumbnail as thumbnail
from storage.reporting import LedgerBuilding, LedgerRow

HEADER_FONT = Font(name=FONT_NAME, bold=True)
HEADER_ALIGNMENT = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _print_setup(ws: WriteOnlyWorksheet) -> None:
    """Landscape, every column on one page wide (as many pages down as it takes), header
    row repeated. A3: 26 columns on A4 would print at about a third of their size."""
    # Write-only sheets have these (Worksheet._setup makes them); the stubs miss them.
    setup = ws.page_setup  # type: ignore[attr-defined]
    setup.orientation = "landscape"
    setup.paperSize = 8  # A3
    setup.fitToWidth = 1
    setup.fitToHeight = 0  # no limit down
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)  # type: ignore[attr-defined]
    ws.print_title_rows = "1:1"
    ws.page_margins.left = ws.page_margins.right = 0.4  # type: ignore[attr-defined]


def _header(ws: WriteOnlyWorksheet, columns: tuple[tuple[str, int], ...]) -> None:
    """Column widths, the frozen bold header row, the print setup."""
    for index, (_, width) in enumerate(columns, 1):
        # Write-only sheets have column dimensions (the stubs miss them).
        ws.column_dimensions[get_column_letter(index)].width = width  # type: ignore[attr-defined]
    ws.freeze_panes = "A2"
    _print_setup(ws)
    ws.row_dimensions[1].height = HEADER_ROW_POINTS  # type: ignore[attr-defined]
    cells = []
    for title, _ in columns:
        cell = WriteOnlyCell(ws, value=title)
        cell.font = HEADER_FONT
        cell.alignment = HEADER_ALIGNMENT
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
    progress: Callable[[int], None] = lambda done: None,
    seal: str | None = None,
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
    progress: Callable[[int], None] = lambda done: None,
    seal: str | None = None,
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


def write_rustpy(
    target: Path | IO[bytes],
    rows: Iterable[LedgerRow],
    buildings: Iterable[LedgerBuilding],
    photo_path: Callable[[str], Path],
    progress: Callable[[int], None] = lambda done: None,
    seal: str | None = None,
) -> int:
    """rustpy-xlsxwriter (Rust's rust_xlsxwriter): rows as dicts, thumbnails as images.

    0.8.0 still formats by column or by whole row, not by cell: a typed "=..." cannot
    get its own quote prefix, so it cannot write the same workbook. And it reads its
    ``images`` (like ``row_heights``) before the rows: the thumbnails found while the
    rows stream are not embedded, so this measures a ledger without pictures."""
    from rustpy_xlsxwriter import write_worksheet

    titles = [title for title, _ in HAZARD_COLUMNS]
    images: list[dict[str, object]] = []
    count = 0

    def records() -> Iterable[dict[str, object]]:
        nonlocal count
        for row in rows:
            count += 1
            for column, shas in (
                (BEFORE_COLUMN, row.photos_before),
                (AFTER_COLUMN, row.photos_after),
            ):
                jpeg = thumbnail(photo_path(shas[0])) if shas else None
                if jpeg is not None:
                    images.append({"row": count, "col": column - 1, "data": jpeg})
            values = [clean(v) if isinstance(v, str) else v for v in hazard_values(row)]
            yield dict(zip(titles, values, strict=True))

    write_worksheet(
        records(),
        target,
        sheet_name="台账",
        freeze_row=1,
        bold_headers=True,
        column_widths=[width for _, width in HAZARD_COLUMNS],
        autofilter=True,
        page_setup={"landscape": True, "paper_size": 8, "repeat_rows": 0, "fit_to_pages": (1, 0)},
        images=images,
    )
    return count


def write_rvgsrust(
    target: Path | IO[bytes],
    rows: Iterable[LedgerRow],
    buildings: Iterable[LedgerBuilding],
    photo_path: Callable[[str], Path],
    progress: Callable[[int], None] = lambda done: None,
    seal: str | None = None,
) -> int:
    """rvgsrust-xlsxwriter (also rust_xlsxwriter, with a cell-by-cell API): the same
    workbook in its constant-memory mode, but 0.3.5 repeats the last row as an empty
    ``<row>`` when that row has a height of its own (a ledger ending on a hazard with a
    photo: Excel offers to repair the file), and its peak memory is far higher."""
    from rvgsrust_xlsxwriter import Workbook as RustWorkbook

    wb = RustWorkbook()
    quoted = wb.add_format().set_quote_prefix().set_font_name(FONT_NAME)
    header = wb.add_format().set_bold().set_font_name(FONT_NAME).set_align("center")
    header.set_vertical_align("center").set_text_wrap()
    thumbnails = Thumbnails(photo_path)

    def sheet(name: str, columns: tuple[tuple[str, int], ...]) -> Any:
        ws = wb.add_worksheet(name, constant_memory=True)
        for index, (_, width) in enumerate(columns):
            ws.set_column_width(index, width)
        ws.freeze_panes(1, 0)
        ws.set_landscape()
        ws.set_paper_size(8)
        ws.set_print_fit_to_pages(1, 0)
        ws.set_repeat_rows(0, 0)
        ws.set_margins(0.4, 0.4, 0.75, 0.75, 0.3, 0.3)
        if seal is not None:
            ws.set_footer("&C&7" + seal.replace("&", "&&"))
        ws.set_row_height(0, HEADER_ROW_POINTS)
        ws.write_row(0, 0, [title for title, _ in columns], header)
        return ws

    def write(ws: Any, row: int, values: list[Any]) -> None:
        values, risky = safe_cells(values)
        ws.write_row(row, 0, values)
        for column in risky:
            ws.write(row, column, values[column], quoted)

    ws = sheet("台账", HAZARD_COLUMNS)
    count = 0
    for row in rows:
        count += 1
        firsts = ((BEFORE_COLUMN, row.photos_before), (AFTER_COLUMN, row.photos_after))
        shas = [(column, shas[0]) for column, shas in firsts if shas]
        if shas:
            ws.set_row_height(count, PHOTO_ROW_POINTS)
        write(ws, count, hazard_values(row))
        for column, sha in shas:
            if thumbnails.jpeg(sha) is not None:  # kept on disk: it wants a file
                ws.insert_image(count, column - 1, str(cache_path(photo_path(sha))))
    ws.autofilter(0, 0, count, len(HAZARD_COLUMNS) - 1)
    sheet_b = sheet("建筑物", BUILDING_COLUMNS)
    total = 0
    for building in buildings:
        total += 1
        write(sheet_b, total, building_values(building))
    sheet_b.autofilter(0, 0, total, len(BUILDING_COLUMNS) - 1)
    data = wb.save_to_buffer()
    if isinstance(target, Path):
        target.write_bytes(data)
    else:
        target.write(data)
    return count


def write_cell_by_cell(
    target: Path | IO[bytes],
    rows: Iterable[LedgerRow],
    buildings: Iterable[LedgerBuilding],
    photo_path: Callable[[str], Path],
    progress: Callable[[int], None] = lambda done: None,
    seal: str | None = None,
) -> int:
    """The product's writer before issue 13's speed work, for a before/after in one run:
    XlsxWriter's own ``write_string`` / ``write_number`` cell by cell (not
    ``RowSheet.write_cells``) and every thumbnail made anew from its photo on every export
    (not kept). The same workbook; only the time differs. (The reading is today's.)"""
    from reports import ledger

    def append_safe(
        self: ledger._Sheet, values: list[object], quoted: list[int], height: float | None
    ) -> int:
        row = self.rows
        if height is not None:
            self.ws.set_row(row, height)
        for column, value in enumerate(values):
            if value is None or value == "":
                continue
            cell_format = self.quoted if column in quoted else None
            if isinstance(value, str):
                self.ws.write_string(row, column, value, cell_format)
            else:
                self.ws.write_number(row, column, value, cell_format)  # type: ignore[arg-type]
        self.rows += 1
        return row

    class Anew(Thumbnails):
        def jpeg(self, sha256: str) -> bytes | None:
            return thumbnail(self.photo_path(sha256))

    # This runs in a process of its own (bench_export.measure): the patches die with it.
    ledger._Sheet.append_safe = append_safe  # type: ignore[method-assign]
    ledger.Thumbnails = Anew  # type: ignore[misc]
    return ledger.write_ledger(target, rows, buildings, photo_path, progress, seal)


def read_only(
    target: Path | IO[bytes],
    rows: Iterable[LedgerRow],
    buildings: Iterable[LedgerBuilding],
    photo_path: Callable[[str], Path],
    progress: Callable[[int], None] = lambda done: None,
    seal: str | None = None,
) -> int:
    """The anchor: read every row and compute its cells, thumbnails included; write nothing
    (an empty file, so that the export's rename finds one)."""
    if isinstance(target, Path):
        target.write_bytes(b"")
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
    "before: xlsxwriter cell by cell, thumbnails anew": write_cell_by_cell,
    "openpyxl write-only": write_openpyxl,
    "pyexcelerate (no pictures)": write_pyexcelerate,
    "rustpy-xlsxwriter (no cell formats)": write_rustpy,
    "rvgsrust-xlsxwriter (repeats a row)": write_rvgsrust,
    "anchor: read rows, no writer": read_only,
}
