"""Steps' transactions written on the event loop's own connection
(``Database.write_at_once`` with ``replayable`` and ``on_loop``; ``Database.here``, which
``read_here`` reads on): no trip to the writer's thread, no sync, no checkpoint started
there; the steps of one turn of the loop sharing one COMMIT, each undone alone when it
fails; and the writer's thread taking over, without the event loop waiting, when another
process holds the database's write lock."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ledger.clock import SystemClock
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


async def test_asked_so_it_goes_to_the_writers_thread(fresh_db: Database) -> None:
    """``on_loop=False``: the writer's thread writes it, still unsynced."""
    await arrived(fresh_db, 7)
    with on_the_loop(fresh_db) as seen:
        async with trace.counting(fresh_db) as tally:
            await fresh_db.write_at_once(note, update_id=7, replayable=True, on_loop=False)
    assert (tally.commits, tally.syncs, tally.trips) == (1, 0, 1)
    assert seen == []


def mark(row: int) -> Callable[[Writes], int]:
    """A step's write: a row of its own."""
    return lambda w: w.run(
        "INSERT INTO inbox (update_id, payload, received_at) VALUES (?, '{}', ?)", (row, w.now())
    )


def failing(w: Writes) -> None:
    mark(666)(w)
    raise ValueError("a rule said no")


async def rows(db: Database) -> list[int]:
    found = await db.all("SELECT update_id FROM inbox WHERE update_id >= 100 ORDER BY 1")
    return [row[0] for row in found]


async def test_steps_of_one_turn_of_the_loop_share_one_commit(fresh_db: Database) -> None:
    """Five people's steps, run by the loop in the same turn: one transaction, each in its
    savepoint, one unsynced COMMIT at the next turn; each returns once it is committed."""
    for update in range(1, 11):
        await arrived(fresh_db, update)

    async def five_steps(first: int) -> None:
        await asyncio.gather(
            *(
                fresh_db.write_at_once(mark(100 + n), update_id=n, replayable=True, on_loop=True)
                for n in range(first, first + 5)
            )
        )

    with on_the_loop(fresh_db) as seen:
        await five_steps(1)
    assert seen.count("BEGIN IMMEDIATE") == 1 and seen.count("SAVEPOINT grouped") == 4
    assert seen[-1] == "COMMIT" and seen.count("COMMIT") == 1
    async with trace.counting(fresh_db) as tally:
        await five_steps(6)
    assert (tally.commits, tally.syncs, tally.trips) == (1, 0, 0)
    assert await rows(fresh_db) == list(range(101, 111))
    assert await fresh_db.value("SELECT COUNT(*) FROM inbox WHERE done_at IS NOT NULL") == 10


@pytest.mark.parametrize("which", [0, 1, 2])
async def test_a_failing_step_is_undone_alone(fresh_db: Database, which: int) -> None:
    """Its error reaches its own writer; the steps beside it, before or after, are kept
    (the first one's failure rolls back a transaction nobody else had joined yet)."""
    for update in range(1, 4):
        await arrived(fresh_db, update)
    works: list[Callable[[Writes], object]] = [mark(101), mark(102), mark(103)]
    works[which] = failing
    async with trace.counting(fresh_db) as tally:
        results = await asyncio.gather(
            *(
                fresh_db.write_at_once(work, update_id=n, replayable=True, on_loop=True)
                for n, work in enumerate(works, start=1)
            ),
            return_exceptions=True,
        )
    assert [isinstance(result, ValueError) for result in results] == [n == which for n in range(3)]
    assert await rows(fresh_db) == [101 + n for n in range(3) if n != which]
    assert 666 not in await rows(fresh_db)
    done = await fresh_db.all("SELECT update_id FROM inbox WHERE done_at IS NOT NULL")
    assert sorted(row[0] for row in done) == [n + 1 for n in range(3) if n != which]
    assert tally.trips == 0 and tally.syncs == 0


async def test_a_cancelled_step_is_committed_all_the_same(fresh_db: Database) -> None:
    """The person's update was cancelled (the bot stopping), not the write it made."""
    await arrived(fresh_db, 1)
    await arrived(fresh_db, 2)
    first = asyncio.create_task(
        fresh_db.write_at_once(mark(101), update_id=1, replayable=True, on_loop=True)
    )
    second = asyncio.create_task(
        fresh_db.write_at_once(mark(102), update_id=2, replayable=True, on_loop=True)
    )
    await asyncio.sleep(0)  # both written, the COMMIT due at the next turn
    first.cancel()
    await asyncio.gather(first, second, return_exceptions=True)
    assert first.cancelled() and second.result() > 0
    assert await rows(fresh_db) == [101, 102]


async def test_a_durable_write_waits_for_the_loops_commit_then_syncs(
    fresh_db: Database,
) -> None:
    """The write turn is the loop's until its COMMIT: the writer's thread never writes
    beside it; the durable write after it is synced in the thread."""
    await arrived(fresh_db, 1)
    await arrived(fresh_db, 3)
    async with trace.counting(fresh_db) as tally:
        await asyncio.gather(
            fresh_db.write_at_once(mark(101), update_id=1, replayable=True, on_loop=True),
            fresh_db.write_at_once(mark(102)),
            fresh_db.write_at_once(mark(103), update_id=3, replayable=True, on_loop=True),
        )
    assert (tally.commits, tally.syncs) == (2, 1)
    assert await rows(fresh_db) == [101, 102, 103]


async def test_closing_keeps_what_the_loop_wrote(tmp_path: Path) -> None:
    """Closed before the loop's next turn: the open transaction is committed, not lost."""
    db = await Database(tmp_path / "x.db", SystemClock()).open()
    await arrived(db, 1)
    writing = asyncio.create_task(
        db.write_at_once(mark(101), update_id=1, replayable=True, on_loop=True)
    )
    await asyncio.sleep(0)
    assert db._loop_batch is not None  # written, not committed yet
    await db.close()
    await writing
    db = await Database(tmp_path / "x.db", SystemClock()).open()
    try:
        assert await rows(db) == [101]
    finally:
        await db.close()


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


def broken_at_commit(w: Writes) -> None:
    """A write SQLite refuses only at COMMIT: a school made by someone who does not exist,
    its key checked at the end (``defer_foreign_keys``)."""
    w.run("PRAGMA defer_foreign_keys = ON")
    w.run(
        "INSERT INTO schools (name, kind, ownership, created_at, created_by)"
        " VALUES ('幽灵小学', 'primary', 'public', ?, 4242)",
        (w.now(),),
    )


async def test_a_failed_commit_reaches_every_step_of_the_turn(fresh_db: Database) -> None:
    """Each writer of the turn hears that its write was not kept; nothing of theirs is
    stored, their updates stay to be applied again, and the next step writes as before."""
    for update in (1, 2, 3):
        await arrived(fresh_db, update)
    results = await asyncio.gather(
        fresh_db.write_at_once(mark(101), update_id=1, replayable=True, on_loop=True),
        fresh_db.write_at_once(broken_at_commit, update_id=2, replayable=True, on_loop=True),
        return_exceptions=True,
    )
    assert [type(result) for result in results] == [sqlite3.IntegrityError] * 2
    assert await rows(fresh_db) == []
    assert await fresh_db.value("SELECT COUNT(*) FROM schools") == 0
    assert await fresh_db.value("SELECT COUNT(*) FROM inbox WHERE done_at IS NOT NULL") == 0
    await fresh_db.write_at_once(mark(103), update_id=3, replayable=True, on_loop=True)
    assert await rows(fresh_db) == [103]
