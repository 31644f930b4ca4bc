"""``xiaoan draw``, ``xiaoan draw --verify`` and ``xiaoan export visits``."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.cli import main
from bot.config import TOKEN_ENV
from ledger.clock import FakeClock
from ledger.roles import Role
from storage import people
from storage.db import Database
from tests.conftest import SHANGHAI

SCHOOLS = [("一小", "城关镇", "primary"), ("二小", "城关镇", "primary"),
           ("一中", "夏村镇", "middle"), ("幼儿园", "夏村镇", "kindergarten"),
           ("职校", "海阳所", "vocational")]  # fmt: skip


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(TOKEN_ENV, raising=False)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def _seed(path: Path, supervisors: int) -> None:
    clock = FakeClock(datetime(2026, 11, 28, 9, tzinfo=SHANGHAI))
    async with Database(path, clock) as db, db.write() as tx:
        for name, district, kind in SCHOOLS:
            await tx.run(
                "INSERT INTO schools (name, kind, ownership, district, created_at)"
                " VALUES (?, ?, 'public', ?, ?)",
                (name, kind, district, tx.now()),
            )
        for n in range(supervisors):
            person = await people.create_person(
                tx, tg_user_id=500 + n, chat_id=500 + n, name=f"督导{n}", phone="1", language="zh"
            )
            await people.add_membership(
                tx, person_id=person, school_id=None, role=Role.SUPERVISOR, invitation_id=None
            )


@pytest.fixture
def config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    database = tmp_path / "x.sqlite3"
    path = tmp_path / "config.toml"
    path.write_text(
        f'[storage]\ndatabase = "{database}"\nphotos = "{tmp_path / "photos"}"\n', encoding="utf-8"
    )
    assert run(capsys, "--config", str(path), "init")[0] == 0
    asyncio.run(_seed(database, 3))
    return path


def stored(config: Path, sql: str) -> list[tuple[object, ...]]:
    import sqlite3

    database = config.parent / "x.sqlite3"
    with sqlite3.connect(database) as conn:
        return list(conn.execute(sql))


def test_a_draw_of_2_schools_out_of_5_with_a_seed_is_stored_and_verifies(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "--config", str(config), "draw", "--schools", "2",
                         "--supervisors", "3", "--seed", "abc")  # fmt: skip
    assert (code, err) == (0, "")
    assert out.startswith("draw 1: seed abc\ncandidates: 5 school(s), 3 supervisor(s)\n")
    drawn = re.findall(r"\(school (\d+)\): (.+)", out)
    assert len(drawn) == 2
    assert all(set(who.split(", ")) == {"督导0", "督导1", "督导2"} for _, who in drawn)
    [(seed, candidates, result)] = stored(
        config, "SELECT seed, school_candidates, result FROM supervision_draws"
    )
    assert seed == "abc"
    assert [c["id"] for c in json.loads(str(candidates))] == [1, 2, 3, 4, 5]
    assert [str(v["school_id"]) for v in json.loads(str(result))] == [s for s, _ in drawn]
    visits = stored(config, "SELECT school_id, chosen_by, state FROM supervision_visits")
    assert {(str(s), c, st) for s, c, st in visits} == {(s, "drawn", "planned") for s, _ in drawn}
    assert stored(config, "SELECT COUNT(*) FROM events WHERE action = 'draw.made'") == [(1,)]

    code, out, _ = run(capsys, "--config", str(config), "draw", "--verify", "1")
    assert code == 0
    assert out.endswith("verified: the same result\n")


def test_the_same_seed_draws_the_same_schools_in_another_database(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, first, _ = run(capsys, "--config", str(config), "draw", "--schools", "2", "--seed", "s1")
    other = tmp_path / "other"
    other.mkdir()
    config2 = other / "config.toml"
    config2.write_text(
        f'[storage]\ndatabase = "{other / "x.sqlite3"}"\nphotos = "{other / "p"}"\n',
        encoding="utf-8",
    )
    run(capsys, "--config", str(config2), "init")
    asyncio.run(_seed(other / "x.sqlite3", 3))
    _, second, _ = run(capsys, "--config", str(config2), "draw", "--schools", "2", "--seed", "s1")
    assert first == second


def test_a_second_draw_takes_only_schools_not_yet_drawn(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "--config", str(config), "draw", "--schools", "3", "--supervisors", "1")
    code, out, _ = run(
        capsys, "--config", str(config), "draw", "--schools", "2", "--supervisors", "1"
    )
    assert code == 0
    assert "candidates: 2 school(s)" in out
    assert stored(config, "SELECT COUNT(DISTINCT school_id) FROM supervision_visits") == [(5,)]


def test_a_draw_by_district_and_kind(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["draw", "--schools", "1", "--district", "夏村镇", "--kind", "middle"]
    code, out, _ = run(capsys, "--config", str(config), *argv, "--supervisors", "1")
    assert code == 0
    assert "一中 (school 3)" in out


def test_a_draw_of_more_schools_than_are_left_is_refused(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run(capsys, "--config", str(config), "draw", "--schools", "6")
    assert code == 2
    assert err == (
        "xiaoan: You asked for 6 schools, but only 5 matching schools are left unvisited"
        " in this campaign.\n"
    )
    assert stored(config, "SELECT COUNT(*) FROM supervision_draws") == [(0,)]


def test_a_draw_of_more_supervisors_than_the_pool_is_refused(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "--config", str(config), "draw", "--schools", "1",
                       "--supervisors", "4")  # fmt: skip
    assert code == 2
    assert "only 3" in err
    assert stored(config, "SELECT COUNT(*) FROM supervision_visits") == [(0,)]


def test_a_tampered_draw_does_not_verify(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sqlite3

    run(capsys, "--config", str(config), "draw", "--schools", "2", "--seed", "x")
    with sqlite3.connect(config.parent / "x.sqlite3") as conn:
        conn.execute("UPDATE supervision_draws SET seed = 'y'")
    code, out, err = run(capsys, "--config", str(config), "draw", "--verify", "1")
    assert (code, out) == (1, "")
    assert err.endswith("NOT verified: the result differs\n")
    code, _, err = run(capsys, "--config", str(config), "draw", "--verify", "9")
    assert (code, err) == (2, "xiaoan: no draw with id 9\n")


def test_export_visits_writes_the_drawn_visits(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "--config", str(config), "draw", "--schools", "2", "--supervisors", "2")
    out_file = tmp_path / "v.xlsx"
    code, out, _ = run(capsys, "--config", str(config), "export", "visits", "--out", str(out_file))
    assert (code, out) == (0, f"written: {out_file}\n")
    wb = load_workbook(out_file)
    ws = wb["督查记录"]
    assert ws.cell(row=2, column=4).value == "方式"
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=3)]
    assert len(rows) == 2
    assert all(r[3] == "随机抽取" and r[6] == "已抽取未到场" and r[4] == 1 for r in rows)
    assert wb["督查发现"].max_row == 1
