"""Rectification in the database: fix reports, verification, deadlines, lists of work.

Each change is guarded by the state it expects (``... WHERE state = 'open'``):
the rules in ``ledger.rectify`` decide before the transaction, and a change
that lost a race to another one changes nothing and is refused as stale.
Every change appends to the event log.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from ledger.errors import Stale
from ledger.hazards import Hazard, Photo
from ledger.rectify import (
    ChangeState,
    DeadlineChange,
    Facts,
    FixReport,
    FixState,
    HistoryEvent,
    Listed,
    State,
    taskforce_verifies,
)
from ledger.roles import Contact
from storage import hazards, people
from storage.db import Query, Reader, Row, Tx, stored_day, stored_moment


def facts_queries(hazard_id: int) -> list[Query]:
    """What ``facts`` reads, all known from the hazard's id: to read in one trip (with the
    person, as a tap's first reads), then ``facts_from``."""
    return [
        hazards.hazard_query(hazard_id),
        (_LIVE_FIX, (hazard_id,)),
        (_ASKED, (hazard_id,)),
        (_MANAGERS.format(school="(SELECT school_id FROM hazards WHERE id = ?)"), (hazard_id,)),
    ]


FACTS_READS = 4  # how many queries ``facts_queries`` makes: a tap's own follow them


def facts_from(rows: list[list[Row]]) -> tuple[Hazard, Facts] | None:
    """The hazard and its facts read by ``facts_queries`` (rows in the same order)."""
    found = hazards.hazard_from(rows[0])
    if found is None or found.state in (State.DRAFT, State.WITHDRAWN):
        return None
    live = _fix(rows[1][0]) if rows[1] else None
    waiting = live if live is not None and live.state is FixState.SUBMITTED else None
    asked = _change(rows[2][0]) if rows[2] else None
    return found, Facts(
        state=found.state,
        school_id=found.school_id,
        responsible_id=found.responsible_id,
        fix_reporter_id=waiting.reported_by if waiting else None,
        extension_asked_by=asked.asked_by if asked else None,
        fix_id=waiting.id if waiting else None,
        extension_id=asked.id if asked else None,
        managers=frozenset(r["person_id"] for r in rows[3]),
    )


async def facts(
    db: Reader, hazard_id: int, read: list[list[Row]] | None = None
) -> tuple[Hazard, Facts] | None:
    """A hazard reported in full, and what the rules need to know of it: in one trip, or
    none when ``read`` already (``facts_queries``, read with the person)."""
    return facts_from(read if read is not None else await db.read_many(facts_queries(hazard_id)))


_MANAGERS = (
    "SELECT person_id FROM memberships WHERE school_id = {school}"
    " AND role IN ('principal', 'leader')"
)


async def managers(db: Reader, school_id: int) -> frozenset[int]:
    """The school's principals and leaders (who may verify, ``ledger.rectify.verifiers``)."""
    rows = await db.all(_MANAGERS.format(school="?"), (school_id,))
    return frozenset(r["person_id"] for r in rows)


async def _guarded(tx: Tx, sql: str, params: tuple[object, ...]) -> None:
    """A change that must apply to exactly one row, or the tap was stale."""
    if await tx.run(sql, params) != 1:
        raise Stale()


# --- fix reports ---------------------------------------------------------------


def _fix(row: Row) -> FixReport:
    names = row.keys()
    return FixReport(
        id=row["id"],
        hazard_id=row["hazard_id"],
        reported_by=row["reported_by"],
        started_at=datetime.fromisoformat(row["started_at"]),
        state=FixState(row["state"]),
        note=row["note"],
        submitted_at=stored_moment(row["submitted_at"]),
        decided_by=row["decided_by"],
        decided_at=stored_moment(row["decided_at"]),
        reason=row["reason"],
        reporter_name=row["reporter_name"] if "reporter_name" in names else None,
        decider_name=row["decider_name"] if "decider_name" in names else None,
    )


_LIVE_FIX = "SELECT * FROM fix_reports WHERE hazard_id = ? AND state IN ('draft', 'submitted')"


async def live_fix(db: Reader, hazard_id: int) -> FixReport | None:
    """The fix being reported (draft) or waiting for verification (submitted)."""
    row = await db.one(_LIVE_FIX, (hazard_id,))
    return None if row is None else _fix(row)


