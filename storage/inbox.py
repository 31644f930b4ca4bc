"""The inbox: received updates, stored before they are confirmed.

python-telegram-bot's polling confirms an update (by asking for the next
offset) before its handler has run, so a crash could lose it. Every update is
written here first; it is marked done in the transaction that applies it
(``Database.write(update_id)``), and those not done are fed again at start-up.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from storage.db import Database, Query, Reader, Row, Writes


async def receive(db: Database, updates: Iterable[dict[str, Any]]) -> None:
    """Store raw updates; one seen before is ignored. One trip to the writer's thread for
    the whole batch (synced: the updates are confirmed to Telegram after this)."""
    batch = [(u["update_id"], json.dumps(u, ensure_ascii=False)) for u in updates]
    if not batch:
        return

    def store(w: Writes) -> None:
        for update_id, payload in batch:
            w.run(
                "INSERT INTO inbox (update_id, payload, received_at) VALUES (?, ?, ?)"
                " ON CONFLICT (update_id) DO NOTHING",
                (update_id, payload, w.now()),
            )

    await db.write_at_once(store)


async def is_done(db: Reader, update_id: int) -> bool:
    return await db.value("SELECT done_at FROM inbox WHERE update_id = ?", (update_id,)) is not None


async def mark_done(db: Database, update_id: int, error: str | None = None) -> None:
    async with db.write() as tx:
        await tx.run(
            "UPDATE inbox SET done_at = ?, error = ? WHERE update_id = ? AND done_at IS NULL",
            (tx.now(), error, update_id),
        )


async def mark_many_done(db: Database, update_ids: list[int]) -> None:
    """Mark updates done in one transaction (those a flood guard dropped)."""
    async with db.write() as tx:
        for update_id in update_ids:
            await tx.run(
                "UPDATE inbox SET done_at = ? WHERE update_id = ? AND done_at IS NULL",
                (tx.now(), update_id),
            )


async def record_error(
    db: Database, update_id: int, *, tg_user_id: int | None, kind: str, error: str
) -> bool:
    """Keep a handler's failure for the operator, and mark its update done.

    The update may already be done (it failed after its commit, e.g. while
    replying): the failure is kept all the same. True when it came after the commit.
    """
    async with db.write() as tx:
        after_commit = await tx.value(
            "SELECT done_at IS NOT NULL FROM inbox WHERE update_id = ?", (update_id,)
        )
        await tx.run(
            "UPDATE inbox SET done_at = COALESCE(done_at, ?), error = ? WHERE update_id = ?",
            (tx.now(), error, update_id),
        )
        await tx.run(
            "INSERT INTO update_errors (update_id, at, tg_user_id, kind, after_commit, error)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (update_id, tx.now(), tg_user_id, kind, int(bool(after_commit)), error),
        )
    return bool(after_commit)


async def errors(db: Reader, limit: int = 50) -> list[dict[str, Any]]:
    """The latest failures, newest first (``xiaoan errors``)."""
    rows = await db.all(
        "SELECT update_id, at, tg_user_id, kind, after_commit, error FROM update_errors"
        " ORDER BY id DESC LIMIT ?",
        (limit,),
    )
    return [dict(r) for r in rows]


async def undone(db: Reader) -> list[dict[str, Any]]:
    """Updates received but not applied (the bot stopped in between), oldest first."""
    rows = await db.all("SELECT payload FROM inbox WHERE done_at IS NULL ORDER BY update_id")
    return [json.loads(r["payload"]) for r in rows]


async def prune(db: Database, before_iso: str, errors_before_iso: str | None = None) -> int:
    """Forget applied updates received before a time, and failures before another."""
    async with db.write() as tx:
        if errors_before_iso is not None:
            await tx.run("DELETE FROM update_errors WHERE at < ?", (errors_before_iso,))
        return await tx.run(
            "DELETE FROM inbox WHERE done_at IS NOT NULL AND received_at < ?", (before_iso,)
        )


@dataclass(frozen=True)
class Arrival:
    """What the guard knows of an update and its sender before any handler runs."""

    done: bool  # already applied (a replay after a crash, or a duplicate)
    # In the inbox (stored, synced, before polling confirmed it): should its handler's
    # commit be lost, it is applied again at start-up.
    stored: bool
    person_id: int | None  # a member
    blocked: bool  # the person had blocked the bot (this update says they are back)
    joining: bool  # a join under way (a name or phone asked)


def arrival_query(update_id: int, tg_user_id: int) -> Query:
    """The guard's read, one row, to run in the same trip as the handler's first reads."""
    return (
        "SELECT (SELECT done_at IS NOT NULL FROM inbox WHERE update_id = ?),"
        " (SELECT id FROM people WHERE tg_user_id = ?),"
        " (SELECT blocked_at IS NOT NULL FROM people WHERE tg_user_id = ?),"
        " EXISTS (SELECT 1 FROM pending_inputs WHERE tg_user_id = ? AND kind = 'join')",
        (update_id, tg_user_id, tg_user_id, tg_user_id),
    )


def arrival_of(rows: list[Row]) -> Arrival:
    """``arrival_query``'s answer."""
    done, person_id, blocked, joining = rows[0]
    return Arrival(bool(done), done is not None, person_id, bool(blocked), bool(joining))
