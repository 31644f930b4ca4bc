"""The roster import is one use case (``cases.imports``): ``xiaoan import`` and a
spreadsheet sent in chat call it, and the same sheet stores the same rows either way."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.config import TOKEN_ENV
from cases import imports as case
from ledger.clock import FakeClock
from ledger.errors import NotAllowed
from ledger.imports import BuildingRow, Problem, SchoolRow
from ledger.roles import Role
from reports.files import XLSX_MIME
from reports.imports import BadSpreadsheet, Kind, read_sheet
from storage import people
from storage.db import Database
from tests.conftest import cli_invitation, join, make_school, seed_person, seed_school
from tests.simulator import Simulator
from tests.test_imports import BAD_BUILDINGS, BUILDINGS, SCHOOLS, xlsx


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Which of the case's functions ran (both callers reach them as ``cases.imports.*``)."""
    seen: list[str] = []
    for name in ("import_sheet", "import_schools", "import_buildings"):
        real = getattr(case, name)

        def spy(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            seen.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(case, name, spy)
    return seen


def cli(tmp_path: Path, *argv: object) -> int:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[bot]\nusername = "xiaoan_bot"\n[storage]\ndatabase = "{tmp_path / "x.sqlite3"}"\n'
        f'photos = "{tmp_path / "photos"}"\n',
        encoding="utf-8",
    )
    return main(["--config", str(config), *(str(a) for a in argv)])


def stored_schools(rows: list[Any]) -> set[tuple[Any, ...]]:
    return {tuple(r) for r in rows}


SCHOOL_SQL = (
    "SELECT s.name, s.kind, s.ownership, s.district, i.role, i.max_uses,"
    " julianday(i.expires_at) - julianday(i.created_at) FROM schools s"
    " JOIN invitations i ON i.school_id = s.id WHERE s.name != '实验小学'"
)
EVENT_SQL = "SELECT after FROM events WHERE action = 'school.imported'"
BUILDING_SQL = (
    "SELECT b.name, b.use, b.floors, b.year_built FROM buildings b"
    " JOIN schools s ON s.id = b.school_id WHERE s.name = '实验小学'"
)


