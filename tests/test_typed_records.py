"""Storage hands typed records to the layers above: a hazard, a fix report, a change of
deadline, with moments and days parsed (never strings sliced by hand)."""

from __future__ import annotations

from datetime import date, datetime

from ledger.rectify import ChangeState, FixState, State
from ledger.roles import Role
from storage import hazards
from storage import rectify as store
from storage.db import Database
from tests.conftest import (
    seed_deadline_change,
    seed_fix,
    seed_hazard,
    seed_person,
    seed_school,
)


async def test_a_hazard_is_a_typed_record_with_its_names(fresh_db: Database) -> None:
    s = await seed_school(fresh_db, "实验小学", ["教学楼A"])
    hazard_id = await seed_hazard(
        fresh_db, s, s.building_ids[0], "电线裸露", fixable_now=False, major=True
    )
    hazard = await hazards.hazard(fresh_db, hazard_id)
    assert hazard is not None
    assert (hazard.school_name, hazard.building_name, hazard.reporter_name) == (
        "实验小学",
        "教学楼A",
        "实验小学校长",
    )
    assert hazard.state is State.OPEN and hazard.deadline == date(2026, 12, 5)
    assert isinstance(hazard.reported_at, datetime) and hazard.reported_at.tzinfo is not None
    assert hazard.fixable_now is False and hazard.major is True
    assert hazard.draft.deadline == date(2026, 12, 5)
    assert await hazards.hazard(fresh_db, hazard_id + 1) is None


async def test_fix_reports_and_deadline_changes_are_typed_records(fresh_db: Database) -> None:
    s = await seed_school(fresh_db, "实验小学", ["教学楼A"])
    leader = await seed_person(fresh_db, "刘主任", s.school_id, Role.LEADER)
    hazard_id = await seed_hazard(fresh_db, s, s.building_ids[0], "灭火器过期")
    await seed_deadline_change(fresh_db, hazard_id, s.person_id, "2026-12-20", leader)
    fix_id = await seed_fix(fresh_db, hazard_id, s.person_id, leader)
    [fix] = await store.fix_reports_of(fresh_db, hazard_id)
    assert (fix.id, fix.state, fix.reporter_name, fix.decider_name) == (
        fix_id,
        FixState.ACCEPTED,
        "实验小学校长",
        "刘主任",
    )
    assert isinstance(fix.decided_at, datetime)
    [change] = await store.deadline_changes_of(fresh_db, hazard_id)
    assert (change.old_deadline, change.new_deadline, change.state) == (
        date(2026, 12, 5),
        date(2026, 12, 20),
        ChangeState.APPROVED,
    )
    assert (change.asker_name, change.decider_name) == ("实验小学校长", "刘主任")
    assert await store.asked_extension(fresh_db, hazard_id) is None
    assert await store.live_fix(fresh_db, hazard_id) is None
    found = await store.fix_report(fresh_db, fix_id)
    assert found is not None and found.reporter_name is None  # names only where listed


async def test_lists_of_work_are_typed_and_accident_grade_heads_ones_own(
    fresh_db: Database,
) -> None:
    from ledger.rectify import Listed, my_tasks_order

    s = await seed_school(fresh_db, "实验小学", ["教学楼A"])
    later = await seed_hazard(fresh_db, s, s.building_ids[0], "晚", deadline="2026-12-30")
    sooner = await seed_hazard(fresh_db, s, s.building_ids[0], "早", deadline="2026-12-01")
    accident = await seed_hazard(fresh_db, s, s.building_ids[0], "事故", deadline="2027-01-30")
    async with fresh_db.write() as tx:
        await tx.run("UPDATE hazards SET accident_grade = 1 WHERE id = ?", (accident,))
    mine = await store.tasks_of(fresh_db, s.person_id)
    assert all(isinstance(h, Listed) for h in mine)
    today = date(2026, 11, 28)
    ordered = sorted(mine, key=lambda h: my_tasks_order(h, today))
    assert [h.id for h in ordered] == [accident, sooner, later]
    assert ordered[1].deadline == date(2026, 12, 1) and ordered[1].school_name == "实验小学"


async def test_photos_are_typed_records_before_first(fresh_db: Database, tmp_path) -> None:
    from ledger.hazards import Photo
    from storage.photos import PhotoLimits, PhotoStore
    from tests.conftest import seed_photo

    s = await seed_school(fresh_db, "实验小学", ["教学楼A"])
    hazard_id = await seed_hazard(fresh_db, s, s.building_ids[0], "灭火器过期")
    store_ = PhotoStore(tmp_path / "photos", PhotoLimits())
    fix_id = await seed_fix(fresh_db, hazard_id, s.person_id, None)
    after = await seed_photo(fresh_db, store_, hazard_id, s.person_id, "after", "blue", fix_id)
    before = await seed_photo(fresh_db, store_, hazard_id, s.person_id, "before", "red")
    photos = await hazards.photos_of(fresh_db, hazard_id)
    assert all(isinstance(p, Photo) for p in photos)
    assert [(p.kind, p.sha256) for p in photos] == [("before", before), ("after", after)]
    assert isinstance(photos[0].uploaded_at, datetime)
    [only] = await store.after_photos(fresh_db, fix_id)
    assert (only.sha256, only.fix_report_id) == (after, fix_id)


async def test_people_to_tell_are_typed_contacts(fresh_db: Database) -> None:
    from ledger.roles import Contact
    from storage import people

    s = await seed_school(fresh_db, "实验小学", [])
    leader = await seed_person(fresh_db, "刘主任", s.school_id, Role.LEADER)
    told = await people.by_ids(fresh_db, leader, None, s.person_id, leader)
    assert told == [Contact(s.person_id, "实验小学校长", "zh"), Contact(leader, "刘主任", "zh")]
    assert await store.people_with_role(fresh_db, Role.LEADER, s.school_id) == [
        Contact(leader, "刘主任", "zh")
    ]
