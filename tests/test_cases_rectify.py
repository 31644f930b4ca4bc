"""The rectification use cases (``cases.rectify``) against a fresh database, without a chat.

Each action is called as the command line would call it (a plain transaction),
and each refusal named by the rules is tried: it must say so and store nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import pytest

from cases import rectify as case
from cases.actor import Actor, operator
from ledger.clock import FakeClock
from ledger.errors import NeedPhoto, NotAllowed, NotLater, OwnFix, Stale, WrongState
from ledger.evidence import EvidenceRules
from ledger.hazards import Hazard
from ledger.rectify import State
from ledger.roles import Role
from storage import hazards, people
from storage.db import Database, Row, Tx
from storage.photos import StoredPhoto
from tests.conftest import Seeded, seed_hazard, seed_person, seed_school


class FakeLinks:
    """Button data as plain words, so that a notice's buttons can be read back."""

    def card(self, hazard_id: int) -> str:
        return f"card:{hazard_id}"

    def report_fix(self, hazard_id: int) -> str:
        return f"fix:{hazard_id}"

    def verify(self, hazard_id: int, fix_id: int) -> str:
        return f"verify:{hazard_id}:{fix_id}"

    def return_fix(self, hazard_id: int, fix_id: int) -> str:
        return f"return:{hazard_id}:{fix_id}"

    def decide(self, hazard_id: int, change_id: int, approve: bool) -> str:
        return f"decide:{hazard_id}:{change_id}:{int(approve)}"


LINKS = FakeLinks()


@dataclass
class School:
    db: Database
    clock: FakeClock
    seeded: Seeded
    principal: int
    leader: int
    staff: int
    taskforce: int
    stranger: int  # staff of another school
    hazard_id: int  # open, the staff member responsible, due 2026-12-05

    async def actor(self, person_id: int) -> Actor:
        person = await people.person_by_id(self.db, person_id)
        assert person is not None
        return operator(self.db, person, self.clock)

    async def hazard(self) -> Hazard:
        found = await hazards.hazard(self.db, self.hazard_id)
        assert found is not None
        return found

    async def outbox(self) -> list[Row]:
        return await self.db.all("SELECT * FROM outbox ORDER BY id")

    async def count(self, table: str) -> int:
        return int(await self.db.value(f"SELECT COUNT(*) FROM {table}"))  # noqa: S608


@pytest.fixture
async def school(fresh_db: Database, clock: FakeClock) -> School:
    seeded = await seed_school(fresh_db, "实验小学", ["教学楼A", "宿舍楼"])
    leader = await seed_person(fresh_db, "刘主任", seeded.school_id, Role.LEADER)
    staff = await seed_person(fresh_db, "王老师", seeded.school_id, Role.STAFF)
    taskforce = await seed_person(fresh_db, "专班", None, Role.TASKFORCE)
    other = await seed_school(fresh_db, "二中", ["综合楼"])
    stranger = await seed_person(fresh_db, "赵老师", other.school_id, Role.STAFF)
    hazard_id = await seed_hazard(
        fresh_db, seeded, seeded.building_ids[0], "灭火器过期", fixable_now=False
    )
    async with fresh_db.write() as tx:
        await tx.run(
            "UPDATE hazards SET responsible_id = ?, responsible_name = '王老师' WHERE id = ?",
            (staff, hazard_id),
        )
    return School(
        fresh_db, clock, seeded, seeded.person_id, leader, staff, taskforce, stranger, hazard_id
    )


def photo(n: int, taken_at: str | None = None) -> StoredPhoto:
    return StoredPhoto(sha256=f"{n:064x}", width=640, height=480, size=1000, taken_at=taken_at)


async def no_waiting(tx: Tx, fix_id: int) -> None:
    return None


async def no_evidence(hazard: Hazard, after: list[Row]) -> tuple[list[str], dict[str, list[str]]]:
    return [], {}


async def submitted_fix(s: School) -> int:
    """The staff member reports the fix: one after-photo, a note."""
    actor = await s.actor(s.staff)
    started = await case.start_fix(actor, s.hazard_id, LINKS, no_waiting)
    rules = EvidenceRules()
    assert await case.add_after_photo(actor, s.hazard_id, started.fix_id, photo(1), "u1", rules)
    await case.submit_fix(actor, s.hazard_id, started.fix_id, "已更换", LINKS, no_evidence)
    return started.fix_id


# --- reporting a fix -------------------------------------------------------------------


