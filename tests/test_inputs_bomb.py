"""Spreadsheet bombs (issue 11.3): who may import is asked before the file is
downloaded; the file is read off the event loop; an archive whose parts would
inflate past the limits is refused before openpyxl inflates anything. In chat and
on the command line.
"""

from __future__ import annotations

import io
import struct
import threading
import zipfile
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import TOKEN_ENV
from ledger.clock import FakeClock
from reports import imports
from reports.files import XLSX_MIME
from reports.imports import HEADERS, MAX_UNPACKED, BadSpreadsheet, Kind, check_archive, read_rows
from tests.conftest import make_school
from tests.simulator import Simulator
from tests.test_imports import xlsx

BOMB_MB = 200  # inflated; the file itself is about 200 KB
SHEET = "xl/worksheets/sheet1.xml"
NEED_ROLE = "只有市专班、校长或分管领导可以导入表格。"
UNPACKED = "文件解压后过大（上限 20 MB），可能是压缩炸弹，未读取。请发送导入模板格式的普通表格。"
UNREADABLE = "无法读取这个文件，请发送 .xlsx 格式的表格。"


def _rebuilt(template: bytes, sheet: bytes | None = None, level: int = 6) -> bytes:
    """A copy of a real workbook with its first sheet replaced (streamed, not held twice)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(template)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as target,
    ):
        for part in source.infolist():
            if part.filename == SHEET and sheet is not None:
                target.writestr(SHEET, sheet)
            elif part.filename == SHEET:
                # The bomb: a valid sheet header, then BOMB_MB of blanks, then its end.
                with target.open(SHEET, "w", force_zip64=True) as stream:
                    stream.write(
                        b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns='
                        b'"http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
                    )
                    blank = b" " * (1 << 20)
                    for _ in range(BOMB_MB):
                        stream.write(blank)
                    stream.write(b"</sheetData></worksheet>")
            else:
                target.writestr(part, source.read(part))
    return out.getvalue()


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """A buildings workbook whose sheet inflates to 200 MB from about 200 KB."""
    return _rebuilt(xlsx(Kind.BUILDINGS, [("教学楼B", "教学楼", 4, 2005)]))


def _lying(template: bytes) -> bytes:
    """A workbook whose sheet says it inflates to 100 bytes but holds far more."""
    data = bytearray(template)
    with zipfile.ZipFile(io.BytesIO(template)) as archive:
        part = archive.getinfo(SHEET)
    central = data.find(b"PK\x01\x02", data.find(b"PK\x01\x02"))  # first central entry
    while central != -1:
        (name_len,) = struct.unpack_from("<H", data, central + 28)
        if data[central + 46 : central + 46 + name_len] == SHEET.encode():
            struct.pack_into("<I", data, central + 24, 100)  # uncompressed size
            break
        central = data.find(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", data, part.header_offset + 22, 100)  # and in the local header
    return bytes(data)


def _no_openpyxl(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("openpyxl was asked to read the archive")

    monkeypatch.setattr(imports, "load_workbook", refuse)


# --- in chat --------------------------------------------------------------------------


async def test_a_staff_members_bomb_is_refused_before_download(sim: Simulator, bomb: bytes) -> None:
    school = await make_school(sim)
    buildings = await sim.db.value("SELECT COUNT(*) FROM buildings")
    sim.api.calls.clear()
    said = await school.staff.document(bomb, "建筑.xlsx", XLSX_MIME)
    assert [m.text for m in said] == [NEED_ROLE]
    assert "getFile" not in [name for name, _ in sim.api.calls]
    assert await sim.db.value("SELECT COUNT(*) FROM buildings") == buildings


async def test_a_principals_bomb_is_refused_unread(
    sim: Simulator, bomb: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    school = await make_school(sim)
    buildings = await sim.db.value("SELECT COUNT(*) FROM buildings")
    _no_openpyxl(monkeypatch)
    said = await school.principal.document(bomb, "建筑.xlsx", XLSX_MIME)
    assert [m.text for m in said] == [UNPACKED]
    assert await sim.db.value("SELECT COUNT(*) FROM buildings") == buildings


async def test_the_file_is_read_off_the_event_loop(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    school = await make_school(sim)
    readers: list[int] = []
    real = imports.read_rows

    def recorded(data: bytes) -> tuple[Kind, list[tuple[int, list[str]]]]:
        readers.append(threading.get_ident())
        return real(data)

    monkeypatch.setattr(imports, "read_rows", recorded)
    said = await school.principal.document(
        xlsx(Kind.BUILDINGS, [("实验楼", "实验室", 3, 2001)]), "建筑.xlsx", XLSX_MIME
    )
    assert "导入 1 栋建筑" in said[-1].text
    assert readers and readers[0] != threading.get_ident()  # not the event loop's thread


async def test_in_a_worker_process(tmp_path: Path, clock: FakeClock, bomb: bytes) -> None:
    """As the bot runs by default: the file is read in a worker process; its refusal
    comes back across, and a good file is imported."""
    sim = await Simulator(tmp_path, clock, "[workers]\nprocesses = 1\n").start()
    try:
        school = await make_school(sim)
        said = await school.principal.document(bomb, "建筑.xlsx", XLSX_MIME)
        assert [m.text for m in said] == [UNPACKED]
        good = xlsx(Kind.BUILDINGS, [("实验楼", "实验室", 3, 2001)])
        said = await school.principal.document(good, "建筑.xlsx", XLSX_MIME)
        assert "导入 1 栋建筑" in said[-1].text
        assert await sim.db.value("SELECT COUNT(*) FROM buildings") == 2
    finally:
        await sim.stop()


async def test_a_sheet_that_lies_about_its_size_is_unreadable(sim: Simulator) -> None:
    school = await make_school(sim)
    big = [(f"楼{i}", "教学楼", 3, 2001) for i in range(300)]
    said = await school.principal.document(_lying(xlsx(Kind.BUILDINGS, big)), "b.xlsx", XLSX_MIME)
    assert [m.text for m in said] == [UNREADABLE]
    assert await sim.db.value("SELECT COUNT(*) FROM buildings") == 1


async def test_an_xml_entity_bomb_is_unreadable(sim: Simulator) -> None:
    """Billion laughs inside a small part: entities are refused (defusedxml)."""
    school = await make_school(sim)
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
            for i in range(1, 10)
        )
        + b']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
        b"</sheetData></worksheet>"
    )
    data = _rebuilt(xlsx(Kind.BUILDINGS, []), sheet=laughs)
    said = await school.principal.document(data, "b.xlsx", XLSX_MIME)
    assert [m.text for m in said] == [UNREADABLE]


async def test_a_spreadsheet_too_big_for_telegram_without_a_size(sim: Simulator) -> None:
    """No file_size in the message; Telegram's getFile says "file is too big"."""
    school = await make_school(sim)
    said = await school.principal.document(
        xlsx(Kind.BUILDINGS, [("实验楼", "实验室", 3, 2001)]),
        "b.xlsx",
        XLSX_MIME,
        real_size=25 * 1024 * 1024,
        size_sent=False,
    )
    assert [m.text for m in said] == ["文件太大（上限 2 MB）。"]
    assert await sim.db.value("SELECT COUNT(*) FROM buildings") == 1


