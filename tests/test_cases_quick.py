"""The quick report (随手拍) as a use case (``cases.quick``): who may open one, and where."""

from __future__ import annotations

import pytest

from cases import quick
from cases.actor import Actor, operator
from ledger.clock import FakeClock
from ledger.errors import NotAllowed
from ledger.rectify import State
from ledger.roles import Role
from storage import campus, people
from storage.db import Database, Tx
from tests.conftest import seed_campaign, seed_person, seed_school


async def actor(db: Database, clock: FakeClock, person_id: int) -> Actor:
    person = await people.person_by_id(db, person_id)
    assert person is not None
    return operator(db, person, clock)


async def test_a_staff_member_opens_a_draft_in_the_building_scanned(
    fresh_db: Database, clock: FakeClock
) -> None:
    s = await seed_school(fresh_db, "实验小学", ["教学楼A", "食堂"])
    staff = await actor(
        fresh_db, clock, await seed_person(fresh_db, "王老师", s.school_id, Role.STAFF)
    )
    building = await campus.building(fresh_db, s.building_ids[1])
    assert await quick.anything_to_report_in(fresh_db, staff.person, building)
    waited: list[int] = []

    async def waiting(tx: Tx, hazard_id: int) -> None:
        waited.append(hazard_id)

    hazard = await quick.open_quick_report(staff, s.campaign_id, building, waiting)
    assert waited == [hazard.id]
    assert (hazard.state, hazard.source, hazard.building_name) == (State.DRAFT, "quick", "食堂")
    assert hazard.reported_by == staff.person.id and hazard.school_id == s.school_id
    unscanned = await quick.open_quick_report(staff, s.campaign_id, None, waiting)
    assert unscanned.building_id is None and unscanned.school_id == s.school_id


async def test_a_building_of_another_school_is_refused(
    fresh_db: Database, clock: FakeClock
) -> None:
    s = await seed_school(fresh_db, "实验小学", ["教学楼A"])
    other = await seed_school(fresh_db, "二中", ["综合楼"])
    staff = await actor(
        fresh_db, clock, await seed_person(fresh_db, "王老师", s.school_id, Role.STAFF)
    )
    theirs = await campus.building(fresh_db, other.building_ids[0])
    with pytest.raises(NotAllowed):
        await quick.anything_to_report_in(fresh_db, staff.person, theirs)

    async def waiting(tx: Tx, hazard_id: int) -> None:
        return None

    with pytest.raises(NotAllowed):
        await quick.open_quick_report(staff, s.campaign_id, theirs, waiting)
    assert await fresh_db.value("SELECT COUNT(*) FROM hazards") == 0


async def test_the_city_has_no_quick_report_and_a_school_without_buildings_nothing_to_name(
    fresh_db: Database, clock: FakeClock
) -> None:
    await seed_campaign(fresh_db)
    taskforce = await actor(
        fresh_db, clock, await seed_person(fresh_db, "专班", None, Role.TASKFORCE)
    )
    with pytest.raises(NotAllowed):
        await quick.anything_to_report_in(fresh_db, taskforce.person, None)
    empty = await seed_school(fresh_db, "新学校", [])
    principal = await people.person_by_id(fresh_db, empty.person_id)
    assert principal is not None
    assert not await quick.anything_to_report_in(fresh_db, principal, None)
