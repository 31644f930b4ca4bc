"""A lone step's transaction written on the event loop's own connection
(``Database.write_at_once`` with ``replayable`` and ``on_loop``; ``Database.here``, which
``read_here`` reads on): no trip to the writer's thread, no sync, no checkpoint started
there, and the writer's thread taking over, without the event loop waiting, when another
process holds the database's write lock."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

from storage import inbox, trace
from storage.db import BUSY_TIMEOUT_MS, Database, Writes
from tests.simulator import Simulator
from tests.test_walk_step import answers, first_question


async def arrived(db: Database, update_id: int) -> None:
    """Polling stores the update (synced) before it is handled."""
    await inbox.receive(db, [{"update_id": update_id}])


def note(w: Writes) -> int:
    """A write, as a step's (a row of its own: update 99 arrived)."""
    return w.run(
        "INSERT INTO inbox (update_id, payload, received_at) VALUES (99, '{}', ?)", (w.now(),)
    )


@contextmanager
def on_the_loop(db: Database) -> Iterator[list[str]]:
    """The statements of the event loop's own connection while inside."""
    assert db.here is not None
    seen: list[str] = []
    db.here.set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        db.here.set_trace_callback(None)


async def test_a_lone_replayable_write_makes_no_trip_and_no_sync(fresh_db: Database) -> None:
    await arrived(fresh_db, 7)
    with on_the_loop(fresh_db) as seen:
        await fresh_db.write_at_once(note, update_id=7, replayable=True, on_loop=True)
    assert seen[0] == "BEGIN IMMEDIATE" and seen[-1] == "COMMIT"
    async with trace.counting(fresh_db) as tally:
        await arrived(fresh_db, 8)
        await fresh_db.write_at_once(lambda w: None, update_id=8, replayable=True, on_loop=True)
    # The arrival: synced, in the writer's thread; the step: neither.
    assert (tally.commits, tally.syncs, tally.trips) == (2, 1, 1)
    assert await fresh_db.value("SELECT COUNT(*) FROM inbox WHERE done_at IS NOT NULL") == 2
    assert await fresh_db.value("SELECT COUNT(*) FROM inbox WHERE update_id = 99") == 1


async def test_a_durable_write_goes_to_the_writers_thread(fresh_db: Database) -> None:
    await arrived(fresh_db, 7)
    with on_the_loop(fresh_db) as seen:
        async with trace.counting(fresh_db) as tally:
            await fresh_db.write_at_once(note, update_id=7)
    assert (tally.commits, tally.syncs, tally.trips) == (1, 1, 1)
    assert seen == []


async def test_with_other_updates_being_handled_it_goes_to_the_writers_thread(
    fresh_db: Database,
) -> None:
    """There, the others' writes can join its commit (group commit); still unsynced."""
    await arrived(fresh_db, 7)
    with on_the_loop(fresh_db) as seen:
        async with trace.counting(fresh_db) as tally:
            await fresh_db.write_at_once(note, update_id=7, replayable=True, on_loop=False)
    assert (tally.commits, tally.syncs, tally.trips) == (1, 0, 1)
    assert seen == []


async def test_the_loops_connection_never_waits_syncs_or_checkpoints(fresh_db: Database) -> None:
    """A checkpoint syncs: it is left to the commits of the writer's thread."""
    assert fresh_db.here is not None
    settings = [
        fresh_db.here.execute(f"PRAGMA {name}").fetchone()[0]
        for name in ("busy_timeout", "synchronous", "wal_autocheckpoint", "foreign_keys")
    ]
    assert settings == [0, 1, 0, 1]  # no wait, NORMAL, no checkpoint, keys checked


async def test_locked_by_another_process_the_writers_thread_waits_not_the_loop(
    fresh_db: Database,
) -> None:
    await arrived(fresh_db, 7)
    other = sqlite3.connect(fresh_db.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # `xiaoan import`, say, writing
    with on_the_loop(fresh_db) as seen:
        try:
            writing = asyncio.create_task(
                fresh_db.write_at_once(note, update_id=7, replayable=True, on_loop=True)
            )
            began = time.monotonic()
            await asyncio.sleep(0.05)
            # Back at once: nothing waited out the lock's 10 s on the event loop.
            assert time.monotonic() - began < BUSY_TIMEOUT_MS / 1000 / 2
            assert not writing.done()
        finally:
            other.execute("COMMIT")
            other.close()
        await writing
    assert seen == ["BEGIN IMMEDIATE"]  # tried on the loop; the writer's thread wrote it
    assert await fresh_db.value("SELECT COUNT(*) FROM inbox WHERE update_id = 99") == 1
    assert await fresh_db.value("SELECT done_at IS NOT NULL FROM inbox WHERE update_id = 7")


async def test_a_step_taken_while_another_process_writes_is_applied_after(
    sim: Simulator,
) -> None:
    staff, question = await first_question(sim)
    other = sqlite3.connect(sim.db.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        tapping = asyncio.create_task(staff.tap("无隐患"))
        await asyncio.sleep(0.05)
        assert not tapping.done() and await answers(sim) == []
    finally:
        other.execute("COMMIT")
        other.close()
    said = await tapping
    assert "【教学楼A】2/19 · F02" in said[-1].text
    assert said[-1].message_id == question.message_id  # the question, edited in place
    assert await answers(sim) == [("F01", "ok")]
