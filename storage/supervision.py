"""Supervision's storage: draws, visits, supervision walks, findings, reopenings.

Every change writes the event log. The rules (who may, what a draw gives) are
in ``ledger.supervision``; this module reads and writes what they decide, and
hands the layers above typed records (``ledger.supervision.Visit``,
``SupervisionWalk``, ``Finding``…) with moments parsed, never rows.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any

from ledger.checklist import ChecklistItem
from ledger.hazards import Hazard
from ledger.rectify import FixReport, FixState, State
from ledger.roles import Contact
from ledger.supervision import (
    ChosenBy,
    Contradiction,
    Draw,
    DrawnVisit,
    Finding,
    FindingKind,
    FindingState,
    SchoolCandidate,
    SupervisionAnswer,
    SupervisionWalk,
    SupervisorCandidate,
    Visit,
    VisitBuilding,
    VisitRefused,
    VisitState,
    WalkAtStep,
    draw,
    school_candidates,
    still_open,
)
from ledger.walk import Choice
from storage import campus, hazards
from storage import rectify as rectify_store
from storage.campus import create_building
from storage.db import Query, Reader, Row, Tx, Writes, stored_moment
from storage.photos import StoredPhoto

# --- what the papers read (built into workbooks by reports/supervision.py) -------


@dataclass(frozen=True)
class SchoolSupervision:
    """One school's supervision in the campaign."""

    visit_state: VisitState | None  # None: no visit drawn or made
    findings: dict[FindingKind, int] = field(default_factory=dict)

    @property
    def visited(self) -> bool:
        return self.visit_state is VisitState.ENDED


@dataclass(frozen=True)
class FindingRow:
    school: str
    building: str
    item_code: str | None
    kind: FindingKind
    description: str
    hazard_id: int | None
    hazard_state: str | None
    verifier: str | None
    finder: str
    recorded_at: datetime
    accident_open: bool  # heads the sheet until its hazard is closed


@dataclass(frozen=True)
class VisitRow:
    id: int
    school: str
    district: str
    chosen_by: ChosenBy
    draw_id: int | None
    supervisors: str
    state: VisitState
    started_at: datetime | None
    ended_at: datetime | None
    walks: int
    walks_unfinished: int
    items_checked: int
    findings: dict[FindingKind, int]


# --- the draw ---------------------------------------------------------------------


async def visited_schools(db: Reader, campaign_id: int) -> set[int]:
    """Schools with a visit in the campaign: drawn, under way or done."""
    rows = await db.all(
        "SELECT DISTINCT school_id FROM supervision_visits WHERE campaign_id = ?", (campaign_id,)
    )
    return {r["school_id"] for r in rows}


async def schools(db: Reader) -> list[SchoolCandidate]:
    rows = await db.all("SELECT id, name, district, kind FROM schools ORDER BY id")
    return [SchoolCandidate(r["id"], r["name"], r["district"], r["kind"]) for r in rows]


async def supervisor_pool(db: Reader) -> list[SupervisorCandidate]:
    """Everyone with the supervisor role, with the schools they are members of."""
    rows = await db.all(
        "SELECT p.id, p.name, (SELECT json_group_array(m2.school_id) FROM memberships m2"
        " WHERE m2.person_id = p.id AND m2.school_id IS NOT NULL) AS schools"
        " FROM people p WHERE EXISTS (SELECT 1 FROM memberships m"
        " WHERE m.person_id = p.id AND m.role = 'supervisor') ORDER BY p.id"
    )
    return [
        SupervisorCandidate(r["id"], r["name"], frozenset(json.loads(r["schools"]))) for r in rows
    ]


def _draw_of(row: Row) -> Draw:
    return Draw(
        seed=row["seed"],
        schools_asked=row["schools_asked"],
        supervisors_per_visit=row["supervisors_per_visit"],
        school_candidates=tuple(SchoolCandidate(**s) for s in json.loads(row["school_candidates"])),
        supervisor_pool=tuple(
            SupervisorCandidate(s["id"], s["name"], frozenset(s["school_ids"]))
            for s in json.loads(row["supervisor_pool"])
        ),
        visits=tuple(
            DrawnVisit(v["school_id"], tuple(v["supervisor_ids"]))
            for v in json.loads(row["result"])
        ),
    )


async def store_draw(
    tx: Tx,
    campaign_id: int,
    made: Draw,
    districts: list[str],
    kinds: list[str],
    actor_id: int | None,
) -> int:
    """Store the draw and plan its visits (nothing is said to any school)."""
    pool = [
        {"id": s.id, "name": s.name, "school_ids": sorted(s.school_ids)}
        for s in made.supervisor_pool
    ]
    result = [
        {"school_id": v.school_id, "supervisor_ids": list(v.supervisor_ids)} for v in made.visits
    ]
    draw_id = await tx.run(
        "INSERT INTO supervision_draws (campaign_id, seed, schools_asked, supervisors_per_visit,"
        " districts, kinds, school_candidates, supervisor_pool, result, drawn_by, drawn_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            campaign_id,
            made.seed,
            made.schools_asked,
            made.supervisors_per_visit,
            json.dumps(districts, ensure_ascii=False),
            json.dumps(kinds, ensure_ascii=False),
            json.dumps([asdict(s) for s in made.school_candidates], ensure_ascii=False),
            json.dumps(pool, ensure_ascii=False),
            json.dumps(result),
            actor_id,
            tx.now(),
        ),
    )
    await tx.event(
        actor_id,
        "draw.made",
        "draw",
        draw_id,
        after={"seed": made.seed, "result": result, "districts": districts, "kinds": kinds},
    )
    for visit in made.visits:
        planned = partial(_create_visit_in, campaign_id=campaign_id, school_id=visit.school_id,
                          draw_id=draw_id, chosen_by=ChosenBy.DRAWN,
                          supervisor_ids=visit.supervisor_ids, actor_id=actor_id)  # fmt: skip
        await tx.at_once(planned)
    return draw_id


async def draw_of(db: Reader, draw_id: int) -> Draw | None:
    row = await db.one("SELECT * FROM supervision_draws WHERE id = ?", (draw_id,))
    return None if row is None else _draw_of(row)


# --- visits -------------------------------------------------------------------------


def _create_visit_in(
    w: Writes,
    *,
    campaign_id: int,
    school_id: int,
    draw_id: int | None,
    chosen_by: ChosenBy,
    supervisor_ids: tuple[int, ...],
    actor_id: int | None,
) -> int:
    """A visit planned (drawn, or made by hand), its supervisors on it, in the event log."""
    visit_id = w.run(
        "INSERT INTO supervision_visits (campaign_id, school_id, draw_id, chosen_by, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (campaign_id, school_id, draw_id, chosen_by.value, w.now()),
    )
    for person_id in supervisor_ids:
        w.run(
            "INSERT INTO visit_supervisors (visit_id, person_id) VALUES (?, ?)",
            (visit_id, person_id),
        )
    w.event(
        actor_id,
        "visit.planned",
        "visit",
        visit_id,
        after={
            "school_id": school_id,
            "draw_id": draw_id,
            "chosen_by": chosen_by.value,
            "supervisors": list(supervisor_ids),
        },
    )
    return visit_id


