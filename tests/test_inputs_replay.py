"""Crashes around a tap (issue 11.11) and stale re-taps (issue 11.13).

A form's tapped choice is stored before the tap is answered and its question
edited, so a crash in between neither loses the choice nor fails on replay. A
tap on a question already answered gets its alert and, below it, the question
the person is at now: whoever lost the bot's reply in a crash goes on from there.

A crash is the process dying: an exception that no handler catches
(``BaseException``) raised from the fake Bot API or the database at a chosen
moment; the bot is then started again on the same files, which feeds again
every update not marked done.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from storage import people
from tests.conftest import make_school
from tests.simulator import Chat, Simulator

STALE = "这个问题已经回答过了。"


class Crash(BaseException):
    """The process dies here (nothing catches it, as nothing catches SIGKILL)."""


def crash_on_call(sim: Simulator, method: str) -> None:
    """The next Bot API call ``method`` kills the bot (after what came before it)."""
    real: Callable[[dict[str, Any]], Any] = getattr(sim.api, f"api_{method}")

    def dying(params: dict[str, Any]) -> Any:
        setattr(sim.api, f"api_{method}", real)  # once
        raise Crash(method)

    setattr(sim.api, f"api_{method}", dying)


def crash_on_set_pending(monkeypatch: pytest.MonkeyPatch) -> None:
    """The next stored form value kills the bot inside its transaction (rolled back)."""
    real = people.set_pending

    async def dying(*args: Any, **kwargs: Any) -> None:
        monkeypatch.setattr(people, "set_pending", real)
        raise Crash("set_pending")

    monkeypatch.setattr(people, "set_pending", dying)


async def _crash(sim: Simulator, chat: Chat, label: str) -> None:
    """Tap ``label``; the bot dies on the way; it is started again (and replays)."""
    with pytest.raises(Crash):
        await chat.tap(label)
    await sim.restart()


async def _building_form_at_use(sim: Simulator) -> Chat:
    school = await make_school(sim)
    principal = school.principal
    await principal.send("/addbuilding")
    await principal.send("实验楼")
    principal.new()
    return principal


async def _finish_building(sim: Simulator, principal: Chat) -> None:
    await principal.send("3")
    said = await principal.send("2001")
    assert "实验楼" in said[-1].text
    row = await sim.db.one("SELECT use, floors, year_built FROM buildings WHERE name = '实验楼'")
    assert tuple(row) == ("laboratory", 3, 2001)


# --- 11: store first, then settle --------------------------------------------------


async def test_a_crash_before_the_choice_is_stored_replays_cleanly(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the fix the tap was answered and its question edited first: on replay the
    same edit was refused ("message is not modified") and the person saw an error."""
    principal = await _building_form_at_use(sim)
    crash_on_set_pending(monkeypatch)
    await _crash(sim, principal, "实验室")  # the replay runs at start-up
    said = principal.new()
    assert said[-1].text == "地上层数？（数字）"
    assert (await people.pending(sim.db, principal.user_id))[1]["use"] == "laboratory"
    asked = [m for m in principal.messages if m.text.startswith("建筑用途")][-1]
    assert asked.text == "建筑用途？\n→ 实验室"  # the answer shown, once
    await _finish_building(sim, principal)


async def test_a_crash_after_the_choice_is_stored_loses_nothing(sim: Simulator) -> None:
    """The choice is stored; the bot dies answering the tap; after the restart the
    tap is not applied again, and tapping it again goes on from the next question."""
    principal = await _building_form_at_use(sim)
    crash_on_call(sim, "answerCallbackQuery")
    await _crash(sim, principal, "实验室")
    # The tap is not applied again; start-up asks the question whose asking was lost.
    assert principal.new()[-1].text == "地上层数？（数字）"
    assert (await people.pending(sim.db, principal.user_id))[1]["use"] == "laboratory"
    said = await principal.tap("实验室")  # the question still shows its buttons
    assert principal.alerts[-1] == STALE
    assert said[-1].text == "地上层数？（数字）"  # asked again (13)
    await _finish_building(sim, principal)


