"""Count what a stretch of code costs the database: statements, commits, thread trips.

``async with counting(db) as tally:`` around the code, then read ``tally.reads``,
``tally.writes``, ``tally.commits``, ``tally.syncs``, ``tally.rollbacks`` and ``tally.trips``
(``tally.snapshot()`` freezes the figures, and two snapshots subtract, for a
per-step figure inside a longer count). For benchmarks and tests that hold the
cost of a tap to a budget; nothing counts unless ``counting`` is running, so it
costs production nothing.

How it counts:

- Statements come from sqlite3's trace callback (``set_trace_callback``) on the
  database's read and write connections and on every ``Database.in_thread``
  connection, so a statement is counted whichever way it was sent (one
  ``execute`` or several in one trip). SQLite reports a statement again for each
  trigger it fires: a write reported twice in a row on the same connection with
  no row changed in between is counted once. (The schema's triggers all run
  BEFORE a one-row change, so this is exact for it; an AFTER trigger, or a
  trigger on a many-row change, would count its statement more than once.)
- ``reads``: SELECT (and WITH … SELECT, VALUES); ``writes``: INSERT, UPDATE,
  DELETE, REPLACE; ``commits``: COMMIT / END (one per transaction, one fsync in
  ``synchronous = FULL``); ``syncs``: of those, the commits made with
  ``synchronous = FULL`` (an unsynced one, ``PRAGMA synchronous = NORMAL`` before
  it, writes its WAL frames without waiting for the disk); ``rollbacks``: a whole
  transaction undone (not
  ``ROLLBACK TO`` a savepoint). BEGIN, SAVEPOINT, RELEASE and PRAGMA count as
  ``other``.
- ``trips``: each call handed to aiosqlite's thread of either connection, and
  each ``Database.in_thread`` call: what an ``await`` on the database costs in
  thread hand-overs, whatever runs inside; ``read_trips``: those of them to the
  read connection's thread.

One count at a time per database; the figures are totals over the count's
life (all coroutines on the database, not only the current task).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from typing import Any

import aiosqlite

from storage.db import Database

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
_READS = ("SELECT", "VALUES")
_FIGURES = ("reads", "writes", "commits", "syncs", "rollbacks", "other")  # from statements
_SYNCHRONOUS = re.compile(r"\s*PRAGMA\s+synchronous\s*=\s*(\w+)", re.IGNORECASE)


@dataclass(frozen=True)
class Tally:
    """The figures of a count at one moment."""

    reads: int = 0
    writes: int = 0
    commits: int = 0
    syncs: int = 0  # of ``commits``: those synced to disk (``synchronous = FULL``)
    rollbacks: int = 0
    other: int = 0
    trips: int = 0
    read_trips: int = 0  # of ``trips``: those to the read connection's thread

    def __sub__(self, earlier: Tally) -> Tally:
        return Tally(
            **{f.name: getattr(self, f.name) - getattr(earlier, f.name) for f in fields(self)}
        )

    def __add__(self, more: Tally) -> Tally:
        return Tally(
            **{f.name: getattr(self, f.name) + getattr(more, f.name) for f in fields(self)}
        )


def kind(sql: str) -> str:
    """Which figure a traced statement adds to."""
    # A traced statement may start with blank lines or comment lines (a script's
    # statements keep what stood before them).
    lines = [
        line
        for line in sql.strip().splitlines()
        if line.strip() and not line.lstrip().startswith("--")
    ]
    words = " ".join(lines).split(None, 2)
    if not words:
        return "other"
    first = words[0].upper().rstrip(";")
    if first in _READS:
        return "reads"
    if first in _WRITES:
        return "writes"
    if first == "WITH":
        # A common table expression ahead of a change is a write.
        upper = " ".join(lines).upper()
        return "writes" if any(f" {w} " in f" {upper} " for w in _WRITES) else "reads"
    if first in ("COMMIT", "END"):
        return "commits"
    if first == "ROLLBACK":
        rest = words[1].upper().rstrip(";") if len(words) > 1 else ""
        if rest == "TO" or (rest == "TRANSACTION" and len(words) > 2):
            return "other"  # ROLLBACK [TRANSACTION] TO a savepoint: the transaction goes on
        return "rollbacks"
    return "other"


class _Statements:
    """The statements traced on one connection.

    Each connection's callback runs on that connection's own thread only, so
    each keeps its own figures and none is shared between threads.
    """

    def __init__(self, changes: Callable[[], int]) -> None:
        self.counts = dict.fromkeys(_FIGURES, 0)
        self._changes = changes  # the connection's total_changes, read in its own thread
        self._last_write: tuple[str, int] | None = None
        self.synced = True  # the database opens its threads' connections synchronous = FULL

    def __call__(self, sql: str) -> None:
        k = kind(sql)
        if k == "other":
            setting = _SYNCHRONOUS.match(sql)
            if setting is not None:
                self.synced = setting[1].upper() in ("FULL", "EXTRA", "2", "3")
        elif k == "commits":
            self.counts["syncs"] += self.synced
        if k == "writes":
            seen = (sql, self._changes())
            if seen == self._last_write:
                return  # the same statement reported again for a trigger it fired
            self._last_write = seen
        else:
            self._last_write = None
        self.counts[k] += 1


class Counter:
    """A running count on one database (made by ``counting``)."""

    def __init__(self) -> None:
        self._statements: list[_Statements] = []
        self._trips = 0
        self._read_trips = 0
        self._frozen: Tally | None = None

    def statements(self, changes: Callable[[], int]) -> _Statements:
        """A new per-connection tally, part of this count (``changes``: its total_changes)."""
        watcher = _Statements(changes)
        self._statements.append(watcher)  # list.append is atomic: any thread may call it
        return watcher

    def trip(self, reading: bool = False) -> None:
        """One more hand-over to a database thread (called on the event loop); ``reading``:
        to the read connection's."""
        self._trips += 1
        self._read_trips += reading

    def watch(self, conn: sqlite3.Connection, synced: bool = True) -> None:
        """Count the statements of a plain sqlite3 connection (in its own thread);
        ``synced``: whether it opened with ``synchronous = FULL``."""
        watcher = self.statements(lambda: conn.total_changes)
        watcher.synced = synced
        conn.set_trace_callback(watcher)

    def snapshot(self) -> Tally:
        """The figures so far (after the count ended: its final figures)."""
        if self._frozen is not None:
            return self._frozen
        total = dict.fromkeys(_FIGURES, 0)
        for watcher in list(self._statements):
            for name, n in watcher.counts.items():
                total[name] += n
        return Tally(trips=self._trips, read_trips=self._read_trips, **total)

    def freeze(self) -> None:
        self._frozen = self.snapshot()

    @property
    def reads(self) -> int:
        return self.snapshot().reads

    @property
    def writes(self) -> int:
        return self.snapshot().writes

    @property
    def commits(self) -> int:
        return self.snapshot().commits

    @property
    def syncs(self) -> int:
        return self.snapshot().syncs

    @property
    def rollbacks(self) -> int:
        return self.snapshot().rollbacks

    @property
    def trips(self) -> int:
        return self.snapshot().trips


