"""A hazard reported in full as a use case (``cases.hazards.open_hazard``): it opens, its
building goes out of use when it says so, and who must know is told, in one transaction."""

from __future__ import annotations

from cases.hazards import open_hazard
from ledger.rectify import State
from ledger.roles import Role
from storage import hazards, people
from storage.db import Database
from tests.conftest import seed_hazard, seed_person, seed_school


async def test_a_major_hazard_opens_takes_its_building_and_tells_who_must_know(
    fresh_db: Database,
) -> None:
    s = await seed_school(fresh_db, "实验小学", ["教学楼A"])
    staff = await seed_person(fresh_db, "王老师", s.school_id, Role.STAFF)
    leader = await seed_person(fresh_db, "刘主任", s.school_id, Role.LEADER)
    hazard_id = await seed_hazard(
        fresh_db, s, s.building_ids[0], "楼梯开裂", fixable_now=False, state="draft", major=True
    )
    async with fresh_db.write() as tx:
        await tx.run(
            "UPDATE hazards SET responsible_id = ?, responsible_name = '刘主任',"
            " takes_out_of_use = 1, reported_by = ? WHERE id = ?",
            (leader, staff, hazard_id),
        )
    draft = await hazards.hazard(fresh_db, hazard_id)
    reporter = await people.person_by_id(fresh_db, staff)
    assert draft is not None and reporter is not None
    async with fresh_db.write() as tx:
        await open_hazard(tx, draft, reporter, "card:1")
    opened = await hazards.hazard(fresh_db, hazard_id)
    assert opened is not None and opened.state is State.OPEN and opened.completed_at
    assert await fresh_db.value("SELECT out_of_use FROM buildings") == 1
    told = {(r["person_id"], r["kind"]) for r in await fresh_db.all("SELECT * FROM outbox")}
    assert told == {(leader, "hazard_named"), (s.person_id, "hazard_major")}
    buttons = await fresh_db.value("SELECT buttons FROM outbox WHERE kind = 'hazard_named'")
    assert "card:1" in buttons


async def test_the_reporter_answering_for_it_is_not_told(fresh_db: Database) -> None:
    s = await seed_school(fresh_db, "实验小学", ["教学楼A"])
    # A leader besides the principal: the principal is not the school's only manager.
    await seed_person(fresh_db, "刘主任", s.school_id, Role.LEADER)
    hazard_id = await seed_hazard(fresh_db, s, s.building_ids[0], "灭火器过期", state="draft")
    draft = await hazards.hazard(fresh_db, hazard_id)
    principal = await people.person_by_id(fresh_db, s.person_id)
    assert draft is not None and principal is not None
    async with fresh_db.write() as tx:
        await open_hazard(tx, draft, principal, "card:1")
    assert await fresh_db.value("SELECT COUNT(*) FROM outbox") == 0  # two managers: no warning
    assert await fresh_db.value("SELECT out_of_use FROM buildings") == 0
