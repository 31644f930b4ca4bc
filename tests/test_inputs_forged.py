"""Forged taps and scanned codes tell nothing and say "not allowed" (issue 11.8).

A stranger's tap on another person's object is refused as not allowed, never
as "already answered" (which says the object exists and was answered); a QR
code of another school's building is answered as a code of no building.
"""

from __future__ import annotations

from tests.conftest import jpeg, make_school
from tests.rectify_helpers import report, report_fix, scene
from tests.simulator import Chat, Simulator

NOT_ALLOWED = "您没有权限进行此操作。"
STALE = "这个问题已经回答过了。"


async def test_another_schools_building_code_reads_as_unknown(sim: Simulator) -> None:
    school = await make_school(sim)
    other = await make_school(
        sim,
        name="第二中学",
        taskforce=school.taskforce,
        buildings=(("主楼", "教学楼", "3", "2001"),),
    )
    building = await sim.db.value(
        "SELECT id FROM buildings WHERE school_id = ?", (school.school_id,)
    )
    unknown = await other.staff.send("/start w_987654")
    theirs = await other.staff.send(f"/start w_{building}")
    assert [m.text for m in theirs] == [m.text for m in unknown]
    assert await sim.db.value("SELECT COUNT(*) FROM inspections") == 0
    assert await sim.db.value("SELECT COUNT(*) FROM events WHERE action = 'building.scanned'") == 0
    # In English too.
    english = sim.chat("Ann", "en")
    english_other = await _english_member(sim, other, english)
    unknown = await english_other.send("/start w_987654")
    theirs = await english_other.send(f"/start w_{building}")
    assert [m.text for m in theirs] == [m.text for m in unknown]


async def _english_member(sim: Simulator, school, chat: Chat) -> Chat:
    await school.principal.send("/invite")
    await school.principal.tap("教职工")
    await school.principal.tap("7 天")
    made = await school.principal.tap("1 人")
    code = made[-1].text.split("start=")[1].split()[0]
    await chat.send(f"/start {code}")
    await chat.send("Ann Lee")
    await chat.contact("13900139000")
    return chat


async def _walk(sim: Simulator, chat: Chat) -> tuple[int, str]:
    """The person starts walking 教学楼A; the walk's id and the first question's ok data."""
    await chat.send("/inspect")
    said = await chat.tap("教学楼A")
    ok = said[-1].buttons[0][0][1]
    return int(ok.split(":")[1]), ok


async def test_a_colleagues_open_walk_tapped_is_not_allowed(sim: Simulator) -> None:
    school = await make_school(sim)
    walk_id, ok = await _walk(sim, school.staff)
    for data in (ok, f"p:{walk_id}", f"x:{walk_id}:n", f"c:{walk_id}"):
        await school.principal.tap_data(data)
        assert school.principal.alerts[-1] == NOT_ALLOWED, data
    assert await sim.db.value("SELECT COUNT(*) FROM answers") == 0
    assert await sim.db.value("SELECT walker_id FROM inspections") != await sim.db.value(
        "SELECT id FROM people WHERE tg_user_id = ?", (school.principal.user_id,)
    )


async def test_a_colleagues_closed_walk_tapped_is_not_allowed(sim: Simulator) -> None:
    """Before: "already answered" for each of these taps, which a stranger should not learn."""
    school = await make_school(sim)
    walk_id, ok = await _walk(sim, school.staff)
    async with sim.db.write() as tx:
        await tx.run("UPDATE inspections SET closed_at = ? WHERE id = ?", (tx.now(), walk_id))
    for data in (ok, f"p:{walk_id}", f"x:{walk_id}:y", f"c:{walk_id}"):
        await school.principal.tap_data(data)
        assert school.principal.alerts[-1] == NOT_ALLOWED, data
        # The walker's own tap on the closed walk is only late.
        await school.staff.tap_data(data)
        assert school.staff.alerts[-1] == STALE, data
    assert await sim.db.value("SELECT COUNT(*) FROM answers") == 0
    assert await sim.db.value("SELECT COUNT(*) FROM hazards") == 0


async def test_the_walker_who_was_taken_over_is_told_so(sim: Simulator, clock) -> None:
    """Not a forgery: the former walker's old button says the walk was taken over."""
    school = await make_school(sim)
    _, ok = await _walk(sim, school.staff)
    clock.advance(minutes=31)
    await school.principal.send("/inspect")
    await school.principal.tap("教学楼A")
    await school.principal.tap("接手")
    await school.staff.tap_data(ok)
    assert "已由他人接手" in school.staff.alerts[-1]


