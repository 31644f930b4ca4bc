"""The papers a school stamps and posts: unwalked buildings on the form, the form's details,
the ledger's print setup, and QR codes that lead somewhere on the local chat."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
import zxingcpp
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from bot.cli import main
from bot.config import TOKEN_ENV
from reports import files
from reports.form import SIGNATURES, TITLE_TEXT, WIDTHS, form_bytes
from reports.layout import display_width
from reports.qr import link_base, only_this_machine
from storage.db import Database
from storage.reporting import school_data
from storage.workers import Workers
from tests.conftest import (
    School,
    Seeded,
    cli_invitation,
    join,
    make_school,
    seed_hazard,
    seed_school,
    seed_walk,
)
from tests.simulator import Sent, Simulator
from tests.test_qr import codes_in

TODAY = date(2026, 11, 28)
PAGE = "https://xiaoan.school.example"


async def join_as(sim: Simulator, school: School, name: str, language: str):
    """A leader of the school, invited on the command line."""
    from ledger.roles import Role

    code = await cli_invitation(sim, Role.LEADER, school.school_id)
    return await join(sim, code, name, language=language)


def form_sheet(data: bytes) -> Worksheet:
    ws = load_workbook(io.BytesIO(data)).active
    assert isinstance(ws, Worksheet)
    return ws


def row_values(ws: Worksheet, row: int) -> list:
    return [ws.cell(row=row, column=c).value for c in range(1, 9)]


def shown_texts(pdf: bytes) -> list[str]:
    """The PDF's text lines, in drawing order."""
    return [
        bytes.fromhex(h.decode()).decode("utf-16-be") for h in re.findall(rb"<([0-9A-F]+)> Tj", pdf)
    ]


def decoded_links(pdf: bytes) -> list[str]:
    """Every code of the sheet, in drawing order, as a phone's camera reads it."""
    out = []
    for image in codes_in(pdf).values():
        found = zxingcpp.read_barcodes(image)
        assert len(found) == 1
        out.append(found[0].text)
    return out


# --- 14. a building nobody walked is not declared safe ---------------------------------------


async def test_only_a_closed_walk_with_nothing_found_says_none(fresh_db: Database) -> None:
    s = await seed_school(fresh_db, "实验小学", ["主楼", "宿舍", "食堂", "图书馆"])
    main_hall, dorm, _canteen, library = s.building_ids
    await seed_walk(fresh_db, s, main_hall, closed=True)
    await seed_walk(fresh_db, s, dorm, closed=False)
    # The library was never walked, but a colleague's quick report (随手拍) found something.
    await seed_hazard(fresh_db, s, library, "书架挡住安全出口")
    ws = form_sheet(form_bytes(await school_data(fresh_db, s.campaign_id, s.school_id), TODAY))

    assert row_values(ws, 5) == [1, "主楼", "无", None, None, None, None, "已排查销号"]
    assert row_values(ws, 6) == [2, "宿舍", "排查未完成", None, None, None, None, "排查中"]
    assert row_values(ws, 7) == [3, "食堂", "未排查", None, None, None, None, "未排查"]
    assert row_values(ws, 8) == [4, "图书馆", "书架挡住安全出口", "是", None, None, None,
                                 "未排查\n已整改0/1"]  # fmt: skip
    assert ws["A9"].value == "合计"
    # Above the signatures: how many are not inspected yet, and which.
    assert row_values(ws, 10) == [
        "尚未完成排查的建筑：（3）栋：宿舍（排查中）、食堂（未排查）、图书馆（未排查）。",
        None, None, None, None, None, None, None,
    ]  # fmt: skip
    assert "A10:H10" in {str(r) for r in ws.merged_cells.ranges}
    assert ws["A10"].border.left.style == "thin"
    assert ws["A11"].value == SIGNATURES
    assert ws.max_row == 11
    assert ws.print_area == "'汇总表'!$A$1:$H$11"  # the line prints with the form


async def test_a_school_with_no_walk_at_all_says_every_building_is_left(
    fresh_db: Database,
) -> None:
    s = await seed_school(fresh_db, "第三小学", ["一号楼", "二号楼"])
    ws = form_sheet(form_bytes(await school_data(fresh_db, s.campaign_id, s.school_id), TODAY))
    assert [ws[f"C{r}"].value for r in (5, 6)] == ["未排查", "未排查"]
    assert "无" not in [ws[f"C{r}"].value for r in (5, 6)]
    assert ws["A8"].value == "尚未完成排查的建筑：（2）栋：一号楼（未排查）、二号楼（未排查）。"


