"""The walk lock's refusal, typed (issue 12): what a second walker is told, in Chinese and
English, read from ``WalkLocked``'s own fields (who holds the walk, since when, which
building), and nothing stored changes."""

from __future__ import annotations

import copy
from datetime import datetime

import pytest

from handlers.base import error_text
from ledger.clock import FakeClock
from ledger.errors import Holder, WalkLocked
from tests.conftest import SHANGHAI, School, make_school
from tests.simulator import Chat, Simulator


async def walked(sim: Simulator) -> School:
    """The staff member has answered the first item of 教学楼A (09:00)."""
    school = await make_school(sim)
    await school.staff.send("/inspect")
    await school.staff.tap("教学楼A")
    await school.staff.tap("无隐患")
    return school


async def stored(sim: Simulator) -> tuple[object, ...]:
    walk = await sim.db.one("SELECT walker_id, last_activity_at, closed_at FROM inspections")
    return (tuple(walk), await sim.db.value("SELECT COUNT(*) FROM answers"))


def in_english(chat: Chat) -> Chat:
    chat.user["language_code"] = "en"
    return chat


async def test_a_second_walker_is_told_who_walks_and_from_when_they_may_take_over(
    sim: Simulator, clock: FakeClock
) -> None:
    school = await walked(sim)
    before = await stored(sim)
    clock.advance(minutes=12)
    await school.principal.send("/inspect")
    said = await school.principal.tap("教学楼A")
    assert said[-1].text == (
        "【教学楼A】正由实验小学王老师排查中（最后操作 11月28日 09:00，12 分钟前），"
        "同一栋建筑不能两人同时排查。\n如果实验小学王老师一直没有操作，09:30 起可以接手。"
    )
    assert not said[-1].buttons
    assert await stored(sim) == before


async def test_in_english_the_second_walker_reads_the_same_in_english(
    sim: Simulator, clock: FakeClock
) -> None:
    school = await walked(sim)
    before = await stored(sim)
    clock.advance(minutes=12)
    principal = in_english(school.principal)
    await principal.send("/inspect")
    said = await principal.tap("教学楼A")
    assert said[-1].text == (
        "[教学楼A] is being walked by 实验小学王老师 (last step 28 Nov 09:00, 12 min ago);"
        " two people cannot walk one building at once.\n"
        "If 实验小学王老师 does nothing more, you can take it over from 09:30."
    )
    assert await stored(sim) == before


async def test_an_idle_walk_offers_its_take_over_in_both_languages(
    sim: Simulator, clock: FakeClock
) -> None:
    school = await walked(sim)
    before = await stored(sim)
    clock.advance(minutes=45)
    await school.principal.send("/inspect")
    said = await school.principal.tap("教学楼A")
    assert said[-1].text == (
        "【教学楼A】由实验小学王老师排查，最后操作 11月28日 09:00（45 分钟前），已经可以接手继续："
    )
    assert [label for row in said[-1].buttons for label, _ in row] == ["接手排查"]
    in_english(school.principal)
    said = await school.principal.tap("教学楼A")
    assert said[-1].text == (
        "[教学楼A] is walked by 实验小学王老师, last step 28 Nov 09:00 (45 min ago);"
        " you can take it over now:"
    )
    assert [label for row in said[-1].buttons for label, _ in row] == ["Take over the walk"]
    assert await stored(sim) == before


async def test_the_walker_whose_walk_was_taken_over_is_told_so_in_their_language(
    sim: Simulator, clock: FakeClock
) -> None:
    school = await walked(sim)
    clock.advance(minutes=31)
    await school.principal.send("/inspect")
    await school.principal.tap("教学楼A")
    await school.principal.tap("接手排查")
    await school.staff.tap("无隐患")
    assert school.staff.alerts[-1] == "【教学楼A】已由他人接手排查。"
    in_english(school.staff)
    await school.staff.tap("无隐患")
    assert school.staff.alerts[-1] == "[教学楼A] was taken over by someone else."
    assert await sim.db.value("SELECT COUNT(*) FROM answers") == 1


def test_its_fields_are_typed_and_its_text_values_built_from_them() -> None:
    last = datetime(2026, 11, 28, 9, 0, tzinfo=SHANGHAI)
    locked = WalkLocked(reason="busy", building="教学楼A", holder=Holder(3, 7, last, 12))
    assert locked.holder == Holder(walk_id=3, walker_id=7, last_step=last, minutes=12)
    assert locked.params == {"reason": "busy", "building": "教学楼A", "minutes": 12}
    again = copy.deepcopy(locked)  # rebuilt by __reduce__, as across a process boundary
    assert (again.reason, again.building, again.holder) == ("busy", "教学楼A", locked.holder)
    taken = WalkLocked(reason="taken", building="教学楼A")
    assert taken.params == {"reason": "taken", "building": "教学楼A"}


def test_a_lock_without_its_holder_or_a_taken_walk_with_one_is_a_mistake() -> None:
    last = datetime(2026, 11, 28, 9, 0, tzinfo=SHANGHAI)
    with pytest.raises(ValueError):
        WalkLocked(reason="busy", building="教学楼A")
    with pytest.raises(ValueError):
        WalkLocked(reason="taken", building="教学楼A", holder=Holder(3, 7, last, 0))


def test_error_text_still_reads_the_refusal() -> None:
    class Speaker:
        def t(self, key: str, **values: object) -> str:
            return f"{key}|{values['building']}|{values.get('minutes')}"

    last = datetime(2026, 11, 28, 9, 0, tzinfo=SHANGHAI)
    locked = WalkLocked(reason="busy", building="楼", holder=Holder(3, 7, last, 4))
    assert error_text(Speaker(), locked) == "error.walk_locked.busy|楼|4"
