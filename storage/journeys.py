"""Which question of their journey each person has been shown.

A person in the middle of a journey (joining, a form, a walk, a quick report,
a fix report...) answers the question on their screen. When a crash swallows
the reply to an answer, the next question never reaches them and they type
the answer again; taken as the answer to the question the bot now waits for,
it would land in the wrong field. So every transaction of a person's own
update moves their ``version``; a question, once sent, records the version it
was asked at and its message id; and a typed text counts as an answer only
when the question it answers is the one shown, and it came after it (a
private chat's message ids grow with every message, the bot's and theirs).
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database, Reader, Tx


@dataclass(frozen=True)
class Unshown:
    """A person whose current question may never have reached them."""

    tg_user_id: int
    kind: str
    data: str
    version: int
    language: str


async def moved(tx: Tx, tg_user_id: int) -> None:
    """In every transaction of a person's update: what they are asked may have changed."""
    await tx.run(
        "INSERT INTO journey_marks (tg_user_id, version) VALUES (?, 1)"
        " ON CONFLICT (tg_user_id) DO UPDATE SET version = version + 1",
        (tg_user_id,),
    )


async def shown(
    db: Database, tg_user_id: int, message_id: int, language: str, version: int | None = None
) -> None:
    """The current question reached the person as ``message_id``.

    ``version``: only if nothing moved since it was read (a question sent from
    outside the person's updates, at start-up). Not made durable at once: if
    a power cut loses it, the question is merely asked again.
    """
    async with db.write(durable=False) as tx:
        await tx.run(
            "INSERT INTO journey_marks (tg_user_id, version, shown_version, shown_message_id,"
            " language) VALUES (?, 0, 0, ?, ?) ON CONFLICT (tg_user_id) DO UPDATE SET"
            " shown_version = version, shown_message_id = excluded.shown_message_id,"
            " language = excluded.language WHERE ? IS NULL OR version = ?",
            (tg_user_id, message_id, language, version, version),
        )


async def answers_shown_question(db: Reader, tg_user_id: int, message_id: int) -> bool:
    """Whether a text (``message_id``) came after the question now waiting was shown."""
    row = await db.one(
        "SELECT version, shown_version, shown_message_id FROM journey_marks WHERE tg_user_id = ?",
        (tg_user_id,),
    )
    return (
        row is not None
        and row["shown_version"] == row["version"]
        and message_id > (row["shown_message_id"] or 0)
    )


async def unshown(db: Reader) -> list[Unshown]:
    """People in a journey whose current question was not shown since it last moved."""
    rows = await db.all(
        "SELECT p.tg_user_id, p.kind, p.data, m.version,"
        " COALESCE(m.language, pe.language, 'zh') AS language"
        " FROM pending_inputs p JOIN journey_marks m ON m.tg_user_id = p.tg_user_id"
        " LEFT JOIN people pe ON pe.tg_user_id = p.tg_user_id"
        " WHERE m.shown_version IS NOT m.version ORDER BY p.tg_user_id"
    )
    return [
        Unshown(r["tg_user_id"], r["kind"], r["data"], r["version"], r["language"]) for r in rows
    ]
