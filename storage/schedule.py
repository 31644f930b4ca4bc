"""What the scheduler reads and writes: the campaign in force, recurring
inspections and their rounds, preferred hours, and the planner's snapshot."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Collection
from datetime import date, datetime, timedelta

from ledger.campus import RecurringInspection
from ledger.snapshot import (
    Campaign,
    DrawnVisit,
    Hazard,
    Ledger,
    Recipient,
    Round,
    School,
    WaitingFix,
)
from storage.campus import ensure_campaign
from storage.db import Database, Reader, Row, Tx, stored_day

# --- the campaign in force -----------------------------------------------------------


async def campaign_in_force(
    tx: Tx,
    name: str,
    self_inspection: date | None,
    rectification: date | None,
    supervision: date | None,
) -> int:
    """The campaign the bot works in.

    The one started last is in force. ``xiaoan campaign new`` starts one; the
    config's ``campaign.name`` starts one too when it names a campaign not in
    the database yet (and keeps its phase dates up to date while in force). A
    config that still names an older campaign does not take it back.
    """
    current = await tx.one("SELECT id, name FROM campaigns WHERE in_force = 1")
    known = await tx.value("SELECT id FROM campaigns WHERE name = ?", (name,))
    if current is not None and current["name"] != name and known is not None:
        return int(current["id"])
    campaign_id = await ensure_campaign(tx, name, self_inspection, rectification, supervision)
    await _put_in_force(tx, campaign_id)
    return campaign_id


async def start_campaign(
    tx: Tx,
    name: str,
    self_inspection: date | None,
    rectification: date | None,
    supervision: date | None,
) -> int:
    """A new campaign, in force from now; schools, buildings and people carry over."""
    if await tx.value("SELECT 1 FROM campaigns WHERE name = ?", (name,)):
        raise ValueError(f"a campaign named {name!r} exists already")
    campaign_id = await ensure_campaign(tx, name, self_inspection, rectification, supervision)
    await _put_in_force(tx, campaign_id)
    return campaign_id


async def _put_in_force(tx: Tx, campaign_id: int) -> None:
    old = await tx.value("SELECT id FROM campaigns WHERE in_force = 1")
    if old == campaign_id:
        return
    await tx.run("UPDATE campaigns SET in_force = 0 WHERE in_force = 1")
    await tx.run("UPDATE campaigns SET in_force = 1 WHERE id = ?", (campaign_id,))
    await tx.event(None, "campaign.in_force", "campaign", campaign_id, before={"campaign_id": old})


# --- people -----------------------------------------------------------------------------


async def set_reminder_hour(tx: Tx, person_id: int, hour: int) -> None:
    old = await tx.value("SELECT reminder_hour FROM people WHERE id = ?", (person_id,))
    await tx.run("UPDATE people SET reminder_hour = ? WHERE id = ?", (hour, person_id))
    await tx.event(
        person_id,
        "person.reminder_hour",
        "person",
        person_id,
        before={"hour": old},
        after={"hour": hour},
    )


async def reminder_hour(db: Reader, person_id: int) -> int | None:
    hour = await db.value("SELECT reminder_hour FROM people WHERE id = ?", (person_id,))
    return None if hour is None else int(hour)


# --- recurring inspections and rounds --------------------------------------------------


async def recurring(db: Reader, school_id: int) -> RecurringInspection | None:
    """The school's recurring inspection in force, if any."""
    row = await db.one(
        "SELECT id, school_id, every, set_at FROM recurring_inspections"
        " WHERE school_id = ? AND stopped_at IS NULL",
        (school_id,),
    )
    if row is None:
        return None
    return RecurringInspection(
        row["id"], row["school_id"], row["every"], datetime.fromisoformat(row["set_at"])
    )


async def set_recurring(tx: Tx, school_id: int, every: str | None, actor_id: int) -> bool:
    """Set (or with ``every`` None stop) the school's recurring inspection; False: unchanged."""
    current = await recurring(tx, school_id)
    if current is not None and current.every == every:
        return False
    if current is None and every is None:
        return False
    if current is not None:
        await tx.run(
            "UPDATE recurring_inspections SET stopped_at = ?, stopped_by = ? WHERE id = ?",
            (tx.now(), actor_id, current.id),
        )
    if every is not None:
        new_id = await tx.run(
            "INSERT INTO recurring_inspections (school_id, every, set_by, set_at)"
            " VALUES (?, ?, ?, ?)",
            (school_id, every, actor_id, tx.now()),
        )
    await tx.event(
        actor_id,
        "school.recurring_inspection",
        "school",
        school_id,
        before={"every": current.every if current else None},
        after={"every": every, "recurring_id": new_id if every else None},
    )
    return True


