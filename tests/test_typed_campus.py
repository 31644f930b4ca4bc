"""Storage hands the handlers typed records for schools, buildings, a school's recurring
inspection and a hazard's history (issue 12, item 3): no ``row["…"]`` above storage."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

from ledger.campus import Building, RecurringInspection, School
from ledger.rectify import HistoryEvent
from storage import campus, schedule
from storage import rectify as store
from storage.db import Database
from storage.reporting import phase_dues
from tests.conftest import seed_campaign, seed_hazard, seed_school

ROOT = Path(__file__).resolve().parents[1]
# The handlers whose row lookups issue 12 asked to end here (supervision, the walk's
# step and the guard are other branches' work).
TYPED = ("admin", "join", "tasks", "walls", "reports", "reminders", "resume", "menu")


async def test_a_school_and_a_building_are_typed_records(fresh_db: Database) -> None:
    s = await seed_school(fresh_db, "实验小学", ["教学楼A"])
    school = await campus.school_by_id(fresh_db, s.school_id)
    assert school == School(s.school_id, "实验小学", "primary", "public", "城关镇")
    building = await campus.building_by_id(fresh_db, s.building_ids[0])
    assert isinstance(building, Building)
    assert (building.school_id, building.name, building.use, building.floors) == (
        s.school_id,
        "教学楼A",
        "teaching",
        3,
    )
    assert building.year_built == 2005 and building.out_of_use is False
    assert await campus.school_by_id(fresh_db, s.school_id + 1) is None
    assert await campus.building_by_id(fresh_db, s.building_ids[0] + 1) is None
    await seed_school(fresh_db, "二中", [])
    assert [x.name for x in await campus.schools_by_name(fresh_db)] == ["二中", "实验小学"]


async def test_a_recurring_inspection_is_a_typed_record(fresh_db: Database) -> None:
    s = await seed_school(fresh_db, "实验小学", [])
    assert await schedule.recurring(fresh_db, s.school_id) is None
    async with fresh_db.write() as tx:
        assert await schedule.set_recurring(tx, s.school_id, "month", s.person_id)
    current = await schedule.recurring(fresh_db, s.school_id)
    assert isinstance(current, RecurringInspection)
    assert current.every == "month" and isinstance(current.set_at, datetime)
    async with fresh_db.write() as tx:
        assert not await schedule.set_recurring(tx, s.school_id, "month", s.person_id)
        assert await schedule.set_recurring(tx, s.school_id, None, s.person_id)
    assert await schedule.recurring(fresh_db, s.school_id) is None


async def test_a_hazards_history_is_typed_events(fresh_db: Database) -> None:
    s = await seed_school(fresh_db, "实验小学", ["教学楼A"])
    hazard_id = await seed_hazard(fresh_db, s, s.building_ids[0], "电线裸露")
    async with fresh_db.write() as tx:
        await tx.event(s.person_id, "hazard.reported", "hazard", hazard_id)
        await tx.event(None, "hazard.overdue", "hazard", hazard_id)
    first, second = await store.history(fresh_db, hazard_id)
    assert (first.action, first.actor_name) == ("hazard.reported", "实验小学校长")
    assert (second.action, second.actor_name) == ("hazard.overdue", None)
    assert isinstance(first.at, datetime) and first.at.tzinfo is not None
    assert isinstance(first, HistoryEvent)


async def test_the_campaigns_phase_dues_are_days(fresh_db: Database) -> None:
    campaign_id = await seed_campaign(
        fresh_db, "长效", self_inspection_due="2026-12-10", rectification_due=None
    )
    assert await phase_dues(fresh_db, campaign_id) == (date(2026, 12, 10), None)


def test_no_row_lookups_are_left_in_these_handlers() -> None:
    lookup = re.compile(r"\w+\[\s*['\"][A-Za-z_0-9]+['\"]\s*\]")
    for name in TYPED:
        source = (ROOT / "handlers" / f"{name}.py").read_text(encoding="utf-8")
        found = [m for m in lookup.findall(source) if not m.startswith("bot_data")]
        assert found == [], f"handlers/{name}.py: {found}"
