"""Screens with nothing to tap: the bot sends no keyboard at all, and the local chat takes
what Telegram takes (``reply_markup={}`` is "no keyboard" for Telegram's Bot API server).

Each screen is driven through the simulator; the very request the bot made is then
sent to the local chat's Bot API, which must accept it as Telegram does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp

from ledger.clock import FakeClock
from ledger.roles import Role
from tests.conftest import cli_invitation, join
from tests.localchat_support import TOKEN, start_server
from tests.rectify_helpers import report, report_fix, scene
from tests.simulator import Chat, Simulator


def last_request(sim: Simulator, chat: Chat) -> dict[str, Any]:
    """The parameters of the bot's last sendMessage to this person."""
    for name, params in reversed(sim.api.calls):
        if name == "sendMessage" and int(params["chat_id"]) == chat.user_id:
            return params
    raise AssertionError("no message sent to this person")


async def local_chat_answer(
    folder: Path, clock: FakeClock, method: str, params: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    """Send the same request to the local chat's Bot API (form fields, JSON inside, as PTB
    posts), to a person of its own."""
    server = await start_server(folder, clock)
    try:
        chat_id, _ = await server.channel.join("王老师", "zh-CN", "")
        form = {
            k: v if isinstance(v, str | int) else json.dumps(v)
            for k, v in params.items()
            if v is not None
        }
        form["chat_id"] = str(chat_id)
        url = f"{server.api_url}/bot{TOKEN}/{method}"
        async with aiohttp.ClientSession() as session, session.post(url, data=form) as response:
            return response.status, await response.json()
    finally:
        await server.stop()


async def assert_no_keyboard_and_accepted(
    sim: Simulator, chat: Chat, tmp_path: Path, clock: FakeClock
) -> None:
    params = last_request(sim, chat)
    assert params.get("reply_markup") is None, params  # nothing to tap: no markup at all
    assert chat.last.buttons == []
    status, body = await local_chat_answer(tmp_path, clock, "sendMessage", params)
    assert status == 200, body
    assert "reply_markup" not in body["result"]
    assert body["result"]["text"] == chat.last.text


async def test_tasks_with_nothing_in_it(sim: Simulator, tmp_path: Path, clock: FakeClock) -> None:
    s = await scene(sim)
    said = await s.staff.send("/tasks")
    assert said[-1].text == "您目前没有待办的整改任务。"
    await assert_no_keyboard_and_accepted(sim, s.staff, tmp_path, clock)


async def test_card_of_a_closed_hazard(sim: Simulator, tmp_path: Path, clock: FakeClock) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "灭火器过期")
    await report_fix(s.staff, hazard_id)
    fix_id = await sim.db.value("SELECT id FROM fix_reports WHERE hazard_id = ?", (hazard_id,))
    await s.leader.tap_data(f"r:vf:{hazard_id}:{fix_id}")
    assert await sim.db.value("SELECT state FROM hazards WHERE id = ?", (hazard_id,)) == "closed"
    said = await s.staff.send(f"/hazard {hazard_id}")
    assert "状态：已销号" in said[-1].text
    await assert_no_keyboard_and_accepted(sim, s.staff, tmp_path, clock)


async def test_card_of_a_fix_the_principal_reported_himself(
    sim: Simulator, tmp_path: Path, clock: FakeClock
) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "灭火器过期", responsible="实验小学张校长")
    await report_fix(s.principal, hazard_id)
    assert await sim.db.value("SELECT state FROM hazards WHERE id = ?", (hazard_id,)) == (
        "submitted"
    )
    said = await s.principal.send(f"/hazard {hazard_id}")
    assert "状态：待验收" in said[-1].text
    await assert_no_keyboard_and_accepted(sim, s.principal, tmp_path, clock)


async def test_card_opened_by_the_task_force(
    sim: Simulator, tmp_path: Path, clock: FakeClock
) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "灭火器过期")
    said = await s.taskforce.send(f"/hazard {hazard_id}")
    assert "灭火器过期" in said[-1].text
    await assert_no_keyboard_and_accepted(sim, s.taskforce, tmp_path, clock)


async def test_card_opened_by_a_supervisor(
    sim: Simulator, tmp_path: Path, clock: FakeClock
) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "灭火器过期")
    supervisor = await join(sim, await cli_invitation(sim, Role.SUPERVISOR), "督导组赵组长")
    said = await supervisor.send(f"/hazard {hazard_id}")
    assert "灭火器过期" in said[-1].text
    await assert_no_keyboard_and_accepted(sim, supervisor, tmp_path, clock)


async def test_the_local_chat_takes_an_empty_markup_as_telegram_does(
    tmp_path: Path, clock: FakeClock
) -> None:
    empty: list[dict[str, Any]] = [{}, {"inline_keyboard": []}, {"inline_keyboard": [[]]}]
    for markup in empty:
        status, body = await local_chat_answer(
            tmp_path, clock, "sendMessage", {"text": "没有按钮", "reply_markup": markup}
        )
        assert status == 200, (markup, body)
        assert "reply_markup" not in body["result"]


async def test_the_simulator_judges_markup_as_telegram_does(sim: Simulator) -> None:
    chat = sim.chat()
    bad = {"inline_keyboard": [[{"text": "点我", "callback_data": ""}]]}
    status, _ = await sim.api.do_request(
        f"https://api.telegram.org/bot{TOKEN}/sendMessage",
        "POST",
        _Data({"chat_id": chat.user_id, "text": "x", "reply_markup": json.dumps(bad)}),
    )
    assert status == 400
    assert sim.api.violations == [
        "sendMessage: can't parse inline keyboard button: "
        "Text buttons are unallowed in the inline keyboard"
    ]
    sim.api.violations.clear()


class _Data:
    """Just enough of PTB's RequestData for the fake: parameters, no files."""

    def __init__(self, parameters: dict[str, Any]) -> None:
        self.parameters = parameters
        self.contains_files = False
