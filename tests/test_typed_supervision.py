"""Supervision's storage hands typed records to the layers above: a visit with its state and
supervisors, a supervision walk, an answer, a finding with its names, a contradiction, the
ledger's hazards of a building, the principal; moments parsed (never strings sliced by hand).
"""

from __future__ import annotations

from datetime import date, datetime

from cases import supervision as case
from cases.actor import Actor
from ledger.checklist import ChecklistItem, load_checklist
from ledger.clock import FakeClock
from ledger.hazards import Hazard
from ledger.rectify import State
from ledger.roles import Contact, Role
from ledger.supervision import (
    ChosenBy,
    Contradiction,
    Finding,
    FindingKind,
    FindingState,
    SupervisionAnswer,
    SupervisionWalk,
    Visit,
    VisitBuilding,
    VisitState,
)
from ledger.walk import Choice
from storage import campus, people
from storage import supervision as store
from storage.db import Database
from storage.photos import StoredPhoto
from tests.conftest import seed_hazard, seed_person, seed_school


def nothing(*_: object) -> None:
    return None


async def a_photo() -> StoredPhoto:
    return StoredPhoto(sha256="ab" * 32, width=640, height=480, size=1000)


async def test_a_visit_walk_answer_and_finding_are_typed_records(
    fresh_db: Database, clock: FakeClock
) -> None:
    db = fresh_db
    s = await seed_school(db, "实验小学", ["教学楼A", "食堂"])
    async with db.write() as tx:
        version = await campus.ensure_checklist(tx, load_checklist())
    sup = await seed_person(db, "督导甲", None, Role.SUPERVISOR)
    other = await seed_person(db, "督导乙", None, Role.SUPERVISOR)
    listed = await seed_hazard(db, s, s.building_ids[0], "楼梯间堆放杂物")
    person = await people.person_by_id(db, sup)
    assert person is not None
    actor = Actor(db, person, clock, db.write, None)

    screen = await case.arrive(actor, s.campaign_id, s.school_id)
    visit = screen.visit
    assert isinstance(visit, Visit)
    assert await store.buildings_of_visit(db, visit) == list(screen.buildings)
    assert (visit.school_name, visit.district, visit.chosen_by, visit.state) == (
        "实验小学",
        "城关镇",
        ChosenBy.BY_HAND,
        VisitState.STARTED,
    )
    assert visit.supervisor_ids == (sup,) and visit.started_by == sup
    assert visit.started_at == clock.now() and visit.started_at.tzinfo is not None
    assert visit.ended_at is None and isinstance(visit.created_at, datetime)
    assert await store.started_visit_of(db, sup, s.campaign_id) == visit
    assert await store.started_visit_of(db, other, s.campaign_id) is None
    assert await store.live_visit(db, s.campaign_id, s.school_id) == visit
    assert await store.visits(db, s.campaign_id) == [visit]

    walk = (await case.walk_building(actor, visit.id, s.building_ids[0], version, nothing)).walk
    assert isinstance(walk, SupervisionWalk)
    assert (walk.building_name, walk.building_use, walk.year_built, walk.walker_id) == (
        "教学楼A",
        "teaching",
        2005,
        sup,
    )
    assert walk.started_at == clock.now() and walk.finished_at is None and not walk.finished
    items = await store.items_of_walk(db, walk)
    assert items and all(isinstance(item, ChecklistItem) for _, item in items)
    item_id = items[0][0]
    await case.answer(actor, walk.id, item_id, "hz")
    answer = (await store.answers(db, walk.id))[item_id]
    assert answer == SupervisionAnswer(item_id, Choice.HAZARD, None, sup, clock.now())
    assert (await store.walk(db, walk.id)) == SupervisionWalk(**{**vars(walk), "answered": 1})

    await case.add_photo(actor, walk.id, a_photo, "u1")
    draft = await store.draft_of_walk(db, walk.id)
    assert isinstance(draft, Finding)
    assert (draft.state, draft.kind, draft.photos, draft.photos_done, draft.major) == (
        FindingState.DRAFT,
        None,
        1,
        False,
        None,
    )
    assert (draft.building_name, draft.item_code, draft.finder_name) == (
        "教学楼A",
        items[0][1].code,
        "督导甲",
    )
    assert draft.found_at == clock.now() and draft.recorded_at is None
    await case.photos_given(actor, draft.id, True)
    await case.describe(actor, walk.id, "杂物仍在")
    await case.weigh(actor, draft.id, False)
    await case.match_finding(actor, draft.id, listed, 3)
    [found] = await store.findings_of_visit(db, visit.id)
    assert (found.kind, found.state, found.hazard_id, found.hazard_text, found.major) == (
        FindingKind.LISTED,
        FindingState.RECORDED,
        listed,
        "楼梯间堆放杂物",
        False,
    )
    assert found.recorded_at == clock.now()


