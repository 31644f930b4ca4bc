"""Supervision (督查) in the papers: the city report's columns, a sheet of findings, visits.

Every school gets its visit state and its findings by kind beside its figures;
a sheet lists every finding, accident-grade ones still open first. ``xiaoan
export visits`` writes the visits with their findings.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ledger.supervision import FindingKind
from reports.cells import text_cell
from reports.labels import FINDING, HAZARD_STATE
from reports.layout import BOLD, BOX, CENTER, FONT, LEFT, TITLE, seal_footer, to_bytes
from storage.supervision import ContradictionRow, FindingRow, SchoolSupervision, VisitRow

VISITED, NOT_VISITED = "已督查", "未督查"
VISIT_STATE = {"planned": "已抽取未到场", "started": "督查中", "ended": "已督查"}
CHOSEN = {"drawn": "随机抽取", "by_hand": "督查组选定"}
# The city report's columns, after the school's own: the visit, then findings by kind.
KINDS = (
    FindingKind.LISTED,
    FindingKind.OFF_LIST,
    FindingKind.ACCIDENT,
    FindingKind.RECTIFIED_BADLY,
    FindingKind.MISSED_BUILDING,
)
SCHOOL_COLUMNS = (("督查", 8), *((f"督查{FINDING[k]}", 8) for k in KINDS))
FINDING_COLUMNS = (
    ("序号", 6),
    ("学校", 22),
    ("建筑物", 14),
    ("检查项", 8),
    ("类别", 12),
    ("描述", 36),
    ("台账隐患编号", 10),
    ("隐患状态", 12),
    ("原验收人", 10),
    ("督查人", 10),
    ("记录时间", 17),
)
VISIT_COLUMNS = (
    ("编号", 6),
    ("学校", 22),
    ("区域", 10),
    ("方式", 10),
    ("抽取编号", 8),
    ("督查人员", 24),
    ("状态", 12),
    ("开始", 17),
    ("结束", 17),
    ("督查建筑", 8),
    ("未完成的建筑", 8),
    ("检查项数", 8),
    *((FINDING[k], 8) for k in KINDS),
)


def school_values(school: SchoolSupervision) -> list[str | int]:
    """The supervision cells of one school's row in the city report."""
    state = VISITED if school.visited else VISIT_STATE.get(school.visit_state or "", NOT_VISITED)
    return [state, *(school.findings.get(k, 0) for k in KINDS)]


def add_school_columns(
    ws: Worksheet, first_column: int, header_row: int, rows: Sequence[tuple[int, SchoolSupervision]]
) -> None:
    """The supervision columns of the city sheet, from ``first_column`` on."""
    for offset, (title, width) in enumerate(SCHOOL_COLUMNS):
        column = first_column + offset
        ws.column_dimensions[get_column_letter(column)].width = width
        cell = ws.cell(row=header_row, column=column, value=title)
        cell.font, cell.alignment, cell.border = BOLD, CENTER, BOX
    for row, school in rows:
        for offset, value in enumerate(school_values(school)):
            cell = ws.cell(row=row, column=first_column + offset, value=value)
            cell.font, cell.alignment, cell.border = FONT, CENTER, BOX


def _header(ws: Worksheet, columns: Sequence[tuple[str, int]], row: int) -> None:
    for index, (title, width) in enumerate(columns, 1):
        ws.column_dimensions[get_column_letter(index)].width = width
        cell = ws.cell(row=row, column=index, value=title)
        cell.font, cell.alignment, cell.border = BOLD, CENTER, BOX
    ws.freeze_panes = f"A{row + 1}"


def ordered(findings: Sequence[FindingRow]) -> list[FindingRow]:
    """Accident-grade findings whose hazard is not closed first, then as recorded."""
    return sorted(findings, key=lambda f: not f.accident_open)


def _minute(moment: datetime | None) -> str:
    """A stored moment as the papers show it: day and minute, in the time it was stored."""
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M")