async def test_a_forged_verify_of_an_old_fix_is_not_allowed(sim: Simulator) -> None:
    """A staff member taps verify or return naming a fix already decided: not theirs."""
    s = await scene(sim)
    hazard_id = await report(s.staff, "楼道堆放杂物")
    await report_fix(s.staff, hazard_id)
    fix_id = await sim.db.value("SELECT id FROM fix_reports WHERE hazard_id = ?", (hazard_id,))
    await s.leader.tap_data(f"r:rt:{hazard_id}:{fix_id}")
    await s.leader.send("照片不清楚")  # returned: that fix is decided
    colleague = s.principal  # a manager: their tap is only late
    staff_two = await _second_staff(sim, s)
    for action in ("vf", "rt"):
        await staff_two.tap_data(f"r:{action}:{hazard_id}:{fix_id}")
        assert staff_two.alerts[-1] == NOT_ALLOWED, action
        await colleague.tap_data(f"r:{action}:{hazard_id}:{fix_id}")
        assert colleague.alerts[-1] == STALE, action  # the principal's is only late
    state = await sim.db.value("SELECT state FROM hazards WHERE id = ?", (hazard_id,))
    assert state == "open"
    assert await sim.db.value("SELECT state FROM fix_reports WHERE id = ?", (fix_id,)) == (
        "returned"
    )


async def test_a_fix_of_another_hazard_named_in_a_tap_is_not_allowed(sim: Simulator) -> None:
    s = await scene(sim)
    first = await report(s.staff, "楼道堆放杂物")
    second = await report(s.staff, "灭火器过期", color="blue")
    await report_fix(s.staff, first)
    fix_id = await sim.db.value("SELECT id FROM fix_reports WHERE hazard_id = ?", (first,))
    await s.leader.tap_data(f"r:vf:{second}:{fix_id}")
    assert s.leader.alerts[-1] == NOT_ALLOWED
    assert await sim.db.value("SELECT state FROM hazards WHERE id = ?", (first,)) == "submitted"


async def test_a_forged_decision_on_an_old_extension_is_not_allowed(sim: Simulator) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "楼道堆放杂物")
    await s.staff.tap_data(f"r:ex:{hazard_id}")
    await s.staff.send("2027-03-01")
    await s.staff.send("材料未到")
    change_id = await sim.db.value("SELECT id FROM deadline_changes")
    await s.leader.tap_data(f"r:dx:{hazard_id}:{change_id}:y")  # approved: decided
    staff_two = await _second_staff(sim, s)
    await staff_two.tap_data(f"r:dx:{hazard_id}:{change_id}:n")
    assert staff_two.alerts[-1] == NOT_ALLOWED
    await s.principal.tap_data(f"r:dx:{hazard_id}:{change_id}:n")
    assert s.principal.alerts[-1] == STALE
    assert await sim.db.value("SELECT state FROM deadline_changes") == "approved"


async def test_photos_done_on_someone_elses_fix_is_not_allowed(sim: Simulator) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "楼道堆放杂物")
    await s.staff.tap_data(f"r:fx:{hazard_id}")
    await s.staff.photo(jpeg(color="green"))
    fix_id = await sim.db.value("SELECT id FROM fix_reports WHERE hazard_id = ?", (hazard_id,))
    await s.leader.tap_data(f"r:fd:{hazard_id}:{fix_id}")
    assert s.leader.alerts[-1] == NOT_ALLOWED
    assert await sim.db.value("SELECT state FROM fix_reports WHERE id = ?", (fix_id,)) == "draft"
    # The staff member's own report goes on: photos done, then the note.
    said = await s.staff.tap_data(f"r:fd:{hazard_id}:{fix_id}")
    assert "整改说明" in said[-1].text or "说明" in said[-1].text


async def _second_staff(sim: Simulator, s) -> Chat:
    """Another staff member of the same school (joins with the 10-use staff code)."""
    code = await sim.db.value("SELECT code FROM invitations WHERE role = 'staff' LIMIT 1")
    chat = sim.chat("赵老师")
    await chat.send(f"/start {code}")
    await chat.send("实验小学赵老师")
    await chat.contact("13700137000")
    chat.new()
    return chat


def test_entitled_is_who_may_ever_take_the_action() -> None:
    """Whatever the state and the requests pending (here: none, all decided)."""
    from ledger.rectify import Action, Facts, State, entitled
    from ledger.roles import Membership, Person, Role

    def person(pid: int, role: Role, school: int | None = 1) -> Person:
        return Person(pid, f"p{pid}", "1", (Membership(role, school, "s"),))

    staff, leader, other = person(1, Role.STAFF), person(2, Role.LEADER), person(3, Role.LEADER, 2)
    taskforce = person(4, Role.TASKFORCE, None)
    two = Facts(State.OPEN, 1, responsible_id=1, managers=frozenset({2, 5}))
    one = Facts(State.OPEN, 1, responsible_id=1, managers=frozenset({2}))
    for action in (Action.VERIFY, Action.RETURN, Action.DECIDE):
        assert not entitled(staff, action, two)
        assert not entitled(other, action, two)
        assert entitled(leader, action, two)
        assert not entitled(taskforce, action, two)
        assert entitled(taskforce, action, one)  # the task force stands in at such a school
    assert entitled(staff, Action.FIX, two) and entitled(staff, Action.EXTEND, two)
    assert not entitled(person(6, Role.STAFF), Action.EXTEND, two)
