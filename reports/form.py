"""The summary form (附件): 校园消防安全专项整治“回头看”排查情况汇总表.

Laid out like the notice's attachment: title, reporting unit (for the stamp)
and date, a two-level header, one row per building, the 合计 line counted by
``ledger.totals``, the signature line. "无" is written only for a building
whose walk is closed with nothing found: a principal stamps this paper, and an
unwalked building left blank or "无" would read as declared safe. So a building
not (fully) walked says so in its hazard column, and the line above the
signatures counts and names the buildings not yet inspected.
Printable on A4 landscape with the header repeated on every page. The form is
in Chinese whatever the reader's language: it is the city's own paper.
"""

from __future__ import annotations

from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Alignment
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from ledger.totals import FormTotals, form_totals
from reports.cells import text_cell
from reports.layout import BOLD, BOX, CENTER, FONT, LEFT, TITLE, fit_row, seal_footer, to_bytes
from storage.reporting import FormBuilding, SchoolData

# The notice's own typography: curly quotes (“回头看”, “无”).
TITLE_TEXT = "校园消防安全专项整治“回头看”排查情况汇总表"
NONE = "无"
YES, NO = "是", "否"
COLUMNS = "ABCDEFGH"
WIDTHS: dict[str, float] = {"A": 6, "B": 16, "C": 46, "D": 10, "E": 14, "F": 12, "G": 10, "H": 14}
# (cell, text) of the two header rows; merged ranges below.
HEADER = (
    ("A3", "序号"),
    ("B3", "建筑物名称"),
    ("C3", "新发现隐患内容（无隐患填“无”）"),
    # Broken by hand where the words break: left to wrapping, 10 columns would
    # leave "改" alone on the second line.
    ("D3", "是否能\n立即整改"),
    ("E3", "不能立即整改的隐患"),
    ("E4", "计划完成日期"),
    ("F4", "具体责任人"),
    ("G4", "是否停用"),
    ("H3", "备注"),
)
HEADER_MERGES = ("A3:A4", "B3:B4", "C3:C4", "D3:D4", "E3:G3", "H3:H4")
FIRST_ROW = 5  # the first building's row
WALK_NOTE = {"not_started": "未排查", "in_progress": "排查中", "closed": "已排查销号"}
# The hazard column of a building without hazards: "无" only once its walk is closed.
NO_HAZARD = {"not_started": "未排查", "in_progress": "排查未完成", "closed": NONE}
STATE_NOTE = "已整改{closed}/{total}"


def totals_text(totals: FormTotals) -> str:
    """The 合计 line, worded as on the original form."""
    return (
        f"校内建筑单体数：（{totals.buildings}）栋；"
        f"发现隐患单体数：（{totals.with_hazards}）栋，"
        f"能立即整改单体数：（{totals.fixable_at_once}）栋，"
        f"短期内难以整改单体数：（{totals.hard_to_fix}）栋，"
        f"停用的单体数：（{totals.out_of_use}）栋。"
    )


def not_inspected_text(buildings: list[FormBuilding]) -> str:
    """The line above the signatures: how many buildings are not yet inspected, and which."""
    left = [b for b in buildings if b.walk != "closed"]
    if not left:
        done = f"，全部{len(buildings)}栋已排查销号" if buildings else ""
        return f"尚未完成排查的建筑：（0）栋{done}。"
    names = "、".join(f"{b.name}（{WALK_NOTE[b.walk]}）" for b in left)
    return f"尚未完成排查的建筑：（{len(left)}）栋：{names}。"


SIGNATURES = "主要负责人签字：" + " " * 24 + "填表人签字：" + " " * 24 + "联系电话："


def _numbered(values: list[tuple[int, str]], count: int) -> str:
    """``1. a`` lines; a building with a single hazard needs no number."""
    if count == 1 and len(values) == 1:
        return values[0][1]
    return "\n".join(f"{n}. {v}" for n, v in values)


