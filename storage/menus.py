"""What each person's command menu was last set to."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.roles import Role
from storage.db import Reader, Tx


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
        # Not those who blocked the bot: set once they can be reached again.
        " WHERE p.chat_id IS NOT NULL AND p.blocked_at IS NULL ORDER BY p.id"
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
