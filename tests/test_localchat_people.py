"""The local chat's people side: joining, one's own chat only, uploads, safety.

The bot is played here by a real ``telegram.Bot`` calling the Bot API side,
so each test shows both ends of the channel.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.constants import ParseMode

from ledger.clock import FakeClock
from localchat.server import LocalServer
from tests.conftest import jpeg
from tests.localchat_support import TOKEN, Browser, bot_for, start_server


@pytest.fixture
async def server(tmp_path: Path, clock: FakeClock) -> AsyncIterator[LocalServer]:
    running = await start_server(tmp_path, clock, max_upload_bytes=200_000)
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


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data)] for label, data in pairs]
    )


async def test_joining_sends_start_with_the_code(bot: Bot, browsers: list[Browser]) -> None:
    zh, en = browsers[0], browsers[1]
    zh_id = await zh.join("王老师", "AbC23456789")
    en_id = await en.join("Ann", "", language="en-GB")
    updates = await bot.get_updates(timeout=0)
    first, second = (u.message for u in updates)
    assert (first.chat.id, first.from_user.id, first.text) == (zh_id, zh_id, "/start AbC23456789")
    assert first.from_user.language_code == "zh-CN" and first.from_user.first_name == "王老师"
    assert first.entities[0].type == "bot_command" and first.entities[0].length == 6
    assert (second.chat.id, second.text, second.from_user.language_code) == (en_id, "/start", "en")
    assert zh_id != en_id


async def test_a_person_sees_only_their_own_chat(
    server: LocalServer, bot: Bot, browsers: list[Browser]
) -> None:
    alice, bob = browsers[0], browsers[1]
    alice_id = await alice.join("Alice", "")
    await bob.join("Bob", "")
    await bot.send_message(alice_id, "只给 Alice", reply_markup=keyboard(("秘密", "s:1")))
    photo = await bot.send_photo(alice_id, jpeg(16, 16))
    await alice.refresh()
    await bob.refresh()
    assert any("只给 Alice" in (m.get("html") or "") for m in alice.chat)
    assert all("Alice" not in json.dumps(m, ensure_ascii=False) for m in bob.chat)
    # Bob cannot open Alice's picture nor tap Alice's button, even knowing their ids.
    file_url = f"/files/{photo.photo[-1].file_id}"
    async with alice.session.get(alice.base + file_url) as response:
        assert response.status == 200 and response.content_type == "image/jpeg"
    async with bob.session.get(bob.base + file_url) as response:
        assert response.status == 404
    message_id, data = alice.button("秘密")
    status, body = await bob.post("/api/tap", {"message_id": message_id, "data": data})
    assert (status, body) == (400, {"error": "no_such_button"})


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/me"),
        ("GET", "/api/messages"),
        ("GET", "/api/events"),
        ("GET", "/api/commands"),
        ("POST", "/api/send"),
        ("POST", "/api/tap"),
        ("POST", "/api/contact"),
        ("POST", "/api/upload"),
        ("GET", "/files/Lanything"),
    ],
)
async def test_without_a_session_nothing_is_shown(
    server: LocalServer, method: str, path: str
) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, server.people_url + path, json={}) as response,
    ):
        assert response.status == 401


@pytest.mark.parametrize(
    "path",
    [
        f"/bot{TOKEN}/getMe",
        f"/bot{TOKEN}/getUpdates",
        f"/file/bot{TOKEN}/x/y",
        "/static/../server.py",
        "/static/chat.py",
    ],
)
async def test_the_bot_api_is_not_on_the_people_side(server: LocalServer, path: str) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(server.people_url + path) as response,
    ):
        text = await response.text()
    assert response.status == 404
    assert TOKEN not in text
    assert server.people_port != server.api_port


async def test_the_page_never_carries_the_token(
    server: LocalServer, browsers: list[Browser]
) -> None:
    browser = browsers[0]
    await browser.join("A", "")
    for path in ("/", "/static/chat.js", "/static/chat.css", "/api/me", "/api/messages"):
        async with browser.session.get(browser.base + path) as response:
            assert response.status == 200, path
            assert TOKEN.split(":")[1] not in await response.text()
            assert "default-src 'self'" in response.headers["Content-Security-Policy"]
            assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(("public_url", "secure"), [("", False), ("https://xa.school.cn", True)])
async def test_session_cookie_flags(
    tmp_path: Path, clock: FakeClock, public_url: str, secure: bool
) -> None:
    server = await start_server(tmp_path, clock, public_url=public_url)
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                server.people_url.replace(
                    "https://xa.school.cn", f"http://127.0.0.1:{server.people_port}"
                )
                + "/api/join",
                json={"name": "A", "code": ""},
            ) as response,
        ):
            cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert ("Secure" in cookie) is secure
        token = cookie.split("=", 1)[1].split(";")[0]
        assert len(token) >= 40
        # Stored as a hash only: the file holds no session token.
        assert token.encode() not in (tmp_path / "localchat.sqlite3").read_bytes()
    finally:
        await server.stop()


async def test_json_endpoints_refuse_forms(server: LocalServer, browsers: list[Browser]) -> None:
    """A form posted from another site cannot send a message in someone's name."""
    browser = browsers[0]
    await browser.join("A", "")
    async with browser.session.post(browser.base + "/api/send", data={"text": "hi"}) as response:
        assert response.status == 415