async def live_recurring(db: Reader) -> list[Row]:
    """Every recurring inspection in force, with its latest round's period."""
    return await db.all(
        "SELECT ri.*, (SELECT MAX(period_start) FROM inspection_rounds r"
        " WHERE r.recurring_id = ri.id) AS latest FROM recurring_inspections ri"
        " WHERE ri.stopped_at IS NULL ORDER BY ri.id"
    )


async def open_round(
    tx: Tx, recurring_row: Row, campaign_id: int, period_start: date, due: date
) -> int:
    """A new walk of the school's buildings: the walk screens show it from now on."""
    round_id = await tx.run(
        "INSERT INTO inspection_rounds (school_id, campaign_id, recurring_id, period_start,"
        " due, opened_at) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (recurring_id, period_start) DO NOTHING",
        (
            recurring_row["school_id"],
            campaign_id,
            recurring_row["id"],
            period_start.isoformat(),
            due.isoformat(),
            tx.now(),
        ),
    )
    if round_id:
        await tx.event(
            None,
            "inspection_round.opened",
            "school",
            recurring_row["school_id"],
            after={"round_id": round_id, "period_start": period_start, "due": due},
        )
    return round_id


# --- the planner's snapshot ----------------------------------------------------------------


async def load_ledger(
    db: Database,
    campaign_id: int,
    today: date,
    horizon_days: int,
    school_ids: Collection[int] | None = None,
) -> Ledger:
    """What the planner needs (see ``read_ledger``), read in one trip to a thread."""
    return await db.in_thread(read_ledger, campaign_id, today, horizon_days, school_ids)