_VISIT = (
    "SELECT v.*, s.name AS school_name, s.district,"
    " (SELECT json_group_array(vs.person_id) FROM (SELECT person_id FROM visit_supervisors"
    " WHERE visit_id = v.id ORDER BY person_id) vs) AS supervisors"
    " FROM supervision_visits v JOIN schools s ON s.id = v.school_id"
)


def _visit(row: Row) -> Visit:
    return Visit(
        id=row["id"],
        campaign_id=row["campaign_id"],
        school_id=row["school_id"],
        school_name=row["school_name"],
        district=row["district"],
        draw_id=row["draw_id"],
        chosen_by=ChosenBy(row["chosen_by"]),
        state=VisitState(row["state"]),
        supervisor_ids=tuple(json.loads(row["supervisors"])),
        created_at=datetime.fromisoformat(row["created_at"]),
        started_at=stored_moment(row["started_at"]),
        started_by=row["started_by"],
        ended_at=stored_moment(row["ended_at"]),
        ended_by=row["ended_by"],
    )


async def visit(db: Reader, visit_id: int) -> Visit | None:
    row = await db.one(f"{_VISIT} WHERE v.id = ?", (visit_id,))
    return None if row is None else _visit(row)


def visit_in(w: Writes, visit_id: int) -> Visit | None:
    """``visit`` inside a write run at once."""
    row = w.one(f"{_VISIT} WHERE v.id = ?", (visit_id,))
    return None if row is None else _visit(row)


_LIVE = f"{_VISIT} WHERE v.campaign_id = ? AND v.school_id = ? AND v.state != 'ended'"


async def live_visit(db: Reader, campaign_id: int, school_id: int) -> Visit | None:
    """The school's planned or started visit in the campaign, if any."""
    row = await db.one(_LIVE, (campaign_id, school_id))
    return None if row is None else _visit(row)


def live_visit_in(w: Writes, campaign_id: int, school_id: int) -> Visit | None:
    """``live_visit`` inside a write run at once."""
    row = w.one(_LIVE, (campaign_id, school_id))
    return None if row is None else _visit(row)


def visits_query(campaign_id: int) -> Query:
    """The campaign's visits (``visits_from``), to read with others in one trip."""
    return (f"{_VISIT} WHERE v.campaign_id = ? ORDER BY v.id", (campaign_id,))


def visits_from(rows: list[Row]) -> list[Visit]:
    return [_visit(row) for row in rows]


async def visits(db: Reader, campaign_id: int) -> list[Visit]:
    return visits_from(await db.all(*visits_query(campaign_id)))


_STARTED_OF = (
    f"{_VISIT} WHERE v.campaign_id = ? AND v.state = 'started' AND EXISTS"  # noqa: S608
    " (SELECT 1 FROM visit_supervisors vs WHERE vs.visit_id = v.id AND vs.person_id = ?)"
    " ORDER BY v.started_at DESC LIMIT 1"
)


async def started_visit_of(db: Reader, person_id: int, campaign_id: int) -> Visit | None:
    """The visit this supervisor is on now (the latest started one)."""
    row = await db.one(_STARTED_OF, (campaign_id, person_id))
    return None if row is None else _visit(row)


def started_visit_of_in(w: Writes, person_id: int, campaign_id: int) -> Visit | None:
    """``started_visit_of`` inside a write run at once."""
    row = w.one(_STARTED_OF, (campaign_id, person_id))
    return None if row is None else _visit(row)


def school_name_in(w: Writes, school_id: int) -> str | None:
    """A school's name (None: no such school), inside a write run at once."""
    value = w.value("SELECT name FROM schools WHERE id = ?", (school_id,))
    return None if value is None else str(value)


async def supervisor_names(db: Reader, visit_id: int) -> list[str]:
    """The visit's supervisors' names, in id order."""
    rows = await db.all(
        "SELECT p.name FROM visit_supervisors vs JOIN people p ON p.id = vs.person_id"
        " WHERE vs.visit_id = ? ORDER BY p.id",
        (visit_id,),
    )
    return [str(r[0]) for r in rows]


async def drawn_supervisors(db: Reader, draw_id: int) -> list[tuple[int, str, Contact]]:
    """Each visit of a draw with its school's name and each of its supervisors."""
    rows = await db.all(
        "SELECT v.id, s.name, p.id, p.name, p.language FROM supervision_visits v"
        " JOIN visit_supervisors vs ON vs.visit_id = v.id JOIN people p ON p.id = vs.person_id"
        " JOIN schools s ON s.id = v.school_id WHERE v.draw_id = ? ORDER BY v.id, p.id",
        (draw_id,),
    )
    return [(r[0], r[1], Contact(r[2], r[3], r[4])) for r in rows]


async def buildings_of_visit(db: Reader, visit: Visit) -> list[VisitBuilding]:
    """The visited school's buildings: self-inspection state, ledger hazards, missed flag."""
    counts: dict[int, tuple[int, int]] = {}
    for h in await hazards_of_school(db, visit.school_id):
        if h.building_id is not None:
            total, still = counts.get(h.building_id, (0, 0))
            counts[h.building_id] = (total + 1, still + still_open(h.state))
    return [
        VisitBuilding(
            id=b["id"],
            name=b["name"],
            self_state=b["state"],
            missed=b["missed_visit_id"] is not None,
            hazards=counts.get(b["id"], (0, 0))[0],
            still_open=counts.get(b["id"], (0, 0))[1],
        )
        for b in await campus.buildings_with_state(db, visit.school_id, visit.campaign_id)
    ]


async def school_name(db: Reader, school_id: int) -> str | None:
    value = await db.value("SELECT name FROM schools WHERE id = ?", (school_id,))
    return None if value is None else str(value)


async def school_building(db: Reader, building_id: int) -> tuple[int, str] | None:
    """A building's school and name."""
    row = await db.one("SELECT school_id, name FROM buildings WHERE id = ?", (building_id,))
    return None if row is None else (row[0], row[1])


async def start_visit(tx: Tx, visit_id: int, person_id: int) -> None:
    """The supervisor is on site: the visit starts (once), and they are on it."""
    await tx.at_once(partial(start_visit_in, visit_id=visit_id, person_id=person_id))


def start_visit_in(w: Writes, visit_id: int, person_id: int) -> None:
    """``start_visit`` inside a write run at once."""
    changed = w.run(
        "UPDATE supervision_visits SET state = 'started', started_at = ?, started_by = ?"
        " WHERE id = ? AND state = 'planned'",
        (w.now(), person_id, visit_id),
    )
    if not changed:
        raise VisitRefused(reason="started")
    w.run(
        "INSERT INTO visit_supervisors (visit_id, person_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
        (visit_id, person_id),
    )
    w.event(
        person_id,
        "visit.started",
        "visit",
        visit_id,
        before={"state": "planned"},
        after={"state": "started"},
    )


def visit_by_hand_in(w: Writes, campaign_id: int, school_id: int, person_id: int) -> int:
    """A school the supervisor chose on the spot: the visit is made and started (inside a
    write run at once)."""
    if live_visit_in(w, campaign_id, school_id) is not None:
        raise VisitRefused(reason="started")
    visit_id = _create_visit_in(
        w,
        campaign_id=campaign_id,
        school_id=school_id,
        draw_id=None,
        chosen_by=ChosenBy.BY_HAND,
        supervisor_ids=(person_id,),
        actor_id=person_id,
    )
    start_visit_in(w, visit_id, person_id)
    return visit_id


