"""storage.trace: what a stretch of code costs the database, counted exactly."""

from __future__ import annotations

import sqlite3

import pytest

from storage.db import Database
from storage.trace import Tally, counting, kind

INBOX_ROW = "INSERT INTO inbox (update_id, payload, received_at) VALUES (1, '{}', 'x')"


def test_statement_kinds() -> None:
    assert kind("SELECT 1") == "reads"
    assert kind("  -- a comment\n  select * from people") == "reads"
    assert kind("WITH x AS (SELECT 1) SELECT * FROM x") == "reads"
    assert kind("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x") == "writes"
    assert kind("INSERT INTO inbox VALUES (1)") == "writes"
    assert kind("update people set name = 'x'") == "writes"
    assert kind("DELETE FROM outbox") == "writes"
    assert kind("COMMIT") == "commits"
    assert kind("ROLLBACK") == "rollbacks"
    assert kind("ROLLBACK TO s1") == "other"
    assert kind("ROLLBACK TRANSACTION TO SAVEPOINT s1") == "other"
    assert kind("BEGIN IMMEDIATE") == "other"
    assert kind("SAVEPOINT s1") == "other"
    assert kind("PRAGMA synchronous = FULL") == "other"


async def test_counts_reads_writes_commits_and_trips(fresh_db: Database) -> None:
    async with counting(fresh_db) as tally:
        await fresh_db.one("SELECT 1")
        await fresh_db.all("SELECT * FROM people")
        async with fresh_db.write() as tx:
            await tx.run(
                "INSERT INTO inbox (update_id, payload, received_at) VALUES (1, '{}', 'x')"
            )
            await tx.value("SELECT COUNT(*) FROM inbox")
    assert (tally.reads, tally.writes, tally.commits, tally.rollbacks) == (3, 1, 1, 0)
    # two reads, then BEGIN, INSERT (execute + cursor close), SELECT, COMMIT: one trip each
    # except the cursor's close; whatever the exact figure, each await is at least one.
    assert tally.trips >= 6
    assert tally.snapshot().read_trips == 2  # the two reads outside the transaction


async def test_exact_trips_for_one_read(fresh_db: Database) -> None:
    async with counting(fresh_db) as tally:
        await fresh_db.one("SELECT 1")
    assert tally.snapshot() == Tally(reads=1, trips=1, read_trips=1)


async def test_rollback_is_counted_not_as_a_commit(fresh_db: Database) -> None:
    async with counting(fresh_db) as tally:
        with pytest.raises(sqlite3.IntegrityError):
            async with fresh_db.write() as tx:
                await tx.run(
                    "INSERT INTO inbox (update_id, payload, received_at) VALUES (1, '{}', 'x')"
                )
                await tx.run(
                    "INSERT INTO inbox (update_id, payload, received_at) VALUES (1, '{}', 'x')"
                )
    assert tally.commits == 0
    assert tally.rollbacks == 1
    assert tally.writes == 2


async def test_a_trigger_does_not_count_its_statement_twice(fresh_db: Database) -> None:
    # people has BEFORE INSERT/UPDATE triggers (a person's chat is their private chat):
    # SQLite traces the statement once more for each trigger that fires.
    async with fresh_db.write() as tx:
        person = await tx.run(
            "INSERT INTO people (tg_user_id, chat_id, name, phone, joined_at)"
            " VALUES (7, 7, 'a', '1', 'x')"
        )
    async with counting(fresh_db) as tally, fresh_db.write() as tx:
        await tx.run("UPDATE people SET chat_id = 7, tg_user_id = 7 WHERE id = ?", (person,))
    assert tally.writes == 1


async def test_in_thread_is_one_trip_and_its_statements_count(fresh_db: Database) -> None:
    def work(conn: sqlite3.Connection) -> int:
        conn.execute("SELECT 1").fetchall()
        return len(conn.execute("SELECT * FROM people").fetchall())

    async with counting(fresh_db) as tally:
        await fresh_db.in_thread(work)
    assert tally.snapshot() == Tally(reads=2, trips=1)


async def test_snapshots_subtract_and_the_count_ends(fresh_db: Database) -> None:
    async with counting(fresh_db) as tally:
        await fresh_db.one("SELECT 1")
        first = tally.snapshot()
        await fresh_db.one("SELECT 2")
        await fresh_db.one("SELECT 3")
        step = tally.snapshot() - first
    assert step == Tally(reads=2, trips=2, read_trips=2)
    await fresh_db.one("SELECT 4")  # after the count: not counted, and nothing installed
    assert tally.reads == 3
    assert fresh_db.tracing is None
    assert all("_execute" not in vars(conn) for conn in fresh_db.connections())


async def test_one_count_at_a_time(fresh_db: Database) -> None:
    async with counting(fresh_db):
        with pytest.raises(RuntimeError):
            async with counting(fresh_db):
                pass