def read_ledger(
    conn: sqlite3.Connection,
    campaign_id: int,
    today: date,
    horizon_days: int,
    school_ids: Collection[int] | None = None,
) -> Ledger:
    """What the planner needs, in a few grouped queries on a plain connection.

    Hazards are read only when their deadline is within ``horizon_days``
    (the earliest reminder), so a city's ledger stays quick to read. Plain
    ``sqlite3`` in one thread, not a trip per query: a city's pass reads tens
    of thousands of rows, and the planner runs in the same thread right after.
    """
    where, params = _schools_filter(school_ids)
    campaign_row = conn.execute(
        "SELECT id, name, self_inspection_due, rectification_due, supervision_due"
        " FROM campaigns WHERE id = ?",
        (campaign_id,),
    ).fetchone()
    assert campaign_row is not None
    campaign = Campaign(
        campaign_id,
        campaign_row[1],
        stored_day(campaign_row[2]),
        stored_day(campaign_row[3]),
        stored_day(campaign_row[4]),
    )
    people = {
        r[0]: Recipient(r[0], r[1], bool(r[2]), r[3])
        for r in conn.execute("SELECT id, name, blocked_at IS NOT NULL, reminder_hour FROM people")
    }
    roles: dict[tuple[int | None, str], list[int]] = defaultdict(list)
    for r in conn.execute("SELECT school_id, role, person_id FROM memberships ORDER BY person_id"):
        roles[(r[0], r[1])].append(r[2])
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in conn.execute(
        "SELECT b.school_id, COUNT(*), SUM(i.closed_at IS NULL) FROM buildings b"
        " LEFT JOIN inspections i ON i.building_id = b.id AND i.campaign_id = ?"
        " AND i.round_id IS NULL WHERE b.out_of_use = 0 GROUP BY b.school_id",
        (campaign_id,),
    ):
        counts[r[0]]["buildings"] = r[1]
        counts[r[0]]["left"] = r[2] or 0
    stamp = today.isoformat()
    for r in conn.execute(
        "SELECT school_id, state, COUNT(*), SUM(deadline < ?) FROM hazards"
        " WHERE state IN ('open', 'submitted', 'closed') GROUP BY school_id, state",
        (stamp,),
    ):
        school_counts = counts[r[0]]
        if r[1] == "closed":
            school_counts["closed"] += r[2]
            continue
        school_counts["open"] += r[2]
        if r[1] == "submitted":
            school_counts["waiting"] += r[2]
        else:
            school_counts["overdue"] += r[3] or 0
    schools = {}
    for r in conn.execute(f"SELECT id, name FROM schools {where}", params):  # noqa: S608
        c = counts[r[0]]
        schools[r[0]] = School(
            r[0],
            r[1],
            leaders=tuple(roles[(r[0], "leader")]),
            principals=tuple(roles[(r[0], "principal")]),
            buildings=c["buildings"],
            buildings_left=c["left"],
            open=c["open"],
            overdue=c["overdue"],
            waiting=c["waiting"],
            closed=c["closed"],
        )
    until = (today + timedelta(days=horizon_days)).isoformat()
    hazard_where = where.replace("WHERE id", "AND h.school_id")
    # Two halves, not one OR: each has its own index (the open half a covering one,
    # migration 0009), and a few thousand buildings are looked up by key.
    columns = (
        "SELECT h.id, h.school_id, {due}, h.responsible_id, COALESCE(h.responsible_name, ''),"
        " COALESCE(substr(h.description, 1, 40), ci.code, ''), COALESCE(b.name, '—'), {flag}"
        " FROM hazards h LEFT JOIN buildings b ON b.id = h.building_id"
        " LEFT JOIN checklist_items ci ON ci.id = h.item_id"
    )
    due_sql = (
        columns.format(due="h.deadline", flag="0")
        + f" WHERE h.state = 'open' AND h.deadline <= ? {hazard_where}"
        # A hazard that cannot be fixed: its demolition's deadline.
        + " UNION ALL "
        + columns.format(due="h.demolition_due", flag="1")
        + f" WHERE h.state = 'unfixable' AND h.demolition_due <= ? {hazard_where}"
    )
    # Fetched whole and made into tuples in one comprehension: tens of thousands of rows,
    # a few hundred distinct days (each parsed once).
    rows = conn.execute(due_sql, (until, *params, until, *params)).fetchall()
    days = {d: date.fromisoformat(d) for d in {r[2] for r in rows}}
    hazards = [Hazard(i, s, days[d], r, n, w, b, f == 1) for i, s, d, r, n, w, b, f in rows]
    rows = conn.execute(
        "SELECT h.id, h.school_id, substr(f.submitted_at, 1, 10), f.reported_by"  # noqa: S608
        " FROM fix_reports f JOIN hazards h ON h.id = f.hazard_id"
        f" WHERE f.state = 'submitted' AND h.state = 'submitted' {hazard_where}",
        params,
    ).fetchall()
    days = {d: date.fromisoformat(d) for d in {r[2] for r in rows}}
    waiting = [WaitingFix(i, s, days[d], r) for i, s, d, r in rows]
    rounds = [
        Round(r[0], r[1], r[2], date.fromisoformat(r[3][:10]), date.fromisoformat(r[4]), r[5])
        for r in conn.execute(
            "SELECT r.id, r.school_id, ri.every, r.opened_at, r.due,"
            " (SELECT COUNT(*) FROM buildings b WHERE b.school_id = r.school_id"
            "  AND b.out_of_use = 0 AND NOT EXISTS (SELECT 1 FROM inspections i"
            "  WHERE i.building_id = b.id AND i.round_id = r.id AND i.closed_at IS NOT NULL))"
            " FROM inspection_rounds r JOIN recurring_inspections ri ON ri.id = r.recurring_id"
            " WHERE ri.stopped_at IS NULL AND r.campaign_id = ?"
            " AND r.id = (SELECT MAX(id) FROM inspection_rounds x"
            "  WHERE x.school_id = r.school_id AND x.campaign_id = r.campaign_id)",
            (campaign_id,),
        )
        if r[1] in schools
    ]
    # Drawn visits not yet done: only in the city's plan, never in a school's preview.
    visits = (
        []
        if school_ids is not None
        else [
            DrawnVisit(r[0], r[1], tuple(json.loads(r[2])))
            for r in conn.execute(
                "SELECT v.id, s.name, (SELECT json_group_array(person_id) FROM visit_supervisors"
                " WHERE visit_id = v.id) FROM supervision_visits v"
                " JOIN schools s ON s.id = v.school_id"
                " WHERE v.campaign_id = ? AND v.state != 'ended' AND v.chosen_by = 'drawn'"
                " ORDER BY v.id",
                (campaign_id,),
            )
        ]
    )
    return Ledger(
        campaign=campaign,
        people=people,
        schools=schools,
        taskforce=tuple(roles[(None, "taskforce")]),
        hazards=hazards,
        waiting=waiting,
        rounds=rounds,
        visits=visits,
    )


def _schools_filter(school_ids: Collection[int] | None) -> tuple[str, list[int]]:
    if school_ids is None:
        return "", []
    ids = sorted(school_ids)
    return f"WHERE id IN ({', '.join('?' * len(ids))})", ids