def fix_report_query(fix_id: int) -> Query:
    return ("SELECT * FROM fix_reports WHERE id = ?", (fix_id,))


def fix_report_from(rows: list[Row]) -> FixReport | None:
    return _fix(rows[0]) if rows else None


async def fix_report(db: Reader, fix_id: int) -> FixReport | None:
    row = await db.one(*fix_report_query(fix_id))
    return None if row is None else _fix(row)


async def start_fix(tx: Tx, hazard_id: int, person_id: int) -> tuple[int, FixReport | None]:
    """A fix report in the making for this hazard (the one already started, if any),
    and somebody else's unfinished report that this one replaced (dropped, logged)."""
    row = await tx.one(
        "SELECT * FROM fix_reports WHERE hazard_id = ? AND state = 'draft'", (hazard_id,)
    )
    draft = None if row is None else _fix(row)
    if draft is not None:
        if draft.reported_by == person_id:
            return draft.id, None
        # Somebody else's unfinished report: theirs is dropped, this one counts.
        await tx.run("UPDATE fix_reports SET state = 'dropped' WHERE id = ?", (draft.id,))
    fix_id = await tx.run(
        "INSERT INTO fix_reports (hazard_id, reported_by, started_at) VALUES (?, ?, ?)",
        (hazard_id, person_id, tx.now()),
    )
    if draft is not None:
        await tx.event(
            person_id,
            "fix.dropped",
            "hazard",
            hazard_id,
            before={"fix_id": draft.id, "reported_by": draft.reported_by},
            after={"replaced_by": fix_id},
        )
    await tx.event(person_id, "fix.started", "hazard", hazard_id, after={"fix_id": fix_id})
    return fix_id, draft


async def drop_fix(tx: Tx, fix_id: int, person_id: int) -> None:
    """A fix report its reporter cancelled before sending it."""
    hazard_id = await tx.value("SELECT hazard_id FROM fix_reports WHERE id = ?", (fix_id,))
    if await tx.run(
        "UPDATE fix_reports SET state = 'dropped' WHERE id = ? AND state = 'draft'", (fix_id,)
    ):
        await tx.event(person_id, "fix.dropped", "hazard", hazard_id, after={"fix_id": fix_id})


async def after_photos(db: Reader, fix_id: int) -> list[Photo]:
    """The after-photos a fix report brought, in the order they came."""
    rows = await db.all(*after_photos_query(fix_id))
    return [hazards.photo_record(row) for row in rows]


def after_photos_query(fix_id: int) -> Query:
    return (
        "SELECT * FROM photos WHERE fix_report_id = ? AND kind = 'after' ORDER BY id",
        (fix_id,),
    )


def deadline_change_query(change_id: int) -> Query:
    return ("SELECT * FROM deadline_changes WHERE id = ?", (change_id,))


async def submit_fix(tx: Tx, hazard_id: int, fix_id: int, person_id: int, note: str) -> None:
    """The responsible person's signature: the fix is done, see the photos and note."""
    await _guarded(
        tx,
        "UPDATE fix_reports SET state = 'submitted', note = ?, submitted_at = ?"
        " WHERE id = ? AND state = 'draft' AND reported_by = ?",
        (note, tx.now(), fix_id, person_id),
    )
    await _guarded(
        tx, "UPDATE hazards SET state = 'submitted' WHERE id = ? AND state = 'open'", (hazard_id,)
    )
    await tx.event(
        person_id,
        "fix.submitted",
        "hazard",
        hazard_id,
        before={"state": "open"},
        after={"state": "submitted", "fix_id": fix_id, "note": note},
    )


async def verify(tx: Tx, hazard_id: int, fix_id: int, person_id: int) -> None:
    """The verifier's signature: the hazard is closed (销号)."""
    await _decide(tx, fix_id, person_id, "accepted", None)
    await _guarded(
        tx,
        "UPDATE hazards SET state = 'closed', closed_at = ? WHERE id = ? AND state = 'submitted'",
        (tx.now(), hazard_id),
    )
    await tx.event(
        person_id,
        "fix.verified",
        "hazard",
        hazard_id,
        before={"state": "submitted"},
        after={"state": "closed", "fix_id": fix_id},
    )