async def test_the_principal_exports_before_the_walks_are_done(sim: Simulator) -> None:
    """Through the chat: one building half walked, one not started."""
    school = await make_school(
        sim, buildings=(("教学楼A", "教学楼", "4", "2005"), ("宿舍楼", "宿舍", "5", "1996"))
    )
    await school.staff.send("/inspect")
    await school.staff.tap("教学楼A")
    said = await school.staff.tap("无隐患")
    assert "2/19" in said[-1].text

    said = await school.principal.send("/export")
    form = next(m for m in said if m.kind == "document")
    ws = form_sheet(form.files[0])
    assert (ws["B5"].value, ws["C5"].value, ws["H5"].value) == ("教学楼A", "排查未完成", "排查中")
    assert (ws["B6"].value, ws["C6"].value, ws["H6"].value) == ("宿舍楼", "未排查", "未排查")
    assert ws["A8"].value == "尚未完成排查的建筑：（2）栋：教学楼A（排查中）、宿舍楼（未排查）。"
    walks = await sim.db.all("SELECT building_id, closed_at FROM inspections")
    assert len(walks) == 1 and walks[0]["closed_at"] is None  # stored: one walk, still open
    # Said with the file as well: it may be sent on without being opened.
    assert "注意：还有 2 栋建筑未完成排查" in form.caption


async def test_the_form_caption_warns_in_english_and_only_while_buildings_are_left(
    sim: Simulator,
) -> None:
    school = await make_school(sim)
    building = await sim.db.value("SELECT id FROM buildings")
    english = await join_as(sim, school, "Ms Lee", "en")
    said = await english.send("/export")
    form = next(m for m in said if m.kind == "document")
    assert "Note: 1 building(s) are not fully inspected yet" in form.caption

    # The walk closed: no warning.
    campaign = sim.services.campaign_id
    principal = await sim.db.value("SELECT id FROM people WHERE name = '实验小学张校长'")
    await seed_walk(sim.db, Seeded(campaign, school.school_id, [building], principal), building,
                    closed=True)  # fmt: skip
    said = await school.principal.send("/export")
    form = next(m for m in said if m.kind == "document")
    assert "注意" not in form.caption
    assert form_sheet(form.files[0])["C5"].value == "无"


# --- 16. the form's details ----------------------------------------------------------------


async def test_the_form_uses_the_notices_curly_quotes(fresh_db: Database) -> None:
    s = await seed_school(fresh_db, "实验小学", ["主楼"])
    await seed_walk(fresh_db, s, s.building_ids[0], closed=True)
    ws = form_sheet(form_bytes(await school_data(fresh_db, s.campaign_id, s.school_id), TODAY))
    assert ws["A1"].value == "校园消防安全专项整治“回头看”排查情况汇总表" == TITLE_TEXT
    assert ws["C3"].value == "新发现隐患内容（无隐患填“无”）"
    every_text = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert not any('"' in text for text in every_text)


# Excel's column width counts the default font's digits (7 px each, plus 5 px of
# padding); a bold 11-point Chinese character in 宋体 takes about 16 px.
def fits(line: str, width: float) -> bool:
    pixels = sum(16 if display_width(ch) == 2 else 8 for ch in line)
    return pixels <= int(width * 7 + 5) - 4


def span(ws: Worksheet, ref: str) -> tuple[float, float]:
    """Width (columns) and height (points) of a cell, its merged range's when merged."""
    found = next((m for m in ws.merged_cells.ranges if ref in m), None)
    if found is None:
        row = int(ref[1:])
        return WIDTHS[ref[0]], float(ws.row_dimensions[row].height)
    columns = range(found.min_col, found.max_col + 1)
    rows = range(found.min_row, found.max_row + 1)
    return (
        sum(WIDTHS["ABCDEFGH"[c - 1]] for c in columns),
        sum(float(ws.row_dimensions[r].height) for r in rows),
    )


async def test_no_header_title_has_a_character_wrapped_alone(fresh_db: Database) -> None:
    s = await seed_school(fresh_db, "实验小学", ["主楼"])
    ws = form_sheet(form_bytes(await school_data(fresh_db, s.campaign_id, s.school_id), TODAY))
    assert ws["D3"].value == "是否能\n立即整改"  # broken where the words break
    titles = [f"{c}{r}" for r in (3, 4) for c in "ABCDEFGH" if ws[f"{c}{r}"].value]
    assert len(titles) == 9
    for ref in titles:
        width, height = span(ws, ref)
        lines = ws[ref].value.split("\n")
        assert all(fits(line, width) for line in lines), ref  # no line wraps by itself
        assert len(lines) * 15 <= height, ref  # and every line shows
    # What it was: one line of seven characters in ten columns, "改" alone below.
    assert not fits("是否能立即整改", WIDTHS["D"])