async def test_the_responsible_person_starts_a_fix_and_the_callers_state_is_written_with_it(
    school: School,
) -> None:
    seen: list[int] = []

    async def waiting(tx: Tx, fix_id: int) -> None:
        seen.append(fix_id)
        await tx.run("UPDATE people SET language = 'en' WHERE id = ?", (school.staff,))

    started = await case.start_fix(
        await school.actor(school.staff), school.hazard_id, LINKS, waiting
    )
    fix = await school.db.one("SELECT * FROM fix_reports WHERE id = ?", (started.fix_id,))
    assert fix["state"] == "draft" and fix["reported_by"] == school.staff
    assert seen == [started.fix_id] and started.replaced is None
    assert (
        await school.db.value("SELECT language FROM people WHERE id = ?", (school.staff,)) == "en"
    )


async def test_someone_of_another_school_may_not_start_a_fix(school: School) -> None:
    with pytest.raises(NotAllowed):
        await case.start_fix(
            await school.actor(school.stranger), school.hazard_id, LINKS, no_waiting
        )
    assert await school.count("fix_reports") == 0


async def test_staff_not_responsible_may_not_start_a_fix(school: School) -> None:
    other = await seed_person(school.db, "李老师", school.seeded.school_id, Role.STAFF)
    with pytest.raises(NotAllowed):
        await case.start_fix(await school.actor(other), school.hazard_id, LINKS, no_waiting)
    assert await school.count("fix_reports") == 0


async def test_a_managers_fix_replaces_an_unfinished_one_and_its_reporter_is_told(
    school: School,
) -> None:
    mine = await case.start_fix(
        await school.actor(school.staff), school.hazard_id, LINKS, no_waiting
    )
    theirs = await case.start_fix(
        await school.actor(school.leader), school.hazard_id, LINKS, no_waiting
    )
    assert theirs.replaced == "王老师"
    states = await school.db.all("SELECT id, state FROM fix_reports ORDER BY id")
    assert [(r["id"], r["state"]) for r in states] == [
        (mine.fix_id, "dropped"),
        (theirs.fix_id, "draft"),
    ]
    [notice] = await school.outbox()
    assert notice["person_id"] == school.staff and notice["kind"] == "fix_dropped"
    assert json.loads(notice["buttons"])[0][0][1] == f"card:{school.hazard_id}"
    assert "刘主任" in notice["text"]


async def test_an_after_photo_is_kept_once_and_flagged_when_taken_before_the_hazard(
    school: School,
) -> None:
    actor = await school.actor(school.staff)
    started = await case.start_fix(actor, school.hazard_id, LINKS, no_waiting)
    rules = EvidenceRules()
    old = photo(7, taken_at="2020-01-01T08:00:00")
    assert await case.add_after_photo(actor, school.hazard_id, started.fix_id, old, "u7", rules)
    again = await case.add_after_photo(actor, school.hazard_id, started.fix_id, old, "u7", rules)
    assert again is False
    [row] = await school.db.all("SELECT * FROM photos")
    assert (row["kind"], row["fix_report_id"], row["time_flag"]) == (
        "after",
        started.fix_id,
        "before_hazard",
    )


async def test_a_fix_without_an_after_photo_is_refused_and_nothing_changes(
    school: School,
) -> None:
    actor = await school.actor(school.staff)
    started = await case.start_fix(actor, school.hazard_id, LINKS, no_waiting)
    with pytest.raises(NeedPhoto):
        await case.submit_fix(actor, school.hazard_id, started.fix_id, "好了", LINKS, no_evidence)
    with pytest.raises(NeedPhoto):
        await case.fix_photos_done(actor, school.hazard_id, started.fix_id, lambda tx: no_op())
    assert (await school.hazard()).state is State.OPEN
    assert await school.db.value("SELECT state FROM fix_reports") == "draft"


async def no_op() -> None:
    return None


async def test_photos_done_on_someone_elses_fix_is_not_allowed(school: School) -> None:
    staff = await school.actor(school.staff)
    started = await case.start_fix(staff, school.hazard_id, LINKS, no_waiting)
    await case.add_after_photo(
        staff, school.hazard_id, started.fix_id, photo(1), None, EvidenceRules()
    )
    with pytest.raises(NotAllowed):
        await case.fix_photos_done(
            await school.actor(school.leader), school.hazard_id, started.fix_id, lambda tx: no_op()
        )