async def return_fix(tx: Tx, hazard_id: int, fix_id: int, person_id: int, reason: str) -> None:
    """Not good enough: back to the responsible person, with the reason."""
    await _decide(tx, fix_id, person_id, "returned", reason)
    await _guarded(
        tx, "UPDATE hazards SET state = 'open' WHERE id = ? AND state = 'submitted'", (hazard_id,)
    )
    await tx.event(
        person_id,
        "fix.returned",
        "hazard",
        hazard_id,
        before={"state": "submitted"},
        after={"state": "open", "fix_id": fix_id, "reason": reason},
    )


async def _decide(tx: Tx, fix_id: int, person_id: int, state: str, reason: str | None) -> None:
    await _guarded(
        tx,
        "UPDATE fix_reports SET state = ?, decided_by = ?, decided_at = ?, reason = ?"
        " WHERE id = ? AND state = 'submitted' AND reported_by != ?",
        (state, person_id, tx.now(), reason, fix_id, person_id),
    )


async def fix_reports_of(db: Reader, hazard_id: int) -> list[FixReport]:
    """Every fix report of a hazard that was sent, with who signed, oldest first."""
    return [_fix(row) for row in await db.all(*fix_reports_of_query(hazard_id))]


def fix_reports_of_query(hazard_id: int) -> Query:
    return (
        "SELECT f.*, r.name AS reporter_name, d.name AS decider_name FROM fix_reports f"
        " JOIN people r ON r.id = f.reported_by LEFT JOIN people d ON d.id = f.decided_by"
        " WHERE f.hazard_id = ? AND f.state NOT IN ('draft', 'dropped') ORDER BY f.id",
        (hazard_id,),
    )


def card_queries(hazard_id: int) -> list[Query]:
    """All a hazard's card reads, known from its id: to read ahead in one trip."""
    return [
        *facts_queries(hazard_id),
        hazards.photos_of_query(hazard_id),
        fix_reports_of_query(hazard_id),
        deadline_changes_of_query(hazard_id),
        history_query(hazard_id),
    ]


# --- deadlines -------------------------------------------------------------------


def _change(row: Row) -> DeadlineChange:
    names = row.keys()
    return DeadlineChange(
        id=row["id"],
        hazard_id=row["hazard_id"],
        old_deadline=stored_day(row["old_deadline"]),
        new_deadline=date.fromisoformat(row["new_deadline"]),
        reason=row["reason"],
        asked_by=row["asked_by"],
        asked_at=datetime.fromisoformat(row["asked_at"]),
        state=ChangeState(row["state"]),
        decided_by=row["decided_by"],
        decided_at=stored_moment(row["decided_at"]),
        refusal=row["refusal"],
        asker_name=row["asker_name"] if "asker_name" in names else None,
        decider_name=row["decider_name"] if "decider_name" in names else None,
    )


_ASKED = "SELECT * FROM deadline_changes WHERE hazard_id = ? AND state = 'asked'"


async def asked_extension(db: Reader, hazard_id: int) -> DeadlineChange | None:
    """The request for a later deadline waiting for a decision, if any."""
    row = await db.one(_ASKED, (hazard_id,))
    return None if row is None else _change(row)


async def deadline_change(db: Reader, change_id: int) -> DeadlineChange | None:
    row = await db.one(*deadline_change_query(change_id))
    return None if row is None else _change(row)


async def ask_extension(
    tx: Tx, hazard_id: int, person_id: int, current: date | None, new: date, reason: str
) -> int:
    """A later deadline asked for; refused as stale when another request is waiting."""
    old = current.isoformat() if current is not None else None
    change_id = await tx.run(
        "INSERT INTO deadline_changes (hazard_id, old_deadline, new_deadline, reason, asked_by,"
        " asked_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (hazard_id, old, new.isoformat(), reason, person_id, tx.now()),
    )
    if not change_id:
        raise Stale()  # another request is already waiting
    await tx.event(
        person_id,
        "deadline.asked",
        "hazard",
        hazard_id,
        before={"deadline": old},
        after={"deadline": new.isoformat(), "reason": reason, "change_id": change_id},
    )
    return change_id


