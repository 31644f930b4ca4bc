"""Import spreadsheets: rosters of schools and lists of buildings, and their templates.

Parsing is pure: a workbook's bytes become clean rows, or a list of problems
by row number (the spreadsheet's own numbering, the header being row 1). The
caller imports nothing when there is any problem.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter

from ledger.buildings import (
    NAME_MAX,
    OWNERSHIPS,
    SCHOOL_KINDS,
    USES,
    clean_text,
    parse_floors,
    parse_phone,
    parse_year_built,
)
from ledger.errors import InvisibleText, XiaoanError
from ledger.imports import BuildingRow, Problem, SchoolRow
from ledger.text import normalise
from reports.labels import KIND, OWNERSHIP, USE
from reports.layout import BOLD, to_bytes

MAX_ROWS = 5_000  # more is not a school's roster: refused
# An .xlsx is a zip archive; its parts are inflated before openpyxl reads them. A
# roster of 5,000 rows inflates to under 2 MB, each part at most ~20 times its
# packed size; a zip bomb (a 2 MB file inflating to 2 GB) is far past both limits.
MAX_UNPACKED = 20 * 1024 * 1024  # all parts together, inflated
MAX_RATIO = 200  # one part's inflated size over its packed size...
RATIO_FLOOR = 1024 * 1024  # ...judged for parts inflating past this
MAX_PARTS = 1_000


class Kind(StrEnum):
    SCHOOLS = "schools"
    BUILDINGS = "buildings"


HEADERS = {
    Kind.SCHOOLS: ("学校名称", "类别", "性质", "区域", "校长姓名", "校长电话"),
    Kind.BUILDINGS: ("建筑物名称", "用途", "层数", "建成年份"),
}
HELP = {
    Kind.SCHOOLS: (
        "每行一所学校，第1行为表头，请勿改动。",
        "类别：" + "、".join(KIND.values()) + "（或 " + ", ".join(SCHOOL_KINDS) + "）",
        "性质：公办、民办（或 public, private）",
        "校长电话：5至15位数字。",
    ),
    Kind.BUILDINGS: (
        "每行一栋建筑单体，第1行为表头，请勿改动。",
        "用途：" + "、".join(USE.values()) + "（或 " + ", ".join(USES) + "）",
        "层数：1至200；建成年份：四位数字，不晚于今年。",
    ),
}


class BadSpreadsheet(XiaoanError):
    """A file that is not an .xlsx workbook, or not one of the import templates."""

    code = "bad_spreadsheet"


def template(kind: Kind) -> bytes:
    """An empty import sheet with its header, and a sheet that explains the columns."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "导入"
    ws.append(list(HEADERS[kind]))
    for index in range(1, len(HEADERS[kind]) + 1):
        ws.cell(row=1, column=index).font = BOLD
        ws.column_dimensions[get_column_letter(index)].width = 16
    notes = wb.create_sheet("说明")
    for line in HELP[kind]:
        notes.append([line])
    notes.column_dimensions["A"].width = 80
    return to_bytes(wb)


def _text(value: Any) -> str:
    """A cell's value as the text a person typed (1998.0 → "1998")."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def check_archive(
    data: bytes, max_unpacked: int = MAX_UNPACKED, max_ratio: int = MAX_RATIO
) -> None:
    """Refuse a workbook whose parts would inflate past the limits, before inflating any.

    The sizes are the archive's own; a part that claims fewer bytes than it holds is
    cut there by ``zipfile``, whose check of the part's CRC then fails (unreadable).
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise BadSpreadsheet(reason="unreadable") from exc
    limit_mb = max_unpacked // (1024 * 1024)
    if len(parts) > MAX_PARTS:
        raise BadSpreadsheet(reason="unpacked", limit_mb=limit_mb)
    for part in parts:
        if part.file_size > RATIO_FLOOR and part.file_size > max_ratio * max(part.compress_size, 1):
            raise BadSpreadsheet(reason="unpacked", limit_mb=limit_mb)
    if sum(part.file_size for part in parts) > max_unpacked:
        raise BadSpreadsheet(reason="unpacked", limit_mb=limit_mb)


def read_rows(data: bytes) -> tuple[Kind, list[tuple[int, list[str]]]]:
    """Which template the file follows and its non-empty rows, numbered.

    CPU-bound (call it off the event loop); an archive that would inflate too far
    is refused first (``check_archive``).
    """
    check_archive(data)
    try:
        return _read(data)
    except BadSpreadsheet:
        raise
    # Read-only mode inflates and parses as it goes: a broken part (a bad CRC, a
    # size that lies, XML that does not parse or declares entities) fails mid-way.
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError, zlib.error) as exc:
        raise BadSpreadsheet(reason="unreadable") from exc
    except SyntaxError as exc:  # xml.etree's ParseError
        raise BadSpreadsheet(reason="unreadable") from exc


