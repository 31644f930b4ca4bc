"""The ledger (台账): one row per hazard with every field, and a sheet of buildings.

Written in openpyxl's write-only mode so a city of 100,000 hazards streams
through in bounded memory. Before and after photos are embedded as small
thumbnails (the first of each kind; the cell says how many there are).
Supervision (督查) columns come with the supervision issue: not built yet.
Both sheets print landscape, one page wide, with the header row on every page.
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
from PIL import Image, UnidentifiedImageError

from reports.cells import stream_value
from reports.labels import (
    CHANGE_STATE,
    HAZARD_STATE,
    SOURCE,
    USE,
    WALK,
    short_time,
    yes_no,
)
from reports.layout import FONT_NAME, seal_footer
from storage.reporting import DeadlineChange, LedgerBuilding, LedgerRow

HEADER_FONT = Font(name=FONT_NAME, bold=True)
# Narrow columns (能否立即整改 in 8) wrap their title onto a second line, not cut it.
HEADER_ALIGNMENT = Alignment(horizontal="center", vertical="center", wrap_text=True)
HEADER_ROW_POINTS = 32
THUMB_SIDE = 80  # pixels: the longer side of an embedded thumbnail
PHOTO_ROW_POINTS = 64  # a row with a thumbnail is this tall

# (header, width) of the hazard sheet, in the order of ``hazard_values``.
HAZARD_COLUMNS = (
    ("编号", 8),
    ("学校", 22),
    ("建筑物", 14),
    ("检查项", 30),
    ("隐患描述", 36),
    ("来源", 9),
    ("发现人", 10),
    ("发现时间", 17),
    ("能否立即整改", 8),
    ("整改措施", 28),
    ("重大隐患", 8),
    ("资金", 14),
    ("应急预案", 20),
    ("计划完成日期", 12),
    ("期限变更", 36),
    ("具体责任人", 10),
    ("是否停用", 8),
    ("状态", 12),
    ("责任人确认整改", 10),
    ("确认时间", 17),
    ("验收人签字", 10),
    ("验收时间", 17),
    ("销号时间", 17),
    ("拆除期限", 12),
    ("照片复用", 18),
    ("拍摄时间存疑", 22),
    ("无拍摄信息照片数", 9),
    ("存疑照片验收结果", 20),
    ("整改前照片", 14),
    ("整改后照片", 14),
)
BUILDING_COLUMNS = (
    ("学校", 22),
    ("建筑物", 16),
    ("用途", 10),
    ("层数", 6),
    ("建成年份", 9),
    ("排查状态", 12),
    ("排查人", 10),
    ("开始时间", 17),
    ("销号时间", 17),
    ("隐患数", 8),
    ("是否停用", 8),
)
SEAL_SHEET = "数据校验"
BEFORE_COLUMN = len(HAZARD_COLUMNS) - 1  # 1-based column of the before thumbnail
AFTER_COLUMN = len(HAZARD_COLUMNS)


def change_text(change: DeadlineChange) -> str:
    """One deadline change on one line: old → new (reason; decision)."""
    decided = f"，{change.decided_by} {short_time(change.decided_at)}" if change.decided_by else ""
    return (
        f"{change.old or '—'} → {change.new}（{change.reason}；"
        f"{change.asked_by} {short_time(change.asked_at)}申请；"
        f"{CHANGE_STATE.get(change.state, change.state)}{decided}）"
    )


def _photo_note(hashes: list[str]) -> str:
    return f"{len(hashes)}张" if hashes else ""


def hazard_values(row: LedgerRow) -> list[Any]:
    """The cells of one hazard, in the order of ``HAZARD_COLUMNS``."""
    item = f"{row.item_code} {row.item}" if row.item_code else "其他隐患"
    return [
        row.id,
        row.school,
        row.building,
        item,
        row.description,
        SOURCE.get(row.source, row.source),
        row.found_by,
        short_time(row.found_at),
        yes_no(row.fixable_now),
        row.measures or "",
        yes_no(row.major),
        row.funding or "",
        row.contingency_plan or "",
        row.deadline or "",
        "\n".join(change_text(c) for c in row.deadline_changes),
        row.responsible or "",
        yes_no(row.takes_out_of_use),
        HAZARD_STATE.get(row.state, row.state),
        row.fix_by or "",
        short_time(row.fix_at),
        row.verified_by or "",
        short_time(row.verified_at),
        short_time(row.closed_at),
        row.demolition_due or "",
        row.reused,
        row.taken_early,
        row.no_metadata,
        row.flag_decision,
        _photo_note(row.photos_before),
        _photo_note(row.photos_after),
    ]


def building_values(b: LedgerBuilding) -> list[Any]:
    return [
        b.school,
        b.name,
        USE.get(b.use, b.use),
        b.floors,
        b.year_built,
        WALK.get(b.walk, b.walk),
        b.walker or "",
        short_time(b.started_at),
        short_time(b.closed_at),
        b.hazards,
        yes_no(b.out_of_use),
    ]


def thumbnail(path: Path) -> bytes | None:
    """A small JPEG of a stored photo (None when the file is gone or unreadable)."""
    try:
        with Image.open(path) as image:
            image.draft("RGB", (THUMB_SIDE * 2, THUMB_SIDE * 2))  # JPEG: decode small, fast
            image.thumbnail((THUMB_SIDE, THUMB_SIDE))
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, "JPEG", quality=80)
            return buffer.getvalue()
    except (OSError, UnidentifiedImageError):
        return None


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


def write_ledger(
    target: Path | IO[bytes],
    rows: Iterable[LedgerRow],
    buildings: Iterable[LedgerBuilding],
    photo_path: Callable[[str], Path],
    seal: str | None = None,
) -> int:
    """Write the ledger workbook to ``target``; return the number of hazards written.

    ``seal`` (storage.chain.Seal) names the chain head the ledger was made from: it is
    printed at the foot of every page and kept on a sheet of its own.
    """
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("台账")
    _header(ws, HAZARD_COLUMNS)
    seal_footer(ws, seal)
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
    seal_footer(sheet, seal)
    total = 0
    for building in buildings:
        sheet.append([stream_value(sheet, v) for v in building_values(building)])
        total += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(BUILDING_COLUMNS))}{total + 1}"
    if seal is not None:
        check = wb.create_sheet(SEAL_SHEET)
        check.append([seal])
    wb.save(target)
    return count