async def end_visit(tx: Tx, visit_id: int, person_id: int) -> None:
    changed = await tx.run(
        "UPDATE supervision_visits SET state = 'ended', ended_at = ?, ended_by = ?"
        " WHERE id = ? AND state = 'started'",
        (tx.now(), person_id, visit_id),
    )
    if not changed:
        raise VisitRefused(reason="ended")
    # Findings still being given are withdrawn (kept, never counted).
    for row in await tx.all(
        "SELECT id FROM supervision_findings WHERE visit_id = ? AND state = 'draft'", (visit_id,)
    ):
        await tx.run("UPDATE supervision_findings SET state = 'withdrawn' WHERE id = ?", (row[0],))
        await tx.event(
            person_id, "finding.withdrawn", "finding", row[0],
            before={"state": "draft"}, after={"state": "withdrawn"},
        )  # fmt: skip
    await tx.event(
        person_id,
        "visit.ended",
        "visit",
        visit_id,
        before={"state": "started"},
        after={"state": "ended"},
    )


async def end_journeys_of_visit(tx: Tx, visit_id: int) -> None:
    """What the visit's supervisors were typing or sending for it is over."""
    await tx.run(
        "DELETE FROM pending_inputs WHERE kind IN ('supervision_walk', 'missed_building') AND ("
        " json_extract(data, '$.visit_id') = ? OR json_extract(data, '$.walk_id') IN"
        " (SELECT id FROM supervision_walks WHERE visit_id = ?))",
        (visit_id, visit_id),
    )


# --- supervision walks ------------------------------------------------------------


_WALK = (
    "SELECT w.*, b.name AS building_name, b.school_id, b.use, b.year_built, v.campaign_id,"
    " (SELECT COUNT(*) FROM supervision_answers a WHERE a.walk_id = w.id) AS answered"
    " FROM supervision_walks w JOIN buildings b ON b.id = w.building_id"
    " JOIN supervision_visits v ON v.id = w.visit_id"
)


def _walk(row: Row) -> SupervisionWalk:
    return SupervisionWalk(
        id=row["id"],
        visit_id=row["visit_id"],
        campaign_id=row["campaign_id"],
        school_id=row["school_id"],
        building_id=row["building_id"],
        building_name=row["building_name"],
        building_use=row["use"],
        year_built=row["year_built"],
        checklist_version_id=row["checklist_version_id"],
        walker_id=row["walker_id"],
        started_at=datetime.fromisoformat(row["started_at"]),
        finished_at=stored_moment(row["finished_at"]),
        answered=row["answered"],
    )


async def walk(db: Reader, walk_id: int) -> SupervisionWalk | None:
    row = await db.one(f"{_WALK} WHERE w.id = ?", (walk_id,))
    return None if row is None else _walk(row)


def walk_step_query(walk_id: int, item_id: int) -> Query:
    """The one statement a tap on a walk's item reads (``walk_step_from``): the walk, its
    visit's state and supervisors, its answers, whether a finding is being given, and the
    school's own answer on the item, in one snapshot (read with the person, one trip)."""
    return (
        "SELECT w.*, b.name AS building_name, b.school_id, b.use, b.year_built, v.campaign_id,"
        " (SELECT COUNT(*) FROM supervision_answers a WHERE a.walk_id = w.id) AS answered,"
        " v.state AS visit_state,"
        " (SELECT json_group_array(vs.person_id) FROM (SELECT person_id FROM visit_supervisors"
        "  WHERE visit_id = v.id ORDER BY person_id) vs) AS supervisors,"
        " (SELECT json_group_array(json_array(g.item_id, g.choice, g.school_choice,"
        "  g.answered_by, g.answered_at)) FROM (SELECT * FROM supervision_answers"
        "  WHERE walk_id = w.id ORDER BY id) g) AS given,"
        " EXISTS (SELECT 1 FROM supervision_findings f WHERE f.walk_id = w.id"
        "  AND f.state = 'draft') AS drafting,"
        " (SELECT sa.choice FROM answers sa JOIN inspections i ON i.id = sa.inspection_id"
        "  WHERE i.campaign_id = v.campaign_id AND i.building_id = w.building_id"
        "  AND sa.item_id = ? ORDER BY i.id DESC LIMIT 1) AS school_choice"
        " FROM supervision_walks w JOIN buildings b ON b.id = w.building_id"
        " JOIN supervision_visits v ON v.id = w.visit_id WHERE w.id = ?",
        (item_id, walk_id),
    )


def walk_step_from(rows: list[Row]) -> WalkAtStep | None:
    """The walk read by ``walk_step_query`` (None: no such walk)."""
    if not rows:
        return None
    row = rows[0]
    given = {
        int(item): SupervisionAnswer(
            item_id=int(item),
            choice=Choice(choice),
            school_choice=_choice(school),
            answered_by=int(by),
            answered_at=datetime.fromisoformat(at),
        )
        for item, choice, school, by, at in json.loads(row["given"])
    }
    return WalkAtStep(
        walk=_walk(row),
        visit_state=VisitState(row["visit_state"]),
        supervisor_ids=tuple(json.loads(row["supervisors"])),
        answers=given,
        drafting=bool(row["drafting"]),
        school_choice=_choice(row["school_choice"]),
    )


async def walk_step(db: Reader, walk_id: int, item_id: int) -> WalkAtStep | None:
    """A walk as a tap on ``item_id`` finds it, in one read."""
    return walk_step_from(await db.all(*walk_step_query(walk_id, item_id)))


async def walk_of(db: Reader, visit_id: int, building_id: int) -> SupervisionWalk | None:
    row = await db.one(
        f"{_WALK} WHERE w.visit_id = ? AND w.building_id = ?", (visit_id, building_id)
    )
    return None if row is None else _walk(row)


def walk_of_in(w: Writes, visit_id: int, building_id: int) -> SupervisionWalk | None:
    """``walk_of`` inside a write run at once."""
    row = w.one(f"{_WALK} WHERE w.visit_id = ? AND w.building_id = ?", (visit_id, building_id))
    return None if row is None else _walk(row)


def start_walk_in(
    w: Writes, visit_id: int, building_id: int, version_id: int, person_id: int
) -> int:
    """``start_walk`` inside a write run at once."""
    walk_id = w.run(
        "INSERT INTO supervision_walks (visit_id, building_id, checklist_version_id, walker_id,"
        " started_at, last_activity_at) VALUES (?, ?, ?, ?, ?, ?)",
        (visit_id, building_id, version_id, person_id, w.now(), w.now()),
    )
    w.event(
        person_id,
        "supervision_walk.started",
        "visit",
        visit_id,
        after={"walk_id": walk_id, "building_id": building_id},
    )
    return walk_id


def school_building_in(w: Writes, building_id: int) -> tuple[int, str] | None:
    """``school_building`` inside a write run at once."""
    row = w.one("SELECT school_id, name FROM buildings WHERE id = ?", (building_id,))
    return None if row is None else (row[0], row[1])


def person_name_in(w: Writes, person_id: int) -> str | None:
    """A person's name, inside a write run at once (who is walking a building)."""
    value = w.value("SELECT name FROM people WHERE id = ?", (person_id,))
    return None if value is None else str(value)


