"""Walkers at the same moment: answers applied once, in order, each durable (issue 12, item 5).

Updates arrive as polling hands them over: a batch stored in the inbox, then
handled through the Application's per-person lanes at once (``Simulator.handle``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from storage import inbox
from storage.trace import counting
from tests.conftest import School, make_school
from tests.simulator import Chat, Simulator

NO_HAZARD = "无隐患"
STALE = "这个问题已经回答过了。"
TWO_BUILDINGS = (("教学楼A", "教学楼", "4", "2005"), ("教学楼B", "教学楼", "4", "2005"))


def tap_on_question(chat: Chat, label: str = NO_HAZARD) -> dict[str, Any]:
    """The update of a tap on ``label`` of the question the person sees now."""
    question = chat.last
    for row in question.buttons:
        for text, data in row:
            if label in text:
                return chat.tap_update(data, question)
    raise AssertionError(f"no button {label!r} on {question.text!r}")


async def at_once(sim: Simulator, *updates: dict[str, Any]) -> None:
    """One getUpdates batch: stored together, then handled concurrently."""
    await inbox.receive(sim.db, list(updates))
    await asyncio.gather(*(sim.handle(u) for u in updates))
    sim.assert_clean()


async def walking(sim: Simulator) -> School:
    school = await make_school(sim, buildings=TWO_BUILDINGS)
    await school.staff.send("/inspect")
    assert "【教学楼A】1/19" in (await school.staff.tap("教学楼A"))[-1].text
    await school.principal.send("/inspect")
    assert "【教学楼B】1/19" in (await school.principal.tap("教学楼B"))[-1].text
    return school


async def answers(sim: Simulator, building: str) -> list[tuple[str, str]]:
    rows = await sim.db.all(
        "SELECT c.code, a.choice FROM answers a JOIN inspections i ON i.id = a.inspection_id"
        " JOIN buildings b ON b.id = i.building_id JOIN checklist_items c ON c.id = a.item_id"
        " WHERE b.name = ? ORDER BY a.id",
        (building,),
    )
    return [(r["code"], r["choice"]) for r in rows]


async def given_events(sim: Simulator) -> int:
    return int(await sim.db.value("SELECT COUNT(*) FROM events WHERE action = 'answer.given'"))


async def not_done(sim: Simulator) -> list[int]:
    return [int(r["update_id"]) for r in await inbox.undone(sim.db)]


async def test_two_people_answering_at_the_same_moment(sim: Simulator) -> None:
    school = await walking(sim)
    staff, principal = school.staff, school.principal
    events = await given_events(sim)

    async with counting(sim.db) as tally:
        await at_once(sim, tap_on_question(staff), tap_on_question(principal))

    assert "【教学楼A】2/19" in staff.last.text
    assert "【教学楼B】2/19" in principal.last.text
    assert await answers(sim, "教学楼A") == [("F01", "ok")]
    assert await answers(sim, "教学楼B") == [("F01", "ok")]
    assert await given_events(sim) == events + 2
    assert await not_done(sim) == []
    # Each step alone commits its answer and then its shown question (two commits);
    # handled together, the two people's writes share commits.
    assert tally.commits < 4


async def test_a_fast_double_tap_is_applied_once(sim: Simulator) -> None:
    school = await walking(sim)
    staff = school.staff
    events = await given_events(sim)
    first, second = tap_on_question(staff), tap_on_question(staff)  # the same button, twice

    await at_once(sim, first, second)

    assert await answers(sim, "教学楼A") == [("F01", "ok")]
    assert await given_events(sim) == events + 1
    assert "【教学楼A】2/19" in staff.last.text
    alerts = dict(sim.api.alerts)
    assert alerts[second["callback_query"]["id"]] == STALE  # the second: already done
    assert alerts.get(first["callback_query"]["id"]) != STALE
    assert await not_done(sim) == []


async def test_double_tap_beside_a_colleagues_answer(sim: Simulator) -> None:
    """A person's double tap and a colleague's answer in one batch: the colleague's
    answer is stored, the double tap once, and the taps are applied in order (the
    second tap never overtakes the first)."""
    school = await walking(sim)
    staff, principal = school.staff, school.principal
    await staff.tap(NO_HAZARD)  # F01
    first, second = tap_on_question(staff), tap_on_question(staff)  # F02, twice
    colleague = tap_on_question(principal)

    await at_once(sim, first, colleague, second)

    assert await answers(sim, "教学楼A") == [("F01", "ok"), ("F02", "ok")]
    assert await answers(sim, "教学楼B") == [("F01", "ok")]
    assert "【教学楼A】3/19" in staff.last.text
    assert "【教学楼B】2/19" in principal.last.text
    assert dict(sim.api.alerts)[second["callback_query"]["id"]] == STALE
    assert await not_done(sim) == []


async def test_many_people_at_once_each_answer_stored_once(sim: Simulator) -> None:
    """Five steps for two people, all in one batch: each of a person's taps is on
    the question they saw, so only the first of a person's taps on it counts."""
    school = await walking(sim)
    staff, principal = school.staff, school.principal
    for _ in range(3):
        await at_once(sim, tap_on_question(staff), tap_on_question(principal))
    assert [code for code, _ in await answers(sim, "教学楼A")] == ["F01", "F02", "F03"]
    assert [code for code, _ in await answers(sim, "教学楼B")] == ["F01", "F02", "F03"]
    rows = await sim.db.all(
        "SELECT COUNT(*) AS n FROM answers GROUP BY inspection_id, item_id HAVING n > 1"
    )
    assert rows == []