def _changes_of(conn: aiosqlite.Connection) -> Callable[[], int]:
    return lambda: conn.total_changes


def _count_trips(conn: aiosqlite.Connection, counter: Counter, reading: bool) -> None:
    # Every call aiosqlite hands to its thread (execute, fetch, cursor close, commit…)
    # goes through Connection._execute; an instance attribute shadows the method for
    # the count's life only.
    through: Callable[..., Any] = conn._execute

    async def counted(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        counter.trip(reading)
        return await through(fn, *args, **kwargs)

    conn._execute = counted  # type: ignore[method-assign]


def _uncount_trips(conn: aiosqlite.Connection) -> None:
    conn.__dict__.pop("_execute", None)


@asynccontextmanager
async def counting(db: Database) -> AsyncIterator[Counter]:
    """Count the database's statements, commits and thread trips while inside."""
    if db.tracing is not None:
        raise RuntimeError("this database is already being counted")
    counter = Counter()
    conns = db.connections()
    for conn in conns:
        # aiosqlite's total_changes reads its sqlite3 connection directly: called
        # from the trace callback, it runs in that connection's own thread.
        await conn.set_trace_callback(counter.statements(_changes_of(conn)))
    for conn in conns:
        _count_trips(conn, counter, reading=conn is db.conn)
    if db.here is not None:
        # On the event loop (reads, steps' writes): statements, and no trip.
        counter.watch(db.here, synced=False)
    db.tracing = counter
    try:
        yield counter
    finally:
        counter.freeze()
        db.tracing = None
        if db.here is not None:
            db.here.set_trace_callback(None)
        for conn in conns:
            _uncount_trips(conn)
            # sqlite3 takes None to remove the callback; aiosqlite's hint forgets it.
            await conn.set_trace_callback(None)  # type: ignore[arg-type]
