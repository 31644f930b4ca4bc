"""People, memberships, invitations and what the bot waits for from whom."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from ledger.errors import InvitationInvalid
from ledger.invitations import Invitation, check_usable, new_code
from ledger.roles import Contact, Membership, Person, Role
from storage.db import Query, Reader, Row, Tx, Writes


async def person_by_tg(db: Reader, tg_user_id: int) -> Person | None:
    sql, params = person_query(tg_user_id)
    return person_from(await db.all(sql, params))


def person_query(tg_user_id: int) -> Query:
    """The one read of a person with their memberships (a row per membership, or one
    with none), to batch with an update's other reads; ``person_from`` makes the person."""
    return (
        "SELECT p.id, p.name, p.phone, m.role, m.school_id, s.name AS school_name"
        " FROM people p LEFT JOIN memberships m ON m.person_id = p.id"
        " LEFT JOIN schools s ON s.id = m.school_id WHERE p.tg_user_id = ? ORDER BY m.id",
        (tg_user_id,),
    )


def person_from(rows: list[Row]) -> Person | None:
    """The person read by ``person_query``."""
    if not rows:
        return None
    return _person(rows[0], [r for r in rows if r["role"] is not None])


async def person_by_id(db: Reader, person_id: int) -> Person | None:
    row = await db.one("SELECT * FROM people WHERE id = ?", (person_id,))
    return None if row is None else await _with_memberships(db, row)


async def _with_memberships(db: Reader, row: Row) -> Person:
    rows = await db.all(
        "SELECT m.role, m.school_id, s.name AS school_name FROM memberships m"
        " LEFT JOIN schools s ON s.id = m.school_id WHERE m.person_id = ? ORDER BY m.id",
        (row["id"],),
    )
    return _person(row, rows)


def _person(row: Row, rows: list[Row]) -> Person:
    return Person(
        id=row["id"],
        name=row["name"],
        phone=row["phone"],
        memberships=tuple(
            Membership(Role(r["role"]), r["school_id"], r["school_name"]) for r in rows
        ),
    )


async def names(db: Reader) -> dict[int, str]:
    """Everyone's name by id (a list of planned messages names whom each is for)."""
    return {int(row["id"]): str(row["name"]) for row in await db.all("SELECT id, name FROM people")}


async def chat_of(db: Reader, person_id: int) -> int | None:
    value = await db.value("SELECT chat_id FROM people WHERE id = ?", (person_id,))
    return None if value is None else int(value)


async def by_ids(db: Reader, *ids: int | None) -> list[Contact]:
    """People to tell something; None and repeats left out."""
    wanted = list(dict.fromkeys(i for i in ids if i is not None))
    if not wanted:
        return []
    marks = ",".join("?" * len(wanted))
    rows = await db.all(
        f"SELECT id, name, language FROM people WHERE id IN ({marks})",  # noqa: S608
        wanted,
    )
    return [contact(row) for row in rows]


def contact(row: Row) -> Contact:
    """A row with a person's id, name and language as the typed contact."""
    return Contact(row["id"], row["name"], row["language"])


_COLLEAGUES = (
    "SELECT DISTINCT p.id, p.name, p.language FROM people p"
    " JOIN memberships m ON m.person_id = p.id"
    " WHERE m.school_id = {school} ORDER BY CASE m.role WHEN 'principal' THEN 0"
    " WHEN 'leader' THEN 1 ELSE 2 END, p.name"
)


async def colleagues(db: Reader, school_id: int) -> list[Contact]:
    """The school's members, principal first, for picking a responsible person."""
    rows = await db.all(_COLLEAGUES.format(school="?"), (school_id,))
    return [contact(row) for row in rows]


def hazard_colleagues_query(hazard_id: int) -> Query:
    """``colleagues`` of the hazard's school, named by the hazard: to read in one trip
    with it (``contacts_from``)."""
    return (
        _COLLEAGUES.format(school="(SELECT school_id FROM hazards WHERE id = ?)"),
        (hazard_id,),
    )


def contacts_from(rows: list[Row]) -> list[Contact]:
    return [contact(row) for row in rows]