async def decide_extension(
    tx: Tx, change: DeadlineChange, person_id: int, approve: bool, refusal: str | None = None
) -> None:
    """A leader's answer; an approved date becomes the deadline."""
    await _guarded(
        tx,
        "UPDATE deadline_changes SET state = ?, decided_by = ?, decided_at = ?, refusal = ?"
        " WHERE id = ? AND state = 'asked'",
        ("approved" if approve else "refused", person_id, tx.now(), refusal, change.id),
    )
    new = change.new_deadline.isoformat()
    old = change.old_deadline.isoformat() if change.old_deadline else None
    if approve:
        await tx.run("UPDATE hazards SET deadline = ? WHERE id = ?", (new, change.hazard_id))
    await tx.event(
        person_id,
        "deadline.approved" if approve else "deadline.refused",
        "hazard",
        change.hazard_id,
        before={"deadline": old},
        after={"deadline": new if approve else old, "change_id": change.id, "refusal": refusal},
    )


async def deadline_changes_of(db: Reader, hazard_id: int) -> list[DeadlineChange]:
    """Every change of the hazard's deadline (asked, decided), with who, oldest first."""
    return [_change(row) for row in await db.all(*deadline_changes_of_query(hazard_id))]


def deadline_changes_of_query(hazard_id: int) -> Query:
    return (
        "SELECT c.*, a.name AS asker_name, d.name AS decider_name FROM deadline_changes c"
        " JOIN people a ON a.id = c.asked_by LEFT JOIN people d ON d.id = c.decided_by"
        " WHERE c.hazard_id = ? ORDER BY c.id",
        (hazard_id,),
    )


# --- lists -----------------------------------------------------------------------------

_LIST = (
    "SELECT h.id, h.state, h.deadline, h.description, h.school_id, h.responsible_name,"
    " h.accident_grade,"
    " b.name AS building_name, s.name AS school_name FROM hazards h"
    " JOIN schools s ON s.id = h.school_id LEFT JOIN buildings b ON b.id = h.building_id"
)


def _listed(row: Row) -> Listed:
    return Listed(
        id=row["id"],
        state=State(row["state"]),
        deadline=None if row["deadline"] is None else date.fromisoformat(row["deadline"]),
        description=row["description"],
        school_id=row["school_id"],
        school_name=row["school_name"],
        building_name=row["building_name"],
        responsible_name=row["responsible_name"],
        accident_grade=bool(row["accident_grade"]),
    )


async def _list(db: Reader, sql: str, params: Sequence[object] = ()) -> list[Listed]:
    return [_listed(row) for row in await db.all(sql, params)]


async def tasks_of(db: Reader, person_id: int) -> list[Listed]:
    """Open hazards this person answers for."""
    return await _list(db, f"{_LIST} WHERE h.responsible_id = ? AND h.state = 'open'", (person_id,))


async def waiting_for_verification(
    db: Reader, school_ids: list[int], viewer_id: int | None = None
) -> list[Listed]:
    """The schools' fixes waiting for a verifier, oldest first; not those ``viewer_id``
    reported (theirs to wait for, not to verify)."""
    marks = ",".join("?" * len(school_ids))
    return await _list(
        db,
        f"{_LIST} JOIN fix_reports f ON f.hazard_id = h.id AND f.state = 'submitted'"
        f" WHERE h.school_id IN ({marks}) AND h.state = 'submitted' AND f.reported_by IS NOT ?"
        " ORDER BY f.submitted_at",
        [*school_ids, viewer_id],
    )


async def waiting_for_taskforce(db: Reader) -> list[Listed]:
    """Fixes waiting in schools where nobody but their reporter may verify them, which the
    task force verifies (``ledger.rectify.taskforce_verifies``), oldest first."""
    rows = await _list(
        db,
        f"{_LIST} JOIN fix_reports f ON f.hazard_id = h.id AND f.state = 'submitted'"  # noqa: S608 - no user text
        " WHERE h.state = 'submitted'"
        # Only schools with at most one manager can be in this case: the rule decides below.
        " AND (SELECT COUNT(DISTINCT m.person_id) FROM memberships m WHERE m.school_id ="
        " h.school_id AND m.role IN ('principal', 'leader')) <= 1 ORDER BY f.submitted_at",
    )
    found = []
    for row in rows:
        fix = await live_fix(db, row.id)
        reporter = fix.reported_by if fix is not None else None
        if taskforce_verifies(reporter, await managers(db, row.school_id)):
            found.append(row)
    return found