def add_findings_sheet(wb: Workbook, findings: Sequence[FindingRow]) -> Worksheet:
    ws: Worksheet = wb.create_sheet("督查发现")
    _header(ws, FINDING_COLUMNS, 1)
    for number, f in enumerate(ordered(findings), 1):
        row = number + 1
        ws.cell(row=row, column=1, value=number)
        text_cell(ws, row, 2, f.school)
        text_cell(ws, row, 3, f.building)
        ws.cell(row=row, column=4, value=f.item_code or "")
        ws.cell(row=row, column=5, value=FINDING.get(f.kind, f.kind))
        text_cell(ws, row, 6, f.description)
        ws.cell(row=row, column=7, value=f.hazard_id)
        ws.cell(row=row, column=8, value=HAZARD_STATE.get(f.hazard_state or "", ""))
        text_cell(ws, row, 9, f.verifier or "")
        text_cell(ws, row, 10, f.finder)
        ws.cell(row=row, column=11, value=_minute(f.recorded_at))
        for column in range(1, len(FINDING_COLUMNS) + 1):
            cell = ws.cell(row=row, column=column)
            cell.font, cell.border = FONT, BOX
            cell.alignment = LEFT if column in (2, 3, 6) else CENTER
    return ws


CONTRADICTION_COLUMNS = (
    ("督查编号", 8),
    ("学校", 22),
    ("建筑物", 14),
    ("检查项", 8),
    ("学校自查", 10),
    ("督查结果", 10),
    ("督查人", 10),
    ("时间", 17),
)
CHOICE = {"ok": "无隐患", "hz": "有隐患", "na": "不适用"}


def add_contradictions_sheet(wb: Workbook, rows: Sequence[ContradictionRow]) -> None:
    ws: Worksheet = wb.create_sheet("与自查不一致")
    _header(ws, CONTRADICTION_COLUMNS, 1)
    for number, c in enumerate(rows, 2):
        values: list[str | int] = [
            c.visit_id,
            c.school,
            c.building,
            c.item_code,
            CHOICE[c.school_choice],
            CHOICE[c.choice],
            c.supervisor,
            _minute(c.answered_at),
        ]
        for column, value in enumerate(values, 1):
            if isinstance(value, str):
                text_cell(ws, number, column, value)
            else:
                ws.cell(row=number, column=column, value=value)
            cell = ws.cell(row=number, column=column)
            cell.font, cell.border, cell.alignment = FONT, BOX, CENTER


def visits_bytes(
    visits: Sequence[VisitRow],
    findings: Sequence[FindingRow],
    today: str,
    contradictions: Sequence[ContradictionRow] = (),
    seal: str | None = None,
) -> bytes:
    """The visits, one row each, a sheet of their findings, one of contradicted answers;
    ``seal`` (the hash over every chain's head) at the foot of the visits' pages."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "督查记录"
    last = get_column_letter(len(VISIT_COLUMNS))
    ws.merge_cells(f"A1:{last}1")
    ws["A1"] = f'校园消防安全专项整治"回头看"督查记录（{today}）'
    ws["A1"].font, ws["A1"].alignment = TITLE, CENTER
    _header(ws, VISIT_COLUMNS, 2)
    for number, v in enumerate(visits, 3):
        values: list[str | int | None] = [
            v.id, v.school, v.district, CHOSEN.get(v.chosen_by, v.chosen_by), v.draw_id,
            v.supervisors, VISIT_STATE.get(v.state, v.state), _minute(v.started_at),
            _minute(v.ended_at), v.walks, v.walks_unfinished, v.items_checked,
            *(v.findings.get(k, 0) for k in KINDS),
        ]  # fmt: skip
        for column, value in enumerate(values, 1):
            if isinstance(value, str):
                text_cell(ws, number, column, value)
            else:
                ws.cell(row=number, column=column, value=value)
            cell = ws.cell(row=number, column=column)
            cell.font, cell.border, cell.alignment = FONT, BOX, CENTER
    add_findings_sheet(wb, findings)
    add_contradictions_sheet(wb, contradictions)
    seal_footer(ws, seal)
    return to_bytes(wb)