async def create_person(
    tx: Tx, *, tg_user_id: int, chat_id: int, name: str, phone: str, language: str
) -> int:
    person_id = await tx.run(
        "INSERT INTO people (tg_user_id, chat_id, name, phone, language, joined_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (tg_user_id, chat_id, name, phone, language, tx.now()),
    )
    await tx.event(
        person_id, "person.joined", "person", person_id, after={"name": name, "phone": phone}
    )
    return person_id


async def add_membership(
    tx: Tx, *, person_id: int, school_id: int | None, role: Role, invitation_id: int | None
) -> bool:
    """Add a role; False when the person already had it."""
    existing = await tx.value(
        "SELECT id FROM memberships WHERE person_id = ? AND school_id IS ? AND role = ?",
        (person_id, school_id, role.value),
    )
    if existing is not None:
        return False
    membership_id = await tx.run(
        "INSERT INTO memberships (person_id, school_id, role, invitation_id, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (person_id, school_id, role.value, invitation_id, tx.now()),
    )
    await tx.event(
        person_id,
        "membership.added",
        "membership",
        membership_id,
        after={"person_id": person_id, "school_id": school_id, "role": role.value},
    )
    return True


# --- invitations -------------------------------------------------------------


async def create_invitation(
    tx: Tx,
    *,
    role: Role,
    school_id: int | None,
    created_by: int | None,
    days: int,
    max_uses: int,
) -> str:
    code = new_code()
    expires = tx.clock.now() + timedelta(days=days)
    invitation_id = await tx.run(
        "INSERT INTO invitations (code, role, school_id, created_by, created_at, expires_at,"
        " max_uses) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            code,
            role.value,
            school_id,
            created_by,
            tx.now(),
            expires.isoformat(timespec="seconds"),
            max_uses,
        ),
    )
    await tx.event(
        created_by,
        "invitation.created",
        "invitation",
        invitation_id,
        after={
            "role": role.value,
            "school_id": school_id,
            "expires_at": expires,
            "max_uses": max_uses,
        },
    )
    return code


_INVITATION = (
    "SELECT i.*, s.name AS school_name FROM invitations i LEFT JOIN schools s ON s.id = i.school_id"
)


def _invitation(row: Row) -> Invitation:
    return Invitation(
        id=row["id"],
        code=row["code"],
        role=Role(row["role"]),
        school_id=row["school_id"],
        school_name=row["school_name"],
        created_by=row["created_by"],
        expires_at=datetime.fromisoformat(row["expires_at"]),
        uses=row["uses"],
        max_uses=row["max_uses"],
        revoked=row["revoked_at"] is not None,
    )


async def usable_invitation(db: Reader, code: str, now: datetime) -> Invitation:
    """The invitation behind a code, or ``InvitationInvalid`` with the reason."""
    row = await db.one(f"{_INVITATION} WHERE i.code = ?", (code.strip(),))
    if row is None:
        raise InvitationInvalid(reason="unknown")
    found = _invitation(row)
    check_usable(
        expires_at=found.expires_at,
        uses=found.uses,
        max_uses=found.max_uses,
        revoked=found.revoked,
        now=now,
    )
    return found


async def use_invitation(tx: Tx, code: str, person_id: int) -> Invitation:
    """Check the code again inside the transaction and count one use."""
    found = await usable_invitation(tx, code, tx.clock.now())
    await tx.run("UPDATE invitations SET uses = uses + 1 WHERE id = ?", (found.id,))
    await tx.event(
        person_id,
        "invitation.used",
        "invitation",
        found.id,
        before={"uses": found.uses},
        after={"uses": found.uses + 1},
    )
    return found


async def invitations_for(db: Reader, school_id: int | None, now: datetime) -> list[Invitation]:
    """Invitations still usable, for the school (or the city ones when None)."""
    rows = await db.all(
        f"{_INVITATION} WHERE i.school_id IS ? AND i.revoked_at IS NULL"
        " AND i.uses < i.max_uses ORDER BY i.id",
        (school_id,),
    )
    return [found for found in map(_invitation, rows) if found.expires_at > now]


