"""Imports: a good file, a file with bad rows (nothing imported), the same file twice.

Through the command line (``xiaoan import``) and by sending the file to the bot.
"""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from bot.cli import main
from bot.config import TOKEN_ENV
from reports.files import XLSX_MIME
from reports.imports import HEADERS, Kind, parse_buildings, read_rows
from tests.conftest import make_school
from tests.simulator import Simulator, texts

SCHOOLS = [
    ("实验小学", "小学", "公办", "城关镇", "张校长", "13800138000"),
    ("第二中学", "middle", "public", "南黄镇", "李校长", "138-0013-8001"),
    ("阳光幼儿园", "幼儿园", "民办", "", "王园长", "+86 13800138002"),
]
BUILDINGS = [
    ("教学楼A", "教学楼", 4, 2005),
    ("学生宿舍", "dormitory", "5", "1996"),
    ("食堂", "食堂", 1.0, 2010.0),
]
BAD_BUILDINGS = [
    ("教学楼A", "教学楼", 4, 2005),
    ("", "宿舍", 5, 1996),  # row 3: missing name
    ("食堂", "厨房", 1, 2010),  # row 4: unknown use
    ("教学楼A", "教学楼", 4, 2005),  # row 5: a duplicate of row 2
    ("实验楼", "实验室", 3, 2099),  # row 6: a year in the future
]