async def walks_of_visit(db: Reader, visit_id: int) -> list[SupervisionWalk]:
    rows = await db.all(f"{_WALK} WHERE w.visit_id = ? ORDER BY w.id", (visit_id,))
    return [_walk(row) for row in rows]


async def items_of_walk(db: Reader, walk: SupervisionWalk) -> list[tuple[int, ChecklistItem]]:
    """The checklist items that apply to the walk's building, with their ids, in order
    (the building's use and age as they are now: an edited building is seen at once)."""
    found = []
    for row in await campus.version_items(db, walk.checklist_version_id):
        item = campus.item_of(row)
        if item.applies_to(walk.building_use, walk.year_built):
            found.append((int(row["id"]), item))
    return found


async def start_walk(
    tx: Tx, visit_id: int, building_id: int, version_id: int, person_id: int
) -> int:
    """A building's walk begun by a supervisor (``start_walk_in``, in this transaction)."""
    return await tx.at_once(
        partial(start_walk_in, visit_id=visit_id, building_id=building_id,
                version_id=version_id, person_id=person_id)
    )  # fmt: skip


def _choice(value: str | None) -> Choice | None:
    return None if value is None else Choice(value)


async def answers(db: Reader, walk_id: int) -> dict[int, SupervisionAnswer]:
    """The walk's answers by item."""
    rows = await db.all("SELECT * FROM supervision_answers WHERE walk_id = ?", (walk_id,))
    return {
        r["item_id"]: SupervisionAnswer(
            item_id=r["item_id"],
            choice=Choice(r["choice"]),
            school_choice=_choice(r["school_choice"]),
            answered_by=r["answered_by"],
            answered_at=datetime.fromisoformat(r["answered_at"]),
        )
        for r in rows
    }


async def school_answer(
    db: Reader, campaign_id: int, building_id: int, item_id: int
) -> Choice | None:
    """The school's own answer on this item in its campaign walk of the building."""
    value = await db.value(
        "SELECT a.choice FROM answers a JOIN inspections i ON i.id = a.inspection_id"
        " WHERE i.campaign_id = ? AND i.building_id = ? AND a.item_id = ?"
        " ORDER BY i.id DESC LIMIT 1",
        (campaign_id, building_id, item_id),
    )
    return None if value is None else Choice(value)


def record_answer(
    w: Writes,
    walk: SupervisionWalk,
    item_id: int,
    choice: Choice,
    school_choice: Choice | None,
    person_id: int,
) -> bool:
    """Store the supervisor's blind answer (inside a write run at once); False when the
    item was answered already, or the walk is no longer theirs to answer as it was read
    (another walker, finished, a finding being given, its visit not under way): judged in
    the write itself, so a tap read before another's change is applied once or not at all,
    with no read of its own."""
    answer_id = w.run(
        "INSERT INTO supervision_answers (walk_id, item_id, choice, school_choice, answered_by,"
        " answered_at) SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM supervision_walks w"
        " JOIN supervision_visits v ON v.id = w.visit_id WHERE w.id = ? AND w.walker_id = ?"
        " AND w.finished_at IS NULL AND v.state = 'started' AND NOT EXISTS (SELECT 1 FROM"
        " supervision_findings f WHERE f.walk_id = w.id AND f.state = 'draft'))"
        " ON CONFLICT (walk_id, item_id) DO NOTHING",
        (walk.id, item_id, choice.value, _value(school_choice), person_id, w.now(), walk.id,
         person_id),
    )  # fmt: skip
    if not answer_id:
        return False
    w.run("UPDATE supervision_walks SET last_activity_at = ? WHERE id = ?", (w.now(), walk.id))
    w.event(
        person_id,
        "supervision_answer.given",
        "supervision_walk",
        walk.id,
        after={"item_id": item_id, "choice": choice.value, "school_choice": _value(school_choice)},
    )
    return True


def _value(choice: Choice | None) -> str | None:
    return None if choice is None else choice.value


def finish_walk_in(w: Writes, walk_id: int, person_id: int) -> bool:
    """``finish_walk`` inside a write run at once."""
    changed = w.run(
        "UPDATE supervision_walks SET finished_at = ? WHERE id = ? AND finished_at IS NULL",
        (w.now(), walk_id),
    )
    if changed:
        w.event(person_id, "supervision_walk.finished", "supervision_walk", walk_id)
    return bool(changed)


async def finish_walk(tx: Tx, walk_id: int, person_id: int) -> bool:
    """A walk finished, once (``finish_walk_in``, in this transaction)."""
    return await tx.at_once(partial(finish_walk_in, walk_id=walk_id, person_id=person_id))


# --- findings -------------------------------------------------------------------------

FINDING_FIELDS = frozenset({"photos_done", "description", "major"})


NEW_FINDING = (
    "INSERT INTO supervision_findings (visit_id, walk_id, building_id, item_id, found_by,"
    " found_at) VALUES (?, ?, ?, ?, ?, ?)"
)


async def create_finding(
    tx: Tx, visit_id: int, walk_id: int | None, building_id: int | None, item_id: int | None,
    person_id: int,
) -> int:  # fmt: skip
    finding_id = await tx.run(
        NEW_FINDING, (visit_id, walk_id, building_id, item_id, person_id, tx.now())
    )
    await tx.event(
        person_id, "finding.started", "finding", finding_id,
        after={"visit_id": visit_id, "building_id": building_id, "item_id": item_id},
    )  # fmt: skip
    return finding_id


def new_finding(
    w: Writes, visit_id: int, walk_id: int, building_id: int, item_id: int | None, person_id: int
) -> int:
    """``create_finding`` for a walk's item, inside a write run at once."""
    finding_id = w.run(NEW_FINDING, (visit_id, walk_id, building_id, item_id, person_id, w.now()))
    w.event(
        person_id, "finding.started", "finding", finding_id,
        after={"visit_id": visit_id, "building_id": building_id, "item_id": item_id},
    )  # fmt: skip
    return finding_id


_FINDING = (
    "SELECT f.*, v.school_id, v.campaign_id, b.name AS building_name, ci.code AS item_code,"
    " h.description AS hazard_text, p.name AS finder_name, d.name AS verifier_name,"
    " (SELECT COUNT(*) FROM finding_photos fp WHERE fp.finding_id = f.id) AS photos"
    " FROM supervision_findings f JOIN supervision_visits v ON v.id = f.visit_id"
    " LEFT JOIN buildings b ON b.id = f.building_id"
    " LEFT JOIN checklist_items ci ON ci.id = f.item_id"
    " LEFT JOIN hazards h ON h.id = f.hazard_id"
    " JOIN people p ON p.id = f.found_by LEFT JOIN people d ON d.id = f.verifier_id"
)


