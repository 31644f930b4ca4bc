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

import weakref
from dataclasses import dataclass

from storage import questions
from storage.db import Database, Reader, Tx, Writes


@dataclass(frozen=True)
class Unshown:
    """A person whose current question may never have reached them."""

    tg_user_id: int
    kind: str
    data: str
    version: int
    language: str


@dataclass(frozen=True)
class Shown:
    """A question shown to a person and not yet written down (``shown_later``)."""

    message_id: int
    language: str


# Per database: questions shown (a walk's step, edited in place) whose mark waits for the
# person's next transaction. The mark is worth no transaction of its own: it stands for
# the version the person's journey is at now, and only their own transaction moves that.
_LATER: weakref.WeakKeyDictionary[Database, dict[int, Shown]] = weakref.WeakKeyDictionary()


def shown_later(db: Database, tg_user_id: int, message_id: int, language: str) -> None:
    """The current question reached the person as ``message_id``: written with their next
    transaction (``moved``), or at shutdown (``write_shown``). Lost only if the process
    dies first, and then the question is merely asked again at start-up."""
    _LATER.setdefault(db, {})[tg_user_id] = Shown(message_id, language)


def take_shown(db: Database, tg_user_id: int) -> Shown | None:
    """The person's question shown and not written down yet (taken: ``moved`` writes it)."""
    return _LATER.get(db, {}).pop(tg_user_id, None)


def keep_shown(db: Database, tg_user_id: int, shown: Shown) -> None:
    """A taken mark back, its transaction rolled back (unless a newer one came meanwhile)."""
    _LATER.setdefault(db, {}).setdefault(tg_user_id, shown)


async def write_shown(db: Database) -> int:
    """Write every mark still waiting (at shutdown); how many."""
    waiting = _LATER.pop(db, {})
    if waiting:
        async with db.write(durable=False) as tx:
            for tg_user_id, shown in waiting.items():
                await _mark(tx, tg_user_id, shown.message_id, shown.language, None)
    return len(waiting)


async def moved(tx: Tx, tg_user_id: int, shown: Shown | None = None) -> None:
    """In every transaction of a person's update: what they are asked may have changed.

    ``shown``: the question they were shown last, not written down yet (``take_shown``),
    marked as shown at the version it was asked at, in the same statement.
    """
    await tx.run(*_moving(tg_user_id, shown))


def moved_in(w: Writes, tg_user_id: int, shown: Shown | None = None) -> None:
    """``moved`` inside a write run at once (``Writes``)."""
    w.run(*_moving(tg_user_id, shown))


def _moving(tg_user_id: int, shown: Shown | None) -> tuple[str, tuple[object, ...]]:
    return (
        "INSERT INTO journey_marks (tg_user_id, version) VALUES (?, 1)"
        " ON CONFLICT (tg_user_id) DO UPDATE SET version = version + 1,"
        " shown_version = CASE WHEN ? THEN version ELSE shown_version END,"
        " shown_message_id = COALESCE(?, shown_message_id), language = COALESCE(?, language)",
        (
            tg_user_id,
            shown is not None,
            None if shown is None else shown.message_id,
            None if shown is None else shown.language,
        ),
    )


async def shown(
    db: Database,
    tg_user_id: int,
    message_id: int,
    language: str,
    version: int | None = None,
    typed: tuple[str, str] | None = None,
) -> None:
    """The current question reached the person as ``message_id``.

    ``version``: only if nothing moved since it was read (a question sent from
    outside the person's updates, at start-up). ``typed``: a question answered by
    typing (its topic and HTML), remembered in the same transaction to confirm the
    answer in its place (``storage.questions``). Not made durable at once: if a power
    cut loses it, the question is merely asked again (and a typed answer confirmed
    below the question rather than in it).
    """
    _LATER.get(db, {}).pop(tg_user_id, None)  # this one is newer
    async with db.write(durable=False) as tx:
        await _mark(tx, tg_user_id, message_id, language, version)
        if typed is not None:
            topic, html = typed
            await questions.set_open_question(tx, tg_user_id, topic, message_id, html)


async def _mark(
    tx: Tx, tg_user_id: int, message_id: int, language: str, version: int | None
) -> None:
    await tx.run(
        "INSERT INTO journey_marks (tg_user_id, version, shown_version, shown_message_id,"
        " language) VALUES (?, 0, 0, ?, ?) ON CONFLICT (tg_user_id) DO UPDATE SET"
        " shown_version = version, shown_message_id = excluded.shown_message_id,"
        " language = excluded.language WHERE ? IS NULL OR version = ?",
        (tg_user_id, message_id, language, version, version),
    )


async def answers_shown_question(db: Database, tg_user_id: int, message_id: int) -> bool:
    """Whether a text (``message_id``) came after the question now waiting was shown."""
    waiting = _LATER.get(db, {}).get(tg_user_id)
    if waiting is not None:  # shown at the version they are at now
        return message_id > waiting.message_id
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
    """People in a journey whose current question was not shown since it last moved, and
    who have no update of theirs waiting to be applied again (at start-up, after a crash
    or a power cut): that update's handler answers them, and asking the question before
    it runs would ask one it is about to move on from."""
    rows = await db.all(
        "SELECT p.tg_user_id, p.kind, p.data, m.version,"
        " COALESCE(m.language, pe.language, 'zh') AS language"
        " FROM pending_inputs p JOIN journey_marks m ON m.tg_user_id = p.tg_user_id"
        " LEFT JOIN people pe ON pe.tg_user_id = p.tg_user_id"
        " WHERE m.shown_version IS NOT m.version AND NOT EXISTS ("
        "  SELECT 1 FROM inbox i WHERE i.done_at IS NULL AND p.tg_user_id ="
        "   COALESCE(json_extract(i.payload, '$.message.from.id'),"
        "    json_extract(i.payload, '$.callback_query.from.id'),"
        "    json_extract(i.payload, '$.edited_message.from.id'))"
        " ) ORDER BY p.tg_user_id"
    )
    return [
        Unshown(r["tg_user_id"], r["kind"], r["data"], r["version"], r["language"]) for r in rows
    ]