def _read(data: bytes) -> tuple[Kind, list[tuple[int, list[str]]]]:
    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = tuple(_text(v) for v in next(rows, ()))
        kind = next(
            (k for k, h in HEADERS.items() if header[: len(h)] == h),
            None,
        )
        if kind is None:
            raise BadSpreadsheet(reason="header")
        width = len(HEADERS[kind])
        found = []
        for number, values in enumerate(rows, 2):
            texts = [_text(v) for v in values[:width]]
            texts += [""] * (width - len(texts))
            if any(texts):
                found.append((number, texts))
            if len(found) > MAX_ROWS:
                raise BadSpreadsheet(reason="too_many", limit=MAX_ROWS)
        return kind, found
    finally:
        wb.close()


def _choice(text: str, codes: tuple[str, ...], labels: dict[str, str]) -> str | None:
    """A stored code from its code or its Chinese label."""
    value = text.strip().lower()
    if value in codes:
        return value
    return next((code for code, label in labels.items() if label == text.strip()), None)


def _name(text: str) -> str | None:
    try:
        return clean_text(text, NAME_MAX)
    except XiaoanError:
        return None


def _unique_name(
    number: int, raw: str, seen: set[str], column: str
) -> tuple[str | None, list[Problem]]:
    """A row's name, cleaned, and its problems: missing, too long, or met before in the file."""
    try:
        name = clean_text(raw, NAME_MAX)
    except InvisibleText:
        return None, [Problem(number, "invisible_name", column)]
    except XiaoanError:
        return None, [Problem(number, "missing_name" if not raw else "bad_name", column)]
    if name in seen:
        return name, [Problem(number, "duplicate", column)]
    return name, []


def parse_schools(rows: list[tuple[int, list[str]]]) -> tuple[list[SchoolRow], list[Problem]]:
    """Clean school rows, or the problems of every bad row."""
    good: list[SchoolRow] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    columns = HEADERS[Kind.SCHOOLS]
    for number, (name, kind, ownership, district, principal, phone) in rows:
        clean_name, row_problems = _unique_name(number, name, seen, columns[0])
        kind_code = _choice(kind, SCHOOL_KINDS, KIND)
        if kind_code is None:
            row_problems.append(Problem(number, "unknown_choice", columns[1]))
        owner = _choice(ownership, OWNERSHIPS, OWNERSHIP)
        if owner is None:
            row_problems.append(Problem(number, "unknown_choice", columns[2]))
        principal_name = _name(principal)
        if principal_name is None:
            row_problems.append(Problem(number, "missing_value", columns[4]))
        try:
            phone_number = parse_phone(phone)
        except XiaoanError:
            row_problems.append(Problem(number, "bad_phone", columns[5]))
        if row_problems:
            problems += row_problems
            continue
        assert clean_name and kind_code and owner and principal_name
        seen.add(clean_name)
        good.append(
            SchoolRow(
                number,
                clean_name,
                kind_code,
                owner,
                normalise(district, multiline=False)[:NAME_MAX],
                principal_name,
                phone_number,
            )
        )
    return good, problems


def parse_buildings(
    rows: list[tuple[int, list[str]]], this_year: int
) -> tuple[list[BuildingRow], list[Problem]]:
    """Clean building rows, or the problems of every bad row."""
    good: list[BuildingRow] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    columns = HEADERS[Kind.BUILDINGS]
    for number, (name, use, floors, year) in rows:
        clean_name, row_problems = _unique_name(number, name, seen, columns[0])
        use_code = _choice(use, USES, USE)
        if use_code is None:
            row_problems.append(Problem(number, "unknown_choice", columns[1]))
        try:
            floor_count = parse_floors(floors)
        except XiaoanError:
            row_problems.append(Problem(number, "bad_number", columns[2]))
        try:
            year_built = parse_year_built(year, this_year)
        except XiaoanError:
            code = "future_year" if year.isdecimal() and int(year) > this_year else "bad_number"
            row_problems.append(Problem(number, code, columns[3]))
        if row_problems:
            problems += row_problems
            continue
        assert clean_name and use_code
        seen.add(clean_name)
        good.append(BuildingRow(number, clean_name, use_code, floor_count, year_built))
    return good, problems


@dataclass(frozen=True)
class Sheet:
    """An import sheet read and checked: its template, its clean rows, its bad rows."""

    kind: Kind
    schools: list[SchoolRow]
    buildings: list[BuildingRow]
    problems: list[Problem]


def read_sheet(data: bytes, this_year: int) -> Sheet:
    """A workbook's bytes as a checked sheet (``BadSpreadsheet`` when it is none).

    CPU-bound, and everything it takes and returns pickles: a worker process runs it
    for the chat (``cases.imports.import_sheet``).
    """
    kind, rows = read_rows(data)
    if kind is Kind.SCHOOLS:
        schools, problems = parse_schools(rows)
        return Sheet(kind, schools, [], problems)
    buildings, problems = parse_buildings(rows, this_year)
    return Sheet(kind, [], buildings, problems)