async def test_a_submitted_fix_goes_to_the_managers_with_the_album_and_its_buttons(
    school: School,
) -> None:
    fix_id = await submitted_fix(school)
    assert (await school.hazard()).state is State.SUBMITTED
    fix = await school.db.one("SELECT * FROM fix_reports WHERE id = ?", (fix_id,))
    assert (fix["state"], fix["note"]) == ("submitted", "已更换")
    notices = await school.outbox()
    assert {n["person_id"] for n in notices} == {school.principal, school.leader}
    for notice in notices:
        assert notice["kind"] == "fix_submitted"
        assert json.loads(notice["photos"]) == [f"{1:064x}"]
        buttons = [data for row in json.loads(notice["buttons"]) for _, data in row]
        assert buttons == [
            f"verify:{school.hazard_id}:{fix_id}",
            f"return:{school.hazard_id}:{fix_id}",
            f"card:{school.hazard_id}",
        ]
    events = await school.db.all("SELECT action FROM events WHERE subject = 'hazard'")
    assert "fix.submitted" in [e["action"] for e in events]


async def test_the_sole_managers_own_fix_goes_to_the_task_force(
    fresh_db: Database, clock: FakeClock
) -> None:
    seeded = await seed_school(fresh_db, "村小", ["教学楼"])
    taskforce = await seed_person(fresh_db, "专班", None, Role.TASKFORCE)
    hazard_id = await seed_hazard(fresh_db, seeded, seeded.building_ids[0], "电线裸露")
    person = await people.person_by_id(fresh_db, seeded.person_id)
    assert person is not None
    actor = operator(fresh_db, person, clock)
    started = await case.start_fix(actor, hazard_id, LINKS, no_waiting)
    await case.add_after_photo(actor, hazard_id, started.fix_id, photo(2), None, EvidenceRules())
    done = await case.submit_fix(actor, hazard_id, started.fix_id, "已整改", LINKS, no_evidence)
    assert done.by_taskforce
    [notice] = await fresh_db.all("SELECT * FROM outbox")
    assert notice["person_id"] == taskforce and "村小" in notice["text"]


# --- verifying ----------------------------------------------------------------------------


async def test_staff_may_not_verify_a_fix(school: School) -> None:
    fix_id = await submitted_fix(school)
    with pytest.raises(NotAllowed):
        await case.verify(await school.actor(school.staff), school.hazard_id, fix_id)
    assert (await school.hazard()).state is State.SUBMITTED


async def test_a_manager_who_reported_the_fix_may_not_verify_it(school: School) -> None:
    async with school.db.write() as tx:
        await tx.run(
            "UPDATE hazards SET responsible_id = ? WHERE id = ?", (school.leader, school.hazard_id)
        )
    leader = await school.actor(school.leader)
    started = await case.start_fix(leader, school.hazard_id, LINKS, no_waiting)
    await case.add_after_photo(
        leader, school.hazard_id, started.fix_id, photo(3), None, EvidenceRules()
    )
    await case.submit_fix(leader, school.hazard_id, started.fix_id, "修好", LINKS, no_evidence)
    with pytest.raises(OwnFix):
        await case.verify(leader, school.hazard_id, started.fix_id)
    assert (await school.hazard()).state is State.SUBMITTED


async def test_verifying_closes_the_hazard_and_reports_the_building_up(school: School) -> None:
    fix_id = await submitted_fix(school)
    before = len(await school.outbox())
    closed = await case.verify(await school.actor(school.leader), school.hazard_id, fix_id)
    assert closed.id == school.hazard_id
    hazard = await school.hazard()
    assert hazard.state is State.CLOSED and hazard.closed_at is not None
    new = (await school.outbox())[before:]
    kinds = {(n["kind"], n["person_id"]) for n in new}
    assert ("fix_verified", school.staff) in kinds
    assert ("building_done", school.principal) in kinds
    assert ("building_done", school.taskforce) in kinds
    assert ("school_done", school.taskforce) in kinds


async def test_verifying_a_fix_that_is_not_the_one_waiting_is_stale(school: School) -> None:
    fix_id = await submitted_fix(school)
    async with school.db.write() as tx:
        other = await tx.run(
            "INSERT INTO fix_reports (hazard_id, reported_by, started_at, state)"
            " VALUES (?, ?, ?, 'returned')",
            (school.hazard_id, school.staff, tx.now()),
        )
    with pytest.raises(Stale):
        await case.verify(await school.actor(school.leader), school.hazard_id, other)
    with pytest.raises(NotAllowed):  # a fix of no such hazard
        await case.verify(await school.actor(school.leader), school.hazard_id, fix_id + 99)
    assert (await school.hazard()).state is State.SUBMITTED


