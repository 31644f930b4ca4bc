"""Group chats the bot has told that it works in private chats only."""

from __future__ import annotations

from storage.db import Tx


async def tell_once(tx: Tx, chat_id: int, kind: str) -> bool:
    """True the first time a group (supergroup, channel) is seen: it is to be told."""
    if await tx.value("SELECT 1 FROM group_chats WHERE chat_id = ?", (chat_id,)):
        return False
    # (A group's id is negative: it is the row id, so tx.run's answer cannot tell.)
    await tx.run(
        "INSERT INTO group_chats (chat_id, kind, told_at) VALUES (?, ?, ?)",
        (chat_id, kind, tx.now()),
    )
    return True
