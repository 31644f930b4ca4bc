"""``Database.write_at_once`` and ``Tx.at_once``: a transaction's whole work in one trip to
the writer's thread, with every guarantee of group commit (``tests/test_group_commit.py``
holds ``write()`` to the same)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable

import pytest

from storage import outbox, people
from storage.chain import verify
from storage.db import Database, Writes
from storage.trace import counting
from tests.test_group_commit import apply, receive, stored


def applied(update_id: int, fail: bool = False) -> Callable[[Writes], int]:
    """An update's effect as a plain function: a row and an event on the school's chain."""

    def work(w: Writes) -> int:
        w.run("UPDATE inbox SET payload = 'applied' WHERE update_id = ?", (update_id,))
        w.event(None, "applied", "school", 1, after={"update": update_id})
        if fail:
            raise Refused(update_id)
        return update_id * 10

    return work


class Refused(Exception):
    pass


async def held(db: Database, tasks: list[asyncio.Task[object]]) -> None:
    """Hold the writer's turn (an ordinary write) until ``tasks`` are queued behind it, so
    that they all join its batch; the holder's own write is in the batch too (its update,
    999, received before the tasks were made)."""
    async with db.write(update_id=999) as tx:
        await apply(tx, 999)
        for _ in range(3):
            await asyncio.sleep(0)
        assert all(not t.done() for t in tasks)


async def test_a_lone_write_is_one_trip_and_durable_on_return(fresh_db: Database) -> None:
    await receive(fresh_db, 1)
    await receive(fresh_db, 2)
    statements: list[str] = []
    await fresh_db.connections()[1].set_trace_callback(statements.append)
    value = await fresh_db.write_at_once(applied(1), update_id=1)
    on_return = stored(fresh_db, 1)  # as another process reads it: committed
    await fresh_db.connections()[1].set_trace_callback(None)
    assert value == 10
    assert statements[0] == "BEGIN IMMEDIATE" and statements[-1] == "COMMIT"
    assert any(s.startswith("UPDATE inbox SET done_at = ") for s in statements)
    assert not any(s.startswith(("SAVEPOINT", "RELEASE")) for s in statements)
    assert on_return is not None and on_return[0] == "applied" and on_return[1] is not None
    async with counting(fresh_db) as tally:
        await fresh_db.write_at_once(applied(2), update_id=2)
    assert tally.trips == 1 and tally.commits == 1
    assert verify(fresh_db.path, fresh_db.path.parent / "photos").intact


async def test_writers_at_once_share_commits_each_durable_on_return(fresh_db: Database) -> None:
    n = 20
    for u in range(n):
        await receive(fresh_db, u)
    seen: dict[int, object] = {}

    async def writer(u: int) -> None:
        assert await fresh_db.write_at_once(applied(u), update_id=u) == u * 10
        seen[u] = stored(fresh_db, u)

    async with counting(fresh_db) as tally:
        await asyncio.gather(*(writer(u) for u in range(n)))
    # The first commits alone (nobody waited as its trip left); the 19 queued behind it
    # meanwhile share the next COMMIT.
    assert tally.commits == 2 and tally.rollbacks == 0
    assert tally.trips == n  # one each: BEGIN or SAVEPOINT, body, inbox mark, COMMIT
    for u in range(n):
        row = seen[u]
        assert isinstance(row, tuple) and row[0] == "applied" and row[1] is not None
    assert verify(fresh_db.path, fresh_db.path.parent / "photos").intact


async def test_one_writers_error_undoes_only_its_own_savepoint(fresh_db: Database) -> None:
    for u in (*range(5), 999):
        await receive(fresh_db, u)

    async def writer(u: int) -> object:
        return await fresh_db.write_at_once(applied(u, fail=u == 2), update_id=u)

    async with counting(fresh_db) as tally:
        tasks = [asyncio.create_task(writer(u)) for u in range(5)]
        await held(fresh_db, tasks)
        results = await asyncio.gather(*tasks, return_exceptions=True)
    assert results[:2] == [0, 10] and results[3:] == [30, 40]
    assert isinstance(results[2], Refused)
    assert tally.commits == 1  # the holder's and the four others', in one
    assert [stored(fresh_db, u)[0] for u in range(5)] == [
        "applied",
        "applied",
        "in",
        "applied",
        "applied",
    ]
    assert stored(fresh_db, 2) == ("in", None)  # not marked done: the inbox replays it
    events = await fresh_db.all("SELECT after FROM events WHERE action = 'applied' ORDER BY id")
    assert [r["after"] for r in events] == [f'{{"update": {u}}}' for u in (999, 0, 1, 3, 4)]
    assert verify(fresh_db.path, fresh_db.path.parent / "photos").intact


async def test_the_first_writers_error_leaves_the_next_ones_whole(fresh_db: Database) -> None:
    for u in range(3):
        await receive(fresh_db, u)
    results = await asyncio.gather(
        *(fresh_db.write_at_once(applied(u, fail=u == 0), update_id=u) for u in range(3)),
        return_exceptions=True,
    )
    assert isinstance(results[0], Refused) and results[1:] == [10, 20]
    assert [stored(fresh_db, u)[0] for u in range(3)] == ["in", "applied", "applied"]


async def test_a_failed_commit_fails_every_writer_of_the_batch(fresh_db: Database) -> None:
    for u in (*range(4), 999):
        await receive(fresh_db, u)

    def breaking(w: Writes) -> None:
        applied(1)(w)
        # Foreign keys checked at COMMIT: the shared COMMIT itself fails.
        w.run("PRAGMA defer_foreign_keys = ON")
        w.run(
            "INSERT INTO memberships (person_id, school_id, role, created_at)"
            " VALUES (999, NULL, 'staff', 'x')"
        )

    async def writer(u: int) -> object:
        work = breaking if u == 1 else applied(u)
        return await fresh_db.write_at_once(work, update_id=u)

    tasks = [asyncio.create_task(writer(u)) for u in range(4)]
    with pytest.raises(sqlite3.IntegrityError):  # the holder of the batch fails too
        await held(fresh_db, tasks)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, sqlite3.IntegrityError) for r in results), results
    assert [stored(fresh_db, u) for u in range(4)] == [("in", None)] * 4
    assert stored(fresh_db, 999) == ("in", None)
    # The writer is whole again: the next write commits.
    assert await fresh_db.write_at_once(applied(0), update_id=0) == 0
    assert stored(fresh_db, 0)[0] == "applied"


async def test_a_transaction_lost_whole_fails_the_writers_before(fresh_db: Database) -> None:
    """SQLite rolls the shared transaction back itself (a full disk, an I/O error): the
    writers already in it get an error, not a false success."""
    for u in (*range(3), 999):
        await receive(fresh_db, u)

    def losing(w: Writes) -> None:
        applied(1)(w)
        w.run("ROLLBACK")  # what SQLite does on SQLITE_FULL
        raise sqlite3.OperationalError("database or disk is full")

    tasks = [
        asyncio.create_task(fresh_db.write_at_once(losing if u == 1 else applied(u), update_id=u))
        for u in (0, 1)
    ]
    with pytest.raises(sqlite3.OperationalError):  # the holder's writes were lost
        await held(fresh_db, tasks)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[0], sqlite3.OperationalError)  # lost with the batch
    assert isinstance(results[1], sqlite3.OperationalError)  # its own
    assert await fresh_db.write_at_once(applied(2), update_id=2) == 20
    assert [stored(fresh_db, u)[0] for u in range(3)] == ["in", "in", "applied"]


async def test_each_writer_returns_only_after_the_shared_commit(fresh_db: Database) -> None:
    """A writer that joined the batch without committing it returns only once the
    writer behind it has committed for both."""
    for u in (0, 1, 999):
        await receive(fresh_db, u)
    inside, go = asyncio.Event(), asyncio.Event()

    async def last() -> None:
        async with fresh_db.write(update_id=1) as tx:
            inside.set()
            await go.wait()
            await apply(tx, 1)

    queued: list[asyncio.Task[object]] = []
    holder = asyncio.create_task(held(fresh_db, queued))
    await asyncio.sleep(0)  # the holder takes the turn and opens the batch
    joining: asyncio.Task[object] = asyncio.create_task(
        fresh_db.write_at_once(applied(0), update_id=0)
    )
    behind = asyncio.create_task(last())
    queued += [joining, behind]
    await inside.wait()
    # The at-once writer's trip is over (it did not commit: a writer waited behind it).
    assert stored(fresh_db, 0) == ("in", None)
    assert not joining.done() and not holder.done()
    go.set()
    await asyncio.gather(joining, behind, holder)
    assert stored(fresh_db, 0)[0] == stored(fresh_db, 1)[0] == "applied"


async def test_a_writer_cancelled_during_its_trip_leaves_the_batch_sound(
    fresh_db: Database,
) -> None:
    """Cancelled while its trip runs in the writer's thread: the trip goes on, its outcome
    is settled before the turn passes, and the next write finds the writer whole."""
    for u in range(3):
        await receive(fresh_db, u)
    loop = asyncio.get_running_loop()
    victims: list[asyncio.Task[object]] = []

    def on_statement(sql: str) -> None:  # in the writer's thread
        if sql.startswith("UPDATE inbox SET payload") and victims:
            loop.call_soon_threadsafe(victims.pop().cancel)

    writer = fresh_db.connections()[1]
    await writer.set_trace_callback(on_statement)
    try:
        task: asyncio.Task[object] = asyncio.create_task(
            fresh_db.write_at_once(applied(0), update_id=0)
        )
        victims.append(task)
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        await writer.set_trace_callback(None)
    assert stored(fresh_db, 0)[0] == "applied"  # committed all the same
    async with asyncio.timeout(5):
        assert await fresh_db.write_at_once(applied(1), update_id=1) == 10
        async with fresh_db.write(update_id=2) as tx:
            await apply(tx, 2)
    assert stored(fresh_db, 1)[0] == stored(fresh_db, 2)[0] == "applied"


async def test_a_notice_queued_at_once_wakes_the_sender_after_the_commit(
    fresh_db: Database,
) -> None:
    async with fresh_db.write() as tx:
        person = await people.create_person(
            tx, tg_user_id=5, chat_id=5, name="李", phone="1", language="zh"
        )
    seen: list[int] = []

    def wake() -> None:
        conn = sqlite3.connect(fresh_db.path)
        seen.append(conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        conn.close()

    fresh_db.on_outbox = wake

    async def notify(n: int) -> None:
        async with fresh_db.write() as tx:
            await outbox.enqueue(tx, key=f"k{n}", kind="text", person_id=person, text="hi")

    def plain(w: Writes) -> None:
        w.run("UPDATE people SET name = '李老师' WHERE id = ?", (person,))

    await fresh_db.write_at_once(plain)
    assert seen == []  # no notice queued: nobody woken
    await asyncio.gather(notify(1), fresh_db.write_at_once(plain), notify(2))
    assert seen[-1] == 2 and len(seen) <= 2  # woken after the commits that queued them


async def test_tx_at_once_runs_in_the_transaction_in_one_trip(fresh_db: Database) -> None:
    await receive(fresh_db, 1)
    async with counting(fresh_db) as tally, fresh_db.write(update_id=1) as tx:
        before = tally.trips
        assert await tx.at_once(applied(1)) == 10
        assert tally.trips == before + 1
    assert stored(fresh_db, 1)[0] == "applied"
    await receive(fresh_db, 2)
    with pytest.raises(Refused):
        async with fresh_db.write(update_id=2) as tx:
            await tx.at_once(applied(2, fail=True))
    assert stored(fresh_db, 2) == ("in", None)  # undone with the transaction's body