def _finding(row: Row) -> Finding:
    return Finding(
        id=row["id"],
        visit_id=row["visit_id"],
        walk_id=row["walk_id"],
        school_id=row["school_id"],
        campaign_id=row["campaign_id"],
        building_id=row["building_id"],
        building_name=row["building_name"],
        item_id=row["item_id"],
        item_code=row["item_code"],
        state=FindingState(row["state"]),
        kind=None if row["kind"] is None else FindingKind(row["kind"]),
        photos_done=bool(row["photos_done"]),
        photos=row["photos"],
        description=row["description"],
        major=None if row["major"] is None else bool(row["major"]),
        hazard_id=row["hazard_id"],
        hazard_text=row["hazard_text"],
        closed_fix_id=row["closed_fix_id"],
        verifier_id=row["verifier_id"],
        verifier_name=row["verifier_name"],
        found_by=row["found_by"],
        finder_name=row["finder_name"],
        found_at=datetime.fromisoformat(row["found_at"]),
        recorded_at=stored_moment(row["recorded_at"]),
    )


async def finding(db: Reader, finding_id: int) -> Finding | None:
    row = await db.one(f"{_FINDING} WHERE f.id = ?", (finding_id,))
    return None if row is None else _finding(row)


async def draft_of_walk(db: Reader, walk_id: int) -> Finding | None:
    """The finding being given on this walk, if any."""
    row = await db.one(
        f"{_FINDING} WHERE f.walk_id = ? AND f.state = 'draft' ORDER BY f.id LIMIT 1", (walk_id,)
    )
    return None if row is None else _finding(row)


async def update_finding(tx: Tx, finding_id: int, person_id: int, **fields: Any) -> bool:
    """A draft finding's fields changed (``update_finding_in``, in this transaction)."""
    return await tx.at_once(
        partial(update_finding_in, finding_id=finding_id, person_id=person_id, **fields)
    )


def update_finding_in(w: Writes, finding_id: int, person_id: int, **fields: Any) -> bool:
    """``update_finding`` inside a write run at once; False when the finding is no longer
    a draft (nothing is changed then)."""
    unknown = set(fields) - FINDING_FIELDS
    if unknown:
        raise ValueError(f"not finding fields: {unknown}")
    old = w.one(
        f"SELECT {', '.join(fields)} FROM supervision_findings WHERE id = ?",  # noqa: S608
        (finding_id,),
    )
    changed = w.run(
        f"UPDATE supervision_findings SET {', '.join(f'{k} = ?' for k in fields)}"  # noqa: S608
        " WHERE id = ? AND state = 'draft'",
        (*fields.values(), finding_id),
    )
    if not changed:
        return False
    assert old is not None
    w.event(person_id, "finding.updated", "finding", finding_id, dict(old), fields)
    return True


def finding_tap_in(w: Writes, finding_id: int) -> FindingAtTap | None:
    """``finding_tap_queries`` read inside a write run at once (its own snapshot)."""
    return finding_tap_from([w.all(sql, params) for sql, params in finding_tap_queries(finding_id)])


async def add_finding_photo(
    tx: Tx, finding_id: int, photo: StoredPhoto, person_id: int, file_unique_id: str | None
) -> bool:
    photo_id = await tx.run(
        "INSERT INTO finding_photos (finding_id, sha256, width, height, bytes, tg_file_unique_id,"
        " uploaded_by, uploaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (finding_id, sha256) DO NOTHING",
        (
            finding_id,
            photo.sha256,
            photo.width,
            photo.height,
            photo.size,
            file_unique_id,
            person_id,
            tx.now(),
        ),
    )
    if photo_id:
        await tx.event(
            person_id, "photo.added", "finding", finding_id, after={"sha256": photo.sha256}
        )
    return bool(photo_id)


async def _finding_photos(db: Reader, finding_id: int) -> list[Row]:
    return await db.all(
        "SELECT * FROM finding_photos WHERE finding_id = ? ORDER BY id", (finding_id,)
    )


async def _recorded(
    tx: Tx, finding_id: int, kind: FindingKind, hazard_id: int | None, person_id: int,
    **extra: int | None,
) -> None:  # fmt: skip
    sets = "".join(f", {k} = ?" for k in extra)
    changed = await tx.run(
        f"UPDATE supervision_findings SET state = 'recorded', kind = ?, hazard_id = ?,"  # noqa: S608
        f" recorded_at = ?{sets} WHERE id = ? AND state = 'draft'",
        (kind.value, hazard_id, tx.now(), *extra.values(), finding_id),
    )
    if not changed:
        raise VisitRefused(reason="recorded")
    await tx.event(
        person_id,
        "finding.recorded",
        "finding",
        finding_id,
        before={"state": "draft"},
        after={"state": "recorded", "kind": kind.value, "hazard_id": hazard_id, **extra},
    )


async def record_listed(tx: Tx, finding_id: int, hazard_id: int, person_id: int) -> None:
    await _recorded(tx, finding_id, FindingKind.LISTED, hazard_id, person_id)


async def record_off_list(
    tx: Tx, found: Finding, person_id: int, responsible: Contact | None, deadline: date
) -> int:
    """Put the finding on the school's ledger as a hazard found by supervision.

    It is open at once, named to the school's principal (who may hand it on),
    with its photos; a major one is accident-grade (按事故对待).
    """
    kind = FindingKind.ACCIDENT if found.major else FindingKind.OFF_LIST
    hazard_id = await tx.run(
        "INSERT INTO hazards (school_id, building_id, campaign_id, inspection_id, item_id, source,"
        " reported_by, reported_at, photos_done, description, fixable_now, deadline,"
        " responsible_id, responsible_name, major, state, completed_at, visit_id, accident_grade)"
        " VALUES (?, ?, ?, NULL, ?, 'walk', ?, ?, 1, ?, 1, ?, ?, ?, ?, 'open', ?, ?, ?)",
        (
            found.school_id,
            found.building_id,
            found.campaign_id,
            found.item_id,
            person_id,
            tx.now(),
            found.description,
            deadline.isoformat(),
            None if responsible is None else responsible.id,
            None if responsible is None else responsible.name,
            int(bool(found.major)),
            tx.now(),
            found.visit_id,
            int(kind is FindingKind.ACCIDENT),
        ),
    )
    for photo in await _finding_photos(tx, found.id):
        await tx.run(
            "INSERT INTO photos (hazard_id, kind, sha256, width, height, bytes, tg_file_unique_id,"
            " uploaded_by, uploaded_at) VALUES (?, 'before', ?, ?, ?, ?, ?, ?, ?)",
            (
                hazard_id,
                photo["sha256"],
                photo["width"],
                photo["height"],
                photo["bytes"],
                photo["tg_file_unique_id"],
                photo["uploaded_by"],
                photo["uploaded_at"],
            ),
        )
        await tx.event(person_id, "photo.added", "hazard", hazard_id,
                       after={"sha256": photo["sha256"], "kind": "before"})  # fmt: skip
    await tx.event(
        person_id,
        "hazard.reported",
        "hazard",
        hazard_id,
        after={
            "building_id": found.building_id,
            "item_id": found.item_id,
            "source": "supervision",
            "visit_id": found.visit_id,
            "finding_id": found.id,
            "accident_grade": kind is FindingKind.ACCIDENT,
            "responsible_id": None if responsible is None else responsible.id,
        },
    )
    await _recorded(tx, found.id, kind, hazard_id, person_id)
    return hazard_id


async def accepted_fix(db: Reader, hazard_id: int) -> FixReport | None:
    """The fix that closed the hazard: its reporter's and its verifier's signatures."""
    accepted = [
        f for f in await rectify_store.fix_reports_of(db, hazard_id) if f.state is FixState.ACCEPTED
    ]
    return accepted[-1] if accepted else None


