"""Day one on the local chat page: each person's menu, a labelled menu button, the photo
button, tappable commands, documents by name and type."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram import Bot, BotCommandScopeChat, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest

from ledger.clock import FakeClock
from localchat.server import LocalServer
from telegram_rules import Refusal
from telegram_rules.commands import private_chat_menu, scope_key
from tests.localchat_support import Browser, bot_for, start_server

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
async def server(tmp_path: Path, clock: FakeClock) -> AsyncIterator[LocalServer]:
    running = await start_server(tmp_path, clock)
    yield running
    await running.stop()


@pytest.fixture
async def bot(server: LocalServer) -> AsyncIterator[Bot]:
    async with bot_for(server) as connected:
        yield connected


@pytest.fixture
async def browsers(server: LocalServer) -> AsyncIterator[list[Browser]]:
    opened = [Browser(server.people_url) for _ in range(3)]
    yield opened
    for browser in opened:
        await browser.close()


async def menu_of(browser: Browser) -> list[str]:
    status, body = await browser.get("/api/commands")
    assert status == 200, body
    return [c["command"] for c in body["commands"]]


async def test_each_person_sees_their_own_chats_menu(bot: Bot, browsers: list[Browser]) -> None:
    await bot.set_my_commands([("start", "加入"), ("help", "帮助")])
    await bot.set_my_commands([("start", "Join"), ("help", "Help")], language_code="en")
    teacher, stranger, english = browsers
    teacher_id = await teacher.join("王老师", "")
    await stranger.join("路人", "")
    english_id = await english.join("Ann", "", language="en-US")
    await bot.set_my_commands(
        [("inspect", "逐栋排查"), ("tasks", "我的任务")], scope=BotCommandScopeChat(teacher_id)
    )
    assert await menu_of(teacher) == ["inspect", "tasks"]
    assert await menu_of(stranger) == ["start", "help"]  # the default menu, not another's
    _, body = await english.get("/api/commands")
    assert [c["description"] for c in body["commands"]] == ["Join", "Help"]
    # A chat's menu in the person's language comes before the chat's menu for all.
    await bot.set_my_commands([("tasks", "My tasks")], scope=BotCommandScopeChat(english_id))
    await bot.set_my_commands(
        [("tasks", "My tasks (en)")], scope=BotCommandScopeChat(english_id), language_code="en"
    )
    _, body = await english.get("/api/commands")
    assert [c["description"] for c in body["commands"]] == ["My tasks (en)"]
    # Removed: the next menu in Telegram's order shows again.
    await bot.delete_my_commands(scope=BotCommandScopeChat(teacher_id))
    assert await menu_of(teacher) == ["start", "help"]
    got = await bot.get_my_commands(scope=BotCommandScopeChat(english_id))
    assert [c.description for c in got] == ["My tasks"]
    got = await bot.get_my_commands(scope=BotCommandScopeChat(english_id), language_code="en")
    assert [c.command for c in got] == ["tasks"]


async def test_a_menu_for_a_chat_that_does_not_exist_is_refused(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.set_my_commands([("help", "帮助")], scope=BotCommandScopeChat(12345))


async def test_bad_menus_are_refused_as_telegram_does(server: LocalServer, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([("Help", "帮助")])
    with pytest.raises(BadRequest, match=r"(?i)language code"):
        await bot.set_my_commands([("help", "帮助")], language_code="english")
    with pytest.raises(BadRequest, match=r"(?i)scope"):
        await bot._post(  # a scope type Telegram does not have
            "setMyCommands",
            {"commands": [{"command": "help", "description": "帮助"}], "scope": {"type": "x"}},
        )


async def test_the_page_has_a_labelled_menu_button(browsers: list[Browser]) -> None:
    browser = browsers[0]
    async with browser.session.get(browser.base + "/") as response:
        page = await response.text()
    assert 'id="menu-button"' in page
    button = page.split('id="menu-button"')[1].split("</button>")[0]
    assert '<span data-t="menu_label">菜单</span>' in button  # a word, not just "/"
    assert 'aria-controls="menu"' in button
    async with browser.session.get(browser.base + "/static/chat.js") as response:
        script = await response.text()
    assert 'menu_label: "Menu"' in script and 'menu_label: "菜单"' in script
    # The photo step's cam: button opens the camera; /commands in the bot's text are tappable.
    assert 'button.data.startsWith("cam:")' in script and '$("camera").click()' in script
    assert "function tappableCommands" in script


async def test_the_photo_button_reaches_the_page_as_a_button(
    bot: Bot, browsers: list[Browser]
) -> None:
    browser = browsers[0]
    user_id = await browser.join("王老师", "")
    markup = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("📷 拍照 / 选照片", callback_data="cam:h:1")],
            [InlineKeyboardButton("无照片", callback_data="h:1:photos:none")],
        ]
    )
    await bot.send_message(user_id, "请拍照发送隐患照片", reply_markup=markup)
    await browser.refresh()
    shown = browser.from_bot[-1]["buttons"]
    assert shown[0][0] == {"text": "📷 拍照 / 选照片", "data": "cam:h:1", "url": None}


async def test_documents_show_their_name_and_come_with_their_type(
    bot: Bot, browsers: list[Browser]
) -> None:
    browser = browsers[0]
    user_id = await browser.join("王老师", "")
    await bot.send_document(user_id, io.BytesIO(b"PK\x03\x04xlsx"), filename="台账-实验小学.xlsx")
    await bot.send_document(user_id, io.BytesIO(b"<script>alert(1)</script>"), filename="x.html")
    await browser.refresh()
    ledger, page = (m["file"] for m in browser.from_bot)
    assert ledger["name"] == "台账-实验小学.xlsx" and ledger["kind"] == "document"
    async with browser.session.get(browser.base + ledger["url"]) as response:
        assert response.status == 200
        assert response.content_type == XLSX
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert "UTF-8''%E5%8F%B0%E8%B4%A6" in response.headers["Content-Disposition"]
        assert await response.read() == b"PK\x03\x04xlsx"
    assert page["name"] == "x.html"
    async with browser.session.get(browser.base + page["url"]) as response:
        assert response.content_type == "application/octet-stream"  # never shown as a page
        assert response.headers["Content-Disposition"].startswith("attachment;")


def test_telegrams_order_for_a_private_chat() -> None:
    levels = [
        ("chat:7", "en"),
        ("chat:7", ""),
        ("all_private_chats", "en"),
        ("all_private_chats", ""),
        ("default", "en"),
        ("default", ""),
    ]
    menus = {level: [{"command": f"c{n}", "description": "x"}] for n, level in enumerate(levels)}
    for n in range(len(levels)):
        shown = private_chat_menu(menus, 7, "en-GB")
        assert shown == [{"command": f"c{n}", "description": "x"}]
        del menus[levels[n]]
    assert private_chat_menu(menus, 7, "en") == []
    assert scope_key({"type": "chat", "chat_id": "7"}) == "chat:7"
    with pytest.raises(Refusal, match="Unsupported type specified"):
        scope_key({"type": "chats"})
    with pytest.raises(Refusal, match="Empty chat_id specified"):
        scope_key({"type": "chat"})
