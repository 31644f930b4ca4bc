"""Holding under floods and crashes (issue 11, items 1, 9, 12, 14).

Each sender is paced on their own (a stranger gets one answer, then silence);
a tap that Telegram no longer takes an answer for, or an edit that changes
nothing, never stops a handler; a failure after a commit is kept for the
operator; a read-only command is marked done before it answers.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from telegram import Update

from bot.cli import main
from ledger.roles import Role
from ledger.throttle import JOIN, MEMBER, STRANGER, Lane, Throttle, Verdict
from storage import inbox
from tests.conftest import cli_invitation, make_school
from tests.simulator import NOT_MODIFIED, QUERY_TOO_OLD, Simulator, texts

# --- the pace of one sender (item 1) ----------------------------------------------


def test_a_stranger_gets_one_answer_then_ten_minutes_of_silence() -> None:
    throttle = Throttle()
    verdicts = [throttle.verdict(Lane.STRANGER, 7, now=float(i)) for i in range(100)]
    assert verdicts[0] is Verdict.HANDLE
    assert set(verdicts[1:]) == {Verdict.DROP}
    assert throttle.verdict(Lane.STRANGER, 7, now=99 + 600) is Verdict.HANDLE


def test_a_member_past_the_pace_is_warned_once_then_ignored_until_it_refills() -> None:
    throttle = Throttle()
    burst = int(MEMBER.burst)
    assert {throttle.verdict(Lane.MEMBER, 1, 0.0) for _ in range(burst)} == {Verdict.HANDLE}
    assert throttle.verdict(Lane.MEMBER, 1, 0.0) is Verdict.WARN
    assert throttle.verdict(Lane.MEMBER, 1, 0.0) is Verdict.DROP
    assert throttle.verdict(Lane.MEMBER, 2, 0.0) is Verdict.HANDLE  # another person
    assert throttle.verdict(Lane.MEMBER, 1, 1 / MEMBER.per_second) is Verdict.HANDLE


def test_idle_senders_are_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ledger.throttle.REMEMBERED", 10)
    throttle = Throttle()
    for sender in range(10):
        throttle.verdict(Lane.JOIN, sender, 0.0)
    throttle.verdict(Lane.JOIN, 99, 1 / JOIN.per_second)  # all ten refilled by then
    assert len(throttle) == 1
    assert STRANGER.burst == 1


async def test_a_flooding_stranger_gets_one_answer_and_every_update_is_done(
    sim: Simulator,
) -> None:
    sim.guard.throttle = Throttle()
    stranger = sim.chat("路人")
    for i in range(100):
        await stranger.send(f"你好 {i}")
    assert len(stranger.messages) == 1
    await sim.guard.flush(sim.db)  # the dropped ones are marked together
    assert await sim.db.value("SELECT COUNT(*) FROM inbox WHERE done_at IS NULL") == 0
    sim.seconds += 600  # silence for a while, then one answer again
    said = await stranger.send("还在吗")
    assert len(said) == 1


async def test_a_stranger_may_retry_an_invitation_code_a_few_times(sim: Simulator) -> None:
    sim.guard.throttle = Throttle()
    stranger = sim.chat("路人")
    answered = [len(await stranger.send(f"/start wrong{i}")) for i in range(8)]
    assert answered == [1, 1, 1, 1, 1, 0, 0, 0]
    code = await cli_invitation(sim, Role.STAFF, school_id=None)
    sim.seconds += 120  # one more try after two minutes: this time a good code
    said = await stranger.send(f"/start {code}")
    assert said, "a stranger with a good code is heard"


async def test_someone_joining_is_paced_as_a_member(sim: Simulator) -> None:
    sim.guard.throttle = Throttle()
    code = await cli_invitation(sim, Role.TASKFORCE)
    newcomer = sim.chat("李主任")
    await newcomer.send(f"/start {code}")
    await newcomer.send("李主任")
    said = await newcomer.contact("13800138000")
    assert "李主任" in texts(said)


async def test_a_flooding_member_is_told_once_and_a_colleague_is_not_held_up(
    sim: Simulator,
) -> None:
    school = await make_school(sim)
    sim.guard.throttle = Throttle()
    staff, principal = school.staff, school.principal
    answers = [len(await staff.send("/help")) for _ in range(int(MEMBER.burst) + 5)]
    assert answers[: int(MEMBER.burst)] == [1] * int(MEMBER.burst)
    assert "发送得太快" in staff.last.text  # told once
    assert answers[int(MEMBER.burst) + 1 :] == [0] * 4
    said = await principal.send("/whoami")
    assert "张校长" in texts(said)
    sim.seconds += 2
    assert await staff.send("/help")


# --- taps Telegram refuses, edits that change nothing (item 9) ---------------------


async def _first_question(sim: Simulator):
    school = await make_school(sim)
    await school.staff.send("/inspect")
    said = await school.staff.tap("教学楼A")
    assert "1/19 · F01" in said[-1].text
    return school.staff


async def test_a_tap_that_waited_in_telegram_across_a_restart_still_goes_on(
    sim: Simulator, clock
) -> None:
    staff = await _first_question(sim)
    question, data = staff._button("无隐患")
    raw = staff.tap_update(data, question)
    # Polling stored the tap; the bot was killed before handling it.
    await inbox.receive(sim.db, [raw])
    clock.advance(minutes=2)  # the restart took a while: Telegram no longer takes an answer
    await sim.restart()
    assert any(QUERY_TOO_OLD in r for r in sim.api.refusals)
    said = staff.new()
    assert "2/19 · F02" in said[-1].text  # the next question came
    stored = await sim.db.value(
        "SELECT a.choice FROM answers a JOIN checklist_items c ON c.id = a.item_id"
        " WHERE c.code = 'F01'"
    )
    assert stored == "ok"
    assert "无隐患" in sim.api.messages[(staff.user_id, question.message_id)].text


async def test_an_expired_tap_on_a_refusal_still_ends_quietly(sim: Simulator) -> None:
    staff = await _first_question(sim)
    raw = staff.tap_update("a:999999:F01:ok")  # not their walk: refused with an alert
    sim.api.expire(raw["callback_query"]["id"])
    await sim.deliver(raw)
    assert await sim.db.value("SELECT done_at FROM inbox WHERE update_id = ?", (raw["update_id"],))


async def test_an_edit_that_changes_nothing_does_not_stop_the_walk(sim: Simulator) -> None:
    """A hazard's tap: its question's edit refused as "not modified", the next one comes."""
    staff = await _first_question(sim)
    sim.api.fail("editMessageText", 400, f"Bad Request: {NOT_MODIFIED}")
    said = await staff.tap("有隐患")
    assert "请拍照发送隐患照片" in said[-1].text
    assert await sim.db.value("SELECT choice FROM answers") == "hz"


async def test_a_step_whose_edit_changes_nothing_is_taken_as_shown(sim: Simulator) -> None:
    """ "No hazard": the question turned into the next one is refused as "not modified"
    (it shows it already: the same tap applied before a crash). The answer stands, once,
    nothing is logged as failed, and the next question is answered as usual."""
    staff = await _first_question(sim)
    question, data = staff._button("无隐患")
    sim.api.fail("editMessageText", 400, f"Bad Request: {NOT_MODIFIED}")
    await staff.tap_data(data, question)
    assert sim.errors == []
    assert await sim.db.value("SELECT COUNT(*) FROM answers WHERE choice = 'ok'") == 1
    said = await staff.tap_data(data, question)  # the old button again: stale, asked anew
    assert "2/19 · F02" in said[-1].text
    said = await staff.tap("无隐患")
    assert "3/19 · F03" in said[-1].text
    assert await sim.db.value("SELECT COUNT(*) FROM answers WHERE choice = 'ok'") == 2


async def test_the_fake_refuses_a_tap_answered_twice(sim: Simulator) -> None:
    staff = await _first_question(sim)
    raw = staff.tap_update("x")
    query_id = raw["callback_query"]["id"]
    await sim.app.bot.answer_callback_query(query_id)
    with pytest.raises(Exception, match=r"(?i)query is too old"):
        await sim.app.bot.answer_callback_query(query_id)
    assert sim.api.violations == ["answerCallbackQuery: " + QUERY_TOO_OLD + " (answered twice)"]
    sim.api.violations.clear()


# --- failures after a commit are kept (item 12) --------------------------------------


async def _deliver_failing(sim: Simulator, raw: dict[str, Any]) -> list[BaseException]:
    await inbox.receive(sim.db, [raw])
    await sim.app.process_update(Update.de_json(raw, sim.app.bot))
    errors, sim.errors = sim.errors, []
    return errors


async def test_a_failure_after_the_commit_is_kept_for_the_operator(
    sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    staff = await _first_question(sim)
    question, data = staff._button("无隐患")
    raw = staff.tap_update(data, question)
    # The chat is gone: neither the question turned into the next one nor a new one goes.
    sim.api.fail("editMessageText", 400, "Bad Request: chat not found", chat_id=staff.user_id)
    sim.api.fail("sendMessage", 400, "Bad Request: chat not found", chat_id=staff.user_id)
    errors = await _deliver_failing(sim, raw)
    assert errors, "the next question could not be sent"
    row = await sim.db.one(
        "SELECT kind, after_commit, error, tg_user_id FROM update_errors WHERE update_id = ?",
        (raw["update_id"],),
    )
    assert (row["kind"], row["after_commit"], row["tg_user_id"]) == (
        "callback_query",
        1,
        staff.user_id,
    )
    assert "Chat not found" in row["error"]
    assert "Chat not found" in await sim.db.value(
        "SELECT error FROM inbox WHERE update_id = ?", (raw["update_id"],)
    )
    await sim.stop()
    code = await asyncio.to_thread(main, ["--config", str(sim.config_path), "errors"])
    assert code == 0
    out = capsys.readouterr().out
    assert f"{raw['update_id']}" in out and "callback_query  yes  " in out
    assert "TEST-TOKEN" not in out
    await sim.start()


# --- read-only commands are marked done before they answer (item 14) ------------------


class _Killed(BaseException):
    """The process dies: nothing after this point runs."""


async def test_a_read_only_command_killed_after_its_answer_is_not_answered_again(
    sim: Simulator,
) -> None:
    school = await make_school(sim)
    staff = school.staff
    raw = staff.text_update("/tasks")
    answer = sim.api.api_sendMessage

    def answer_then_die(params: dict[str, Any]) -> dict[str, Any]:
        answer(params)  # Telegram has it: the person sees the list
        raise _Killed

    sim.api.api_sendMessage = answer_then_die  # type: ignore[method-assign]
    await inbox.receive(sim.db, [raw])
    with pytest.raises(_Killed):
        await sim.app.process_update(Update.de_json(raw, sim.app.bot))
    sim.api.api_sendMessage = answer  # type: ignore[method-assign]
    shown = len(staff.messages)
    await sim.restart()
    assert len(staff.messages) == shown  # not fed again: the list was not sent twice


async def test_failures_are_kept_ninety_days_not_seven(sim: Simulator, clock) -> None:
    from bot.app import prune_inbox

    await inbox.receive(sim.db, [{"update_id": 999_001}])
    await inbox.record_error(sim.db, 999_001, tg_user_id=5, kind="message", error="Boom()")
    clock.advance(days=8)

    class Context:
        bot_data = sim.app.bot_data

    await prune_inbox(Context())
    assert await sim.db.value("SELECT COUNT(*) FROM inbox WHERE update_id = 999001") == 0
    assert await inbox.errors(sim.db) != []
    clock.advance(days=90)
    await prune_inbox(Context())
    assert await inbox.errors(sim.db) == []