async def reopen(tx: Tx, found: Finding, hazard_id: int, person_id: int) -> FixReport | None:
    """整改不到位: the closed hazard is open again with its responsible person.

    The fix that closed it stays accepted, with both its signatures; the
    finding names it and its verifier. Returns that fix.
    """
    fix = await accepted_fix(tx, hazard_id)
    changed = await tx.run(
        "UPDATE hazards SET state = 'open', closed_at = NULL WHERE id = ? AND state = 'closed'",
        (hazard_id,),
    )
    if not changed:
        raise VisitRefused(reason="not_closed")
    await tx.event(
        person_id,
        "hazard.reopened",
        "hazard",
        hazard_id,
        before={"state": "closed"},
        after={
            "state": "open",
            "reason": found.description,
            "finding_id": found.id,
            "visit_id": found.visit_id,
            "closed_by_fix": None if fix is None else fix.id,
        },
    )
    await _recorded(
        tx,
        found.id,
        FindingKind.RECTIFIED_BADLY,
        hazard_id,
        person_id,
        closed_fix_id=None if fix is None else fix.id,
        verifier_id=None if fix is None else fix.decided_by,
    )
    return fix


async def add_missed_building(
    tx: Tx, visit: Visit, person_id: int, name: str, use: str, floors: int, year: int | None
) -> int:
    """遗漏建筑: a building the school never registered, flagged with the visit."""
    building_id = await create_building(
        tx,
        school_id=visit.school_id,
        name=name,
        use=use,
        floors=floors,
        year_built=year,
        actor_id=person_id,
    )
    await tx.run("UPDATE buildings SET missed_visit_id = ? WHERE id = ?", (visit.id, building_id))
    finding_id = await create_finding(tx, visit.id, None, building_id, None, person_id)
    await _recorded(tx, finding_id, FindingKind.MISSED_BUILDING, None, person_id)
    await tx.event(
        person_id,
        "building.missed",
        "building",
        building_id,
        after={"visit_id": visit.id, "finding_id": finding_id},
    )
    return building_id


async def findings_of_visit(db: Reader, visit_id: int) -> list[Finding]:
    """The visit's recorded findings, in the order recorded."""
    rows = await db.all(
        f"{_FINDING} WHERE f.visit_id = ? AND f.state = 'recorded' ORDER BY f.id", (visit_id,)
    )
    return [_finding(row) for row in rows]


async def contradicted(db: Reader, visit_id: int) -> list[Contradiction]:
    """The school's own answers the supervisors found otherwise."""
    rows = await db.all(
        "SELECT b.name, ci.code, a.school_choice, a.choice FROM supervision_answers a"
        " JOIN supervision_walks w ON w.id = a.walk_id JOIN buildings b ON b.id = w.building_id"
        " JOIN checklist_items ci ON ci.id = a.item_id"
        " WHERE w.visit_id = ? AND a.school_choice IS NOT NULL AND a.school_choice != a.choice"
        " ORDER BY w.id, ci.position",
        (visit_id,),
    )
    return [Contradiction(r[0], r[1], Choice(r[2]), Choice(r[3])) for r in rows]


async def _all_findings(db: Reader, campaign_id: int) -> list[Row]:
    """Every recorded finding of the campaign, for the city report and the export."""
    return await db.all(
        "SELECT f.*, v.school_id, s.name AS school_name, b.name AS building_name,"
        " ci.code AS item_code, p.name AS finder_name, d.name AS verifier_name,"
        " h.state AS hazard_state FROM supervision_findings f"
        " JOIN supervision_visits v ON v.id = f.visit_id JOIN schools s ON s.id = v.school_id"
        " LEFT JOIN buildings b ON b.id = f.building_id"
        " LEFT JOIN checklist_items ci ON ci.id = f.item_id"
        " LEFT JOIN hazards h ON h.id = f.hazard_id JOIN people p ON p.id = f.found_by"
        " LEFT JOIN people d ON d.id = f.verifier_id"
        " WHERE v.campaign_id = ? AND f.state = 'recorded' ORDER BY f.id",
        (campaign_id,),
    )


_HAZARD = (
    "SELECT h.*, b.name AS building_name, ci.code AS item_code, ci.text_zh AS item_zh,"
    " ci.text_en AS item_en, s.name AS school_name, p.name AS reporter_name"
    " FROM hazards h LEFT JOIN buildings b ON b.id = h.building_id"
    " LEFT JOIN checklist_items ci ON ci.id = h.item_id"
    " JOIN schools s ON s.id = h.school_id JOIN people p ON p.id = h.reported_by"
    " WHERE h.state IN ('open', 'submitted', 'closed', 'unfixable')"
)


async def hazards_of_building(db: Reader, building_id: int) -> list[Hazard]:
    """The ledger's hazards of a building (found ones), accident-grade first."""
    rows = await db.all(
        f"{_HAZARD} AND h.building_id = ? ORDER BY h.accident_grade DESC, h.id", (building_id,)
    )
    return [hazards.record(row) for row in rows]


async def hazards_of_school(db: Reader, school_id: int) -> list[Hazard]:
    """The ledger's hazards of a school (found ones)."""
    rows = await db.all(f"{_HAZARD} AND h.school_id = ? ORDER BY h.id", (school_id,))
    return [hazards.record(row) for row in rows]


async def principal_of(db: Reader, school_id: int) -> Contact | None:
    """The school's principal (the first to join), to whom an off-list hazard is named."""
    row = await db.one(
        "SELECT p.id, p.name, p.language FROM people p JOIN memberships m ON m.person_id = p.id"
        " WHERE m.school_id = ? AND m.role = 'principal' ORDER BY m.id LIMIT 1",
        (school_id,),
    )
    return None if row is None else Contact(row[0], row[1], row[2])


async def make_draw(
    tx: Tx,
    campaign_id: int,
    seed: str,
    n_schools: int,
    per_visit: int,
    districts: list[str],
    kinds: list[str],
    actor_id: int | None,
) -> tuple[int, Draw]:
    """Draw among the campaign's unvisited schools and the supervisor pool, and store it."""
    candidates = school_candidates(
        await schools(tx), await visited_schools(tx, campaign_id), districts, kinds
    )
    made = draw(seed, candidates, await supervisor_pool(tx), n_schools, per_visit)
    return await store_draw(tx, campaign_id, made, districts, kinds, actor_id), made


async def _visit_rows_for_export(db: Reader, campaign_id: int) -> list[Row]:
    """Every visit with its supervisors' names and its counts, for ``xiaoan export visits``."""
    return await db.all(
        "SELECT v.*, s.name AS school_name, s.district,"
        " (SELECT group_concat(name, '、') FROM (SELECT p.name FROM visit_supervisors vs"
        "  JOIN people p ON p.id = vs.person_id WHERE vs.visit_id = v.id ORDER BY p.id))"
        " AS supervisor_names,"
        " (SELECT name FROM people WHERE id = v.started_by) AS starter_name,"
        " (SELECT COUNT(*) FROM supervision_walks w WHERE w.visit_id = v.id) AS walks,"
        " (SELECT COUNT(*) FROM supervision_walks w WHERE w.visit_id = v.id"
        "  AND w.finished_at IS NULL) AS walks_unfinished,"
        " (SELECT COUNT(*) FROM supervision_answers a JOIN supervision_walks w ON w.id = a.walk_id"
        "  WHERE w.visit_id = v.id) AS items_checked"
        " FROM supervision_visits v JOIN schools s ON s.id = v.school_id"
        " WHERE v.campaign_id = ? ORDER BY v.id",
        (campaign_id,),
    )


