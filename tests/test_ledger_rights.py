"""Rules moved out of the handlers into ``ledger``: the schools a person runs, who exports
which paper, who imports what, the walk lock, and who answers for a hazard fixed at once."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ledger.hazards import fixed_at_once
from ledger.imports import buildings_school, may_import, may_import_buildings, may_import_schools
from ledger.papers import CITY_PAPERS, Paper, may_export, paper_of
from ledger.roles import Membership, Person, Role, managed_schools
from ledger.takeover import HeldWalk, Lock, free_at, lock

NOON = datetime(2026, 11, 28, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def person(*memberships: tuple[Role, int | None], pid: int = 1) -> Person:
    return Person(pid, "某人", "13800000000", tuple(Membership(r, s) for r, s in memberships))


TASKFORCE = person((Role.TASKFORCE, None))
PRINCIPAL = person((Role.PRINCIPAL, 1))
LEADER = person((Role.LEADER, 1))
STAFF = person((Role.STAFF, 1))
SUPERVISOR = person((Role.SUPERVISOR, None))


def test_the_schools_a_person_runs_are_those_they_lead_in_the_order_they_joined() -> None:
    mixed = person((Role.LEADER, 3), (Role.STAFF, 2), (Role.PRINCIPAL, 1), (Role.LEADER, 3))
    assert managed_schools(mixed) == [3, 1]
    assert managed_schools(STAFF) == [] and managed_schools(TASKFORCE) == []


@pytest.mark.parametrize("paper", list(Paper))
def test_who_exports_each_paper(paper: Paper) -> None:
    city = paper in CITY_PAPERS
    assert may_export(TASKFORCE, paper, None if city else 1)
    for manager in (PRINCIPAL, LEADER):
        assert may_export(manager, paper, 1) is not city
        assert not may_export(manager, paper, 2)  # another school's
    for nobody in (STAFF, SUPERVISOR):
        assert not may_export(nobody, paper, 1)


def test_a_school_paper_names_its_school_and_unknown_codes_are_no_paper() -> None:
    assert not may_export(TASKFORCE, Paper.FORM, None)
    assert paper_of("f") is Paper.FORM and paper_of("L") is Paper.CITY_LEDGER
    assert paper_of("x") is None and paper_of("") is None


def test_who_imports_what() -> None:
    assert may_import(TASKFORCE) and may_import_schools(TASKFORCE)
    assert may_import(PRINCIPAL) and not may_import_schools(PRINCIPAL)
    assert not may_import(STAFF) and not may_import(SUPERVISOR)
    assert may_import_buildings(LEADER, 1) and not may_import_buildings(LEADER, 2)
    assert not may_import_buildings(TASKFORCE, 1)  # in chat the task force has no school
    assert buildings_school(person((Role.STAFF, 2), (Role.LEADER, 5))) == 5
    assert buildings_school(STAFF) is None


def held(minutes_idle: float, closed: bool = False) -> HeldWalk:
    return HeldWalk(
        walker_id=7, last_activity=NOON - timedelta(minutes=minutes_idle), closed=closed
    )


def test_the_walk_lock() -> None:
    assert lock(held(0), 7, NOON, 30) is Lock.OWN
    assert lock(held(29.9), 8, NOON, 30) is Lock.BUSY
    assert lock(held(30), 8, NOON, 30) is Lock.IDLE
    assert lock(held(300, closed=True), 7, NOON, 30) is Lock.CLOSED  # not even its walker
    assert free_at(held(10), 30) == NOON + timedelta(minutes=20)


def test_the_reporter_answers_for_a_hazard_fixed_at_once() -> None:
    at_once = fixed_at_once(4, "王老师", date(2026, 11, 28), 7)
    assert (at_once.responsible_id, at_once.responsible_name) == (4, "王老师")
    assert at_once.deadline == date(2026, 12, 5)