async def test_returning_sends_the_fix_back_with_the_reason(school: School) -> None:
    fix_id = await submitted_fix(school)
    before = len(await school.outbox())
    returned = await case.return_fix(
        await school.actor(school.leader), school.hazard_id, fix_id, " 照片看不清 ", LINKS
    )
    assert returned.fixer == "王老师"
    assert (await school.hazard()).state is State.OPEN
    fix = await school.db.one("SELECT * FROM fix_reports WHERE id = ?", (fix_id,))
    assert (fix["state"], fix["reason"], fix["decided_by"]) == (
        "returned",
        "照片看不清",
        school.leader,
    )
    [notice] = (await school.outbox())[before:]
    assert notice["person_id"] == school.staff and notice["kind"] == "fix_returned"
    buttons = [data for row in json.loads(notice["buttons"]) for _, data in row]
    assert buttons == [f"fix:{school.hazard_id}", f"card:{school.hazard_id}"]


async def test_a_fix_returned_already_cannot_be_verified_or_returned_again(
    school: School,
) -> None:
    fix_id = await submitted_fix(school)
    leader = await school.actor(school.leader)
    await case.return_fix(leader, school.hazard_id, fix_id, "不合格", LINKS)
    principal = await school.actor(school.principal)
    with pytest.raises(Stale):
        await case.verify(principal, school.hazard_id, fix_id)
    with pytest.raises(Stale):
        await case.return_fix(principal, school.hazard_id, fix_id, "再退", LINKS)
    assert (await school.hazard()).state is State.OPEN
    assert await school.db.value("SELECT state FROM fix_reports") == "returned"


# --- deadlines ----------------------------------------------------------------------------


async def test_a_later_deadline_must_be_later(school: School) -> None:
    staff = await school.actor(school.staff)
    with pytest.raises(NotLater):
        await case.extension_date(staff, school.hazard_id, "2026-12-01")
    assert await case.extension_date(staff, school.hazard_id, "2026-12-20") == date(2026, 12, 20)
    with pytest.raises(NotAllowed):  # only the responsible person asks
        await case.extension_date(await school.actor(school.leader), school.hazard_id, "2026-12-20")


async def test_asking_then_approving_moves_the_deadline(school: School) -> None:
    staff = await school.actor(school.staff)
    asked = await case.ask_extension(staff, school.hazard_id, "2026-12-20", "材料未到", LINKS)
    assert asked.new == date(2026, 12, 20) and not asked.by_taskforce
    change = await school.db.one("SELECT * FROM deadline_changes")
    assert (change["old_deadline"], change["new_deadline"], change["state"]) == (
        "2026-12-05",
        "2026-12-20",
        "asked",
    )
    notices = await school.outbox()
    assert {n["person_id"] for n in notices} == {school.principal, school.leader}
    assert (
        json.loads(notices[0]["buttons"])[0][0][1] == f"decide:{school.hazard_id}:{change['id']}:1"
    )
    with pytest.raises(WrongState):  # one request at a time
        await case.ask_extension(staff, school.hazard_id, "2026-12-30", "再等等", LINKS)
    with pytest.raises(NotAllowed):  # the asker does not decide
        await case.deciding_extension(staff, school.hazard_id, change["id"])
    decided = await case.decide_extension(
        await school.actor(school.leader), school.hazard_id, change["id"], None
    )
    assert decided.approved and decided.values["new"] == "2026-12-20"
    assert (await school.hazard()).deadline == date(2026, 12, 20)
    with pytest.raises(Stale):  # decided already
        await case.decide_extension(
            await school.actor(school.principal), school.hazard_id, change["id"], None
        )


async def test_a_refusal_keeps_the_deadline_and_its_reason(school: School) -> None:
    staff = await school.actor(school.staff)
    await case.ask_extension(staff, school.hazard_id, "2026-12-20", "材料未到", LINKS)
    change_id = int(await school.db.value("SELECT id FROM deadline_changes"))
    decided = await case.decide_extension(
        await school.actor(school.principal), school.hazard_id, change_id, "不行"
    )
    assert not decided.approved
    assert (await school.hazard()).deadline == date(2026, 12, 5)
    change = await school.db.one("SELECT * FROM deadline_changes")
    assert (change["state"], change["refusal"]) == ("refused", "不行")
    last = (await school.outbox())[-1]
    assert last["person_id"] == school.staff and last["kind"] == "extension_decided"