# --- the papers ---------------------------------------------------------------------


async def school_summaries(db: Reader, campaign_id: int) -> dict[int, SchoolSupervision]:
    """Each school's latest visit state and its findings by kind (for the city report)."""
    states = {
        r["school_id"]: VisitState(r["state"])
        for r in await db.all(
            "SELECT school_id, state FROM supervision_visits WHERE campaign_id = ? ORDER BY id",
            (campaign_id,),
        )
    }
    counts: dict[int, dict[FindingKind, int]] = {}
    for r in await db.all(
        "SELECT v.school_id, f.kind, COUNT(*) AS n FROM supervision_findings f"
        " JOIN supervision_visits v ON v.id = f.visit_id"
        " WHERE v.campaign_id = ? AND f.state = 'recorded' GROUP BY v.school_id, f.kind",
        (campaign_id,),
    ):
        counts.setdefault(r["school_id"], {})[FindingKind(r["kind"])] = r["n"]
    return {
        school: SchoolSupervision(states.get(school), counts.get(school, {}))
        for school in states.keys() | counts.keys()
    }


async def finding_rows(db: Reader, campaign_id: int) -> list[FindingRow]:
    return [
        FindingRow(
            school=r["school_name"],
            building=r["building_name"] or "",
            item_code=r["item_code"],
            kind=FindingKind(r["kind"]),
            description=r["description"] or "",
            hazard_id=r["hazard_id"],
            hazard_state=r["hazard_state"],
            verifier=r["verifier_name"],
            finder=r["finder_name"],
            recorded_at=datetime.fromisoformat(r["recorded_at"]),
            accident_open=r["kind"] == "accident" and r["hazard_state"] != "closed",
        )
        for r in await _all_findings(db, campaign_id)
    ]


@dataclass(frozen=True)
class ContradictionRow:
    """A school's own answer a supervisor found otherwise."""

    visit_id: int
    school: str
    building: str
    item_code: str
    school_choice: Choice
    choice: Choice
    supervisor: str
    answered_at: datetime


async def contradiction_rows(db: Reader, campaign_id: int) -> list[ContradictionRow]:
    rows = await db.all(
        "SELECT w.visit_id, s.name AS school, b.name AS building, ci.code, a.school_choice,"
        " a.choice, p.name AS supervisor, a.answered_at FROM supervision_answers a"
        " JOIN supervision_walks w ON w.id = a.walk_id"
        " JOIN supervision_visits v ON v.id = w.visit_id JOIN schools s ON s.id = v.school_id"
        " JOIN buildings b ON b.id = w.building_id JOIN checklist_items ci ON ci.id = a.item_id"
        " JOIN people p ON p.id = a.answered_by"
        " WHERE v.campaign_id = ? AND a.school_choice IS NOT NULL AND a.school_choice != a.choice"
        " ORDER BY a.id",
        (campaign_id,),
    )
    return [
        ContradictionRow(
            r[0], r[1], r[2], r[3], Choice(r[4]), Choice(r[5]), r[6], datetime.fromisoformat(r[7])
        )
        for r in rows
    ]


async def visit_export_rows(db: Reader, campaign_id: int) -> list[VisitRow]:
    counts: dict[int, dict[FindingKind, int]] = {}
    for r in await db.all(
        "SELECT f.visit_id, f.kind, COUNT(*) AS n FROM supervision_findings f"
        " JOIN supervision_visits v ON v.id = f.visit_id"
        " WHERE v.campaign_id = ? AND f.state = 'recorded' GROUP BY f.visit_id, f.kind",
        (campaign_id,),
    ):
        counts.setdefault(r["visit_id"], {})[FindingKind(r["kind"])] = r["n"]
    return [
        VisitRow(
            id=r["id"],
            school=r["school_name"],
            district=r["district"],
            chosen_by=ChosenBy(r["chosen_by"]),
            draw_id=r["draw_id"],
            supervisors=r["supervisor_names"] or "",
            state=VisitState(r["state"]),
            started_at=stored_moment(r["started_at"]),
            ended_at=stored_moment(r["ended_at"]),
            walks=r["walks"],
            walks_unfinished=r["walks_unfinished"],
            items_checked=r["items_checked"],
            findings=counts.get(r["id"], {}),
        )
        for r in await _visit_rows_for_export(db, campaign_id)
    ]


# --- what a tap shows, read in one trip ---------------------------------------------------
# Each screen is a few statements keyed by what the tap's button names, read together in
# one ``read_many``: with the person by the guard (a button's ``first_reads``), or inside
# the tap's own transaction once it has written (the screen shows what it wrote).


@dataclass(frozen=True)
class VisitScreen:
    """A visit as its screen shows it: the visit, its walks, its school's buildings."""

    visit: Visit
    walks: tuple[SupervisionWalk, ...]
    buildings: tuple[VisitBuilding, ...]


def visit_screen_queries(visit_id: int) -> list[Query]:
    """The visit, its walks, its school's buildings (with this campaign's self-inspection
    state) and the school's ledger hazards, by the visit's id alone."""
    return [
        (f"{_VISIT} WHERE v.id = ?", (visit_id,)),
        (f"{_WALK} WHERE w.visit_id = ? ORDER BY w.id", (visit_id,)),
        (
            "SELECT b.id, b.name, b.missed_visit_id,"
            " CASE WHEN i.id IS NULL THEN 'not_started' WHEN i.closed_at IS NULL"
            " THEN 'in_progress' ELSE 'closed' END AS state"
            " FROM buildings b LEFT JOIN inspections i"
            " ON i.building_id = b.id"
            " AND i.campaign_id = (SELECT campaign_id FROM supervision_visits WHERE id = ?)"
            " AND i.round_id IS (SELECT MAX(r.id) FROM inspection_rounds r"
            " WHERE r.school_id = b.school_id AND r.campaign_id = i.campaign_id)"
            " WHERE b.school_id = (SELECT school_id FROM supervision_visits WHERE id = ?)"
            " ORDER BY b.name",
            (visit_id, visit_id),
        ),
        (
            "SELECT h.building_id, h.state FROM hazards h"
            " WHERE h.state IN ('open', 'submitted', 'closed', 'unfixable')"
            " AND h.building_id IS NOT NULL"
            " AND h.school_id = (SELECT school_id FROM supervision_visits WHERE id = ?)",
            (visit_id,),
        ),
    ]


def visit_screen_from(found: list[list[Row]]) -> VisitScreen | None:
    """The screen read by ``visit_screen_queries`` (None: no such visit)."""
    visits, walks, buildings, ledger = found[:4]
    if not visits:
        return None
    counts: dict[int, tuple[int, int]] = {}
    for h in ledger:
        total, still = counts.get(h["building_id"], (0, 0))
        counts[h["building_id"]] = (total + 1, still + still_open(State(h["state"])))
    return VisitScreen(
        _visit(visits[0]),
        tuple(_walk(row) for row in walks),
        tuple(
            VisitBuilding(
                id=b["id"],
                name=b["name"],
                self_state=b["state"],
                missed=b["missed_visit_id"] is not None,
                hazards=counts.get(b["id"], (0, 0))[0],
                still_open=counts.get(b["id"], (0, 0))[1],
            )
            for b in buildings
        ),
    )


