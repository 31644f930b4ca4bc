"""Group chats the bot has told that it works in private chats only."""

from __future__ import annotations

from storage.db import Tx


async def tell_once(tx: Tx, chat_id: int, kind: str) -> bool:
    """True the first time a group (supergroup, channel) is seen: it is to be told."""
    return (
        await tx.run(
            "INSERT INTO group_chats (chat_id, kind, told_at) VALUES (?, ?, ?)"
            " ON CONFLICT (chat_id) DO NOTHING",
            (chat_id, kind, tx.now()),
        )
        > 0
    )
