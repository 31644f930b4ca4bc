"""A tap's first reads on the event loop itself (``Database.read_here``): the same rows as
the reader's thread gives, what was just committed seen, no trip counted, and the
reader's thread taking over when SQLite says the database is busy."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from storage import trace
from storage.db import Database, Query

QUERIES: list[Query] = [
    ("SELECT COUNT(*) FROM inbox", ()),
    ("SELECT update_id, done_at FROM inbox WHERE update_id = ?", (7,)),
    ("SELECT 1 WHERE 0", ()),
]


async def stored(db: Database, update_id: int) -> None:
    async with db.write() as tx:
        await tx.run(
            "INSERT INTO inbox (update_id, payload, received_at) VALUES (?, '{}', ?)",
            (update_id, tx.now()),
        )


def plain(found: list[list[Any]]) -> list[list[tuple[Any, ...]]]:
    return [[tuple(row) for row in rows] for rows in found]


async def test_the_same_rows_as_the_readers_thread(fresh_db: Database) -> None:
    await stored(fresh_db, 7)
    here = await fresh_db.read_here(QUERIES)
    assert plain(here) == plain(await fresh_db.read_many(QUERIES))
    assert plain(here) == [[(1,)], [(7, None)], []]


async def test_a_commit_is_seen_by_the_next_read(fresh_db: Database) -> None:
    assert plain(await fresh_db.read_here(QUERIES[:1])) == [[(0,)]]
    await stored(fresh_db, 8)
    assert plain(await fresh_db.read_here(QUERIES[:1])) == [[(1,)]]


async def test_counted_as_statements_without_a_trip(fresh_db: Database) -> None:
    async with trace.counting(fresh_db) as tally:
        await fresh_db.read_here(QUERIES)
    assert (tally.reads, tally.trips) == (3, 0)


class Busy:
    """A connection that SQLite would answer "database is locked" (the WAL being reset)."""

    def execute(self, *args: Any) -> Any:
        raise sqlite3.OperationalError("database is locked")

    def set_trace_callback(self, callback: Any) -> None:
        """Counted as any connection is."""


async def test_busy_on_the_event_loop_read_by_the_readers_thread(
    fresh_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await stored(fresh_db, 7)
    monkeypatch.setattr(fresh_db, "here", Busy())
    async with trace.counting(fresh_db) as tally:
        found = await fresh_db.read_here(QUERIES)
    assert plain(found) == [[(1,)], [(7, None)], []]
    assert tally.snapshot().read_trips == 1
