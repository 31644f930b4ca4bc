"""Group commit: writers queued together share one COMMIT, each still durable on return."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from storage import db as db_module
from storage import outbox, people
from storage.chain import verify
from storage.db import Database, Tx
from storage.trace import counting


def stored(db: Database, update_id: int) -> tuple[str, str | None] | None:
    """The inbox row as another process would read it now (committed data only)."""
    conn = sqlite3.connect(db.path)
    try:
        row = conn.execute(
            "SELECT payload, done_at FROM inbox WHERE update_id = ?", (update_id,)
        ).fetchone()
        return None if row is None else (row[0], row[1])
    finally:
        conn.close()


async def receive(db: Database, update_id: int) -> None:
    async with db.write() as tx:
        await tx.run(
            "INSERT INTO inbox (update_id, payload, received_at) VALUES (?, 'in', ?)",
            (update_id, tx.now()),
        )


async def apply(tx: Tx, update_id: int) -> None:
    """An update's effect: a row and an event on the school's chain."""
    await tx.run("UPDATE inbox SET payload = 'applied' WHERE update_id = ?", (update_id,))
    await tx.event(None, "applied", "school", 1, after={"update": update_id})


async def test_writers_queued_together_share_one_commit(fresh_db: Database) -> None:
    n = 20
    for u in range(n):
        await receive(fresh_db, u)
    seen_on_return: dict[int, object] = {}

    async def writer(u: int) -> None:
        async with fresh_db.write(update_id=u) as tx:
            await apply(tx, u)
        # Back from the write: another connection sees it, effect and inbox mark alike.
        seen_on_return[u] = stored(fresh_db, u)

    async with counting(fresh_db) as tally:
        await asyncio.gather(*(writer(u) for u in range(n)))
    assert tally.commits < n // 2
    assert tally.rollbacks == 0
    for u in range(n):
        row = seen_on_return[u]
        assert isinstance(row, tuple)
        assert row[0] == "applied"
        assert row[1] is not None
    assert verify(fresh_db.path, fresh_db.path.parent / "photos").intact
    assert await fresh_db.value("SELECT COUNT(*) FROM events WHERE action = 'applied'") == n


async def test_one_writers_error_undoes_only_its_own_writes(fresh_db: Database) -> None:
    for u in range(5):
        await receive(fresh_db, u)

    class Refused(Exception):
        pass

    async def writer(u: int) -> None:
        async with fresh_db.write(update_id=u) as tx:
            await apply(tx, u)
            if u == 2:
                raise Refused

    async with counting(fresh_db) as tally:
        results = await asyncio.gather(*(writer(u) for u in range(5)), return_exceptions=True)
    assert [type(r) for r in results] == [type(None)] * 2 + [Refused] + [type(None)] * 2
    assert tally.commits == 1  # the others still share one commit
    assert [stored(fresh_db, u) is not None and stored(fresh_db, u)[0] for u in range(5)] == [
        "applied",
        "applied",
        "in",
        "applied",
        "applied",
    ]
    assert stored(fresh_db, 2) == ("in", None)  # not marked done: the inbox replays it
    applied = await fresh_db.all("SELECT after FROM events WHERE action = 'applied' ORDER BY id")
    assert [r["after"] for r in applied] == [f'{{"update": {u}}}' for u in (0, 1, 3, 4)]
    assert verify(fresh_db.path, fresh_db.path.parent / "photos").intact


async def test_the_first_writers_error_leaves_the_next_ones_whole(fresh_db: Database) -> None:
    for u in range(3):
        await receive(fresh_db, u)

    async def writer(u: int) -> None:
        async with fresh_db.write(update_id=u) as tx:
            await apply(tx, u)
            if u == 0:
                raise ValueError("refused")

    results = await asyncio.gather(*(writer(u) for u in range(3)), return_exceptions=True)
    assert isinstance(results[0], ValueError)
    assert results[1:] == [None, None]
    assert [stored(fresh_db, u)[0] for u in range(3)] == ["in", "applied", "applied"]


async def test_a_lone_writer_commits_at_once(
    fresh_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Were a lone writer to wait for company (a window), an hour's window would show.
    monkeypatch.setattr(db_module, "BATCH_MAX_SECONDS", 3600.0)
    statements: list[str] = []
    await receive(fresh_db, 1)
    await fresh_db.connections()[1].set_trace_callback(statements.append)
    async with asyncio.timeout(5):
        async with fresh_db.write(update_id=1) as tx:
            await apply(tx, 1)
    await fresh_db.connections()[1].set_trace_callback(None)
    assert statements[0] == "BEGIN IMMEDIATE"
    assert statements[-1] == "COMMIT"
    assert not any(s.startswith(("SAVEPOINT", "RELEASE")) for s in statements)
    assert stored(fresh_db, 1)[0] == "applied"


async def test_a_failed_commit_fails_every_writer_of_the_batch(fresh_db: Database) -> None:
    for u in range(4):
        await receive(fresh_db, u)

    async def writer(u: int) -> None:
        async with fresh_db.write(update_id=u) as tx:
            await apply(tx, u)
            if u == 1:
                # Foreign keys checked at COMMIT: the shared COMMIT itself fails.
                await tx.run("PRAGMA defer_foreign_keys = ON")
                await tx.run(
                    "INSERT INTO memberships (person_id, school_id, role, created_at)"
                    " VALUES (999, NULL, 'staff', 'x')"
                )

    results = await asyncio.gather(*(writer(u) for u in range(4)), return_exceptions=True)
    assert all(isinstance(r, sqlite3.IntegrityError) for r in results), results
    assert [stored(fresh_db, u) for u in range(4)] == [("in", None)] * 4
    # The writer is whole again: the next write commits.
    async with fresh_db.write(update_id=0) as tx:
        await apply(tx, 0)
    assert stored(fresh_db, 0)[0] == "applied"


async def test_a_transaction_lost_whole_fails_the_writers_before(fresh_db: Database) -> None:
    """When SQLite itself rolls the shared transaction back (a full disk, an I/O
    error), the writers already in it get an error, not a false success."""
    for u in range(3):
        await receive(fresh_db, u)

    async def writer(u: int) -> None:
        async with fresh_db.write(update_id=u) as tx:
            await apply(tx, u)
            if u == 1:
                await tx.run("ROLLBACK")  # what SQLite does on SQLITE_FULL
                raise sqlite3.OperationalError("database or disk is full")

    results = await asyncio.gather(*(writer(u) for u in range(3)), return_exceptions=True)
    assert isinstance(results[0], sqlite3.OperationalError)  # its writes were lost
    assert isinstance(results[1], sqlite3.OperationalError)
    assert results[2] is None  # began a new transaction after the loss
    assert [stored(fresh_db, u)[0] for u in range(3)] == ["in", "in", "applied"]


async def test_each_writer_returns_only_after_the_shared_commit(fresh_db: Database) -> None:
    """The first writer of a batch does not return while the batch is still open."""
    for u in range(2):
        await receive(fresh_db, u)
    order: list[str] = []
    second_inside = asyncio.Event()
    let_second_finish = asyncio.Event()

    async def first() -> None:
        async with fresh_db.write(update_id=0) as tx:
            await apply(tx, 0)
            await second_queued.wait()
        order.append("first returned")

    async def second() -> None:
        async with fresh_db.write(update_id=1) as tx:
            second_inside.set()
            await let_second_finish.wait()
            await apply(tx, 1)
        order.append("second returned")

    second_queued = asyncio.Event()
    one = asyncio.create_task(first())
    await asyncio.sleep(0)
    two = asyncio.create_task(second())
    await asyncio.sleep(0)
    second_queued.set()
    await second_inside.wait()
    # The first writer's body is over, but its commit is the second's too.
    assert stored(fresh_db, 0) == ("in", None)
    assert not one.done()
    let_second_finish.set()
    await asyncio.gather(one, two)
    assert stored(fresh_db, 0)[0] == stored(fresh_db, 1)[0] == "applied"
    assert sorted(order) == ["first returned", "second returned"]


async def test_a_batch_left_by_a_cancelled_writer_still_commits(fresh_db: Database) -> None:
    """The turn handed to a writer cancelled before it took it: the open batch is
    committed all the same, and its writer returns."""
    await receive(fresh_db, 0)
    turn = fresh_db._turn
    handed: list[bool] = []
    release = turn.release

    def release_and_cancel() -> None:
        waiting = turn.waiting()
        release()
        if waiting and not handed:
            handed.append(True)
            victim.cancel()  # it has the turn, but has not run yet

    turn.release = release_and_cancel  # type: ignore[method-assign]
    go = asyncio.Event()

    async def first() -> None:
        async with fresh_db.write(update_id=0) as tx:
            await apply(tx, 0)
            await go.wait()

    async def cancelled() -> None:
        async with fresh_db.write() as tx:
            await tx.run("UPDATE inbox SET payload = 'never' WHERE update_id = 0")

    one = asyncio.create_task(first())
    await asyncio.sleep(0)
    victim = asyncio.create_task(cancelled())
    await asyncio.sleep(0)
    go.set()
    async with asyncio.timeout(5):
        await one
    with pytest.raises(asyncio.CancelledError):
        await victim
    assert handed
    assert stored(fresh_db, 0)[0] == "applied"


async def test_a_mark_that_needs_no_sync_then_a_durable_write(fresh_db: Database) -> None:
    """An unsynced batch (its PRAGMA fixed at BEGIN) ends before a durable writer joins;
    the connection is back to synchronous = FULL after."""
    await receive(fresh_db, 0)
    go = asyncio.Event()

    async def mark() -> None:
        async with fresh_db.write(durable=False) as tx:
            await go.wait()
            await tx.run("UPDATE inbox SET error = 'marked' WHERE update_id = 0")

    async def durable() -> None:
        async with fresh_db.write(update_id=0) as tx:
            await apply(tx, 0)

    async with counting(fresh_db) as tally:
        one = asyncio.create_task(mark())
        await asyncio.sleep(0)
        two = asyncio.create_task(durable())
        await asyncio.sleep(0)
        go.set()
        await asyncio.gather(one, two)
    assert tally.commits == 2
    assert stored(fresh_db, 0)[0] == "applied"
    writer = fresh_db.connections()[1]
    assert [tuple(r) for r in await writer.execute_fetchall("PRAGMA synchronous")] == [(2,)]
    assert await fresh_db.value("SELECT error FROM inbox WHERE update_id = 0") == "marked"


async def test_the_sender_is_woken_once_per_batch_after_its_commit(fresh_db: Database) -> None:
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

    await asyncio.gather(*(notify(n) for n in range(3)))
    assert seen == [3]  # one wake, after all three were committed


async def test_an_urgent_write_commits_at_once_before_the_writers_behind_it(
    fresh_db: Database,
) -> None:
    """The outbox's "sent" mark (urgent) takes the next turn and commits right after
    its body, with what went before it, not after the writers still waiting."""
    for u in range(3):
        await receive(fresh_db, u)
    holding, go = asyncio.Event(), asyncio.Event()
    seen_when_marked: dict[int, object] = {}

    async def long_writer() -> None:
        async with fresh_db.write(update_id=0) as tx:
            await apply(tx, 0)
            holding.set()
            await go.wait()

    async def waiting_writer() -> None:
        async with fresh_db.write(update_id=1) as tx:
            await apply(tx, 1)

    async def mark() -> None:
        async with fresh_db.write(update_id=2, urgent=True) as tx:
            await apply(tx, 2)
        seen_when_marked.update({u: stored(fresh_db, u) for u in range(3)})

    async with counting(fresh_db) as tally:
        first = asyncio.create_task(long_writer())
        await holding.wait()
        behind = asyncio.create_task(waiting_writer())
        await asyncio.sleep(0)
        urgent = asyncio.create_task(mark())
        await asyncio.sleep(0)
        go.set()
        await asyncio.gather(first, behind, urgent)
    assert seen_when_marked[2] is not None and seen_when_marked[2][0] == "applied"
    assert seen_when_marked[0] is not None and seen_when_marked[0][0] == "applied"
    assert seen_when_marked[1] == ("in", None)  # the writer behind had not even begun
    assert stored(fresh_db, 1)[0] == "applied"
    assert tally.commits == 2


async def test_a_committer_cancelled_during_the_commit_leaves_the_others_committed(
    fresh_db: Database,
) -> None:
    """The writer running the shared COMMIT is cancelled while it runs: the COMMIT
    goes on in the database's thread, the other writer returns committed, and the
    next write finds the writer whole."""
    for u in range(3):
        await receive(fresh_db, u)
    loop = asyncio.get_running_loop()
    writer_conn = fresh_db.connections()[1]
    committer: list[asyncio.Task[None]] = []

    def on_statement(sql: str) -> None:  # in the database's thread
        if sql == "COMMIT" and committer:
            loop.call_soon_threadsafe(committer.pop().cancel)

    async def writer(u: int) -> None:
        async with fresh_db.write(update_id=u) as tx:
            await apply(tx, u)

    first = asyncio.create_task(writer(0))
    await asyncio.sleep(0)
    second = asyncio.create_task(writer(1))  # queued: it will run the shared COMMIT
    committer.append(second)
    await writer_conn.set_trace_callback(on_statement)
    try:
        await first
        with pytest.raises(asyncio.CancelledError):
            await second
    finally:
        await writer_conn.set_trace_callback(None)
    assert stored(fresh_db, 0)[0] == stored(fresh_db, 1)[0] == "applied"
    async with asyncio.timeout(5):
        await writer(2)
    assert stored(fresh_db, 2)[0] == "applied"


async def synchronous(db: Database) -> int:
    rows = await db.connections()[1].execute_fetchall("PRAGMA synchronous")
    return int(next(iter(rows))[0])


async def test_a_mark_alone_commits_unsynced_and_one_with_company_syncs(
    fresh_db: Database,
) -> None:
    """``durable=False`` alone: synchronous = NORMAL for its commit, FULL again after.
    Opening a batch that others wait to join: synced, and they share its commit."""
    await receive(fresh_db, 0)
    statements: list[str] = []
    writer = fresh_db.connections()[1]
    await writer.set_trace_callback(statements.append)
    async with fresh_db.write(durable=False) as tx:
        await tx.run("UPDATE inbox SET error = 'alone' WHERE update_id = 0")
    assert statements[0] == "PRAGMA synchronous = NORMAL"
    assert statements[-1] == "PRAGMA synchronous = FULL"
    statements.clear()

    async def mark(n: int) -> None:
        async with fresh_db.write(durable=False) as tx:
            await tx.run("UPDATE inbox SET error = ? WHERE update_id = 0", (f"mark {n}",))

    async def durable() -> None:
        async with fresh_db.write(update_id=0) as tx:
            await apply(tx, 0)

    holding, go = asyncio.Event(), asyncio.Event()

    async def urgent() -> None:  # commits right after its body, whoever waits
        async with fresh_db.write(urgent=True) as tx:
            holding.set()
            await go.wait()
            await tx.run("UPDATE inbox SET error = 'urgent' WHERE update_id = 0")

    first = asyncio.create_task(urgent())
    await holding.wait()
    # The first mark opens the next batch with the durable write and a mark waiting.
    behind = [asyncio.create_task(w) for w in (mark(1), durable(), mark(2))]
    await asyncio.sleep(0)
    go.set()
    await asyncio.gather(first, *behind)
    await writer.set_trace_callback(None)
    assert "PRAGMA synchronous = NORMAL" not in statements  # others waited: synced
    assert statements.count("COMMIT") == 2  # the urgent write's, then the three's
    assert await synchronous(fresh_db) == 2
    assert stored(fresh_db, 0)[0] == "applied"
    assert await fresh_db.value("SELECT error FROM inbox WHERE update_id = 0") == "mark 2"


async def test_a_failed_mark_alone_leaves_the_writer_synced(fresh_db: Database) -> None:
    with pytest.raises(ValueError):
        async with fresh_db.write(durable=False) as tx:
            await tx.run("UPDATE inbox SET error = 'x'")
            raise ValueError("refused")
    assert await synchronous(fresh_db) == 2
    await receive(fresh_db, 1)
    assert stored(fresh_db, 1) == ("in", None)
