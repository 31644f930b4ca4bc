"""The ledger (台账): one row per hazard with every field, and a sheet of buildings.

Written with XlsxWriter in its constant-memory mode: a city of 100,000
hazards streams through row by row in bounded memory, each row written whole
(``reports.rowsheet``); ``bench/bench_export.py`` measures the writers side by
side. Before and after photos are embedded as small
thumbnails (the first of each kind; the cell says how many there are), made
once per photo and kept (``reports.thumbs``). Both
sheets print landscape on A3, one page wide, with the header row on every
page. Imports still read with openpyxl.
Each hazard says where it came from (self-inspection, quick report, or off the
list at a supervision visit), whether it is accident-grade (按事故对待: it heads
the sheet until closed), and every reopening as rectified badly (整改不到位).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

import xlsxwriter
from xlsxwriter.format import Format

from reports.cells import CELL_MAX, clean, is_risky, may_be_risky, needs_cleaning
from reports.labels import (
    CHANGE_STATE,
    HAZARD_STATE,
    ORIGIN,
    USE,
    WALK,
    short_time,
    yes_no,
)
from reports.layout import FONT_NAME
from reports.rowsheet import RowSheet
from reports.thumbs import Thumbnails
from storage.reporting import DeadlineChange, LedgerBuilding, LedgerRow, Reopening

HEADER_ROW_POINTS = 32  # narrow columns (能否立即整改 in 8) wrap their title onto a second line
PHOTO_ROW_POINTS = 63.75  # a row with a thumbnail: 85 px (Excel keeps heights in whole pixels)

# (header, width) of the hazard sheet, in the order of ``hazard_values``.
HAZARD_COLUMNS = (
    ("编号", 8),
    ("学校", 22),
    ("建筑物", 14),
    ("检查项", 30),
    ("隐患描述", 36),
    ("来源", 12),
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
    ("按事故对待", 8),
    ("整改不到位（重新打开）", 36),
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
PROGRESS_ROWS = 1000  # hazards between two progress reports
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


def reopening_text(r: Reopening) -> str:
    """A reopening on one line: when, by whom, why, and who had closed it."""
    closed = f"；原验收人{r.verifier}" if r.verifier else ""
    return f"{short_time(r.at)} {r.by}：{r.reason}{closed}"


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
        ORIGIN.get(row.origin, row.origin),
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
        yes_no(row.accident_grade) if row.accident_grade else "",
        "\n".join(reopening_text(r) for r in row.reopenings),
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


class _Sheet:
    """One worksheet written row by row: user text always as text, never a formula."""

    def __init__(self, wb: xlsxwriter.Workbook, name: str, columns: tuple[tuple[str, int], ...]):
        ws = wb.add_worksheet(name, worksheet_class=RowSheet)
        assert isinstance(ws, RowSheet)
        self.ws = ws
        self.columns = columns
        # A value a spreadsheet program could take for a formula keeps Excel's quote
        # prefix, so that editing the cell later keeps it text.
        self.quoted: Format = wb.add_format({"quote_prefix": True, "font_name": FONT_NAME})
        header = wb.add_format(
            {
                "bold": True,
                "font_name": FONT_NAME,
                "align": "center",
                "valign": "vcenter",
                "text_wrap": True,
            }
        )
        for index, (_, width) in enumerate(columns):
            self.ws.set_column(index, index, width)
        self.ws.freeze_panes(1, 0)
        self._print_setup()
        self.ws.set_row(0, HEADER_ROW_POINTS)
        self.ws.write_row(0, 0, [title for title, _ in columns], header)
        self.rows = 1

    def _print_setup(self) -> None:
        """Landscape, every column on one page wide (as many pages down as it takes), header
        row repeated. A3: 26 columns on A4 would print at about a third of their size."""
        self.ws.set_landscape()
        self.ws.set_paper(8)  # A3
        self.ws.fit_to_pages(1, 0)
        self.ws.repeat_rows(0)
        self.ws.set_margins(left=0.4, right=0.4)

    def footer(self, seal: str | None) -> None:
        """The chain head at the foot of every printed page (``&`` is a code there)."""
        if seal is not None:
            self.ws.set_footer("&C&7" + seal.replace("&", "&&"))

    def append(self, values: list[Any], height: float | None = None) -> int:
        """Write the next row; returns its 0-based index."""
        return self.append_safe(*safe_cells(values), height)

    def append_safe(self, values: list[Any], quoted: list[int], height: float | None) -> int:
        """Write the next row of ``safe_cells``; returns its 0-based index."""
        row = self.rows
        if height is not None:
            self.ws.set_row(row, height)  # constant-memory mode: before the row's cells
        self.ws.write_cells(row, values, quoted, self.quoted)
        self.rows += 1
        return row

    def finish(self) -> None:
        self.ws.autofilter(0, 0, self.rows - 1, len(self.columns) - 1)


def safe_cells(values: list[Any]) -> tuple[list[Any], list[int]]:
    """The cells of a row as a workbook can hold them (``reports.cells.clean``), and the
    columns whose text a spreadsheet could take for a formula (they get the quote prefix)."""
    # One look at all the row's text, not one a cell: most rows need nothing done.
    texts = "\n".join(v for v in values if isinstance(v, str))
    if len(texts) > CELL_MAX or needs_cleaning(texts):
        values = [clean(v) if isinstance(v, str) else v for v in values]
    quoted: list[int] = []
    if may_be_risky(texts):
        quoted = [col for col, v in enumerate(values) if isinstance(v, str) and is_risky(v)]
    return values, quoted


# A hazard ready to be written: its id, safe cells, quoted columns, and the thumbnail of
# the first photo of each kind it has (column, JPEG; None when the photo is unreadable).
Prepared = tuple[int, list[Any], list[int], list[tuple[int, bytes | None]]]


def prepare(row: LedgerRow, thumbnails: Thumbnails) -> Prepared:
    """Everything about one hazard that is work before the writer: the part that
    ``reports.ledger_feed`` does in a second process."""
    values, quoted = safe_cells(hazard_values(row))
    firsts = ((BEFORE_COLUMN, row.photos_before), (AFTER_COLUMN, row.photos_after))
    thumbs = [(column, thumbnails.jpeg(shas[0])) for column, shas in firsts if shas]
    return row.id, values, quoted, thumbs


def write_ledger(
    target: Path | IO[bytes],
    rows: Iterable[LedgerRow],
    buildings: Iterable[LedgerBuilding],
    photo_path: Callable[[str], Path],
    progress: Callable[[int], None] = lambda done: None,
    seal: str | None = None,
) -> int:
    """Write the ledger workbook to ``target``; return the number of hazards written.

    ``progress`` is told how many hazards are written, every ``PROGRESS_ROWS``.
    ``seal`` (storage.chain.Seal) names the chain head the ledger was made from: it is
    printed at the foot of every page and kept on a sheet of its own.
    """
    thumbnails = Thumbnails(photo_path)
    prepared = (prepare(row, thumbnails) for row in rows)
    return write_prepared(target, prepared, buildings, progress, seal)


def write_prepared(
    target: Path | IO[bytes],
    hazards_ready: Iterable[Prepared],
    buildings: Iterable[LedgerBuilding],
    progress: Callable[[int], None] = lambda done: None,
    seal: str | None = None,
) -> int:
    """``write_ledger`` from hazards already ``prepare``d (here or in another process)."""
    wb = xlsxwriter.Workbook(
        target,
        {
            "constant_memory": True,
            # Text stays text: no guessing of numbers, formulas or links in what people typed.
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    hazards = _Sheet(wb, "台账", HAZARD_COLUMNS)
    hazards.footer(seal)
    count = 0
    for hazard_id, values, quoted, thumbs in hazards_ready:
        index = hazards.append_safe(values, quoted, PHOTO_ROW_POINTS if thumbs else None)
        for column, jpeg in thumbs:
            if jpeg is not None:
                hazards.ws.insert_image(
                    index, column - 1, f"photo-{hazard_id}-{column}.jpg",
                    {"image_data": io.BytesIO(jpeg), "object_position": 1},
                )  # fmt: skip
        count += 1
        if count % PROGRESS_ROWS == 0:
            progress(count)
    progress(count)
    hazards.finish()

    sheet = _Sheet(wb, "建筑物", BUILDING_COLUMNS)
    for building in buildings:
        sheet.append(building_values(building))
    sheet.footer(seal)
    sheet.finish()
    if seal is not None:
        wb.add_worksheet(SEAL_SHEET).write_string(0, 0, seal)
    wb.close()
    return count
