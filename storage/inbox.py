"""The inbox: received updates, stored before they are confirmed.

python-telegram-bot's polling confirms an update (by asking for the next
offset) before its handler has run, so a crash could lose it. Every update is
written here first; it is marked done in the transaction that applies it
(``Database.write(update_id)``), and those not done are fed again at start-up.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from storage.db import Database, Reader


async def receive(db: Database, updates: Iterable[dict[str, Any]]) -> None:
    """Store raw updates; one seen before is ignored."""
    batch = [(u["update_id"], json.dumps(u, ensure_ascii=False)) for u in updates]
    if not batch:
        return
    async with db.write() as tx:
        for update_id, payload in batch:
            await tx.run(
                "INSERT INTO inbox (update_id, payload, received_at) VALUES (?, ?, ?)"
                " ON CONFLICT (update_id) DO NOTHING",
                (update_id, payload, tx.now()),
            )


async def is_done(db: Reader, update_id: int) -> bool:
    return await db.value("SELECT done_at FROM inbox WHERE update_id = ?", (update_id,)) is not None


async def mark_done(db: Database, update_id: int, error: str | None = None) -> None:
    async with db.write() as tx:
        await tx.run(
            "UPDATE inbox SET done_at = ?, error = ? WHERE update_id = ? AND done_at IS NULL",
            (tx.now(), error, update_id),
        )


async def undone(db: Reader) -> list[dict[str, Any]]:
    """Updates received but not applied (the bot stopped in between), oldest first."""
    rows = await db.all("SELECT payload FROM inbox WHERE done_at IS NULL ORDER BY update_id")
    return [json.loads(r["payload"]) for r in rows]


async def prune(db: Database, before_iso: str) -> int:
    """Forget applied updates received before a time; they are no longer needed."""
    async with db.write() as tx:
        return await tx.run(
            "DELETE FROM inbox WHERE done_at IS NOT NULL AND received_at < ?", (before_iso,)
        )