def invitations_seen_query(tg_user_id: int) -> Query:
    """The usable invitations of the city and of every school the person (by Telegram id)
    is a member of: whichever list they may see is among them (``invitations_in``)."""
    return (
        f"{_INVITATION} WHERE (i.school_id IS NULL OR i.school_id IN (SELECT m.school_id"  # noqa: S608
        " FROM memberships m JOIN people p ON p.id = m.person_id WHERE p.tg_user_id = ?))"
        " AND i.revoked_at IS NULL AND i.uses < i.max_uses ORDER BY i.id",
        (tg_user_id,),
    )


def invitations_in(rows: list[Row], school_id: int | None, now: datetime) -> list[Invitation]:
    """``invitations_for`` the school (the city's when None), among those read by
    ``invitations_seen_query``."""
    found = [_invitation(row) for row in rows if row["school_id"] == school_id]
    return [i for i in found if i.expires_at > now]


async def invitation(db: Reader, invitation_id: int) -> Invitation | None:
    row = await db.one(f"{_INVITATION} WHERE i.id = ?", (invitation_id,))
    return None if row is None else _invitation(row)


async def revoke_invitation(tx: Tx, invitation_id: int, actor_id: int) -> bool:
    changed = await tx.run(
        "UPDATE invitations SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL",
        (tx.now(), actor_id, invitation_id),
    )
    if changed:
        await tx.event(actor_id, "invitation.revoked", "invitation", invitation_id)
    return bool(changed)


# --- pending input -----------------------------------------------------------


async def pending(db: Reader, tg_user_id: int) -> tuple[str, dict[str, Any]] | None:
    """What the bot waits for next from this user, if anything."""
    row = await db.one(*pending_query(tg_user_id))
    return None if row is None else (row["kind"], json.loads(row["data"]))


def pending_query(tg_user_id: int) -> Query:
    """The statement ``pending`` reads (to read ahead with the person)."""
    return ("SELECT kind, data FROM pending_inputs WHERE tg_user_id = ?", (tg_user_id,))


SET_PENDING = (
    "INSERT INTO pending_inputs (tg_user_id, kind, data, created_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (tg_user_id) DO UPDATE SET kind = excluded.kind, data = excluded.data,"
    " created_at = excluded.created_at"
)


async def set_pending(tx: Tx, tg_user_id: int, kind: str, data: dict[str, Any]) -> None:
    await tx.run(SET_PENDING, (tg_user_id, kind, json.dumps(data, ensure_ascii=False), tx.now()))


def set_pending_in(w: Writes, tg_user_id: int, kind: str, data: dict[str, Any]) -> None:
    """``set_pending`` inside a write run at once (``Writes``)."""
    w.run(SET_PENDING, (tg_user_id, kind, json.dumps(data, ensure_ascii=False), w.now()))


async def clear_pending(tx: Tx, tg_user_id: int) -> None:
    await tx.run("DELETE FROM pending_inputs WHERE tg_user_id = ?", (tg_user_id,))


def pending_in(w: Writes, tg_user_id: int) -> tuple[str, dict[str, Any]] | None:
    """``pending`` inside a write run at once (``Writes``)."""
    row = w.one("SELECT kind, data FROM pending_inputs WHERE tg_user_id = ?", (tg_user_id,))
    return None if row is None else (row["kind"], json.loads(row["data"]))


def clear_pending_in(w: Writes, tg_user_id: int) -> None:
    """``clear_pending`` inside a write run at once (``Writes``)."""
    w.run("DELETE FROM pending_inputs WHERE tg_user_id = ?", (tg_user_id,))


async def drop_pending(tx: Tx, person_id: int, kind: str, field: str, value: object) -> bool:
    """End a person's pending input of ``kind`` about ``field`` = ``value`` (someone else's
    action made it moot); False when they are waiting for something else."""
    return bool(
        await tx.run(
            "DELETE FROM pending_inputs WHERE kind = ? AND json_extract(data, '$.' || ?) = ?"
            " AND tg_user_id = (SELECT tg_user_id FROM people WHERE id = ?)",
            (kind, field, value, person_id),
        )
    )