async def test_a_spreadsheet_over_the_limit_without_a_size(sim: Simulator) -> None:
    """No size in the message, under Telegram's 20 MB: getFile's answer tells."""
    school = await make_school(sim)
    data = xlsx(Kind.BUILDINGS, [("实验楼", "实验室", 3, 2001)]) + b"\0" * (3 * 1024 * 1024)
    said = await school.principal.document(data, "b.xlsx", XLSX_MIME, size_sent=False)
    assert [m.text for m in said] == ["文件太大（上限 2 MB）。"]


# --- the rule itself ------------------------------------------------------------------


def test_check_archive_limits_the_total_and_the_ratio() -> None:
    plain = xlsx(Kind.BUILDINGS, [("实验楼", "实验室", 3, 2001)])
    check_archive(plain)  # an ordinary workbook passes
    with pytest.raises(BadSpreadsheet) as refused:
        check_archive(plain, max_unpacked=1_000)
    assert refused.value.params == {"reason": "unpacked", "limit_mb": 0}
    # 3 MB of blanks packs to a few KB: past the ratio, under the total.
    dense = _rebuilt(plain, sheet=b" " * (3 << 20))
    check_archive(dense, max_ratio=10_000)
    with pytest.raises(BadSpreadsheet):
        check_archive(dense)


def test_the_largest_roster_allowed_passes() -> None:
    """5,000 rows, the most an import takes, is far under the limits."""
    row = ("实验小学", "小学", "公办", "城关镇", "张校长", "13800138000")
    data = xlsx(Kind.SCHOOLS, [(f"{row[0]}{i}", *row[1:]) for i in range(5_000)])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        unpacked = sum(p.file_size for p in archive.infolist())
    assert unpacked < MAX_UNPACKED / 10
    kind, rows = read_rows(data)
    assert (kind, len(rows)) == (Kind.SCHOOLS, 5_000)
    assert HEADERS[kind][0] == "学校名称"


# --- the command line -------------------------------------------------------------------


def test_cli_refuses_a_bomb(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    bomb: bytes,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\ndatabase = "{tmp_path / "x.sqlite3"}"\nphotos = "{tmp_path / "p"}"\n',
        encoding="utf-8",
    )
    (tmp_path / "bomb.xlsx").write_bytes(bomb)
    _no_openpyxl(monkeypatch)
    code = main(["--config", str(config), "import", "buildings", "--school", "1", "bomb.xlsx"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("xiaoan: import: bomb.xlsx: This file would unpack to too much data")
    assert err.count("\n") == 1