@pytest.mark.parametrize("size", [200_001, 400_000])
async def test_uploads_over_the_cap_get_413(
    server: LocalServer, browsers: list[Browser], size: int
) -> None:
    browser = browsers[0]
    await browser.join("A", "")
    status, body = await browser.upload(b"x" * size, "big.bin", "application/octet-stream")
    assert status == 413
    assert body == {"error": "too_large", "limit_mb": 0.2}


async def test_photo_and_file_uploads_reach_the_bot(
    server: LocalServer, bot: Bot, browsers: list[Browser]
) -> None:
    browser = browsers[0]
    user_id = await browser.join("A", "")
    picture = jpeg(40, 30)
    assert (await browser.upload(picture, "IMG_1.jpg", "image/jpeg"))[0] == 200
    assert (await browser.upload(b"PK\x03\x04 sheet", "台账.xlsx", "application/vnd.ms-excel"))[
        0
    ] == 200
    updates = await bot.get_updates(timeout=0)
    photo, document = updates[1].message, updates[2].message
    assert photo.chat.id == user_id and (photo.photo[-1].width, photo.photo[-1].height) == (40, 30)
    file = await bot.get_file(photo.photo[-1].file_id)
    assert bytes(await file.download_as_bytearray()) == picture
    assert document.document.file_name == "台账.xlsx"
    file = await bot.get_file(document.document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"PK\x03\x04 sheet"
    # The page shows the picture, and offers the file as a download under its name.
    await browser.refresh()
    shown = [m["file"] for m in browser.chat if "file" in m]
    assert [f["kind"] for f in shown] == ["photo", "document"]
    async with browser.session.get(browser.base + shown[1]["url"]) as response:
        assert response.status == 200
        assert "attachment" in response.headers["Content-Disposition"]
        assert response.content_type == "application/vnd.ms-excel"  # its own type, as a download
    # One copy on disk per content, named by its hash.
    assert len(list((server.settings.files).rglob("*"))) == 4  # two folders, two files


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.mark.parametrize(
    ("data", "mime", "served", "attachment"),
    [
        (SVG, "image/svg+xml", "application/octet-stream", True),
        (SVG, "text/html", "application/octet-stream", True),
        (jpeg(8, 8), "image/svg+xml", "image/jpeg", False),
        (jpeg(8, 8), "image/jpeg", "image/jpeg", False),
    ],
)
async def test_uploads_are_never_served_as_active_content(
    server: LocalServer,
    browsers: list[Browser],
    data: bytes,
    mime: str,
    served: str,
    attachment: bool,
) -> None:
    browser = browsers[0]
    await browser.join("A", "")
    assert (await browser.upload(data, "x.svg", mime))[0] == 200
    await browser.refresh()
    url = browser.chat[-1]["file"]["url"]
    async with browser.session.get(browser.base + url) as response:
        assert response.content_type == served
        assert ("attachment" in response.headers.get("Content-Disposition", "")) is attachment
        assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_a_bot_document_can_be_downloaded(
    server: LocalServer, bot: Bot, browsers: list[Browser]
) -> None:
    browser = browsers[0]
    user_id = await browser.join("A", "")
    await bot.send_document(user_id, b"PK\x03\x04report", filename="隐患台账.xlsx")
    await browser.refresh()
    (message,) = [m for m in browser.from_bot if "file" in m]
    async with browser.session.get(browser.base + message["file"]["url"]) as response:
        assert await response.read() == b"PK\x03\x04report"
        assert "filename*=UTF-8''%E9%9A%90" in response.headers["Content-Disposition"]


@pytest.mark.parametrize(
    ("sent", "parse_mode", "shown"),
    [
        ("<b>粗</b> <i>斜</i>", "HTML", "<b>粗</b> <i>斜</i>"),
        ("&lt;script&gt;alert(1)&lt;/script&gt;", "HTML", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ('<a href="javascript:alert(1)">x</a>', "HTML", "<a>x</a>"),
        (
            '<a href="https://e.cn/?a=1&amp;b=2">x</a>',
            "HTML",
            '<a href="https://e.cn/?a=1&amp;b=2" rel="noopener noreferrer">x</a>',
        ),
        ('<span class="tg-spoiler">秘</span>', "HTML", '<span class="spoiler">秘</span>'),
        ('<b onclick="x()">b</b>', "HTML", "<b>b</b>"),
        ("<img src=x onerror=alert(1)>", None, "&lt;img src=x onerror=alert(1)&gt;"),
        ("https://t.me/xiaoan_local_bot?start=AbC23456789", None, "/?start=AbC23456789"),
    ],
)
async def test_only_telegrams_html_reaches_the_page(
    server: LocalServer,
    bot: Bot,
    browsers: list[Browser],
    sent: str,
    parse_mode: str | None,
    shown: str,
) -> None:
    browser = browsers[0]
    user_id = await browser.join("A", "")
    await bot.send_message(user_id, sent, parse_mode=parse_mode)
    await browser.refresh()
    assert shown in browser.from_bot[-1]["html"]
    assert "<script" not in browser.from_bot[-1]["html"]


async def test_people_text_is_escaped(server: LocalServer, browsers: list[Browser]) -> None:
    browser = browsers[0]
    await browser.join("A", "")
    await browser.send('<script>alert("x")</script>')
    await browser.refresh()
    assert browser.chat[-1]["html"] == "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"


async def test_old_buttons_still_send_their_callback(
    server: LocalServer, bot: Bot, browsers: list[Browser]
) -> None:
    browser = browsers[0]
    user_id = await browser.join("A", "")
    old = await bot.send_message(
        user_id,
        "<b>问题 1</b>",
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard(("无隐患", "a:1:1:ok")),
    )
    await bot.send_message(user_id, "问题 2", reply_markup=keyboard(("无隐患", "a:1:2:ok")))
    await browser.refresh()
    status, _ = await browser.post("/api/tap", {"message_id": old.message_id, "data": "a:1:1:ok"})
    assert status == 200
    query = (await bot.get_updates(timeout=0))[-1].callback_query
    assert query.data == "a:1:1:ok" and query.from_user.id == user_id
    assert query.message.message_id == old.message_id
    assert query.message.text_html == "<b>问题 1</b>"  # entities come along, as from Telegram
    # A crafted tap with data no button carries is refused.
    status, _ = await browser.post("/api/tap", {"message_id": old.message_id, "data": "a:9:9:ok"})
    assert status == 400
    # The bot answers the tap: the page gets it as an alert event.
    assert await query.answer("已经回答过了", show_alert=True)


async def test_events_tell_the_page_of_changes_and_alerts(
    server: LocalServer, bot: Bot, browsers: list[Browser]
) -> None:
    browser = browsers[0]
    user_id = await browser.join("A", "")
    await browser.refresh()
    events: list[dict[str, Any]] = []

    async def read() -> None:
        async with browser.session.get(browser.base + "/api/events") as response:
            assert response.headers["Content-Type"] == "text/event-stream"
            async for line in response.content:
                if line.startswith(b"data: "):
                    events.append(json.loads(line[6:]))
                    if len(events) == 4:
                        return

    reader = asyncio.create_task(read())
    await asyncio.sleep(0.2)
    sent = await bot.send_message(user_id, "q", reply_markup=keyboard(("好", "ok")))
    await bot.send_chat_action(user_id, "typing")
    await browser.refresh()
    await browser.post("/api/tap", {"message_id": sent.message_id, "data": "ok"})
    query = (await bot.get_updates(timeout=0))[-1].callback_query
    await query.answer("收到")
    await asyncio.wait_for(reader, 5)
    assert [e["type"] for e in events] == ["changed", "changed", "action", "alert"]
    assert events[-1]["text"] == "收到" and events[-1]["show_alert"] is False


async def stream_events(
    browser: Browser, count: int, query: str = "", headers: dict[str, str] | None = None
) -> list[tuple[str | None, dict[str, Any]]]:
    """The first ``count`` events of the page's stream: (id, data) each."""
    got: list[tuple[str | None, dict[str, Any]]] = []
    event_id = None
    url = browser.base + "/api/events" + query
    async with browser.session.get(url, headers=headers or {}) as response:
        assert response.status == 200
        async for line in response.content:
            if line.startswith(b"id: "):
                event_id = line[4:].decode().strip()
            elif line.startswith(b"data: "):
                got.append((event_id, json.loads(line[6:])))
                event_id = None
                if len(got) == count:
                    break
    return got


async def test_events_bring_what_changed_since_the_version_the_page_holds(
    bot: Bot, browsers: list[Browser]
) -> None:
    """The page says which version it holds: each 'changed' event brings the messages
    changed since, the version as its id, so a tap's next question needs no fetch."""
    browser = browsers[0]
    user_id = await browser.join("A", "")
    held = await browser.refresh()
    version = max(m["version"] for m in held)
    reader = asyncio.create_task(stream_events(browser, 3, f"?since={version}"))
    await asyncio.sleep(0.2)
    sent = await bot.send_message(user_id, "问题 1", reply_markup=keyboard(("无隐患", "ok")))
    await browser.post("/api/tap", {"message_id": sent.message_id, "data": "ok"})
    query = (await bot.get_updates(timeout=0))[-1].callback_query
    await query.edit_message_text("问题 2", reply_markup=keyboard(("无隐患", "ok2")))
    events = await asyncio.wait_for(reader, 5)
    first, asked, edited = events
    assert first == (str(version), {"type": "changed", "messages": []})  # connected
    assert [m["html"] for m in asked[1]["messages"]] == ["问题 1"]
    assert [(m["id"], m["html"]) for m in edited[1]["messages"]] == [(sent.message_id, "问题 2")]
    assert edited[1]["messages"][0]["buttons"][0][0]["data"] == "ok2"
    assert edited[0] == str(edited[1]["messages"][0]["version"])


async def test_the_browsers_reconnect_resumes_from_the_last_events_id(
    bot: Bot, browsers: list[Browser]
) -> None:
    browser = browsers[0]
    user_id = await browser.join("A", "")
    await bot.send_message(user_id, "早先")
    [(last_id, _)] = await stream_events(browser, 1, "?since=0")
    await bot.send_message(user_id, "之后")
    # EventSource sends Last-Event-ID on its own reconnect, with the URL it first opened.
    [(_, resumed)] = await stream_events(browser, 1, "?since=0", {"Last-Event-ID": str(last_id)})
    assert [m["html"] for m in resumed["messages"]] == ["之后"]


@pytest.mark.parametrize("since", ["-1", "x", "99999999999999999999"])
async def test_a_bad_version_for_the_events_is_refused(browsers: list[Browser], since: str) -> None:
    browser = browsers[0]
    await browser.join("A", "")
    status, body = await browser.get(f"/api/events?since={since}")
    assert (status, body) == (400, {"error": "bad_since"})


async def test_the_phone_keyboard_and_the_contact(
    server: LocalServer, bot: Bot, browsers: list[Browser]
) -> None:
    browser = browsers[0]
    user_id = await browser.join("A", "")
    share = ReplyKeyboardMarkup(
        [[KeyboardButton("分享手机号", request_contact=True)]], one_time_keyboard=True
    )
    await bot.send_message(user_id, "请分享手机号", reply_markup=share)
    await browser.refresh()
    assert browser.from_bot[-1]["keyboard"]["rows"][0][0]["request_contact"] is True
    status, _ = await browser.post("/api/contact", {"phone": "138 0013 8000"})
    assert status == 200
    contact = (await bot.get_updates(timeout=0))[-1].message.contact
    assert (contact.phone_number, contact.user_id) == ("138 0013 8000", user_id)
    await bot.send_message(user_id, "谢谢", reply_markup=ReplyKeyboardRemove())
    await browser.refresh()
    assert browser.from_bot[-1]["remove_keyboard"] is True
    assert (await browser.post("/api/contact", {"phone": "<x>"}))[0] == 400


async def test_the_command_menu_follows_the_language(
    server: LocalServer, bot: Bot, browsers: list[Browser]
) -> None:
    await bot.set_my_commands([("inspect", "巡查楼栋")])
    await bot.set_my_commands([("inspect", "Walk a building")], language_code="en")
    zh, en = browsers[0], browsers[1]
    await zh.join("王", "")
    await en.join("Ann", "", language="en-US")
    assert (await zh.get("/api/commands"))[1]["commands"][0]["description"] == "巡查楼栋"
    assert (await en.get("/api/commands"))[1]["commands"][0]["description"] == "Walk a building"


async def test_a_reload_and_a_restart_keep_the_chat(tmp_path: Path, clock: FakeClock) -> None:
    server = await start_server(tmp_path, clock)
    browser = Browser(server.people_url)
    try:
        user_id = await browser.join("A", "")
        await server.channel.post(user_id, {"kind": "text", "text": "第一条", "parse_mode": None})
        await server.stop()
        server = await start_server(tmp_path, clock, port=server.people_port)
        browser.base = server.people_url
        again = await browser.refresh()  # a reload: everything since version 0
        browser.version = 0
        assert [m["html"] for m in await browser.refresh()] == ["/start", "第一条"]
        assert again
    finally:
        await browser.close()
        await server.stop()