def xlsx(kind: Kind, rows: list[tuple]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(list(HEADERS[kind]))
    for row in rows:
        ws.append(list(row))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# --- the command line ---------------------------------------------------------------


@pytest.fixture
def config(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    path = tmp_path / "config.toml"
    path.write_text(
        f'[bot]\nusername = "xiaoan_bot"\n[storage]\ndatabase = "{tmp_path / "x.sqlite3"}"\n'
        f'photos = "{tmp_path / "photos"}"\n',
        encoding="utf-8",
    )
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def count(tmp_path: Path, table: str) -> int:
    with sqlite3.connect(tmp_path / "x.sqlite3") as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608


def test_cli_imports_schools_once(capsys, config: Path, tmp_path: Path) -> None:
    roster = tmp_path / "schools.xlsx"
    roster.write_bytes(xlsx(Kind.SCHOOLS, SCHOOLS))
    code, out, _ = run(capsys, "--config", config, "import", "schools", roster)
    assert code == 0
    assert "imported 3 new school(s)" in out
    lines = [line for line in out.splitlines() if line.startswith("school ")]
    assert len(lines) == 3
    assert "实验小学: principal 张校长 13800138000: https://t.me/xiaoan_bot?start=" in lines[0]
    assert count(tmp_path, "schools") == 3
    assert count(tmp_path, "invitations") == 3
    with sqlite3.connect(tmp_path / "x.sqlite3") as conn:
        stored = conn.execute(
            "SELECT name, kind, ownership, district FROM schools ORDER BY id"
        ).fetchall()
    assert stored == [
        ("实验小学", "primary", "public", "城关镇"),
        ("第二中学", "middle", "public", "南黄镇"),
        ("阳光幼儿园", "kindergarten", "private", ""),
    ]
    events = count(tmp_path, "events")
    # The same file twice: nothing changes, no new invitation.
    code, out, _ = run(capsys, "--config", config, "import", "schools", roster)
    assert code == 0
    assert "imported 0 new school(s)" in out
    assert (count(tmp_path, "schools"), count(tmp_path, "invitations")) == (3, 3)
    assert count(tmp_path, "events") == events


def test_cli_imports_buildings_and_refuses_bad_rows(capsys, config: Path, tmp_path: Path) -> None:
    roster = tmp_path / "schools.xlsx"
    roster.write_bytes(xlsx(Kind.SCHOOLS, SCHOOLS[:1]))
    run(capsys, "--config", config, "import", "schools", roster)
    good = tmp_path / "buildings.xlsx"
    good.write_bytes(xlsx(Kind.BUILDINGS, BUILDINGS))
    code, out, _ = run(capsys, "--config", config, "import", "buildings", "--school", 1, good)
    assert code == 0
    assert "imported 3 new building(s): 教学楼A, 学生宿舍, 食堂" in out
    with sqlite3.connect(tmp_path / "x.sqlite3") as conn:
        rows = conn.execute("SELECT name, use, floors, year_built FROM buildings").fetchall()
    assert rows == [("教学楼A", "teaching", 4, 2005), ("学生宿舍", "dormitory", 5, 1996),
                    ("食堂", "canteen", 1, 2010)]  # fmt: skip
    code, out, _ = run(capsys, "--config", config, "import", "buildings", "--school", 1, good)
    assert "imported 0 new building(s)" in out
    assert count(tmp_path, "buildings") == 3

    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(xlsx(Kind.BUILDINGS, [("新楼", "教学楼", 2, 2020), *BAD_BUILDINGS[1:]]))
    code, out, err = run(capsys, "--config", config, "import", "buildings", "--school", 1, bad)
    assert code == 1
    assert "nothing imported; 3 problem(s)" in err
    assert "row 3, 建筑物名称: the name is missing" in err
    assert "row 4, 用途: not one of the allowed values" in err
    assert "row 5, 建筑物名称: repeats an earlier row" not in err  # 新楼 is row 2 here
    assert "row 6, 建成年份: the year is in the future" in err
    assert count(tmp_path, "buildings") == 3  # not even the good row 2


def test_cli_errors(capsys, config: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes.xlsx"
    notes.write_bytes(b"not a spreadsheet")
    code, _, err = run(capsys, "--config", config, "import", "schools", notes)
    assert code == 2
    assert "I cannot read this file" in err
    wrong = tmp_path / "b.xlsx"
    wrong.write_bytes(xlsx(Kind.BUILDINGS, BUILDINGS))
    code, _, err = run(capsys, "--config", config, "import", "schools", wrong)
    assert code == 2 and "is a buildings file" in err
    code, _, err = run(capsys, "--config", config, "import", "buildings", "--school", 9, wrong)
    assert code == 2 and "no school with id 9" in err
    code, _, err = run(capsys, "--config", config, "import", "schools", tmp_path / "none.xlsx")
    assert code == 2 and "cannot read" in err


def test_cli_writes_templates(capsys, config: Path, tmp_path: Path) -> None:
    code, _, _ = run(capsys, "--config", config, "import", "template", "--out", tmp_path / "t")
    assert code == 0
    for name, kind in (
        ("学校导入模板.xlsx", Kind.SCHOOLS),
        ("建筑物导入模板.xlsx", Kind.BUILDINGS),
    ):
        ws = load_workbook(tmp_path / "t" / name).active
        assert tuple(c.value for c in ws[1]) == HEADERS[kind]
        assert ws.max_row == 1
        assert read_rows((tmp_path / "t" / name).read_bytes()) == (kind, [])


@pytest.mark.parametrize(
    ("row", "code"),
    [
        (("楼", "教学楼", "0", "2000"), "bad_number"),
        (("楼", "教学楼", "三", "2000"), "bad_number"),
        (("楼", "教学楼", "3", "1700"), "bad_number"),
        (("楼", "教学楼", "3", "2027"), "future_year"),
        (("楼" * 61, "教学楼", "3", "2000"), "bad_name"),
        (("楼", "", "3", "2000"), "unknown_choice"),
    ],
)
def test_building_row_problems(row: tuple, code: str) -> None:
    good, problems = parse_buildings([(2, list(row))], 2026)
    assert good == []
    assert [p.code for p in problems] == [code]


def test_exports_from_the_command_line(capsys, config: Path, tmp_path: Path) -> None:
    roster = tmp_path / "schools.xlsx"
    roster.write_bytes(xlsx(Kind.SCHOOLS, SCHOOLS[:1]))
    run(capsys, "--config", config, "import", "schools", roster)
    (tmp_path / "b.xlsx").write_bytes(xlsx(Kind.BUILDINGS, BUILDINGS))
    run(capsys, "--config", config, "import", "buildings", "--school", 1, tmp_path / "b.xlsx")
    events = count(tmp_path, "events")
    code, out, _ = run(capsys, "--config", config, "export", "form", "--school", 1, "--out",
                       tmp_path / "form.xlsx")  # fmt: skip
    assert code == 0 and "written:" in out
    ws = load_workbook(tmp_path / "form.xlsx").active
    # Imported, never walked: not inspected, not "无" (no hazard).
    assert [ws.cell(row=r, column=3).value for r in (5, 6, 7)] == ["未排查", "未排查", "未排查"]
    code, out, _ = run(capsys, "--config", config, "export", "ledger")
    assert code == 0
    assert load_workbook(out.split("written: ")[1].strip())["建筑物"].max_row == 4
    code, out, _ = run(capsys, "--config", config, "export", "city", "--out", tmp_path / "c.xlsx")
    assert load_workbook(tmp_path / "c.xlsx")["全市进度"]["B4"].value == "实验小学"
    code, out, _ = run(capsys, "--config", config, "qr", "--school", 1)
    assert code == 0 and (tmp_path / "二维码-实验小学.pdf").read_bytes().startswith(b"%PDF")
    assert count(tmp_path, "events") == events  # exports change nothing
    code, _, err = run(capsys, "--config", config, "export", "form", "--school", 7)
    assert code == 2 and "no school with id 7" in err


# --- in chat ------------------------------------------------------------------------------


async def test_chat_imports(sim: Simulator) -> None:
    school = await make_school(sim, buildings=())
    tf, principal = school.taskforce, school.principal
    tf.new()
    said = await tf.document(xlsx(Kind.SCHOOLS, SCHOOLS[1:]), "roster.xlsx", XLSX_MIME)
    assert "已导入 2 所学校" in said[-1].text
    assert "第二中学（李校长 13800138001）：https://t.me/" in said[-1].text
    said = await tf.document(xlsx(Kind.SCHOOLS, SCHOOLS[1:]), "roster.xlsx", XLSX_MIME)
    assert "都已存在，没有任何改动" in said[-1].text
    assert await sim.db.value("SELECT COUNT(*) FROM schools") == 3

    bad = xlsx(Kind.BUILDINGS, BAD_BUILDINGS)
    said = await principal.document(bad, "楼.xlsx", XLSX_MIME)
    text = said[-1].text
    assert "4 处问题" in text and "没有导入任何内容" in text
    for line in (
        "第 3 行建筑物名称：缺少名称",
        "第 4 行用途：不是可选的值",
        "第 5 行建筑物名称：与前面的行重复",
        "第 6 行建成年份：年份晚于今年",
    ):
        assert line in text
    assert await sim.db.value("SELECT COUNT(*) FROM buildings") == 0

    said = await principal.document(xlsx(Kind.BUILDINGS, BUILDINGS), "楼.xlsx", XLSX_MIME)
    assert "已为实验小学导入 3 栋建筑" in said[-1].text
    said = await principal.document(xlsx(Kind.BUILDINGS, BUILDINGS), "楼.xlsx", XLSX_MIME)
    assert "没有任何改动" in said[-1].text
    assert await sim.db.value("SELECT COUNT(*) FROM buildings") == 3

    # Roles: staff import nothing; a principal cannot import schools.
    said = await school.staff.document(xlsx(Kind.BUILDINGS, [("新楼", "教学楼", 2, 2020)]),
                                       "x.xlsx", XLSX_MIME)  # fmt: skip
    assert "只有市专班、校长或分管领导" in said[-1].text  # asked before the file is read
    said = await principal.document(xlsx(Kind.SCHOOLS, SCHOOLS[:1]), "x.xlsx", XLSX_MIME)
    assert "只有市专班" in said[-1].text
    said = await principal.document(b"PK junk", "x.xlsx", XLSX_MIME)
    assert "无法读取这个文件" in said[-1].text
    assert await sim.db.value("SELECT COUNT(*) FROM buildings") == 3
    assert "导入" in texts(await principal.send("/export"))
