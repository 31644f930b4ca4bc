# ruff: noqa: S608 - the tests forge rows the way someone with the file would, by SQL text
"""The hash-chained event log: ``xiaoan verify`` on an untouched and a tampered copy."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from ledger.chain import GENESIS, event_hash, heads_digest
from storage.db import Database
from tests import scenes
from tests.rectify_helpers import scene
from tests.simulator import Simulator
from tests.test_evidence import finish_fix, fix_with, report_with


async def busy_school(sim: Simulator) -> dict[str, int]:
    """Some history: a school, two hazards with photos, a fix verified."""
    s = await scene(sim)
    a = await report_with(s.staff, scenes.jpeg_bytes(scenes.stairwell(11)), "楼梯间堆放杂物")
    await fix_with(s.staff, a, scenes.jpeg_bytes(scenes.stairwell(12)))
    await finish_fix(s.staff, a)
    fix = await sim.db.value("SELECT id FROM fix_reports WHERE hazard_id = ?", (a,))
    await s.leader.tap_data(f"r:vf:{a}:{fix}")
    b = await report_with(s.staff, scenes.jpeg_bytes(scenes.room(13)), "教室灭火器过期")
    return {"a": a, "b": b, "school": s.school.school_id}


def copy_of(sim: Simulator, folder: Path) -> Path:
    """A copy of the database and the photo store, and a settings file naming them."""
    folder.mkdir()
    db = folder / "xiaoan.sqlite3"
    source = sqlite3.connect(sim.config.database)
    target = sqlite3.connect(db)
    source.backup(target)
    source.close()
    target.close()
    shutil.copytree(sim.config.photos, folder / "photos")
    config = folder / "config.toml"
    config.write_text(
        f'[storage]\ndatabase = "{db}"\nphotos = "{folder / "photos"}"\n', encoding="utf-8"
    )
    return config


def tamper(config: Path, *sql: str) -> None:
    conn = sqlite3.connect(config.parent / "xiaoan.sqlite3")
    conn.execute("DROP TRIGGER IF EXISTS events_append_only_update")
    conn.execute("DROP TRIGGER IF EXISTS events_append_only_delete")
    conn.execute("DROP INDEX IF EXISTS events_by_chain")
    for statement in sql:
        conn.execute(statement)
    conn.commit()
    conn.close()


def verify(config: Path, capsys: pytest.CaptureFixture[str], *more: str) -> tuple[int, str]:
    code = main(["--config", str(config), "verify", *more])
    return code, capsys.readouterr().out


def chain_rows(config: Path, chain: str) -> list[tuple[int, int, str]]:
    conn = sqlite3.connect(config.parent / "xiaoan.sqlite3")
    rows = conn.execute(
        "SELECT id, seq, action FROM events WHERE chain = ? ORDER BY id", (chain,)
    ).fetchall()
    conn.close()
    return rows


async def test_untouched_database_is_intact(sim, tmp_path, capsys):
    ids = await busy_school(sim)
    config = copy_of(sim, tmp_path / "copy")
    code, out = verify(config, capsys)
    assert code == 0
    assert out.rstrip().endswith("intact")
    events = len(chain_rows(config, f"s{ids['school']}"))
    assert re.search(
        rf"chain s{ids['school']} \(实验小学\): intact, {events} events, head [0-9a-f]{{64}}", out
    )
    assert "photos: intact, 3 files" in out  # two before-photos, one after-photo


async def test_edited_event_is_reported_at_its_position(sim, tmp_path, capsys):
    ids = await busy_school(sim)
    config = copy_of(sim, tmp_path / "copy")
    chain = f"s{ids['school']}"
    event_id, seq, _ = next(r for r in chain_rows(config, chain) if r[2] == "fix.submitted")
    tamper(
        config,
        f"UPDATE events SET after = replace(after, '已整改完毕', '已整改') WHERE id = {event_id}",
    )
    code, out = verify(config, capsys)
    assert code == 1
    assert f"chain {chain} (实验小学): BROKEN at position {seq}, event {event_id}: edited" in out


async def test_edited_event_with_its_hash_recomputed_is_still_found(sim, tmp_path, capsys):
    """A forger who knows the hash recomputes it: the next event no longer links to it."""
    ids = await busy_school(sim)
    config = copy_of(sim, tmp_path / "copy")
    chain = f"s{ids['school']}"
    rows = chain_rows(config, chain)
    event_id, seq, _ = rows[3]
    conn = sqlite3.connect(config.parent / "xiaoan.sqlite3")
    e = conn.execute(
        "SELECT chain, seq, prev_hash, at, actor_id, action, subject, subject_id, before, after"
        " FROM events WHERE id = ?",
        (event_id,),
    ).fetchone()
    conn.close()
    forged = event_hash(e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7], e[8], '{"forged":true}')
    tamper(
        config,
        f"UPDATE events SET after = '{{\"forged\":true}}', hash = '{forged}' WHERE id = {event_id}",
    )
    code, out = verify(config, capsys)
    assert code == 1
    assert f"BROKEN at position {seq}, event {event_id}: inserted" in out


async def test_deleted_event_is_reported_at_its_position(sim, tmp_path, capsys):
    ids = await busy_school(sim)
    config = copy_of(sim, tmp_path / "copy")
    chain = f"s{ids['school']}"
    event_id, seq, _ = chain_rows(config, chain)[4]
    tamper(config, f"DELETE FROM events WHERE id = {event_id}")
    code, out = verify(config, capsys)
    assert code == 1
    assert f"chain {chain} (实验小学): BROKEN at position {seq}" in out
    assert f"deleted (position {seq} missing" in out


async def test_deleted_last_event_is_found_against_the_recorded_head(sim, tmp_path, capsys):
    ids = await busy_school(sim)
    config = copy_of(sim, tmp_path / "copy")
    chain = f"s{ids['school']}"
    event_id, seq, _ = chain_rows(config, chain)[-1]
    tamper(config, f"DELETE FROM events WHERE id = {event_id}")
    code, out = verify(config, capsys)
    assert code == 1
    assert f"BROKEN at position {seq}: truncated" in out


async def test_inserted_event_is_reported_at_its_position(sim, tmp_path, capsys):
    ids = await busy_school(sim)
    config = copy_of(sim, tmp_path / "copy")
    chain = f"s{ids['school']}"
    _, seq, _ = chain_rows(config, chain)[5]
    conn = sqlite3.connect(config.parent / "xiaoan.sqlite3")
    prev = conn.execute(
        "SELECT hash FROM events WHERE chain = ? AND seq = ?", (chain, seq - 1)
    ).fetchone()[0]
    conn.close()
    after = json.dumps({"state": "closed"})
    at = "2026-11-28T09:00:00+08:00"
    forged = event_hash(chain, seq, prev, at, None, "fix.verified", "hazard", ids["b"], None, after)
    tamper(
        config,
        "INSERT INTO events (at, actor_id, action, subject, subject_id, before, after, chain,"
        f" seq, prev_hash, hash) VALUES ('{at}', NULL, 'fix.verified', 'hazard', {ids['b']},"
        f" NULL, '{after}', '{chain}', {seq}, '{prev}', '{forged}')",
    )
    code, out = verify(config, capsys)
    assert code == 1
    assert f"chain {chain} (实验小学): BROKEN at position {seq}" in out
    assert "inserted" in out


async def test_replaced_photo_file_is_reported_with_the_event_that_binds_it(sim, tmp_path, capsys):
    ids = await busy_school(sim)
    config = copy_of(sim, tmp_path / "copy")
    chain = f"s{ids['school']}"
    conn = sqlite3.connect(config.parent / "xiaoan.sqlite3")
    sha = conn.execute(
        "SELECT sha256 FROM photos WHERE hazard_id = ? AND kind = 'after'", (ids["a"],)
    ).fetchone()[0]
    event_id, seq = conn.execute(
        "SELECT id, seq FROM events WHERE action = 'photo.added' AND after LIKE ?",
        (f"%{sha}%",),
    ).fetchone()
    conn.close()
    (config.parent / "photos" / sha[:2] / f"{sha}.jpg").write_bytes(
        scenes.jpeg_bytes(scenes.stairwell(99))
    )
    code, out = verify(config, capsys)
    assert code == 1
    assert f"photo changed: photo {sha[:12]}… of hazard #{ids['a']}" in out
    assert f"(bound at chain {chain} position {seq}, event {event_id})" in out


async def test_missing_photo_file_is_reported(sim, tmp_path, capsys):
    ids = await busy_school(sim)
    config = copy_of(sim, tmp_path / "copy")
    conn = sqlite3.connect(config.parent / "xiaoan.sqlite3")
    sha = conn.execute("SELECT sha256 FROM photos WHERE hazard_id = ?", (ids["b"],)).fetchone()[0]
    conn.close()
    (config.parent / "photos" / sha[:2] / f"{sha}.jpg").unlink()
    code, out = verify(config, capsys)
    assert code == 1
    assert (
        f"photo missing: photo {sha[:12]}… of hazard #{ids['b']} is not in the photo store" in out
    )


async def test_since_a_recorded_head_proves_the_past_unchanged(sim, tmp_path, capsys):
    from storage.chain import record_anchor

    ids = await busy_school(sim)
    async with sim.db.write() as tx:
        digest = await record_anchor(tx)
    await report_with((await scene_staff(sim)), scenes.jpeg_bytes(scenes.room(14)), "新的隐患")
    config = copy_of(sim, tmp_path / "copy")
    code, out = verify(config, capsys, "--since", digest)
    assert code == 0
    assert f"nothing before {digest} changed" in out
    # Changing an event written before the recorded head is found...
    chain = f"s{ids['school']}"
    event_id, seq, _ = chain_rows(config, chain)[2]
    tamper(config, f"UPDATE events SET at = '2020-01-01T00:00:00+08:00' WHERE id = {event_id}")
    code, out = verify(config, capsys, "--since", digest)
    assert code == 1
    assert f"chain {chain} changed before the recorded head at position {seq}" in out


async def test_since_an_unknown_hash_fails(sim, tmp_path, capsys):
    await busy_school(sim)
    config = copy_of(sim, tmp_path / "copy")
    code, out = verify(config, capsys, "--since", "ab" * 32)
    assert code == 1
    assert "neither a recorded head nor an event" in out


async def scene_staff(sim: Simulator):
    """The staff member of the one school (joined by busy_school)."""
    from tests.simulator import Chat

    person = await sim.db.one("SELECT tg_user_id, name FROM people WHERE name = '实验小学王老师'")
    chat = Chat(sim, person["tg_user_id"], person["name"], "zh-hans")
    return chat


async def test_events_written_before_the_chain_are_chained_by_the_migration(tmp_path, clock):
    """A database of the old shape: its events get hashes, in the order they were written."""
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL)"
    )
    conn.close()
    async with Database(path, clock) as db:
        pass
    # Undo 0010 by hand is not possible; instead: drop the chain from some events, as a
    # database from before the migration has them, and open it again.
    async with Database(path, clock) as db, db.write() as tx:
        await tx.event(None, "campaign.created", "campaign", 1, after={"name": "x"})
        await tx.event(None, "person.joined", "person", 1)
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER events_append_only_update")
    conn.execute("UPDATE events SET chain = NULL, seq = NULL, prev_hash = NULL, hash = NULL")
    conn.execute("DELETE FROM chain_heads")
    conn.execute(
        "CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events"
        " WHEN OLD.hash IS NOT NULL BEGIN SELECT RAISE(ABORT, 'events are append-only'); END"
    )
    conn.commit()
    conn.close()
    async with Database(path, clock) as db:
        rows = await db.all("SELECT chain, seq, prev_hash, hash FROM events ORDER BY id")
        heads = await db.all("SELECT * FROM chain_heads")
    assert [(r["chain"], r["seq"]) for r in rows] == [("city", 1), ("city", 2)]
    assert rows[0]["prev_hash"] == GENESIS and rows[1]["prev_hash"] == rows[0]["hash"]
    assert [(h["chain"], h["seq"], h["hash"]) for h in heads] == [("city", 2, rows[1]["hash"])]
    # Chained events are append-only again.
    conn = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE events SET action = 'x'")
    conn.close()
    assert heads_digest({"city": (2, rows[1]["hash"])})


def footer_of(path: Path, sheet: str | None = None) -> str:
    from openpyxl import load_workbook

    wb = load_workbook(path)
    ws = wb[sheet] if sheet else wb.active
    return str(ws.oddFooter.center.text)


async def test_head_printed_on_exports_matches_verify(sim, tmp_path, capsys):
    ids = await busy_school(sim)
    config = str(sim.config_path)
    school = str(ids["school"])
    for what, out in (("form", "form.xlsx"), ("ledger", "ledger.xlsx")):
        argv = ["--config", config, "export", what, "--school", school]
        assert await asyncio.to_thread(main, [*argv, "--out", str(tmp_path / out)]) == 0
    city = ["--config", config, "export", "city", "--out", str(tmp_path / "city.xlsx")]
    assert await asyncio.to_thread(main, city) == 0
    capsys.readouterr()
    code, out = verify(sim.config_path, capsys)
    assert code == 0
    head = re.search(
        rf"chain s{school} \(实验小学\): intact, (\d+) events, head ([0-9a-f]{{64}})", out
    )
    assert head is not None
    events, school_head = head.groups()
    all_heads = re.search(r"all heads: ([0-9a-f]{64})", out)[1]
    form_footer = footer_of(tmp_path / "form.xlsx")
    assert school_head in form_footer and f"chain s{school} #{events}" in form_footer
    assert school_head in footer_of(tmp_path / "ledger.xlsx", "台账")
    from openpyxl import load_workbook

    assert school_head in load_workbook(tmp_path / "ledger.xlsx")["数据校验"]["A1"].value
    city_footer = footer_of(tmp_path / "city.xlsx")
    assert all_heads in city_footer
    # A city-wide paper's hash is recorded: later, it proves the past unchanged.
    await report_with(await scene_staff(sim), scenes.jpeg_bytes(scenes.room(15)), "又一处隐患")
    code, out = verify(sim.config_path, capsys, "--since", all_heads)
    assert code == 0 and f"nothing before {all_heads} changed" in out
    code, out = verify(sim.config_path, capsys, "--since", school_head)
    assert (
        code == 0 and f"nothing before {school_head} changed: 1 chain(s), {events} event(s)" in out
    )


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[evidence]\nmatch_similarity_percent = 150\n", "evidence.match_similarity_percent"),
        ("[evidence]\nmatch_similarity_percent = 0\n", "evidence.match_similarity_percent"),
        ("[evidence]\nmatch_distance = 65\n", "evidence.match_distance"),
        ("[evidence]\nmatch_distance = -1\n", "evidence.match_distance"),
        ("[evidence]\nafter_photo_max_age_days = 'three'\n", "evidence.after_photo_max_age_days"),
    ],
)
def test_wrong_evidence_setting_is_one_line_naming_it(tmp_path, capsys, text, key):
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    assert main(["--config", str(config), "verify"]) == 2
    err = capsys.readouterr().err
    assert key in err and len(err.strip().splitlines()) == 1


def test_verify_without_a_database_says_so(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\ndatabase = "{tmp_path / "none.sqlite3"}"\n', encoding="utf-8")
    assert main(["--config", str(config), "verify"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert not (tmp_path / "none.sqlite3").exists()  # verify creates nothing


def test_verify_on_a_database_from_before_the_chain_asks_for_init(tmp_path, capsys):
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, at TEXT)")
    conn.close()
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\ndatabase = "{path}"\n', encoding="utf-8")
    assert main(["--config", str(config), "verify"]) == 2
    assert "xiaoan init" in capsys.readouterr().err


async def test_daily_job_records_the_heads_and_logs_their_hash(sim, tmp_path, capsys, caplog):
    from types import SimpleNamespace

    from bot.app import record_heads

    await busy_school(sim)
    assert [job.name for job in sim.app.job_queue.get_jobs_by_name("chain_heads")] == [
        "chain_heads"
    ]
    with caplog.at_level("INFO", logger="bot.app"):
        await record_heads(SimpleNamespace(bot_data=sim.app.bot_data))
    row = await sim.db.one("SELECT digest, heads FROM chain_anchors ORDER BY id DESC")
    assert f"chain heads recorded: {row['digest']}" in caplog.text
    config = copy_of(sim, tmp_path / "copy")
    code, out = verify(config, capsys)
    assert f"all heads: {row['digest']}" in out  # nothing written since
    code, out = verify(config, capsys, "--since", row["digest"])
    assert code == 0


async def test_photo_row_pointed_at_another_file_is_reported(sim, tmp_path, capsys):
    """Swapping a hazard's photo for another one on disk: no event binds that pair."""
    ids = await busy_school(sim)
    config = copy_of(sim, tmp_path / "copy")
    conn = sqlite3.connect(config.parent / "xiaoan.sqlite3")
    photo_id, other = conn.execute(
        "SELECT p.id, (SELECT sha256 FROM photos WHERE hazard_id = ?) FROM photos p"
        " WHERE p.hazard_id = ? AND p.kind = 'after'",
        (ids["b"], ids["a"]),
    ).fetchone()
    conn.close()
    tamper(config, f"UPDATE photos SET sha256 = '{other}' WHERE id = {photo_id}")
    code, out = verify(config, capsys)
    assert code == 1
    assert f"photo unbound: photo row {photo_id} (hazard #{ids['a']}) is named by no event" in out


async def test_visit_records_print_the_hash_over_all_heads(sim, clock, tmp_path, capsys):
    import io

    from openpyxl import load_workbook

    from reports import files

    await busy_school(sim)
    _, data = await files.visits_file(sim.db, sim.services.campaign_id, clock.today())
    footer = str(load_workbook(io.BytesIO(data)).active.oddFooter.center.text)
    code, out = verify(sim.config_path, capsys)
    all_heads = re.search(r"all heads: ([0-9a-f]{64})", out)[1]
    assert code == 0 and all_heads in footer