async def visit_screen(db: Reader, visit_id: int) -> VisitScreen | None:
    """``visit_screen_queries`` read in one trip (inside a transaction: what it wrote)."""
    return visit_screen_from(await db.read_many(visit_screen_queries(visit_id)))


@dataclass(frozen=True)
class WalkScreen:
    """A supervision walk as a tap on it finds it: the walk with its visit's state and
    supervisors and its answers, the finding being given (if any), and the ledger's
    hazards of its building (a finding's match offers them)."""

    at: WalkAtStep
    draft: Finding | None
    ledger: tuple[Hazard, ...]

    @property
    def walk(self) -> SupervisionWalk:
        return self.at.walk


def walk_screen_queries(walk_id: int) -> list[Query]:
    """What a tap on a walk reads (``walk_screen_from``), by the walk's id alone."""
    return [
        walk_step_query(walk_id, 0),  # no item: no school's answer to read
        (
            f"{_FINDING} WHERE f.walk_id = ? AND f.state = 'draft' ORDER BY f.id LIMIT 1",
            (walk_id,),
        ),
        (
            f"{_HAZARD} AND h.building_id = (SELECT building_id FROM supervision_walks"  # noqa: S608
            " WHERE id = ?) ORDER BY h.accident_grade DESC, h.id",
            (walk_id,),
        ),
    ]


def walk_screen_from(found: list[list[Row]]) -> WalkScreen | None:
    at = walk_step_from(found[0])
    if at is None:
        return None
    draft = _finding(found[1][0]) if found[1] else None
    return WalkScreen(at, draft, tuple(hazards.record(row) for row in found[2]))


def walk_screen_in(w: Writes, walk_id: int) -> WalkScreen | None:
    """``walk_screen_queries`` read inside a write run at once."""
    return walk_screen_from([w.all(sql, params) for sql, params in walk_screen_queries(walk_id)])


def visit_screen_in(w: Writes, visit_id: int) -> VisitScreen | None:
    """``visit_screen_queries`` read inside a write run at once."""
    return visit_screen_from([w.all(sql, ps) for sql, ps in visit_screen_queries(visit_id)])


async def walk_screen(db: Reader, walk_id: int) -> WalkScreen | None:
    """``walk_screen_queries`` read in one trip (inside a transaction: what it wrote)."""
    return walk_screen_from(await db.read_many(walk_screen_queries(walk_id)))


@dataclass(frozen=True)
class FindingAtTap:
    """A finding as a tap on it finds it: the finding, its visit's state and supervisors,
    and the ledger's hazards of its building (for the match)."""

    finding: Finding
    visit_state: VisitState
    supervisor_ids: tuple[int, ...]
    ledger: tuple[Hazard, ...]


def finding_tap_queries(finding_id: int) -> list[Query]:
    """What a tap on a finding reads (``finding_tap_from``), by the finding's id alone."""
    return [
        (f"{_FINDING} WHERE f.id = ?", (finding_id,)),
        (
            f"{_VISIT} WHERE v.id = (SELECT visit_id FROM supervision_findings"  # noqa: S608
            " WHERE id = ?)",
            (finding_id,),
        ),
        (
            f"{_HAZARD} AND h.building_id = (SELECT building_id FROM supervision_findings"  # noqa: S608
            " WHERE id = ?) ORDER BY h.accident_grade DESC, h.id",
            (finding_id,),
        ),
    ]


def finding_tap_from(found: list[list[Row]]) -> FindingAtTap | None:
    if not found[0] or not found[1]:
        return None
    visit = _visit(found[1][0])
    return FindingAtTap(
        _finding(found[0][0]),
        visit.state,
        visit.supervisor_ids,
        tuple(hazards.record(row) for row in found[2]),
    )


def schools_query() -> Query:
    return ("SELECT id, name, district, kind FROM schools ORDER BY id", ())


def schools_from(rows: list[Row]) -> list[SchoolCandidate]:
    return [SchoolCandidate(r["id"], r["name"], r["district"], r["kind"]) for r in rows]


# --- a visit's record, read in one trip -----------------------------------------------------


@dataclass(frozen=True)
class RecordedAnswer:
    """One answer of a visit's walk, as its record lists it."""

    walk_id: int
    item_id: int
    choice: Choice
    school_choice: Choice | None


@dataclass(frozen=True)
class RecordRead:
    """All a visit's record says, as stored."""

    visit: Visit
    supervisors: tuple[str, ...]
    walks: tuple[SupervisionWalk, ...]
    answers: tuple[RecordedAnswer, ...]  # by walk, in the order given
    findings: tuple[Finding, ...]
    contradictions: tuple[Contradiction, ...]


def record_queries(visit_id: int) -> list[Query]:
    """A visit's whole record by its id: read together in one trip."""
    return [
        (f"{_VISIT} WHERE v.id = ?", (visit_id,)),
        (
            "SELECT p.name FROM visit_supervisors vs JOIN people p ON p.id = vs.person_id"
            " WHERE vs.visit_id = ? ORDER BY p.id",
            (visit_id,),
        ),
        (f"{_WALK} WHERE w.visit_id = ? ORDER BY w.id", (visit_id,)),
        (
            "SELECT a.walk_id, a.item_id, a.choice, a.school_choice FROM supervision_answers a"
            " JOIN supervision_walks w ON w.id = a.walk_id WHERE w.visit_id = ?"
            " ORDER BY a.walk_id, a.id",
            (visit_id,),
        ),
        (
            f"{_FINDING} WHERE f.visit_id = ? AND f.state = 'recorded' ORDER BY f.id",
            (visit_id,),
        ),
        (
            "SELECT b.name, ci.code, a.school_choice, a.choice FROM supervision_answers a"
            " JOIN supervision_walks w ON w.id = a.walk_id JOIN buildings b ON b.id = w.building_id"
            " JOIN checklist_items ci ON ci.id = a.item_id"
            " WHERE w.visit_id = ? AND a.school_choice IS NOT NULL AND a.school_choice != a.choice"
            " ORDER BY w.id, ci.position",
            (visit_id,),
        ),
    ]


def record_from(found: list[list[Row]]) -> RecordRead | None:
    visits, names, walks, given, findings, contradictions = found[:6]
    if not visits:
        return None
    return RecordRead(
        _visit(visits[0]),
        tuple(str(r[0]) for r in names),
        tuple(_walk(r) for r in walks),
        tuple(
            RecordedAnswer(
                r["walk_id"], r["item_id"], Choice(r["choice"]), _choice(r["school_choice"])
            )
            for r in given
        ),
        tuple(_finding(r) for r in findings),
        tuple(Contradiction(r[0], r[1], Choice(r[2]), Choice(r[3])) for r in contradictions),
    )


async def record_read(db: Reader, visit_id: int) -> RecordRead | None:
    """``record_queries`` read in one trip."""
    return record_from(await db.read_many(record_queries(visit_id)))