async def test_the_ledger_of_a_building_the_principal_and_contradictions_are_typed(
    fresh_db: Database, clock: FakeClock
) -> None:
    db = fresh_db
    s = await seed_school(db, "实验小学", ["教学楼A"])
    async with db.write() as tx:
        version = await campus.ensure_checklist(tx, load_checklist())
    sup = await seed_person(db, "督导甲", None, Role.SUPERVISOR)
    await seed_hazard(db, s, s.building_ids[0], "灭火器过期", state="closed")
    await seed_hazard(db, s, s.building_ids[0], "草稿", state="draft")
    open_id = await seed_hazard(db, s, s.building_ids[0], "通道堵塞")
    hazards = await store.hazards_of_building(db, s.building_ids[0])
    assert all(isinstance(h, Hazard) for h in hazards)
    assert [(h.description, h.state) for h in hazards] == [
        ("灭火器过期", State.CLOSED),
        ("通道堵塞", State.OPEN),
    ]
    assert hazards[1].deadline == date(2026, 12, 5) and hazards[1].id == open_id
    principal = await store.principal_of(db, s.school_id)
    assert principal == Contact(s.person_id, "实验小学校长", "zh")

    person = await people.person_by_id(db, sup)
    assert person is not None
    actor = Actor(db, person, clock, db.write, None)
    visit = (await case.arrive(actor, s.campaign_id, s.school_id)).visit
    [building] = await store.buildings_of_visit(db, visit)
    assert building == VisitBuilding(s.building_ids[0], "教学楼A", "not_started", False, 2, 1)
    walk = (await case.walk_building(actor, visit.id, s.building_ids[0], version, nothing)).walk
    item_id = (await store.items_of_walk(db, walk))[0][0]
    async with db.write() as tx:  # the school said "hazard" on this item
        inspection = await tx.run(
            "INSERT INTO inspections (campaign_id, building_id, checklist_version_id, walker_id,"
            " started_by, started_at, last_activity_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (s.campaign_id, s.building_ids[0], version, s.person_id, s.person_id, tx.now(),
             tx.now()),
        )  # fmt: skip
        await tx.run(
            "INSERT INTO answers (inspection_id, item_id, choice, answered_by, answered_at)"
            " VALUES (?, ?, 'hz', ?, ?)",
            (inspection, item_id, s.person_id, tx.now()),
        )
    assert await store.school_answer(db, s.campaign_id, s.building_ids[0], item_id) is Choice.HAZARD
    await case.answer(actor, walk.id, item_id, "ok")
    [contradiction] = await store.contradicted(db, visit.id)
    assert isinstance(contradiction, Contradiction)
    assert (contradiction.building_name, contradiction.school_choice, contradiction.choice) == (
        "教学楼A",
        Choice.HAZARD,
        Choice.OK,
    )
    [export] = await store.contradiction_rows(db, s.campaign_id)
    assert (export.school_choice, export.choice) == (Choice.HAZARD, Choice.OK)
    assert export.answered_at == clock.now()
    [row] = await store.visit_export_rows(db, s.campaign_id)
    assert (row.state, row.chosen_by, row.started_at, row.ended_at) == (
        VisitState.STARTED,
        ChosenBy.BY_HAND,
        clock.now(),
        None,
    )
    summaries = await store.school_summaries(db, s.campaign_id)
    assert summaries[s.school_id].visit_state is VisitState.STARTED