# --- cannot be fixed, reassigning -------------------------------------------------------


async def test_only_a_manager_marks_a_hazard_unfixable(school: School) -> None:
    with pytest.raises(NotAllowed):
        await case.mark_unfixable(
            await school.actor(school.staff), school.hazard_id, "2027-06-30", "危房"
        )
    assert (await school.hazard()).state is State.OPEN


async def test_unfixable_takes_the_building_out_of_use_and_tells_the_task_force(
    school: School,
) -> None:
    marked = await case.mark_unfixable(
        await school.actor(school.leader), school.hazard_id, "2027-06-30", "危房待拆"
    )
    hazard = await school.hazard()
    assert hazard.state is State.UNFIXABLE and hazard.demolition_due == date(2027, 6, 30)
    assert marked.values["reason"] == "危房待拆"
    out = await school.db.value(
        "SELECT out_of_use FROM buildings WHERE id = ?", (school.seeded.building_ids[0],)
    )
    assert out == 1
    told = {n["person_id"] for n in await school.outbox()}
    assert told == {school.taskforce, school.staff}
    with pytest.raises(WrongState):
        await case.mark_unfixable(
            await school.actor(school.leader), school.hazard_id, "2027-06-30", "再来一次"
        )


async def test_reassigning_to_someone_outside_the_school_is_refused(school: School) -> None:
    with pytest.raises(NotAllowed):
        await case.reassign(
            await school.actor(school.leader), school.hazard_id, school.stranger, LINKS
        )
    with pytest.raises(NotAllowed):  # staff may not reassign
        await case.reassign(
            await school.actor(school.staff), school.hazard_id, school.leader, LINKS
        )
    assert (await school.hazard()).responsible_id == school.staff


async def test_reassigning_to_the_same_person_stores_nothing(school: School) -> None:
    done = await case.reassign(
        await school.actor(school.leader), school.hazard_id, school.staff, LINKS
    )
    assert not done.changed and done.name == "王老师"
    assert await school.count("outbox") == 0


async def test_reassigning_tells_the_new_and_the_old_responsible_person(school: School) -> None:
    colleague = await seed_person(school.db, "李老师", school.seeded.school_id, Role.STAFF)
    done = await case.reassign(
        await school.actor(school.leader), school.hazard_id, colleague, LINKS
    )
    assert done.changed
    hazard = await school.hazard()
    assert (hazard.responsible_id, hazard.responsible_name) == (colleague, "李老师")
    told = {(n["person_id"], n["kind"]) for n in await school.outbox()}
    assert told == {(colleague, "reassigned"), (school.staff, "reassigned")}


async def test_a_leader_who_asked_for_a_later_deadline_does_not_decide_it(
    school: School,
) -> None:
    async with school.db.write() as tx:
        await tx.run(
            "UPDATE hazards SET responsible_id = ? WHERE id = ?", (school.leader, school.hazard_id)
        )
    leader = await school.actor(school.leader)
    await case.ask_extension(leader, school.hazard_id, "2026-12-20", "材料未到", LINKS)
    change_id = int(await school.db.value("SELECT id FROM deadline_changes"))
    with pytest.raises(OwnFix):
        await case.deciding_extension(leader, school.hazard_id, change_id)
    with pytest.raises(OwnFix):
        await case.decide_extension(leader, school.hazard_id, change_id, None)
    assert await school.db.value("SELECT state FROM deadline_changes") == "asked"
    assert (await school.hazard()).deadline == date(2026, 12, 5)


async def test_staff_return_nothing_and_add_no_photo_to_anothers_fix(school: School) -> None:
    fix_id = await submitted_fix(school)
    with pytest.raises(NotAllowed):
        await case.return_fix(
            await school.actor(school.staff), school.hazard_id, fix_id, "x", LINKS
        )
    other = await seed_person(school.db, "李老师", school.seeded.school_id, Role.STAFF)
    with pytest.raises(NotAllowed):
        await case.add_after_photo(
            await school.actor(other), school.hazard_id, fix_id, photo(9), None, EvidenceRules()
        )
    assert await school.count("photos") == 1
    assert await school.db.value("SELECT state FROM fix_reports") == "submitted"


async def test_a_stranger_sees_no_hazard_of_another_school(school: School) -> None:
    stranger = await school.actor(school.stranger)
    with pytest.raises(NotAllowed):
        await case.load(stranger.db, stranger.person, school.hazard_id)
    with pytest.raises(NotAllowed):
        await case.reassign_choices(stranger, school.hazard_id)
