"""A reminders pass over many hazards: written in small transactions, and a pass cut
short (a crash half-way) then run again leaves every message in the outbox exactly once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest

from ledger.clock import FakeClock
from scheduler import jobs
from scheduler.jobs import Reminders
from scheduler.planner import plan, plan_new
from scheduler.rules import ReminderRules
from storage import outbox, schedule
from storage.db import Database, Tx
from storage.workers import Workers
from tests.conftest import seed_campaign, seed_hazard, seed_school


class Crash(Exception):
    """The process dying in the middle of a pass."""


async def city(db: Database, clock: FakeClock, hazards: int) -> int:
    """A school with ``hazards`` overdue hazards; returns the campaign id."""
    campaign_id = await seed_campaign(db)
    school = await seed_school(db, "一中", ["教学楼"], campaign_id)
    overdue = (clock.now().date() - timedelta(days=2)).isoformat()
    for n in range(hazards):
        await seed_hazard(db, school, school.building_ids[0], f"隐患{n}", deadline=overdue)
    return campaign_id


async def outbox_keys(db: Database) -> list[str]:
    return [r[0] for r in await db.all("SELECT key FROM outbox ORDER BY id")]


async def test_a_pass_writes_in_transactions_of_a_few_rows(
    fresh_db: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign_id = await city(fresh_db, clock, hazards=25)
    monkeypatch.setattr(jobs, "WRITE_CHUNK", 10)
    writes: list[int] = []
    enqueue = outbox.enqueue_many

    async def counting(tx: Tx, rows: Sequence[outbox.Planned]) -> int:
        writes.append(len(rows))
        return await enqueue(tx, rows)

    monkeypatch.setattr(outbox, "enqueue_many", counting)
    added = await Reminders(fresh_db, clock, ReminderRules(), campaign_id).run()

    assert added == sum(writes) == len(await outbox_keys(fresh_db))
    assert added >= 25  # each overdue hazard's reminder to its responsible person
    assert max(writes) <= 10
    assert len(writes) == -(-added // 10)


async def test_a_pass_cut_short_and_run_again_stores_each_message_once(
    fresh_db: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign_id = await city(fresh_db, clock, hazards=25)
    monkeypatch.setattr(jobs, "WRITE_CHUNK", 10)
    enqueue = outbox.enqueue_many
    calls = 0

    async def dying(tx: Tx, rows: Sequence[outbox.Planned]) -> int:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise Crash  # inside the second transaction: it is rolled back
        return await enqueue(tx, rows)

    monkeypatch.setattr(outbox, "enqueue_many", dying)
    with pytest.raises(Crash):
        await Reminders(fresh_db, clock, ReminderRules(), campaign_id).run()
    written_before = await outbox_keys(fresh_db)
    assert len(written_before) == 10  # the first transaction only

    monkeypatch.setattr(outbox, "enqueue_many", enqueue)
    # The writer's own checkpoints, off while the pass wrote, are back on.
    async with fresh_db.write() as tx:
        assert await tx.value("PRAGMA wal_autocheckpoint") == 1000
    # After a restart: a new Reminders knows nothing of the cut pass.
    restarted = Reminders(fresh_db, clock, ReminderRules(), campaign_id)
    added = await restarted.run()
    keys = await outbox_keys(fresh_db)
    planned = await fresh_db.in_thread(restarted.read_and_plan, clock.now())

    assert len(keys) == len(set(keys))  # nothing twice
    assert set(keys) == {p.key for p in planned}  # nothing lost
    assert keys[:10] == written_before
    assert added == len(keys) - 10
    assert await Reminders(fresh_db, clock, ReminderRules(), campaign_id).run() == 0


async def test_a_pass_in_a_worker_process_stores_what_it_plans(
    fresh_db: Database, clock: FakeClock
) -> None:
    """The pass's CPU work (read, plan, render) runs in a process of the pool."""
    campaign_id = await city(fresh_db, clock, hazards=5)
    workers = Workers(1)
    try:
        reminders = Reminders(fresh_db, clock, ReminderRules(), campaign_id, workers=workers)
        added = await reminders.run()
    finally:
        workers.close()
    planned = await fresh_db.in_thread(reminders.read_and_plan, clock.now())
    rows = await fresh_db.all("SELECT key, text FROM outbox ORDER BY id")
    assert added == len(rows) == len(planned) >= 5
    assert {r["key"] for r in rows} == {p.key for p in planned}
    assert all("隐患" in r["text"] for r in rows)  # rendered, in the person's language


