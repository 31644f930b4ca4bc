"""The outbox: what the bot says on its own initiative, stored before it is sent.

A message is written in the same transaction as the change that causes it
(a fix reported, a hazard closed, a reminder planned), under a unique key:
writing it again changes nothing, so it is stored once and sent once. The
sending job (``scheduler.sender``) takes due rows, sends them and records
the outcome here.

Telegram offers no way to make a send safe to repeat, so a message is marked
in flight (committed) before each call and unmarked by its outcome; the
"sent" mark jumps the writer's queue, so the window in which a crash leaves
a delivered message unmarked is one short transaction. A message found in
flight at start-up (``recover_in_flight``) is sent again once and recorded
as possibly sent twice; where the channel honours an idempotency key (the
local chat) the repeat returns the first result and nothing is sent twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from storage.db import Database, Reader, Row, Tx

Buttons = Sequence[Sequence[tuple[str, str]]]  # rows of (label, callback data)


@dataclass(frozen=True)
class Outgoing:
    """One message to one person, as stored."""

    id: int
    key: str
    kind: str
    person_id: int
    chat_id: int
    text: str
    buttons: list[list[tuple[str, str]]]
    photos: list[str]
    attempts: int
    album_sent: bool
    created_at: str = ""
    interrupted: int = 0  # times the bot stopped while this message was in flight

    def idempotency_key(self, part: str) -> str:
        """The key the local chat dedups a send by: this row, whatever reset ids
        (a new database counting from 1 again gives other keys)."""
        seed = f"{self.id}|{self.key}|{self.created_at}|{part}"
        return hashlib.sha256(seed.encode()).hexdigest()[:32]


def outgoing(row: Row) -> Outgoing:
    return Outgoing(
        id=row["id"],
        key=row["key"],
        kind=row["kind"],
        person_id=row["person_id"],
        chat_id=row["chat_id"],
        text=row["text"],
        buttons=[[(label, data) for label, data in r] for r in json.loads(row["buttons"])],
        photos=list(json.loads(row["photos"])),
        attempts=row["attempts"],
        album_sent=row["album_sent_at"] is not None,
        created_at=row["created_at"],
        interrupted=row["interrupted"],
    )


async def enqueue(
    tx: Tx,
    *,
    key: str,
    kind: str,
    person_id: int,
    text: str,
    buttons: Buttons = (),
    photos: Sequence[str] = (),
    not_before: datetime | None = None,
) -> bool:
    """Store a message to send; False when one with this key exists already."""
    chat_id = await tx.value("SELECT chat_id FROM people WHERE id = ?", (person_id,))
    if chat_id is None:
        raise LookupError(f"no person {person_id}")
    new = await tx.run(
        "INSERT INTO outbox (key, kind, person_id, chat_id, text, buttons, photos,"
        " created_at, not_before) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
        (
            key,
            kind,
            person_id,
            chat_id,
            text,
            json.dumps([list(map(list, row)) for row in buttons], ensure_ascii=False),
            json.dumps(list(photos)),
            tx.now(),
            (not_before or tx.clock.now()).isoformat(timespec="seconds"),
        ),
    )
    if new:
        tx.queued_notice = True
    return new > 0


async def due(
    db: Reader, now: datetime, limit: int = 50, hold_kinds: str | None = None
) -> list[Outgoing]:
    """Pending messages whose time has come, oldest first.

    Kinds starting with ``hold_kinds`` are held back (reminders in quiet hours).
    """
    stamp = now.isoformat(timespec="seconds")
    rows = await db.all(
        "SELECT o.* FROM outbox o JOIN people p ON p.id = o.person_id"
        " WHERE o.state = 'pending' AND o.not_before <= ? AND p.blocked_at IS NULL"
        " AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= ?)"
        " AND (? IS NULL OR o.kind NOT LIKE ? || '%')"
        " ORDER BY o.not_before, o.id LIMIT ?",
        (stamp, stamp, hold_kinds, hold_kinds, limit),
    )
    return [outgoing(r) for r in rows]


# Given up on a message the bot stopped twice while sending: sending it a third
# time could make three copies (and a message that kills the bot would loop).
STOPPED_TWICE = "the bot stopped twice while sending it: possibly sent, not sent again"


async def mark_in_flight(db: Database, message_id: int) -> None:
    """Committed before the call to Telegram: a crash from here on is noticed at start-up."""
    async with db.write() as tx:
        await tx.run("UPDATE outbox SET in_flight_at = ? WHERE id = ?", (tx.now(), message_id))


async def recover_in_flight(db: Database, idempotent: bool) -> list[int]:
    """At start-up, before sending: messages the bot stopped in the middle of sending.

    Each is sent again; where the channel cannot deduplicate (``idempotent``
    False, i.e. Telegram) only once: one stopped a second time is given up
    (``failed``, ``STOPPED_TWICE``). Returns the ids found in flight.
    """
    async with db.write() as tx:
        rows = await tx.all("SELECT id, interrupted FROM outbox WHERE in_flight_at IS NOT NULL")
        for row in rows:
            give_up = not idempotent and row["interrupted"] >= 1
            await tx.run(
                "UPDATE outbox SET in_flight_at = NULL, interrupted = interrupted + 1,"
                " possibly_twice = possibly_twice OR ?,"
                " state = CASE WHEN ? AND state = 'pending' THEN 'failed' ELSE state END,"
                " last_error = CASE WHEN ? AND state = 'pending' THEN ? ELSE last_error END"
                " WHERE id = ?",
                (give_up, give_up, give_up, STOPPED_TWICE, row["id"]),
            )
    return [row["id"] for row in rows]


async def mark_album_sent(db: Database, message_id: int) -> None:
    async with db.write(urgent=True) as tx:
        await tx.run(
            "UPDATE outbox SET album_sent_at = ?, in_flight_at = NULL WHERE id = ?",
            (tx.now(), message_id),
        )


async def mark_sent(db: Database, message_id: int, idempotent: bool = False) -> None:
    """Telegram accepted it: urgent, so no other writer holds the mark up.

    A message sent again after a stop is recorded as possibly sent twice,
    unless the channel deduplicated the repeat (``idempotent``).
    """
    async with db.write(urgent=True) as tx:
        await tx.run(
            "UPDATE outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1,"
            " next_attempt_at = NULL, in_flight_at = NULL,"
            " possibly_twice = (interrupted > 0 AND NOT ?) WHERE id = ?",
            (tx.now(), idempotent, message_id),
        )


async def mark_retry(
    db: Database, message_id: int, error: str, retry_at: datetime, unknown: bool = False
) -> None:
    """A failed attempt that is worth another one at ``retry_at``.

    ``unknown``: the request left and no answer came back (a timeout, a dropped
    connection): Telegram may have it, so the next copy counts as a repeat.
    """
    async with db.write() as tx:
        await tx.run(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,"
            " in_flight_at = NULL, interrupted = interrupted + ? WHERE id = ?",
            (error[:500], retry_at.isoformat(timespec="seconds"), int(unknown), message_id),
        )


async def mark_failed(db: Database, message_id: int, error: str, unknown: bool = False) -> None:
    """A message given up on: kept with its last error, never sent again."""
    async with db.write() as tx:
        await tx.run(
            "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?,"
            " next_attempt_at = NULL, in_flight_at = NULL, interrupted = interrupted + ?"
            " WHERE id = ?",
            (error[:500], int(unknown), message_id),
        )


async def mark_blocked(db: Database, message_id: int, person_id: int, error: str) -> None:
    """Sending failed as Forbidden: the person blocked the bot."""
    async with db.write() as tx:
        await block(tx, person_id, error, message_id)


async def block(tx: Tx, person_id: int, reason: str, message_id: int | None = None) -> None:
    """The person blocked the bot: their pending messages wait no more (the one that
    found out, ``message_id``, counts an attempt)."""
    changed = await tx.run(
        "UPDATE people SET blocked_at = ? WHERE id = ? AND blocked_at IS NULL",
        (tx.now(), person_id),
    )
    await tx.run(
        "UPDATE outbox SET state = 'blocked', attempts = attempts + (id IS ?),"
        " last_error = ?, in_flight_at = CASE WHEN id IS ? THEN NULL ELSE in_flight_at END"
        " WHERE person_id = ? AND state = 'pending'",
        (message_id, reason[:500], message_id, person_id),
    )
    if changed:
        await tx.event(None, "person.blocked_bot", "person", person_id)


async def messages(db: Reader, state: str | None = None, limit: int = 100) -> list[Row]:
    """The outbox as the command line lists it, newest first."""
    where, params = ("WHERE state = ?", [state]) if state else ("", [])
    return await db.all(
        f"SELECT o.*, p.name FROM outbox o JOIN people p ON p.id = o.person_id {where}"  # noqa: S608
        " ORDER BY o.id DESC LIMIT ?",
        [*params, limit],
    )


class Planned(NamedTuple):
    """A planned message ready to store: rendered, addressed, timed. A tuple: a city's
    pass makes tens of thousands and sends them from a worker process in pickles."""

    key: str
    kind: str
    person_id: int
    chat_id: int
    text: str
    not_before: datetime


async def enqueue_many(tx: Tx, messages: Sequence[Planned]) -> int:
    """Store many messages in one statement; those whose key exists change nothing.

    Returns how many were new (the statement's count of rows changed: one trip to
    the database's thread, not three).
    """
    now = tx.now()
    cursor = await tx.conn.executemany(
        "INSERT INTO outbox (key, kind, person_id, chat_id, text, created_at, not_before)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
        [
            (
                m.key,
                m.kind,
                m.person_id,
                m.chat_id,
                m.text,
                now,
                m.not_before.isoformat(timespec="seconds"),
            )
            for m in messages
        ],
    )
    return cursor.rowcount


async def stored_keys(db: Reader, kind_prefix: str, since: datetime) -> set[str]:
    """The keys of the messages of these kinds stored since ``since``, whatever their state."""
    rows = await db.all(
        "SELECT key FROM outbox WHERE kind LIKE ? AND created_at >= ?",
        (kind_prefix + "%", since.isoformat(timespec="seconds")),
    )
    return {r[0] for r in rows}


async def drop(tx: Tx, keys: Sequence[str]) -> int:
    """Pending messages that the latest plan no longer has: dropped.

    A reminder not sent yet when a later stage or a new day replaces it (or
    its hazard was fixed meanwhile) is never sent late. One already sent (or
    being sent) is left as it is.
    """
    if not keys:
        return 0
    before = await tx.value("SELECT total_changes()")
    await tx.conn.executemany(
        "UPDATE outbox SET state = 'dropped', last_error = 'superseded'"
        " WHERE key = ? AND state = 'pending'",
        [(key,) for key in keys],
    )
    return int(await tx.value("SELECT total_changes()")) - int(before)


async def unblock(tx: Tx, person_id: int) -> None:
    """A person who blocked the bot wrote to it again: they can be reached."""
    changed = await tx.run(
        "UPDATE people SET blocked_at = NULL WHERE id = ? AND blocked_at IS NOT NULL",
        (person_id,),
    )
    if changed:
        await tx.event(person_id, "person.unblocked_bot", "person", person_id)
