"""The database: one writer, reads separate, numbered migrations.

Like datasette's ``database.py``: every write goes through one connection,
one writer's body at a time (queued in turn, an urgent write before any
waiting one); reads use their own connection and never wait for a writer,
which WAL allows. A transaction that applies a received update also marks it
done in the inbox, so an update is applied exactly once.

Group commit: writers that queue behind each other share one ``BEGIN
IMMEDIATE`` … ``COMMIT`` (one fsync). The first writer of a batch opens the
transaction; each one after it runs in its own ``SAVEPOINT``, so that its
failure is rolled back alone; the writer that finds nobody waiting behind it
commits, and every writer of the batch returns only once that commit is on
disk. A writer alone commits at once: no window, no sleep. One applying an
update already stored in the inbox need not wait for a sync of its own
(``Database.write_at_once``'s ``replayable``); the bot writes those on the
event loop's own connection, where the steps of one turn of the loop share a
COMMIT (``Database._open_here``).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, Protocol, Self, TypeVar, cast

import aiosqlite

from ledger.chain import GENESIS, event_hash, school_chain
from ledger.clock import Clock

BUSY_TIMEOUT_MS = 10_000
# A batch stops taking writers after this many, or this long after it began, so
# that a steady stream of writers does not hold the first one's answer back.
BATCH_MAX_WRITERS = 64
BATCH_MAX_SECONDS = 0.05
Row = sqlite3.Row
Query = tuple[str, tuple[Any, ...]]  # a statement and its parameters, to read in a batch
P = ParamSpec("P")
T = TypeVar("T")

# Which school an event's subject belongs to, hence which chain the event joins
# (ledger.chain). A subject not named here, or of no school, joins the city chain.
SUBJECT_SCHOOL = {
    "school": "SELECT ?",
    "hazard": "SELECT school_id FROM hazards WHERE id = ?",
    "building": "SELECT school_id FROM buildings WHERE id = ?",
    "inspection": "SELECT b.school_id FROM inspections i"
    " JOIN buildings b ON b.id = i.building_id WHERE i.id = ?",
    "membership": "SELECT school_id FROM memberships WHERE id = ?",
    "invitation": "SELECT school_id FROM invitations WHERE id = ?",
}


async def _open(path: Path) -> aiosqlite.Connection:
    connecting = aiosqlite.connect(path, isolation_level=None)
    # A daemon thread: a connection left open by a start-up cut short (a signal raised
    # between its opening and its owner's ``close``) must not keep the process from
    # ending. Ending with it open is as safe as being killed: every commit is atomic,
    # and an answer is confirmed only once its commit is on disk. (aiosqlite makes the
    # thread before starting it, and has no public setting for this.)
    connecting._thread.daemon = True
    conn = await connecting
    conn.row_factory = sqlite3.Row
    try:
        for pragma in (
            "journal_mode = WAL",
            "foreign_keys = ON",
            "synchronous = FULL",
            f"busy_timeout = {BUSY_TIMEOUT_MS}",
        ):
            await conn.execute(f"PRAGMA {pragma}")
    except BaseException:  # e.g. "file is not a database": do not leak the connection
        await conn.close()
        raise
    return conn


def stored_day(value: str | None) -> date | None:
    """A date column (ISO text, or NULL) as the date it holds."""
    return None if value is None else date.fromisoformat(value)


def stored_moment(value: str | None) -> datetime | None:
    """A moment column (ISO text, or NULL) as the datetime it holds."""
    return None if value is None else datetime.fromisoformat(value)


def migrations() -> list[tuple[int, str, str]]:
    """The numbered SQL files in ``storage/migrations``, in order."""
    found = []
    for entry in resources.files("storage").joinpath("migrations").iterdir():
        if entry.name.endswith(".sql"):
            number = int(entry.name.split("_", 1)[0])
            found.append((number, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


class Reader:
    """Queries shared by the read connection and a write transaction."""

    conn: aiosqlite.Connection

    # Each query runs and is read whole in one trip to the connection's thread
    # (aiosqlite's execute_fetchall): no statement stays open across an await. On the
    # shared read connection, a statement left open by one coroutine would hold its
    # read snapshot for every other coroutine's query, and a person could then fail
    # to see the answer they have just committed.

    async def one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        rows = await self.conn.execute_fetchall(sql, tuple(params))
        return next(iter(rows), None)

    async def all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return list(await self.conn.execute_fetchall(sql, tuple(params)))

    async def value(self, sql: str, params: Iterable[Any] = ()) -> Any:
        row = await self.one(sql, params)
        return None if row is None else row[0]

    async def read_many(self, queries: Sequence[Query]) -> list[list[Row]]:
        """Several queries, each read whole, in a single trip to the connection's thread.

        A tap's reads are known before any of them is run (who taps, what the button
        names): one trip costs one hand-over to the thread and back, where one trip per
        query costs that many. aiosqlite has no public call to run a function in its
        thread: see ``in_connection``.
        """

        def run(raw: sqlite3.Connection) -> list[list[Row]]:
            return [raw.execute(sql, params).fetchall() for sql, params in queries]

        return await in_connection(self.conn, run)


class Tx(Reader):
    """One write transaction; every change also appends to the event log."""

    def __init__(self, conn: aiosqlite.Connection, clock: Clock, update_id: int | None) -> None:
        self.conn = conn
        self.clock = clock
        self.update_id = update_id
        # Set by the outbox when this transaction queued a notice: once committed,
        # the sender is woken (``Database.on_outbox``), never by hand.
        self.queued_notice = False

    def now(self) -> str:
        return self.clock.now().isoformat(timespec="seconds")

    async def run(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Execute a change; return the new row id (for an INSERT) or the row count.

        An INSERT that a conflict turned into nothing returns 0 (sqlite3 would
        leave ``lastrowid`` at the previous insert's id).
        """
        values = tuple(params)
        # One trip to the writer's thread (aiosqlite's execute, then the cursor's close,
        # are two).
        return await in_connection(self.conn, lambda raw: change(raw, sql, values))

    async def at_once(self, work: Callable[[Writes], T]) -> T:
        """``work`` run on the writer's own thread inside this transaction: its statements,
        however many, cost one trip (each ``run`` is one). Its notices count as this
        transaction's."""
        at = self.now()

        def run(raw: sqlite3.Connection) -> tuple[T, bool]:
            writes = Writes(raw, at)
            return work(writes), writes.queued_notice

        done, queued = await in_connection(self.conn, run)
        self.queued_notice = self.queued_notice or queued
        return done

    async def event(
        self,
        actor_id: int | None,
        action: str,
        subject: str,
        subject_id: int,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        """Append an event to its school's chain (or the city's), linked to the chain's head."""
        await append_event(
            self.conn,
            self.now(),
            actor_id,
            action,
            subject,
            subject_id,
            _dumped(before),
            _dumped(after),
        )


def change(raw: sqlite3.Connection, sql: str, values: tuple[Any, ...]) -> int:
    """Execute a change on the raw connection: the new row id (an INSERT) or the row count."""
    cur = raw.execute(sql, values)
    try:
        if sql.lstrip()[:6].upper() == "INSERT":
            return int(cur.lastrowid or 0) if cur.rowcount > 0 else 0
        return cur.rowcount
    finally:
        cur.close()


def _dumped(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


class Writes:
    """A transaction's statements run at once on the writer's own thread (``Tx.at_once``,
    ``Database.write_at_once``): plain sqlite3 with ``Tx``'s calls, without ``await``, so
    that a use case's whole write is one hand-over to that thread, not one per statement.

    Made and used inside that thread only; ``now`` is the transaction's moment, read on
    the event loop before the trip (one moment for all its rows).
    """

    def __init__(self, raw: sqlite3.Connection, at: str) -> None:
        self.raw = raw
        self.at = at
        self.queued_notice = False  # as ``Tx.queued_notice``

    def now(self) -> str:
        return self.at

    def run(self, sql: str, params: Iterable[Any] = ()) -> int:
        """As ``Tx.run``: the new row id (an INSERT, 0 when a conflict made it nothing)
        or the row count."""
        return change(self.raw, sql, tuple(params))

    def one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        row: Row | None = self.raw.execute(sql, tuple(params)).fetchone()
        return row

    def all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return list(self.raw.execute(sql, tuple(params)).fetchall())

    def value(self, sql: str, params: Iterable[Any] = ()) -> Any:
        row = self.one(sql, params)
        return None if row is None else row[0]

    def event(
        self,
        actor_id: int | None,
        action: str,
        subject: str,
        subject_id: int,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        """As ``Tx.event``: appended to its school's chain (or the city's)."""
        chain_event(
            self.raw,
            self.at,
            actor_id,
            action,
            subject,
            subject_id,
            _dumped(before),
            _dumped(after),
        )


async def in_connection(conn: aiosqlite.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``work`` on the connection in its own thread: one trip, however many statements.

    aiosqlite has no public call for it; its ``_execute`` is the one every public call
    goes through (and the one ``storage.trace`` counts).
    """
    raw: sqlite3.Connection = conn._conn
    done: T = await conn._execute(work, raw)  # type: ignore[no-untyped-call]
    return done


def chain_of(raw: sqlite3.Connection, subject: str, subject_id: int) -> str:
    """The chain an event about this subject joins."""
    sql = SUBJECT_SCHOOL.get(subject)
    if sql is None:
        return school_chain(None)
    row = raw.execute(sql, (subject_id,)).fetchone()
    return school_chain(None if row is None or row[0] is None else int(row[0]))


async def append_event(
    conn: aiosqlite.Connection,
    at: str,
    actor_id: int | None,
    action: str,
    subject: str,
    subject_id: int,
    before: str | None,
    after: str | None,
    event_id: int | None = None,
) -> None:
    """Chain an event (``chain_event``) in one trip to the writer's thread."""
    await in_connection(
        conn,
        lambda raw: chain_event(
            raw, at, actor_id, action, subject, subject_id, before, after, event_id
        ),
    )


def chain_event(
    raw: sqlite3.Connection,
    at: str,
    actor_id: int | None,
    action: str,
    subject: str,
    subject_id: int,
    before: str | None,
    after: str | None,
    event_id: int | None = None,
) -> None:
    """Chain an event: a new one (inserted), or an old unchained one (``event_id``).

    The chain's head is read and moved in the same transaction, on the writer's thread.
    """
    name = chain_of(raw, subject, subject_id)
    head = raw.execute("SELECT seq, hash FROM chain_heads WHERE chain = ?", (name,)).fetchone()
    seq, prev = (1, GENESIS) if head is None else (int(head[0]) + 1, str(head[1]))
    digest = event_hash(name, seq, prev, at, actor_id, action, subject, subject_id, before, after)
    if event_id is None:
        raw.execute(
            "INSERT INTO events (at, actor_id, action, subject, subject_id, before, after,"
            " chain, seq, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (at, actor_id, action, subject, subject_id, before, after, name, seq, prev, digest),
        )
    else:
        raw.execute(
            "UPDATE events SET chain = ?, seq = ?, prev_hash = ?, hash = ? WHERE id = ?",
            (name, seq, prev, digest, event_id),
        )
    raw.execute(
        "INSERT INTO chain_heads (chain, seq, hash) VALUES (?, ?, ?)"
        " ON CONFLICT (chain) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        (name, seq, digest),
    )


class Tracing(Protocol):
    """What ``storage.trace`` counts with while a count runs (see there)."""

    def trip(self) -> None: ...

    def watch(self, conn: sqlite3.Connection) -> None: ...


class WriteTurn:
    """Whose turn it is to write: first come, first served, but an urgent write
    (the outbox's "sent" mark, which closes the window in which a crash would
    send a message twice) goes before every write still waiting."""

    def __init__(self, on_idle: Callable[[], None] = lambda: None) -> None:
        # Called when the turn falls free with nobody waiting (``Database`` closes its batch).
        self.on_idle = on_idle
        self._busy = False
        self._waiting: tuple[deque[asyncio.Future[None]], deque[asyncio.Future[None]]] = (
            deque(),
            deque(),
        )

    async def acquire(self, urgent: bool = False) -> None:
        if not self._busy:
            self._busy = True
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._waiting[0 if urgent else 1]
        queue.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # the turn was handed over as the waiter was cancelled
            elif turn in queue:  # (a release may have dropped it already, cancelled)
                queue.remove(turn)
            raise

    def waiting(self) -> bool:
        """Whether a writer is queued for the next turn."""
        return any(not turn.done() for queue in self._waiting for turn in queue)

    def release(self) -> None:
        for queue in self._waiting:
            while queue:
                turn = queue.popleft()
                if not turn.done():
                    turn.set_result(None)  # handed over: still busy
                    return
        self._busy = False
        self.on_idle()


class _Batch:
    """Writers sharing one transaction, hence one COMMIT."""

    def __init__(self, durable: bool) -> None:
        self.began = time.monotonic()
        # Synced at commit (synchronous = FULL), or not (NORMAL: only writers that
        # need no sync are let in).
        self.durable = durable
        self.writers = 0  # bodies kept in the transaction
        self.queued_notice = False
        self.over = False
        self.error: BaseException | None = None  # why the batch's writes are not kept
        # Made only when a writer has to wait for the batch's end: a writer alone
        # commits and returns without one.
        self._ended: asyncio.Future[None] | None = None

    def full(self) -> bool:
        return (
            self.writers >= BATCH_MAX_WRITERS or time.monotonic() - self.began >= BATCH_MAX_SECONDS
        )

    def end(self, error: BaseException | None) -> None:
        """Committed (``error`` None) or not: every writer waiting is released."""
        self.over, self.error = True, error
        if self._ended is not None and not self._ended.done():
            self._ended.set_result(None)

    async def outcome(self) -> None:
        """Wait for the batch's end; raise why its writes were not kept, if they were not."""
        if not self.over:
            if self._ended is None:
                self._ended = asyncio.get_running_loop().create_future()
            # Shielded: a writer cancelled here leaves the batch to end for the others.
            await asyncio.shield(self._ended)
        if self.error is not None:
            raise self.error


class _Trip:
    """One ``write_at_once``: its statements, run in the writer's thread, and how it went."""

    def __init__(
        self, first: bool, commit: bool, at: str, update_id: int | None, replayable: bool
    ) -> None:
        self.first = first  # opens the batch (BEGIN), else joins it (SAVEPOINT)
        self.commit = commit  # ends the batch (COMMIT) in the same trip
        # A batch of this one writer, applying an update that a power cut would have
        # replayed: its COMMIT is not synced (see ``Database.write_at_once``).
        self.unsynced = first and commit and replayable and update_id is not None
        self.at = at
        self.update_id = update_id
        self.value: object = None
        self.queued_notice = False
        self.error: BaseException | None = None  # the body's own: raised to its writer
        self.kept = False  # the body's writes are in the transaction
        self.committed = False
        self.lost: BaseException | None = None  # why the batch's writes are not kept

    def run(self, raw: sqlite3.Connection, work: Callable[[Writes], object]) -> None:
        """In the writer's thread. Never raises: the event loop settles the batch."""
        if not self.unsynced:
            self._run(raw, work)
            return
        raw.execute("PRAGMA synchronous = NORMAL")
        try:
            self._run(raw, work)
        finally:
            raw.execute("PRAGMA synchronous = FULL")

    def run_in(self, raw: sqlite3.Connection, work: Callable[[Writes], object]) -> None:
        """In a transaction already open on ``raw`` (the loop's): the body of the trip that
        opened it, or of a later one in its own savepoint. Never raises."""
        if self.first:
            self._body(raw, work)
        else:
            self._run(raw, work)

    def _run(self, raw: sqlite3.Connection, work: Callable[[Writes], object]) -> None:
        try:
            raw.execute("BEGIN IMMEDIATE" if self.first else "SAVEPOINT grouped")
        except Exception as error:
            self.error = error
            if not self.first:
                self.lost = error  # the batch cannot go on without its savepoint
                self._rollback(raw)
            return
        self._body(raw, work)

    def _body(self, raw: sqlite3.Connection, work: Callable[[Writes], object]) -> None:
        """The work, the update marked done, and the COMMIT if this trip ends the batch."""
        try:
            writes = Writes(raw, self.at)
            self.value = work(writes)
            if self.update_id is not None:
                change(
                    raw,
                    "UPDATE inbox SET done_at = ? WHERE update_id = ? AND done_at IS NULL",
                    (self.at, self.update_id),
                )
            if not self.first:
                raw.execute("RELEASE grouped")
            self.kept, self.queued_notice = True, writes.queued_notice
        except Exception as error:
            self.error = error
            if not self._undo(raw):
                return
        if self.commit and (self.kept or not self.first):
            try:
                raw.execute("COMMIT")
                self.committed = True
            except Exception as error:
                self.lost = error
                self._rollback(raw)

    def _undo(self, raw: sqlite3.Connection) -> bool:
        """The body failed: undo it alone; False when the batch is over (all undone)."""
        if self.first:
            self._rollback(raw)  # nobody else in the batch yet
            return False
        try:
            if raw.in_transaction:
                raw.execute("ROLLBACK TO grouped")
                raw.execute("RELEASE grouped")
        except Exception as error:  # the savepoint could not be undone: nor the batch kept
            self.lost = error
            self._rollback(raw)
            return False
        if not raw.in_transaction:
            # Some errors (a full disk, an I/O error) roll the whole transaction back:
            # the writers before this one lost their writes too.
            self.lost = sqlite3.OperationalError("the shared transaction was rolled back")
            return False
        return True

    @staticmethod
    def _rollback(raw: sqlite3.Connection) -> None:
        if raw.in_transaction:
            raw.execute("ROLLBACK")


class Database(Reader):
    """The SQLite file: ``read`` for queries, ``write()`` for transactions."""

    def __init__(self, path: Path, clock: Clock) -> None:
        self.path = path
        self.clock = clock
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._turn = WriteTurn(on_idle=self._idle)
        self._batch: _Batch | None = None
        # The transaction open on ``here`` in this turn of the loop (``_open_here``).
        self._loop_batch: _Batch | None = None
        self._closing_batch: asyncio.Task[None] | None = None
        # Called after each commit that queued a notice in the outbox (the bot sets it
        # to a pass of the sender); the command line leaves it be.
        self.on_outbox: Callable[[], None] = lambda: None
        # Set by ``storage.trace.counting`` while it counts; None (no cost) otherwise.
        self.tracing: Tracing | None = None
        # The event loop's own connection, for reads too small to hand over (``read_here``).
        self.here: sqlite3.Connection | None = None

    async def open(self) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = await _open(self.path)
        try:
            await self.migrate()
            self._reader = await _open(self.path)
        except BaseException:
            # An open connection keeps a non-daemon thread: the process would never exit.
            await self.close()
            raise
        self.conn = self._reader
        self.here = sqlite3.connect(self.path, isolation_level=None)
        self.here.row_factory = sqlite3.Row
        for pragma in (
            # Never waits for a lock on the event loop: a reader that would is read by
            # the reader's thread instead (``read_here``), a writer written by the
            # writer's thread (``write_at_once``).
            "busy_timeout = 0",
            # It writes only steps whose arrival was synced (``write_at_once``).
            "synchronous = NORMAL",
            # A checkpoint syncs: it is left to the commits of the writer's thread (every
            # arrival's is one), never run on the event loop.
            "wal_autocheckpoint = 0",
            "foreign_keys = ON",
        ):
            self.here.execute(f"PRAGMA {pragma}")
        return self

    async def close(self) -> None:
        if self._loop_batch is not None:
            self._commit_here(self._loop_batch)  # what was written on the loop is kept
        if self.here is not None:
            self.here.close()
            self.here = None
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = None

    async def read_here(self, queries: Sequence[Query]) -> list[list[Row]]:
        """``read_many`` on the event loop's own thread, for a tap's first reads: a few
        rows, each found by its key. Handing them to the reader's thread and back costs
        about 0.1 ms, twice what reading them costs (a walk's step is 0.8 ms in all). In
        WAL a reader waits for nobody; in the rare moment it would (the WAL being reset),
        the reader's thread reads them, where waiting holds up no one else."""
        if self.here is None:
            return await self.read_many(queries)
        try:
            return [self.here.execute(sql, params).fetchall() for sql, params in queries]
        except sqlite3.OperationalError:
            return await self.read_many(queries)

    def connections(self) -> tuple[aiosqlite.Connection, ...]:
        """The open connections: the read one and the write one."""
        return tuple(c for c in (self._reader, self._writer) if c is not None)

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def migrate(self) -> list[str]:
        """Apply the migrations not applied yet; safe to run at every start."""
        assert self._writer is not None
        w = self._writer
        await w.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
            " name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        async with w.execute("SELECT version FROM schema_migrations") as cur:
            done = {row[0] for row in await cur.fetchall()}
        applied = []
        for number, name, sql in migrations():
            if number in done:
                continue
            stamp = self.clock.now().isoformat(timespec="seconds")
            # A migration may rebuild a table (SQLite's only way to change a
            # CHECK): foreign keys are off while it runs, as SQLite's manual
            # asks, and checked before it commits. The pragma is ignored inside a
            # transaction, so it is set around it.
            await w.execute("PRAGMA foreign_keys = OFF")
            try:
                # executescript commits first; the file runs in its own transaction.
                await w.executescript(
                    f"BEGIN IMMEDIATE;\n{sql}\n"
                    f"INSERT INTO schema_migrations VALUES ({number}, '{name}', '{stamp}');\n"
                )
                async with w.execute("PRAGMA foreign_key_check") as cur:
                    broken = list(await cur.fetchall())
                if broken:
                    raise sqlite3.IntegrityError(f"{name} breaks foreign keys: {broken[:3]}")
                await w.execute("COMMIT")
            except sqlite3.Error:
                if w.in_transaction:
                    await w.execute("ROLLBACK")
                raise
            finally:
                await w.execute("PRAGMA foreign_keys = ON")
            applied.append(name)
        await self._chain_backlog()
        return applied

    async def _chain_backlog(self) -> int:
        """Chain the events written before the chain existed, in the order they were written."""
        assert self._writer is not None
        w = self._writer
        async with w.execute("SELECT COUNT(*) FROM events WHERE hash IS NULL") as cur:
            row = await cur.fetchone()
        if not row or not row[0]:
            return 0
        await w.execute("BEGIN IMMEDIATE")
        try:
            async with w.execute(
                "SELECT id, at, actor_id, action, subject, subject_id, before, after"
                " FROM events WHERE hash IS NULL ORDER BY id"
            ) as cur:
                backlog = list(await cur.fetchall())
            for e in backlog:
                await append_event(w, e[1], e[2], e[3], e[4], e[5], e[6], e[7], event_id=e[0])
            await w.execute("COMMIT")
        except BaseException:
            await w.execute("ROLLBACK")
            raise
        return len(backlog)

    async def in_thread(
        self,
        work: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """``work(conn, ...)`` in a worker thread, on a read-only connection of its own.

        For reads of many rows followed by CPU work on them (a reminders pass over
        a city): one trip to a thread instead of one per statement, and the event
        loop stays free meanwhile. WAL lets it read beside the writer.
        """

        tracing = self.tracing
        if tracing is not None:
            tracing.trip()

        def run() -> T:
            conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
            try:
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                if tracing is not None:
                    tracing.watch(conn)
                return work(conn, *args, **kwargs)
            finally:
                conn.close()

        return await asyncio.to_thread(run)

    @asynccontextmanager
    async def write(
        self, update_id: int | None = None, urgent: bool = False, durable: bool = True
    ) -> AsyncIterator[Tx]:
        """One write transaction, queued behind any other (``urgent``: before them).

        Returns once the writes are committed, in a COMMIT that writers queued at
        the same moment share (see the module's docstring); an error in the body
        undoes this body only and is raised here, and a failed COMMIT is raised to
        every writer of the batch. With ``update_id`` the received update is
        marked done in the same transaction as the body's writes, so its effects
        and its being done commit together. ``durable=False``: the commit need not
        be synced to disk (WAL keeps it consistent; a power cut may lose it, a
        killed process does not), for marks that are only a convenience when they
        survive; such a write alone commits without a sync, and one that joins a
        batch is synced with it.
        """
        assert self._writer is not None
        w = self._writer
        await self._turn.acquire(urgent)
        try:
            batch = await self._join(durable)
        except BaseException:
            self._turn.release()
            raise
        own_savepoint = batch.writers > 0
        tx = Tx(w, self.clock, update_id)
        try:
            yield tx
            if update_id is not None:
                await tx.run(
                    "UPDATE inbox SET done_at = ? WHERE update_id = ? AND done_at IS NULL",
                    (tx.now(), update_id),
                )
            if own_savepoint:
                await w.execute("RELEASE grouped")
        except BaseException:
            try:
                await self._undo(batch, own_savepoint)
            finally:
                await self._end_turn(batch, urgent)
            raise
        batch.writers += 1
        batch.queued_notice = batch.queued_notice or tx.queued_notice
        await self._end_turn(batch, urgent)
        if not batch.over or batch.error is not None:
            await batch.outcome()

    async def write_at_once(
        self,
        work: Callable[[Writes], T],
        update_id: int | None = None,
        urgent: bool = False,
        replayable: bool = False,
        on_loop: bool = False,
    ) -> T:
        """``write()`` for a body that is a plain function (``Writes``): the transaction's
        whole work on the writer's thread in one trip, with its BEGIN or SAVEPOINT, the
        update marked done, and its COMMIT when nobody waits to join the batch.

        The guarantees are ``write()``'s: returns once committed, durably (a failed
        COMMIT raised to every writer of the batch); an error in ``work`` undoes its own
        writes alone and is raised here. The COMMIT is decided as the trip leaves, not as
        it ends: a writer that comes while the trip runs waits for the next turn and opens
        the next batch, which the writers behind it join.

        ``replayable``: the update was found in the inbox, not applied (the guard's read,
        ``storage.inbox.Arrival.stored``). Its arrival was synced to disk
        (``storage.inbox.receive``), so a batch of this writer alone commits without a
        sync of its own: a power cut that loses the COMMIT leaves the update not done, and
        it is applied again at start-up (``bot.app.replay_inbox``); WAL keeps the
        commits that survive in order, and the next synced one carries this one to disk.
        The answer a person saw taken is not lost, and a step costs one fsync (its
        arrival's), not two. A killed process loses nothing either way.

        ``on_loop``: such a replayable write, which needs no sync, is written on the event
        loop's own connection (``here``) rather than in the writer's thread: handing it
        to the thread and back cost more than its statements (bench_walk: 0.2-0.35 ms of
        a step). Its transaction stays open until the loop's next turn, so the steps of
        everyone whose updates the loop runs in this turn join it (each in its savepoint,
        as in the thread) and share its one unsynced COMMIT (``_open_here``). A durable
        write always waits for its sync in the writer's thread.
        """
        assert self._writer is not None
        w = self._writer
        here = on_loop and replayable and update_id is not None and not urgent
        here = here and self.here is not None
        loop_batch = self._loop_batch
        if here and loop_batch is not None and not loop_batch.full():
            return await self._write_here(loop_batch, work, update_id)
        await self._turn.acquire(urgent)
        try:
            batch = self._batch
            if batch is not None and not batch.durable:
                await self._commit(batch)  # an unsynced batch ends before a durable writer
                batch = None
        except BaseException:
            self._turn.release()
            raise
        if here and batch is None:
            loop_batch = self._open_here()
            if loop_batch is not None:
                return await self._write_here(loop_batch, work, update_id)
        first = batch is None
        commit = urgent or not self._turn.waiting() or (batch is not None and batch.full())
        at = self.clock.now().isoformat(timespec="seconds")
        trip = _Trip(first, commit, at, update_id, replayable)
        if batch is None:
            batch = self._batch = _Batch(durable=not trip.unsynced)
        try:
            await in_connection(w, lambda raw: trip.run(raw, work))
        except asyncio.CancelledError:
            # This writer was cancelled, not its trip: it runs on in the writer's thread.
            # Its outcome is read behind it, for the batch, before the turn passes on.
            await asyncio.shield(in_connection(w, lambda raw: None))
            self._settle(batch, trip)
            await self._end_turn(batch, urgent)
            raise
        except BaseException as error:  # the trip itself failed (never ``work``: kept)
            trip.lost = error
        self._settle(batch, trip)
        await self._end_turn(batch, urgent)
        if trip.error is not None:
            raise trip.error
        if not batch.over or batch.error is not None:
            await batch.outcome()
        return cast(T, trip.value)

    def _open_here(self) -> _Batch | None:
        """With the turn held: a transaction on the event loop's connection, committed
        (unsynced) at the loop's next turn, for the steps of everyone whose updates the
        loop runs in this turn. The turn stays held until then, so the writer's thread
        has no transaction open. None when another process holds the database's write
        lock this moment: the writer's thread waits for it, not the event loop.

        ``read_here`` reads on the same connection, so a read in this turn sees the steps
        written before it. Each of those returns to its person only once committed; should
        the COMMIT fail (the disk failing), what was read of them was never kept, as in any
        read of an update that then fails."""
        assert self.here is not None
        try:
            self.here.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:  # "database is locked"
            return None
        batch = self._loop_batch = _Batch(durable=False)
        asyncio.get_running_loop().call_soon(self._commit_here, batch)
        return batch

    async def _write_here(
        self, batch: _Batch, work: Callable[[Writes], T], update_id: int | None
    ) -> T:
        """A replayable write in the loop's open transaction; returns once it is committed.

        With nothing kept in it yet, the trip runs as the transaction's first (no savepoint):
        should it fail, rolling the whole transaction back loses nobody's writes."""
        assert self.here is not None
        first = batch.writers == 0
        trip = _Trip(first, False, self.clock.now().isoformat(timespec="seconds"), update_id, True)
        trip.run_in(self.here, work)
        if trip.kept:
            batch.writers += 1
            batch.queued_notice = batch.queued_notice or trip.queued_notice
        elif first or trip.lost is not None:
            self._end_here(batch, trip.lost)  # the transaction was rolled back: it ends now
        if trip.error is not None:
            raise trip.error
        await batch.outcome()
        return cast(T, trip.value)

    def _commit_here(self, batch: _Batch) -> None:
        """The loop's next turn: COMMIT what was written on its connection; the turn passes on."""
        if batch.over:
            return  # ended already: its transaction was rolled back, or committed at close
        here = self.here
        error: BaseException | None = None
        try:
            if here is None:
                raise sqlite3.ProgrammingError("the database was closed")
            here.execute("COMMIT")
        except Exception as failed:
            error = failed
            # Nobody to raise to but the writers: whatever happens here, they hear of
            # ``error`` and the turn passes on.
            with suppress(Exception):
                if here is not None and here.in_transaction:
                    here.execute("ROLLBACK")
        self._end_here(batch, error)
        if error is None and batch.queued_notice:
            self.on_outbox()  # committed: the notices may leave now

    def _end_here(self, batch: _Batch, error: BaseException | None) -> None:
        self._loop_batch = None
        batch.end(error)
        self._turn.release()

    def _settle(self, batch: _Batch, trip: _Trip) -> None:
        """Bring the batch up to date with a ``write_at_once`` trip's outcome."""
        if trip.kept:
            batch.writers += 1
            batch.queued_notice = batch.queued_notice or trip.queued_notice
        if trip.committed or trip.lost is not None:
            self._batch = None
            batch.end(trip.lost)
            if batch.queued_notice and trip.lost is None:
                self.on_outbox()  # committed: the notices may leave now
        elif trip.first and not trip.kept:
            self._batch = None  # the batch's first writer failed: nothing to keep
            batch.end(None)

    async def _join(self, durable: bool) -> _Batch:
        """With the turn held: the open batch to write in (opening one if none)."""
        assert self._writer is not None
        w = self._writer
        batch = self._batch
        if batch is not None and durable and not batch.durable:
            # The open batch commits unsynced (its PRAGMA cannot change inside a
            # transaction): it ends here, cheaply, and a synced one begins.
            await self._commit(batch)
            batch = None
        if batch is not None:
            await w.execute("SAVEPOINT grouped")
            return batch
        # A writer that needs no sync, alone, commits unsynced; with others
        # waiting, the batch will carry them, so it syncs.
        synced = durable or self._turn.waiting()
        if not synced:
            await w.execute("PRAGMA synchronous = NORMAL")
        try:
            await w.execute("BEGIN IMMEDIATE")
        except BaseException:
            if not synced:
                await w.execute("PRAGMA synchronous = FULL")
            raise
        self._batch = _Batch(synced)
        return self._batch

    async def _undo(self, batch: _Batch, own_savepoint: bool) -> None:
        """A body failed: undo it alone, or fail the batch if SQLite undid more."""
        assert self._writer is not None
        w = self._writer
        try:
            if own_savepoint and w.in_transaction:
                await w.execute("ROLLBACK TO grouped")
                await w.execute("RELEASE grouped")
        except Exception as error:  # the savepoint could not be undone: nor the batch kept
            await self._abandon(batch, error)
            return
        if not w.in_transaction:
            # Some errors (a full disk, an I/O error) roll the whole transaction
            # back: the writers before this one lost their writes too.
            await self._abandon(
                batch, sqlite3.OperationalError("the shared transaction was rolled back")
            )
        elif batch.writers == 0:
            await self._abandon(batch, None)  # the batch's first writer: nothing to keep

    async def _abandon(self, batch: _Batch, error: BaseException | None) -> None:
        """End the batch without committing; its writers (if any) get ``error``."""
        assert self._writer is not None
        self._batch = None
        try:
            if self._writer.in_transaction:
                await self._writer.execute("ROLLBACK")
        finally:
            if not batch.durable:
                await self._writer.execute("PRAGMA synchronous = FULL")
            batch.end(error)  # None: nobody kept anything in it

    async def _end_turn(self, batch: _Batch, urgent: bool) -> None:
        """Commit the batch unless another writer waits to join it; pass the turn on.

        An urgent write (the outbox's "sent" mark) commits at once all the same: it
        went before the waiting writers to be durable soon, not after them.
        """
        try:
            if self._batch is batch and (urgent or not self._turn.waiting() or batch.full()):
                await self._commit(batch)
        finally:
            self._turn.release()

    async def _commit(self, batch: _Batch) -> None:
        """COMMIT the batch (the turn held) and release its writers."""
        assert self._writer is not None
        w = self._writer
        self._batch = None
        try:
            try:
                await w.execute("COMMIT")
            except asyncio.CancelledError:
                # This writer was cancelled, not the COMMIT: it runs on in aiosqlite's
                # thread, for the others too. The turn is kept until it is over.
                await asyncio.shield(self._after_cancelled_commit(batch))
                raise
        except Exception as error:
            try:
                if w.in_transaction:
                    await w.execute("ROLLBACK")
            finally:
                batch.end(error)
        else:
            batch.end(None)
        finally:
            try:
                if not batch.durable:
                    await w.execute("PRAGMA synchronous = FULL")
            finally:
                if batch.queued_notice and batch.over and batch.error is None:
                    self.on_outbox()  # committed: the notices may leave now, not at the next tick

    async def _after_cancelled_commit(self, batch: _Batch) -> None:
        """The COMMIT's outcome, read once it is over (a trip queued behind it)."""
        assert self._writer is not None
        w = self._writer
        await w.execute("SELECT 1")
        if w.in_transaction:  # the COMMIT failed (e.g. a deferred foreign key)
            await w.execute("ROLLBACK")
            batch.end(sqlite3.OperationalError("the shared COMMIT failed"))
        else:
            batch.end(None)

    def _idle(self) -> None:
        # The turn fell free with a batch still open: its last writer handed the
        # turn to one that was cancelled before taking it. Someone must commit it.
        if self._batch is not None and self._closing_batch is None:
            self._closing_batch = asyncio.get_running_loop().create_task(self._close_batch())

    async def _close_batch(self) -> None:
        try:
            await self._turn.acquire(urgent=True)
            batch = self._batch
            try:
                if batch is not None:
                    await self._commit(batch)
            finally:
                self._turn.release()
        finally:
            self._closing_batch = None