async def test_the_qr_sheet_follows_the_forms_order(fresh_db: Database) -> None:
    # Added in an order that the alphabet (and pinyin) would shuffle.
    s = await seed_school(fresh_db, "实验小学", ["食堂", "教学楼B", "宿舍楼", "教学楼A"])
    ws = form_sheet(form_bytes(await school_data(fresh_db, s.campaign_id, s.school_id), TODAY))
    on_form = [ws[f"B{r}"].value for r in range(5, 9)]
    assert on_form == ["食堂", "教学楼B", "宿舍楼", "教学楼A"]
    _, pdf = await files.qr_file(fresh_db, Workers(0), s.school_id, "https://t.me/xiaoan_bot")
    assert shown_texts(pdf)[::3] == on_form  # each label: building, school, hint
    assert decoded_links(pdf) == [f"https://t.me/xiaoan_bot?start=w_{b}" for b in s.building_ids]


# --- 16. the ledger prints ------------------------------------------------------------------


async def test_the_ledger_prints_landscape_one_page_wide_with_its_header(
    sim: Simulator,
) -> None:
    school = await make_school(sim)
    await school.staff.send("/inspect")
    await school.staff.tap("教学楼A")
    await school.staff.tap("有隐患")
    await school.staff.tap("无照片")
    await school.staff.send("灭火器过期")
    await school.staff.tap("是")
    said = await school.principal.send("/export")
    said = await school.principal.tap("台账")
    ledger = next(m for m in said if m.kind == "document")
    book = load_workbook(io.BytesIO(ledger.files[0]))
    # The third sheet holds the chain head the ledger was made from (issue 15).
    assert book.sheetnames == ["台账", "建筑物", "数据校验"]
    for name in book.sheetnames[:2]:
        ws = book[name]
        assert ws.page_setup.orientation == "landscape", name
        # One page wide: 1 is the file format's default, so a writer may leave it out.
        assert (ws.page_setup.fitToWidth or 1) == 1, name
        assert ws.page_setup.fitToHeight == 0, name  # as many pages down as it takes
        assert ws.sheet_properties.pageSetUpPr.fitToPage, name
        assert ws.print_title_rows == "$1:$1", name  # the header on every page
        assert ws.page_setup.paperSize == 8, name  # A3
        assert ws["A1"].alignment.wrap_text, name  # 能否立即整改 shows whole, on two lines
        assert ws.row_dimensions[1].height >= 2 * 15, name
    assert book["台账"]["E2"].value == "灭火器过期"


# --- 15. QR codes on the local chat ---------------------------------------------------------


async def local_chat_sim(tmp_path: Path, clock, public_url: str) -> Simulator:
    """The bot as ``xiaoan run`` starts it without a token: pointed at the local chat."""
    sim = Simulator(tmp_path, clock)
    sim.config = replace(
        sim.config,
        username="xiaoan_local_bot",
        api_base_url="http://127.0.0.1:8081/bot",
        api_file_url="http://127.0.0.1:8081/file/bot",
        local_public_url=public_url,
    )
    return await sim.start()


def qr_sheet(said: list[Sent]) -> bytes:
    sheet = next(m for m in said if m.kind == "document")
    assert sheet.file_name == "二维码-实验小学.pdf"
    return sheet.files[0]


@pytest.mark.parametrize(("public_url", "page"), [(PAGE, PAGE), ("", "http://127.0.0.1:8080")])
async def test_on_the_local_chat_the_codes_open_the_local_page(
    tmp_path: Path, clock, public_url: str, page: str
) -> None:
    sim = await local_chat_sim(tmp_path, clock, public_url)
    try:
        school = await make_school(
            sim, buildings=(("宿舍楼", "宿舍", "5", "1996"), ("教学楼A", "教学楼", "4", "2005"))
        )
        ids = [
            r["id"]
            for r in await sim.db.all(
                "SELECT id FROM buildings WHERE school_id = ? ORDER BY id", (school.school_id,)
            )
        ]
        await school.principal.send("/export")
        said = await school.principal.tap("建筑二维码")
        pdf = qr_sheet(said)
        links = decoded_links(pdf)
        assert links == [f"{page}/?start=w_{b}" for b in ids]
        sheet = next(m for m in said if m.kind == "document")
        # A page only this machine can open is no use on a wall: the caption says so.
        assert ("手机扫码打不开" in sheet.caption) == (public_url == "")
        assert b"t.me" not in pdf and b"xiaoan_local_bot" not in pdf
        assert shown_texts(pdf)[::3] == ["宿舍楼", "教学楼A"]

        # What the page sends for a member who opens the link: that building's walk.
        said = await school.staff.send("/start " + links[1].split("start=")[1])
        assert "【教学楼A】1/19" in said[-1].text
        walk = await sim.db.one("SELECT * FROM inspections WHERE building_id = ?", (ids[1],))
        assert walk is not None and walk["closed_at"] is None
    finally:
        await sim.stop()


