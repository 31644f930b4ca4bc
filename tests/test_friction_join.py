"""Day one, joining: a wrong code is no dead end; the client's name is offered."""

from __future__ import annotations

from ledger.invitations import code_in
from ledger.roles import Role
from tests.conftest import cli_invitation
from tests.simulator import Simulator, texts


async def test_after_a_wrong_code_the_bare_right_code_joins(sim: Simulator) -> None:
    code = await cli_invitation(sim, Role.TASKFORCE)
    chat = sim.chat("李四")
    wrong = code[:-1] + ("Y" if code.endswith("X") else "X")  # one character off
    said = await chat.send("/start " + wrong)
    assert "邀请码无效" in texts(said)
    assert "直接把正确的邀请码发给我" in texts(said)
    assert await sim.db.value("SELECT COUNT(*) FROM pending_inputs") == 0
    said = await chat.send(f"  {code} ")
    assert "请发送您的姓名" in texts(said)
    assert "没有看懂" not in texts(said)
    stored = await sim.db.one("SELECT kind, data FROM pending_inputs")
    assert stored["kind"] == "join" and code in stored["data"]
    await chat.send("李四")
    said = await chat.contact("13800138000")
    assert "欢迎，李四" in texts(said)
    assert await sim.db.value("SELECT uses FROM invitations WHERE code = ?", (code,)) == 1


async def test_a_pasted_invitation_link_joins(sim: Simulator) -> None:
    code = await cli_invitation(sim, Role.TASKFORCE)
    chat = sim.chat("李四", "en")
    said = await chat.send(f"http://127.0.0.1:8080/?start={code}")
    assert "Please send your name" in texts(said)


async def test_a_wrong_bare_code_is_answered_in_english_too(sim: Simulator) -> None:
    chat = sim.chat("Li", "en")
    said = await chat.send("AbCdEfGh234")
    assert "not valid" in texts(said)
    assert "Just send me the right code" in texts(said)
    assert await sim.db.value("SELECT COUNT(*) FROM people") == 0


async def test_a_member_typing_a_code_like_word_is_not_joined_again(sim: Simulator) -> None:
    code = await cli_invitation(sim, Role.TASKFORCE)
    chat = sim.chat("李四")
    await chat.send(f"/start {code}")
    await chat.send("李四")
    await chat.contact("13800138000")
    other = await cli_invitation(sim, Role.SUPERVISOR)
    said = await chat.send(other)
    assert "没有看懂" in texts(said)
    assert await sim.db.value("SELECT COUNT(*) FROM memberships") == 1


async def test_ordinary_words_from_a_stranger_are_not_taken_for_codes(sim: Simulator) -> None:
    chat = sim.chat()
    said = await chat.send("你好")
    assert "邀请码无效" not in texts(said)
    assert "直接把邀请码发给我" in texts(said)  # and they are told they may
    said = await chat.send("/inspect")
    assert "直接把邀请码发给我" in texts(said)
    assert await sim.db.value("SELECT COUNT(*) FROM people") == 0


def test_what_looks_like_a_code() -> None:
    assert code_in("AbCdEfGh234") == "AbCdEfGh234"
    assert code_in("https://t.me/xiaoan_bot?start=AbCdEfGh234") == "AbCdEfGh234"
    assert code_in("hello") is None
    assert code_in("我的邀请码是 AbCdEfGh234") is None
    assert code_in("w_12") is None


async def test_the_name_the_client_gave_is_one_tap(sim: Simulator) -> None:
    code = await cli_invitation(sim, Role.TASKFORCE)
    chat = sim.chat("王 小明")
    said = await chat.send(f"/start {code}")
    assert "“王 小明”" in said[-1].text
    assert said[-1].reply_keyboard == [[{"text": "王 小明"}]]
    said = await chat.press("王 小明")
    assert said[-1].reply_keyboard is not None
    assert said[-1].reply_keyboard[0][0]["request_contact"] is True
    await chat.contact("13800138000")
    assert await sim.db.value("SELECT name FROM people") == "王 小明"


async def test_a_different_name_can_still_be_typed(sim: Simulator) -> None:
    code = await cli_invitation(sim, Role.TASKFORCE)
    chat = sim.chat("wang")
    await chat.send(f"/start {code}")
    await chat.send("王小明")
    await chat.contact("13800138000")
    assert await sim.db.value("SELECT name FROM people") == "王小明"
