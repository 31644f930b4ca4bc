"""The city report for the task force: one row per school, colours, a chart, totals.

Schools that have not started are red; schools past a phase deadline with
that phase's work undone are amber. A native Excel bar chart shows each
school's share of work done.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ledger.totals import SchoolProgress, add_up, phase_missed, school_progress
from reports.cells import text_cell
from reports.labels import short_time
from reports.layout import BOLD, BOX, CENTER, FONT, LEFT, TITLE, seal_footer, to_bytes
from reports.supervision import SCHOOL_COLUMNS, add_findings_sheet, add_school_columns
from storage.reporting import SchoolData
from storage.supervision import FindingRow, SchoolSupervision

TITLE_TEXT = '校园消防安全专项整治"回头看"全市进度'
NOT_STARTED = PatternFill("solid", fgColor="FFC7CE")  # red: not started
LATE = PatternFill("solid", fgColor="FFEB9C")  # amber: past a phase deadline
STATUS_NOT_STARTED, STATUS_LATE, STATUS_DONE, STATUS_GOING = "未开始", "逾期", "已完成", "进行中"
LEGEND = "红色：尚未开始；黄色：已过阶段截止日期仍未完成"
COLUMNS = (
    ("序号", 6),
    ("学校", 24),
    ("区域", 10),
    ("建筑单体数", 8),
    ("已排查销号", 8),
    ("排查中", 8),
    ("发现隐患数", 8),
    ("发现隐患单体数", 9),
    ("能立即整改单体数", 9),
    ("短期内难以整改单体数", 10),
    ("停用的单体数", 8),
    ("已销号隐患", 8),
    ("逾期隐患", 8),
    ("完成率(%)", 8),
    ("最近活动", 17),
    ("状态", 8),
    ("照片存疑的整改", 9),
)
HEADER_ROW = 3
PERCENT_COLUMN = 14


@dataclass(frozen=True)
class Phases:
    """The campaign's phase deadlines (from the campaigns table)."""

    self_inspection_due: date | None
    rectification_due: date | None


def status(progress: SchoolProgress, today: date, phases: Phases) -> str:
    if not progress.started:
        return STATUS_NOT_STARTED
    if phase_missed(progress, today, phases.self_inspection_due, phases.rectification_due):
        return STATUS_LATE
    if progress.percent_done == 100:
        return STATUS_DONE
    return STATUS_GOING


def figures(p: SchoolProgress) -> list[int]:
    """The number columns (D to N), in order."""
    return [
        p.buildings,
        p.inspected,
        p.in_progress,
        p.hazards,
        p.with_hazards,
        p.fixable_at_once,
        p.hard_to_fix,
        p.out_of_use,
        p.closed,
        p.overdue,
        p.percent_done,
    ]


def build_city(
    schools: list[SchoolData],
    today: date,
    phases: Phases,
    supervised: Mapping[int, SchoolSupervision] | None = None,
    findings: Sequence[FindingRow] = (),
    seal: str | None = None,
) -> Workbook:
    """The city report workbook; with supervision's columns and sheet when given.
    ``seal`` (the hash over every chain's head) is printed under the totals and at the
    foot of every page."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "全市进度"
    last = get_column_letter(len(COLUMNS))
    ws.merge_cells(f"A1:{last}1")
    ws["A1"] = f"{TITLE_TEXT}（{today.isoformat()}）"
    ws["A1"].font = TITLE
    ws["A1"].alignment = CENTER
    ws.row_dimensions[1].height = 32
    ws.merge_cells(f"A2:{last}2")
    ws["A2"] = LEGEND
    ws["A2"].font = FONT
    for index, (title, width) in enumerate(COLUMNS, 1):
        ws.column_dimensions[get_column_letter(index)].width = width
        cell = ws.cell(row=HEADER_ROW, column=index, value=title)
        cell.font, cell.alignment, cell.border = BOLD, CENTER, BOX
    ws.row_dimensions[HEADER_ROW].height = 45
    ws.freeze_panes = f"C{HEADER_ROW + 1}"

    all_progress = []
    row = HEADER_ROW + 1
    for number, school in enumerate(schools, 1):
        progress = school_progress(school.facts(), today)
        all_progress.append(progress)
        state = status(progress, today, phases)
        ws.cell(row=row, column=1, value=number)
        text_cell(ws, row, 2, school.name)
        text_cell(ws, row, 3, school.district)
        for offset, value in enumerate(figures(progress)):
            ws.cell(row=row, column=4 + offset, value=value)
        ws.cell(row=row, column=15, value=short_time(school.last_activity))
        ws.cell(row=row, column=16, value=state)
        ws.cell(row=row, column=17, value=school.flagged_fixes)
        fill = {STATUS_NOT_STARTED: NOT_STARTED, STATUS_LATE: LATE}.get(state)
        for column in range(1, len(COLUMNS) + 1):
            styled = ws.cell(row=row, column=column)
            styled.font = FONT
            styled.border = BOX
            styled.alignment = LEFT if column in (2, 3) else CENTER
            if fill is not None:
                styled.fill = fill
        row += 1
    last_school_row = row - 1
    if supervised is not None:
        rows = [(HEADER_ROW + n, supervised.get(s.id, SchoolSupervision(None)))
                for n, s in enumerate(schools, 1)]  # fmt: skip
        add_school_columns(ws, len(COLUMNS) + 1, HEADER_ROW, rows)
        last = get_column_letter(len(COLUMNS) + len(SCHOOL_COLUMNS))

    city = add_up(all_progress)
    ws.cell(row=row, column=2, value="全市合计")
    for offset, value in enumerate(figures(city)):
        ws.cell(row=row, column=4 + offset, value=value)
    ws.cell(row=row, column=17, value=sum(s.flagged_fixes for s in schools))
    for column in range(1, len(COLUMNS) + 1):
        total = ws.cell(row=row, column=column)
        total.font = BOLD
        total.border = BOX
        total.alignment = CENTER
    ws.auto_filter.ref = f"A{HEADER_ROW}:{last}{last_school_row}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    if seal is not None:
        ws.cell(row=row + 2, column=1, value=seal).font = FONT
        seal_footer(ws, seal)

    if schools:
        _chart(wb, ws, last_school_row, len(schools))
    if supervised is not None:
        add_findings_sheet(wb, findings)
    return wb


def _chart(wb: Workbook, ws: Worksheet, last_row: int, count: int) -> None:
    """A horizontal bar per school: its share of work done, on a sheet of its own."""
    chart = BarChart()
    chart.type = "bar"
    chart.title = "各校完成率(%)"
    chart.y_axis.title = "%"
    chart.y_axis.scaling.min = 0
    chart.y_axis.scaling.max = 100
    chart.legend = None
    data = Reference(ws, min_col=PERCENT_COLUMN, min_row=HEADER_ROW, max_row=last_row)
    names = Reference(ws, min_col=2, min_row=HEADER_ROW + 1, max_row=last_row)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(names)
    chart.width = 24
    chart.height = max(8.0, 0.5 * count + 3)
    sheet = wb.create_sheet("进度图")
    sheet.add_chart(chart, "A1")


def city_bytes(
    schools: list[SchoolData],
    today: date,
    phases: Phases,
    supervised: Mapping[int, SchoolSupervision] | None = None,
    findings: Sequence[FindingRow] = (),
    seal: str | None = None,
) -> bytes:
    return to_bytes(build_city(schools, today, phases, supervised, findings, seal))