async def extensions_waiting(
    db: Reader, school_ids: list[int], viewer_id: int | None = None
) -> list[Listed]:
    """The schools' requests for a later deadline, oldest first; not ``viewer_id``'s own."""
    marks = ",".join("?" * len(school_ids))
    return await _list(
        db,
        f"{_LIST} JOIN deadline_changes c ON c.hazard_id = h.id AND c.state = 'asked'"
        f" WHERE h.school_id IN ({marks}) AND c.asked_by IS NOT ? ORDER BY c.asked_at",
        [*school_ids, viewer_id],
    )


async def history(db: Reader, hazard_id: int) -> list[HistoryEvent]:
    """The hazard's event log, with who did what, oldest first."""
    rows = await db.all(*history_query(hazard_id))
    return [
        HistoryEvent(row["action"], datetime.fromisoformat(row["at"]), row["actor_name"])
        for row in rows
    ]


def history_query(hazard_id: int) -> Query:
    return (
        "SELECT e.action, e.at, p.name AS actor_name FROM events e"
        " LEFT JOIN people p ON p.id = e.actor_id"
        " WHERE e.subject = 'hazard' AND e.subject_id = ? ORDER BY e.id",
        (hazard_id,),
    )


async def people_with_role(db: Reader, role: str, school_id: int | None = None) -> list[Contact]:
    """Members with this role (in this school; the task force has none), to notify."""
    where = "m.school_id IS NULL" if school_id is None else "m.school_id = ?"
    params: tuple[object, ...] = (role,) if school_id is None else (role, school_id)
    rows = await db.all(
        "SELECT DISTINCT p.id, p.name, p.language FROM people p"  # noqa: S608 - no user text
        f" JOIN memberships m ON m.person_id = p.id WHERE m.role = ? AND {where}"
        " ORDER BY p.id",
        params,
    )
    return [people.contact(row) for row in rows]


# The schools a person (by Telegram id) is a member of, and the person's id.
_MEMBER_SCHOOLS = (
    "(SELECT m.school_id FROM memberships m JOIN people p ON p.id = m.person_id"
    " WHERE p.tg_user_id = ?)"
)
_PERSON = "(SELECT id FROM people WHERE tg_user_id = ?)"


def task_queries(tg_user_id: int) -> list[Query]:
    """A person's task list, read with them (by Telegram id) in one trip: the open hazards
    they answer for, then, in every school they are a member of, the fixes and requests
    waiting (not their own) and the hazards without a member answering for them. Which of
    those schools they manage is the rules' to say (``listed_in``)."""
    uid = (tg_user_id,)
    return [
        (f"{_LIST} WHERE h.responsible_id = {_PERSON} AND h.state = 'open'", uid),
        (
            f"{_LIST} JOIN fix_reports f ON f.hazard_id = h.id AND f.state = 'submitted'"
            f" WHERE h.school_id IN {_MEMBER_SCHOOLS} AND h.state = 'submitted'"
            f" AND f.reported_by IS NOT {_PERSON} ORDER BY f.submitted_at",
            uid * 2,
        ),
        (
            f"{_LIST} JOIN deadline_changes c ON c.hazard_id = h.id AND c.state = 'asked'"
            f" WHERE h.school_id IN {_MEMBER_SCHOOLS} AND c.asked_by IS NOT {_PERSON}"
            " ORDER BY c.asked_at",
            uid * 2,
        ),
        (
            f"{_LIST} WHERE h.school_id IN {_MEMBER_SCHOOLS} AND h.state = 'open'"
            " AND h.responsible_id IS NULL ORDER BY h.deadline, h.id",
            uid,
        ),
    ]


def listed_in(rows: list[Row], school_ids: Sequence[int] | None = None) -> list[Listed]:
    """Hazards read by ``task_queries``; only those of ``school_ids`` when given."""
    found = [_listed(row) for row in rows]
    return found if school_ids is None else [h for h in found if h.school_id in school_ids]


async def unassigned(db: Reader, school_ids: list[int]) -> list[Listed]:
    """Open hazards whose responsible person is only a typed name, not a member."""
    marks = ",".join("?" * len(school_ids))
    return await _list(
        db,
        f"{_LIST} WHERE h.school_id IN ({marks}) AND h.state = 'open'"
        " AND h.responsible_id IS NULL ORDER BY h.deadline, h.id",
        school_ids,
    )
