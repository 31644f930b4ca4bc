"""What each person's command menu was last set to, and the open typed questions."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.roles import Role
from storage.db import Reader, Row, Tx


@dataclass(frozen=True)
class MenuHolder:
    """A person whose chat has a menu of its own: where, in which language, by which roles."""

    person_id: int
    chat_id: int
    language: str
    roles: frozenset[Role]
    digest: str | None  # what was last set (None: never)


async def menu_holders(db: Reader) -> list[MenuHolder]:
    """Every person with a chat, their roles, and the menu last set for them."""
    rows = await db.all(
        "SELECT p.id, p.chat_id, p.language, c.digest,"
        " (SELECT group_concat(m.role) FROM memberships m WHERE m.person_id = p.id) AS roles"
        " FROM people p LEFT JOIN command_menus c ON c.person_id = p.id"
        " WHERE p.chat_id IS NOT NULL ORDER BY p.id"
    )
    return [
        MenuHolder(
            r["id"],
            r["chat_id"],
            r["language"] or "zh",
            frozenset(Role(x) for x in (r["roles"] or "").split(",") if x),
            r["digest"],
        )
        for r in rows
    ]


async def record_menu(tx: Tx, person_id: int, digest: str) -> None:
    """The menu now set for this person's chat."""
    await tx.run(
        "INSERT INTO command_menus (person_id, digest, set_at) VALUES (?, ?, ?)"
        " ON CONFLICT (person_id) DO UPDATE SET digest = excluded.digest, set_at = excluded.set_at",
        (person_id, digest, tx.now()),
    )


async def open_question(db: Reader, chat_id: int) -> Row | None:
    """The question this chat may answer by typing, if one is open."""
    return await db.one("SELECT * FROM open_questions WHERE chat_id = ?", (chat_id,))


async def set_open_question(tx: Tx, chat_id: int, message_id: int, html: str) -> None:
    """The question just asked, to confirm its typed answer in its place."""
    await tx.run(
        "INSERT INTO open_questions (chat_id, message_id, html, asked_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (chat_id) DO UPDATE SET message_id = excluded.message_id,"
        " html = excluded.html, asked_at = excluded.asked_at",
        (chat_id, message_id, html, tx.now()),
    )


async def close_question(tx: Tx, chat_id: int) -> None:
    """The open question was answered (or another was asked)."""
    await tx.run("DELETE FROM open_questions WHERE chat_id = ?", (chat_id,))