async def test_on_telegram_the_codes_open_the_bot(sim: Simulator) -> None:
    school = await make_school(sim)
    await school.principal.send("/export")
    pdf = qr_sheet(await school.principal.tap("建筑二维码"))
    building = await sim.db.value("SELECT id FROM buildings")
    assert decoded_links(pdf) == [f"https://t.me/{sim.config.username}?start=w_{building}"]


def test_link_base() -> None:
    assert link_base("xiaoan_bot", None) == "https://t.me/xiaoan_bot"
    assert link_base("xiaoan_local_bot", PAGE + "/") == PAGE + "/"
    assert link_base("xiaoan_local_bot", PAGE) == PAGE + "/"
    assert link_base(None, None) is None
    assert only_this_machine("http://127.0.0.1:8080/")
    assert only_this_machine("http://localhost:8080/")
    assert only_this_machine("http://[::1]:8080/")
    assert not only_this_machine("http://192.168.1.20:8080/")
    assert not only_this_machine(PAGE + "/")
    assert not only_this_machine("https://t.me/xiaoan_bot")


@pytest.fixture
def cli_school(tmp_path, monkeypatch) -> tuple[Path, Path]:
    """A database with one school of two buildings, and a config file to extend."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    config = tmp_path / "config.toml"
    base = f'[storage]\ndatabase = "{tmp_path / "x.sqlite3"}"\nphotos = "{tmp_path / "p"}"\n'
    config.write_text(base, encoding="utf-8")
    assert main(["--config", str(config), "init"]) == 0
    import sqlite3

    with sqlite3.connect(tmp_path / "x.sqlite3") as conn:
        conn.execute(
            "INSERT INTO schools (name, kind, ownership, district, created_at)"
            " VALUES ('实验小学', 'primary', 'public', '', '2026-11-28T09:00:00+08:00')"
        )
        for name in ("主楼", "宿舍"):
            conn.execute(
                "INSERT INTO buildings (school_id, name, use, floors, year_built, created_at)"
                " VALUES (1, ?, 'teaching', 3, 2005, '2026-11-28T09:00:00+08:00')",
                (name,),
            )
    return config, tmp_path


def test_cli_qr_without_a_token_opens_the_local_page(
    capsys, cli_school: tuple[Path, Path], monkeypatch
) -> None:
    config, folder = cli_school
    text = config.read_text(encoding="utf-8")
    config.write_text(text + "[local]\nport = 8090\n", encoding="utf-8")
    assert main(["--config", str(config), "qr", "--school", "1", "--out", "a.pdf"]) == 0
    out = capsys.readouterr().out
    assert "each code opens http://127.0.0.1:8090/?start=w_<building id>" in out
    assert decoded_links((folder / "a.pdf").read_bytes()) == [
        "http://127.0.0.1:8090/?start=w_1",
        "http://127.0.0.1:8090/?start=w_2",
    ]

    # With a token (and a bot name) the codes are Telegram's deep links.
    config.write_text('[bot]\nusername = "xiaoan_bot"\n' + text, encoding="utf-8")
    monkeypatch.setenv(TOKEN_ENV, "123:secret")
    assert main(["--config", str(config), "qr", "--school", "1", "--out", "b.pdf"]) == 0
    assert decoded_links((folder / "b.pdf").read_bytes())[0] == "https://t.me/xiaoan_bot?start=w_1"
    assert "123:secret" not in capsys.readouterr().out

    # A token but no bot name: no link to make, said in one line.
    config.write_text(text, encoding="utf-8")
    assert main(["--config", str(config), "qr", "--school", "1", "--out", "c.pdf"]) == 2
    assert "bot.username" in capsys.readouterr().err
    assert not (folder / "c.pdf").exists()
