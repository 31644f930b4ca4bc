"""The question a person may answer by typing (a date, say), so the answer shows in its place.

One per chat: asking another replaces it. A topic names what it asks
(``h:12:deadline``), so a typed answer is confirmed only under its own question.
"""

from __future__ import annotations

from storage.db import Reader, Row, Tx


async def open_question(db: Reader, chat_id: int, topic: str) -> Row | None:
    """The question on ``topic`` this chat may answer by typing, if it is the open one."""
    return await db.one(
        "SELECT * FROM open_questions WHERE chat_id = ? AND topic = ?", (chat_id, topic)
    )


async def set_open_question(tx: Tx, chat_id: int, topic: str, message_id: int, html: str) -> None:
    """The question just asked, to confirm its typed answer in its place."""
    await tx.run(
        "INSERT INTO open_questions (chat_id, topic, message_id, html, asked_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (chat_id) DO UPDATE SET topic = excluded.topic,"
        " message_id = excluded.message_id, html = excluded.html, asked_at = excluded.asked_at",
        (chat_id, topic, message_id, html, tx.now()),
    )


async def close_question(tx: Tx, chat_id: int) -> None:
    """The open question was answered (or another was asked)."""
    await tx.run("DELETE FROM open_questions WHERE chat_id = ?", (chat_id,))