async def test_a_preview_in_a_worker_process_is_the_same_as_in_a_thread(
    fresh_db: Database, clock: FakeClock
) -> None:
    """/reminders' preview is planned in a worker process (the task force's plans the
    city once a day ahead): what it shows is what the planner plans."""
    campaign_id = await city(fresh_db, clock, hazards=5)
    school_id = await fresh_db.value("SELECT id FROM schools")
    responsible = await fresh_db.value("SELECT responsible_id FROM hazards LIMIT 1")
    in_thread = Reminders(fresh_db, clock, ReminderRules(), campaign_id)
    workers = Workers(1)
    try:
        in_process = Reminders(fresh_db, clock, ReminderRules(), campaign_id, workers=workers)
        for person, schools in ((None, [school_id]), (responsible, None)):
            shown = await in_process.preview(person, schools)
            assert shown == await in_thread.preview(person, schools)
            assert any(p.key.startswith("overdue:h") for p in shown)
    finally:
        workers.close()


async def test_a_pass_checkpoints_beside_the_writer_not_in_its_commits(
    fresh_db: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's automatic checkpoint runs in the committing connection (the one writer):
    while a pass writes it is off, and the pass checkpoints on a connection of its own."""
    campaign_id = await city(fresh_db, clock, hazards=25)
    monkeypatch.setattr(jobs, "WRITE_CHUNK", 5)
    monkeypatch.setattr(jobs, "CHECKPOINT_EVERY", 2)
    settings: list[int] = []
    enqueue = outbox.enqueue_many

    async def noting(tx: Tx, rows: Sequence[outbox.Planned]) -> int:
        settings.append(int(await tx.value("PRAGMA wal_autocheckpoint")))
        return await enqueue(tx, rows)

    checkpoints: list[object] = []
    checkpoint = jobs.checkpoint
    monkeypatch.setattr(outbox, "enqueue_many", noting)
    monkeypatch.setattr(jobs, "checkpoint", lambda path: checkpoints.append(checkpoint(path)))
    added = await Reminders(fresh_db, clock, ReminderRules(), campaign_id).run()

    chunks = -(-added // 5)
    assert settings == [0] * chunks >= [0] * 5
    assert len(checkpoints) == chunks // 2 + 1  # every second chunk, and at the end
    async with fresh_db.write() as tx:
        assert await tx.value("PRAGMA wal_autocheckpoint") == 1000


async def test_a_plan_with_known_keys_makes_only_the_new_messages(
    fresh_db: Database, clock: FakeClock
) -> None:
    """A later pass counts what an earlier one stored by its key and makes only the rest:
    the same keys, the same new messages, as planning everything and filtering."""
    campaign_id = await city(fresh_db, clock, hazards=12)
    rules = ReminderRules()
    ledger = await schedule.load_ledger(fresh_db, campaign_id, clock.now().date(), 3)
    everything = plan(ledger, clock.now(), rules)
    assert len({p.kind for p in everything}) >= 2  # overdue reminders and escalations
    known = {p.key for p in everything[::2]} | {"overdue:h999:2020-01-01:p1"}

    keys, new = plan_new(ledger, clock.now(), rules, known)

    assert keys == {p.key for p in everything}
    assert new == [p for p in everything if p.key not in known]
    assert plan_new(ledger, clock.now(), rules, keys) == (keys, [])