def building_cells(building: FormBuilding) -> dict[str, str]:
    """The texts of one building's row, column by column (B to H)."""
    hazards = building.hazards
    facts = building.facts()
    note = WALK_NOTE[building.walk]
    if not hazards:
        empty = NO_HAZARD[building.walk]
        return {"B": building.name, "C": empty, "D": "", "E": "", "F": "", "G": "", "H": note}
    count = len(hazards)
    numbered = list(enumerate(hazards, 1))
    if all(h.fixable_now for h in hazards) or not any(h.fixable_now for h in hazards):
        fix = YES if facts.fixable_at_once else NO
    else:
        fix = _numbered([(n, YES if h.fixable_now else NO) for n, h in numbered], count)
    hard = [(n, h) for n, h in numbered if not h.fixable_now]
    closed = sum(h.state == "closed" for h in hazards)
    return {
        "B": building.name,
        "C": _numbered([(n, h.description) for n, h in numbered], count),
        "D": fix,
        "E": _numbered([(n, h.deadline or "") for n, h in hard], count),
        "F": _numbered([(n, h.responsible) for n, h in hard], count),
        "G": (YES if facts.stopped else NO) if hard or facts.stopped else "",
        "H": note + "\n" + STATE_NOTE.format(closed=closed, total=count),
    }


def _style_row(ws: Worksheet, row: int, align: Alignment = CENTER) -> None:
    for column in COLUMNS:
        cell = ws[f"{column}{row}"]
        cell.border = BOX
        cell.font = FONT
        cell.alignment = align


def build_form(school: SchoolData, today: date, seal: str | None = None) -> Workbook:
    """The filled-in form for one school, as a workbook; ``seal`` (the school's chain head)
    is printed at the foot of the page."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "汇总表"
    for column, width in WIDTHS.items():
        ws.column_dimensions[column].width = width

    ws.merge_cells("A1:H1")
    ws["A1"] = TITLE_TEXT
    ws["A1"].font = TITLE
    ws["A1"].alignment = CENTER
    ws.row_dimensions[1].height = 36
    ws.merge_cells("A2:E2")
    text_cell(ws, 2, 1, f"填报单位（盖章）：{school.name}")
    ws.merge_cells("F2:H2")
    ws["F2"] = f"日期：{today.year}年{today.month}月{today.day}日"
    for ref in ("A2", "F2"):
        ws[ref].font = FONT
        ws[ref].alignment = LEFT
    ws.row_dimensions[2].height = 28

    for ref, text in HEADER:
        ws[ref] = text
    for row in (3, 4):
        _style_row(ws, row)
        for column in COLUMNS:
            ws[f"{column}{row}"].font = BOLD
        ws.row_dimensions[row].height = 30
    for merged in HEADER_MERGES:
        ws.merge_cells(merged)

    row = FIRST_ROW
    for number, building in enumerate(school.buildings, 1):
        texts = building_cells(building)
        ws[f"A{row}"] = number
        for column, text in texts.items():
            text_cell(ws, row, COLUMNS.index(column) + 1, text)
        _style_row(ws, row)
        ws[f"C{row}"].alignment = LEFT
        fit_row(ws, row, WIDTHS, texts)
        row += 1

    totals = form_totals(school.facts())
    ws[f"A{row}"] = "合计"
    ws.merge_cells(f"B{row}:H{row}")
    ws[f"B{row}"] = totals_text(totals)
    _style_row(ws, row)
    ws[f"B{row}"].alignment = LEFT
    ws.row_dimensions[row].height = 36
    row += 1
    ws.merge_cells(f"A{row}:H{row}")
    left = not_inspected_text(school.buildings)
    text_cell(ws, row, 1, left)  # building names are people's text
    _style_row(ws, row, LEFT)
    ws[f"A{row}"].font = BOLD
    fit_row(ws, row, {"A": sum(WIDTHS.values())}, {"A": left})
    row += 1
    ws.merge_cells(f"A{row}:H{row}")
    ws[f"A{row}"] = SIGNATURES
    ws[f"A{row}"].font = FONT
    ws[f"A{row}"].alignment = LEFT
    ws.row_dimensions[row].height = 40

    _print_setup(ws, row)
    seal_footer(ws, seal)
    return wb


def _print_setup(ws: Worksheet, last_row: int) -> None:
    """A4 landscape, one page wide, the two header rows on every page."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_title_rows = "3:4"
    ws.print_area = f"A1:H{last_row}"
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.page_margins.top = ws.page_margins.bottom = 0.6


def form_bytes(school: SchoolData, today: date, seal: str | None = None) -> bytes:
    return to_bytes(build_form(school, today, seal))
