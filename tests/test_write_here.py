"""A lone step's transaction written on the event loop itself (``Database.write_at_once``
with ``replayable``): no trip to the writer's thread, the connection's settings put back,
no checkpoint started there, and the writer's thread taking over, without the event loop
waiting, when another process holds the database's write lock."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

from storage import trace
from storage.db import AUTOCHECKPOINT_PAGES, BUSY_TIMEOUT_MS, Database, Writes
from tests.simulator import Simulator
from tests.test_walk_step import answers, first_question


async def arrived(db: Database, update_id: int) -> None:
    async with db.write() as tx:
        await tx.run(
            "INSERT INTO inbox (update_id, payload, received_at) VALUES (?, '{}', ?)",
            (update_id, tx.now()),
        )


def note(w: Writes) -> int:
    """A write, as a step's (a row of its own: update 99 arrived)."""
    return w.run(
        "INSERT INTO inbox (update_id, payload, received_at) VALUES (99, '{}', ?)", (w.now(),)
    )


def settings(raw: sqlite3.Connection) -> tuple[int, int, int]:
    return tuple(
        raw.execute(f"PRAGMA {name}").fetchone()[0]
        for name in ("synchronous", "busy_timeout", "wal_autocheckpoint")
    )


def writer(db: Database) -> sqlite3.Connection:
    raw: sqlite3.Connection = db.connections()[-1]._conn
    return raw


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The writer connection's statements while inside, whichever thread runs them."""
    seen: list[str] = []
    writer(db).set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        writer(db).set_trace_callback(None)


async def test_a_lone_replayable_write_makes_no_trip_and_no_sync(fresh_db: Database) -> None:
    await arrived(fresh_db, 7)
    async with trace.counting(fresh_db) as tally:
        await fresh_db.write_at_once(note, update_id=7, replayable=True)
    assert (tally.commits, tally.syncs, tally.trips) == (1, 0, 0)
    assert await fresh_db.value("SELECT done_at IS NOT NULL FROM inbox WHERE update_id = 7")
    assert await fresh_db.value("SELECT COUNT(*) FROM inbox WHERE update_id = 99") == 1
    # Put back as the writer's thread expects them: synced, waiting for locks, checkpointing.
    assert settings(writer(fresh_db)) == (2, BUSY_TIMEOUT_MS, AUTOCHECKPOINT_PAGES)


async def test_a_durable_write_goes_to_the_writers_thread(fresh_db: Database) -> None:
    await arrived(fresh_db, 7)
    async with trace.counting(fresh_db) as tally:
        await fresh_db.write_at_once(note, update_id=7)
    assert (tally.commits, tally.syncs, tally.trips) == (1, 1, 1)


async def test_its_commit_starts_no_checkpoint_on_the_event_loop(fresh_db: Database) -> None:
    """A checkpoint syncs: it is left to a commit in the writer's thread."""
    await arrived(fresh_db, 7)
    with statements(fresh_db) as seen:
        await fresh_db.write_at_once(note, update_id=7, replayable=True)
    commit = seen.index("COMMIT")
    assert "PRAGMA wal_autocheckpoint = 0" in seen[:commit]
    assert f"PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT_PAGES}" in seen[commit:]


async def test_locked_by_another_process_the_writers_thread_waits_not_the_loop(
    fresh_db: Database,
) -> None:
    await arrived(fresh_db, 7)
    other = sqlite3.connect(fresh_db.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # `xiaoan import`, say, writing
    # (Nothing here touches the writer's connection while its thread waits on it.)
    with statements(fresh_db) as seen:
        try:
            writing = asyncio.create_task(
                fresh_db.write_at_once(note, update_id=7, replayable=True)
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
    assert seen.count("BEGIN IMMEDIATE") == 2  # tried here, then in the writer's thread
    assert await fresh_db.value("SELECT COUNT(*) FROM inbox WHERE update_id = 99") == 1
    assert settings(writer(fresh_db)) == (2, BUSY_TIMEOUT_MS, AUTOCHECKPOINT_PAGES)


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