async def test_a_crash_while_the_invitation_is_made(sim: Simulator) -> None:
    """The last tap of /invite makes the invitation; dying before the reply loses it not."""
    school = await make_school(sim)
    principal = school.principal
    await principal.send("/invite")
    await principal.tap("教职工")
    await principal.tap("7 天")
    before = await sim.db.value("SELECT COUNT(*) FROM invitations")
    crash_on_call(sim, "sendMessage")
    await _crash(sim, principal, "50 人")
    assert await sim.db.value("SELECT COUNT(*) FROM invitations") == before + 1
    assert await people.pending(sim.db, principal.user_id) is None
    assert principal.last.text == "可供多少人使用？\n→ 50 人"  # settled before the death
    said = await principal.send("/invitations")  # where the lost link is found
    assert "已用 0/50" in said[-1].text


# --- 13: a stale re-tap shows the current question ---------------------------------


async def test_a_stale_tap_in_a_walk_asks_the_current_question(sim: Simulator) -> None:
    school = await make_school(sim)
    staff = school.staff
    await staff.send("/inspect")
    first = (await staff.tap("教学楼A"))[-1]
    no_hazard = first.buttons[0][0][1]
    await staff.tap("无隐患")
    answers = [dict(r) for r in await sim.db.all("SELECT * FROM answers")]
    said = await staff.tap_data(no_hazard, first)  # F01's "no hazard", from an old screen
    assert staff.alerts[-1] == STALE
    assert len(said) == 1 and "2/19" in said[0].text  # the question now, with its buttons
    assert [dict(r) for r in await sim.db.all("SELECT * FROM answers")] == answers
    said = await staff.tap("无隐患")  # the re-asked question works
    assert "3/19" in said[-1].text


async def test_a_stale_tap_after_a_lost_reply_goes_on(sim: Simulator) -> None:
    """The answer is stored, then the bot dies: the question keeps its buttons and the
    next never arrives. Tapping the old question again brings it, without /inspect."""
    school = await make_school(sim)
    staff = school.staff
    await staff.send("/inspect")
    first = (await staff.tap("教学楼A"))[-1]
    no_hazard = first.buttons[0][0][1]
    crash_on_call(sim, "answerCallbackQuery")
    await _crash(sim, staff, "无隐患")
    staff.new()  # (start-up may ask it too; a tap on the old question must still work)
    assert first.buttons  # never settled: the old question still shows its buttons
    said = await staff.tap_data(no_hazard, first)
    assert staff.alerts[-1] == STALE
    assert "2/19" in said[-1].text
    assert await sim.db.value("SELECT COUNT(*) FROM answers") == 1


async def test_a_stale_tap_in_a_hazard_asks_its_current_question(sim: Simulator) -> None:
    school = await make_school(sim)
    staff = school.staff
    await staff.send("/inspect")
    await staff.tap("教学楼A")
    await staff.tap("有隐患")
    await staff.tap("无照片")
    await staff.send("灭火器过期")
    fixable = staff.last
    no = fixable.buttons[0][1][1]
    await staff.tap("是")  # fixable at once: the hazard is recorded, the walk goes on
    said = await staff.tap_data(no, fixable)  # "no" on that question
    assert staff.alerts[-1] == STALE
    assert "2/19" in said[-1].text
    assert await sim.db.value("SELECT fixable_now FROM hazards") == 1


async def test_a_stale_tap_with_nothing_pending_only_alerts(sim: Simulator) -> None:
    school = await make_school(sim)
    await school.staff.send("/inspect")
    first = (await school.staff.tap("教学楼A"))[-1]
    no_hazard = first.buttons[0][0][1]
    await school.staff.tap("无隐患")
    await school.staff.tap("暂停")
    said = await school.staff.tap_data(no_hazard, first)
    assert school.staff.alerts[-1] == STALE
    assert said == []


async def test_a_stale_tap_does_not_ask_a_walk_taken_over(sim: Simulator, clock) -> None:
    """The walk was taken over: a stale tap elsewhere does not show its question."""
    school = await make_school(sim)
    staff = school.staff
    await staff.send("/inspect")
    await staff.tap("教学楼A")
    clock.advance(minutes=31)
    await school.principal.send("/inspect")
    await school.principal.tap("教学楼A")
    await school.principal.tap("接手")
    said = await staff.tap_data("rv:999999:x")  # malformed: stale
    assert staff.alerts[-1] == STALE
    assert said == []