async def test_the_same_sheet_stores_the_same_rows_through_chat_and_command_line(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, calls: list[str]
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    school = await make_school(sim, buildings=())
    roster, buildings = xlsx(Kind.SCHOOLS, SCHOOLS[1:]), xlsx(Kind.BUILDINGS, BUILDINGS)

    said = await school.taskforce.document(roster, "roster.xlsx", XLSX_MIME)
    assert "已导入 2 所学校" in said[-1].text
    said = await school.principal.document(buildings, "楼.xlsx", XLSX_MIME)
    assert "已为实验小学导入 3 栋建筑" in said[-1].text
    assert calls == ["import_sheet", "import_schools", "import_sheet", "import_buildings"]
    by_chat = (
        stored_schools(await sim.db.all(SCHOOL_SQL)),
        [json.loads(r["after"]) for r in await sim.db.all(EVENT_SQL)],
        stored_schools(await sim.db.all(BUILDING_SQL)),
    )

    here = tmp_path / "cli"
    here.mkdir()
    (here / "first.xlsx").write_bytes(xlsx(Kind.SCHOOLS, SCHOOLS[:1]))
    (here / "roster.xlsx").write_bytes(roster)
    (here / "buildings.xlsx").write_bytes(buildings)
    monkeypatch.chdir(here)
    assert await asyncio.to_thread(cli, here, "import", "schools", here / "first.xlsx") == 0
    assert await asyncio.to_thread(cli, here, "import", "schools", here / "roster.xlsx") == 0
    assert (
        await asyncio.to_thread(
            cli, here, "import", "buildings", "--school", 1, here / "buildings.xlsx"
        )
        == 0
    )
    assert calls[4:] == ["import_sheet", "import_schools"] * 2 + [
        "import_sheet",
        "import_buildings",
    ]
    with sqlite3.connect(here / "x.sqlite3") as conn:
        by_cli = (
            stored_schools(conn.execute(SCHOOL_SQL).fetchall()),
            [json.loads(r[0]) for r in conn.execute(EVENT_SQL).fetchall()][1:],
            stored_schools(conn.execute(BUILDING_SQL).fetchall()),
        )
    assert by_chat[0] and by_chat[2]  # something was imported to compare
    assert by_cli == by_chat


ROW = SchoolRow(2, "二中", "middle", "public", "南黄镇", "李校长", "13800138001")
BUILDING = BuildingRow(2, "教学楼", "teaching", 4, 2005)


async def test_only_the_task_force_imports_schools(fresh_db: Database, clock: FakeClock) -> None:
    seeded = await seed_school(fresh_db, "实验小学", [])
    principal = await people.person_by_id(fresh_db, seeded.person_id)
    assert principal is not None
    with pytest.raises(NotAllowed):
        await case.import_schools(fresh_db.write, principal, [ROW], [])
    assert await fresh_db.value("SELECT COUNT(*) FROM schools") == 1
    taskforce = await people.person_by_id(
        fresh_db, await seed_person(fresh_db, "专班", None, Role.TASKFORCE)
    )
    made = await case.import_schools(fresh_db.write, taskforce, [ROW], [])
    assert not isinstance(made, case.Refused) and [m.name for m in made] == ["二中"]
    assert await fresh_db.value("SELECT created_by FROM invitations") == taskforce.id


async def test_only_the_schools_managers_import_its_buildings(
    fresh_db: Database, clock: FakeClock
) -> None:
    seeded = await seed_school(fresh_db, "实验小学", [])
    other = await seed_school(fresh_db, "二中", [])
    staff = await people.person_by_id(
        fresh_db, await seed_person(fresh_db, "王老师", seeded.school_id, Role.STAFF)
    )
    principal = await people.person_by_id(fresh_db, seeded.person_id)
    for person, school_id in ((staff, seeded.school_id), (principal, other.school_id)):
        with pytest.raises(NotAllowed):
            await case.import_buildings(fresh_db.write, person, school_id, [BUILDING], [])
    assert await fresh_db.value("SELECT COUNT(*) FROM buildings") == 0
    names = await case.import_buildings(fresh_db.write, principal, seeded.school_id, [BUILDING], [])
    assert names == ["教学楼"]


async def test_a_bad_row_imports_nothing(fresh_db: Database, clock: FakeClock) -> None:
    seeded = await seed_school(fresh_db, "实验小学", [])
    problem = Problem(3, "missing", "建筑物名称")
    refused = await case.import_buildings(
        fresh_db.write, None, seeded.school_id, [BUILDING], [problem]
    )
    assert refused == case.Refused([problem])
    assert await fresh_db.value("SELECT COUNT(*) FROM buildings") == 0
    not_made = await case.import_schools(fresh_db.write, None, [ROW], [problem])
    assert isinstance(not_made, case.Refused)
    assert await fresh_db.value("SELECT COUNT(*) FROM schools") == 1


async def test_a_school_added_in_chat_and_one_imported_are_registered_alike(
    fresh_db: Database, clock: FakeClock
) -> None:
    from cases import campus

    taskforce = await people.person_by_id(
        fresh_db, await seed_person(fresh_db, "专班", None, Role.TASKFORCE)
    )
    async with fresh_db.write() as tx:
        added = await campus.add_school(
            tx, taskforce, name="一中", kind="middle", ownership="public", district="城关镇"
        )
    made = await case.import_schools(fresh_db.write, taskforce, [ROW], [])
    assert not isinstance(made, case.Refused)
    sql = (
        "SELECT i.role, i.max_uses, i.created_by,"
        " julianday(i.expires_at) - julianday(i.created_at) AS days"
        " FROM invitations i WHERE i.school_id = ?"
    )
    by_form = tuple(await fresh_db.one(sql, (added.school_id,)))
    by_import = tuple(await fresh_db.one(sql, (made[0].school_id,)))
    assert by_form == by_import == ("principal", 1, taskforce.id, 30.0)
    principal = await people.person_by_id(
        fresh_db, await seed_person(fresh_db, "校长", added.school_id, Role.PRINCIPAL)
    )
    async with fresh_db.write() as tx:
        with pytest.raises(NotAllowed):  # a principal registers no school
            await campus.add_school(
                tx, principal, name="二小", kind="primary", ownership="public", district=""
            )
        with pytest.raises(NotAllowed):  # nor a building of another school
            await campus.add_building(
                tx,
                principal,
                made[0].school_id,
                name="楼",
                use="teaching",
                floors=2,
                year_built=2000,
            )


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """What ``import_sheet`` answered each caller: its result, or the refusal it raised."""
    seen: list[object] = []
    real = case.import_sheet

    async def spy(*args: Any, **kwargs: Any) -> Any:
        try:
            done = await real(*args, **kwargs)
        except Exception as refused:
            seen.append(refused)
            raise
        seen.append(done)
        return done

    monkeypatch.setattr(case, "import_sheet", spy)
    return seen


def _same_refusal(a: object, b: object) -> bool:
    if isinstance(a, Exception) or isinstance(b, Exception):
        return type(a) is type(b) and getattr(a, "params", None) == getattr(b, "params", None)
    return a == b


async def test_the_same_bad_sheets_get_the_same_refusals_through_chat_and_command_line(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answers: list[object]
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    school = await make_school(sim, buildings=())
    bad_rows = xlsx(Kind.BUILDINGS, BAD_BUILDINGS)
    bad_roster = xlsx(Kind.SCHOOLS, [("", "大学", "公办", "", "", "12")])
    junk = b"PK\x03\x04 not a workbook"

    said_rows = await school.principal.document(bad_rows, "楼.xlsx", XLSX_MIME)
    said_roster = await school.taskforce.document(bad_roster, "名单.xlsx", XLSX_MIME)
    said_junk = await school.principal.document(junk, "x.xlsx", XLSX_MIME)
    by_chat = list(answers)
    assert len(by_chat) == 3
    assert isinstance(by_chat[0], case.Refused) and isinstance(by_chat[1], case.Refused)
    assert isinstance(by_chat[2], BadSpreadsheet)
    for problem in by_chat[0].problems:  # each bad row, said in the reader's language
        assert f"第 {problem.row} 行{problem.column}" in said_rows[-1].text
    assert "没有导入任何内容" in said_roster[-1].text
    assert "无法读取这个文件" in said_junk[-1].text

    here = tmp_path / "cli"
    here.mkdir()
    monkeypatch.chdir(here)
    (here / "first.xlsx").write_bytes(xlsx(Kind.SCHOOLS, SCHOOLS[:1]))
    (here / "rows.xlsx").write_bytes(bad_rows)
    (here / "roster.xlsx").write_bytes(bad_roster)
    (here / "junk.xlsx").write_bytes(junk)
    assert await asyncio.to_thread(cli, here, "import", "schools", here / "first.xlsx") == 0
    del answers[3:]
    assert (
        await asyncio.to_thread(cli, here, "import", "buildings", "--school", 1, here / "rows.xlsx")
        == 1
    )
    assert await asyncio.to_thread(cli, here, "import", "schools", here / "roster.xlsx") == 1
    assert (
        await asyncio.to_thread(cli, here, "import", "buildings", "--school", 1, "junk.xlsx") == 2
    )
    by_cli = answers[3:]
    assert len(by_cli) == 3
    assert all(_same_refusal(a, b) for a, b in zip(by_chat, by_cli, strict=True))
    with sqlite3.connect(here / "x.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(*) FROM buildings").fetchone() == (0,)
        assert conn.execute("SELECT COUNT(*) FROM schools").fetchone() == (1,)
    assert await sim.db.value("SELECT COUNT(*) FROM buildings") == 0
    assert await sim.db.value("SELECT COUNT(*) FROM schools") == 1


async def test_in_chat_the_sheet_is_read_by_a_worker(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    school = await make_school(sim, buildings=())
    workers = sim.app.bot_data["services"].workers
    ran: list[object] = []
    real = workers.run

    async def run(work: Any, *args: Any, **kwargs: Any) -> Any:
        ran.append(work)
        return await real(work, *args, **kwargs)

    monkeypatch.setattr(workers, "run", run)
    said = await school.principal.document(xlsx(Kind.BUILDINGS, BUILDINGS), "楼.xlsx", XLSX_MIME)
    assert "已为实验小学导入 3 栋建筑" in said[-1].text
    assert ran == [read_sheet]


async def test_import_sheet_refuses_who_may_not_and_what_was_not_asked(
    fresh_db: Database, clock: FakeClock
) -> None:
    seeded = await seed_school(fresh_db, "实验小学", [])
    staff = await people.person_by_id(
        fresh_db, await seed_person(fresh_db, "王老师", seeded.school_id, Role.STAFF)
    )
    principal = await people.person_by_id(fresh_db, seeded.person_id)
    taskforce = await people.person_by_id(
        fresh_db, await seed_person(fresh_db, "专班", None, Role.TASKFORCE)
    )
    roster = xlsx(Kind.SCHOOLS, SCHOOLS[1:2])
    buildings = xlsx(Kind.BUILDINGS, BUILDINGS)

    async def refused(person: Any, data: bytes, **kwargs: Any) -> dict[str, Any]:
        with pytest.raises(case.ImportRefused) as caught:
            await case.import_sheet(fresh_db.write, person, data, this_year=2026, **kwargs)
        return caught.value.params

    assert await refused(staff, buildings) == {"reason": "need_role"}
    assert await refused(principal, roster) == {"reason": "schools_need_taskforce"}
    assert await refused(taskforce, buildings) == {"reason": "buildings_need_manager"}
    assert await refused(None, roster, expect=Kind.BUILDINGS, school_id=1) == {
        "reason": "wrong_kind",
        "kind": "schools",
        "expected": "buildings",
    }
    assert await refused(None, buildings, school_id=99) == {"reason": "no_school", "id": 99}
    assert await fresh_db.value("SELECT COUNT(*) FROM buildings") == 0
    assert await fresh_db.value("SELECT COUNT(*) FROM schools") == 1

    done = await case.import_sheet(fresh_db.write, principal, buildings, this_year=2026)
    assert done == case.BuildingsImported(seeded.school_id, ["教学楼A", "学生宿舍", "食堂"])
    made = await case.import_sheet(fresh_db.write, taskforce, roster, this_year=2026)
    assert isinstance(made, case.SchoolsImported)
    assert [m.name for m in made.schools] == ["第二中学"]


def test_a_sheet_refused_unread_leaves_no_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "junk.xlsx").write_bytes(b"not a workbook")
    (tmp_path / "b.xlsx").write_bytes(xlsx(Kind.BUILDINGS, BUILDINGS))
    assert cli(tmp_path, "import", "schools", tmp_path / "junk.xlsx") == 2
    assert cli(tmp_path, "import", "schools", tmp_path / "b.xlsx") == 2  # not the kind asked
    assert not (tmp_path / "x.sqlite3").exists()


async def test_refusals_in_english_for_an_english_client(sim: Simulator) -> None:
    school = await make_school(sim, buildings=())
    staff = await join(
        sim, await cli_invitation(sim, Role.STAFF, school.school_id), "Li Wei", language="en"
    )
    leader = await join(
        sim, await cli_invitation(sim, Role.LEADER, school.school_id), "Wang Fang", language="en"
    )
    said = await staff.document(xlsx(Kind.BUILDINGS, BUILDINGS), "b.xlsx", XLSX_MIME)
    assert said[-1].text == "Only the task force, a principal or a leader can import spreadsheets."
    said = await leader.document(xlsx(Kind.SCHOOLS, SCHOOLS[1:]), "s.xlsx", XLSX_MIME)
    assert said[-1].text == "Only the task force can import the list of schools."
    assert await sim.db.value("SELECT COUNT(*) FROM schools") == 1
    assert await sim.db.value("SELECT COUNT(*) FROM buildings") == 0
