"""The local chat's page side under attack: foreign pages, floods, guessed ids, bad input.

Each test is one hole found when the page side was attacked (issue 11,
items 15 to 19 and 21); the bot is played by a real ``telegram.Bot``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from telegram import Bot

from ledger.clock import FakeClock
from localchat.quiet import QuietRepeats
from localchat.server import SECURITY_HEADERS, LocalServer
from tests.conftest import jpeg
from tests.localchat_support import Browser, bot_for, settings


class Ticks:
    """A monotonic clock for the rate limits that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
async def server(tmp_path: Path, clock: FakeClock, ticks: Ticks) -> AsyncIterator[LocalServer]:
    running = await started(tmp_path, clock, ticks, max_upload_bytes=200_000)
    yield running
    await running.stop()


async def started(tmp_path: Path, clock: FakeClock, ticks: Ticks, **changes: Any) -> LocalServer:
    return await LocalServer(settings(tmp_path, **changes), clock, ticks=ticks).start()


@pytest.fixture
async def bot(server: LocalServer) -> AsyncIterator[Bot]:
    async with bot_for(server) as connected:
        yield connected


@pytest.fixture
async def browser(server: LocalServer) -> AsyncIterator[Browser]:
    opened = Browser(server.people_url)
    yield opened
    await opened.close()


async def pending_texts(server: LocalServer) -> list[str | None]:
    """What people sent that the bot has not fetched yet (texts, file names)."""
    found = []
    for update in await server.store.updates(0, 100):
        message = update.get("message") or {}
        found.append(message.get("text") or (message.get("document") or {}).get("file_name"))
    return found


async def upload(
    browser: Browser, data: bytes, name: str, mime: str, **headers: str
) -> tuple[int, Any, Any]:
    form = aiohttp.FormData(quote_fields=False)
    form.add_field("file", data, filename=name, content_type=mime)
    async with browser.session.post(
        browser.base + "/api/upload", data=form, headers=headers
    ) as response:
        return response.status, await response.json(content_type=None), response.headers


def secured(headers: Any) -> bool:
    return all(headers.get(k) == v for k, v in SECURITY_HEADERS.items())


# --- 15: a page of another origin cannot make a change --------------------------------------


async def test_a_cross_origin_upload_is_refused_a_same_origin_one_accepted(
    server: LocalServer, browser: Browser
) -> None:
    await browser.join("校长", "")
    sheet = b"PK\x03\x04 buildings"
    # A page on another port of the same host (same site: the Lax cookie comes along).
    other = f"http://127.0.0.1:{server.people_port + 1}"
    status, body, headers = await upload(browser, sheet, "楼栋.xlsx", "x", Origin=other)
    assert (status, body) == (403, {"error": "cross_origin"})
    assert secured(headers)
    assert await pending_texts(server) == ["/start"]  # nothing reached the bot
    status, body, _ = await upload(browser, sheet, "楼栋.xlsx", "x", Origin=server.people_url)
    assert (status, body) == (200, {"ok": True})
    assert await pending_texts(server) == ["/start", "楼栋.xlsx"]


async def test_the_public_address_is_the_pages_own_origin(
    tmp_path: Path, clock: FakeClock, ticks: Ticks
) -> None:
    # (http here: the test's client keeps a Secure cookie off plain http)
    server = await started(tmp_path, clock, ticks, public_url="http://xa.school.cn:8443")
    browser = Browser(f"http://127.0.0.1:{server.people_port}")
    try:
        await browser.join("A", "")
        for origin, status in (
            ("http://xa.school.cn:8443", 200),
            ("http://XA.school.cn:8443", 200),
            ("http://xa.school.cn:9999", 403),
            ("https://evil.example", 403),
            ("null", 403),
        ):
            async with browser.session.post(
                browser.base + "/api/send", json={"text": "hi"}, headers={"Origin": origin}
            ) as response:
                assert response.status == status, origin
    finally:
        await browser.close()
        await server.stop()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/send", {"text": "hi"}),
        ("/api/tap", {"message_id": 1, "data": "x"}),
        ("/api/contact", {"phone": "13800138000"}),
        ("/api/logout", {}),
    ],
)
async def test_a_change_without_the_sessions_token_is_refused(
    server: LocalServer, browser: Browser, path: str, body: dict[str, Any]
) -> None:
    """The cookie alone is not enough: a foreign page cannot read the token to send it."""
    await browser.join("A", "")
    for token in ("", "0" * 32):
        async with browser.session.post(
            browser.base + path, json=body, headers={"X-CSRF-Token": token}
        ) as response:
            assert response.status == 403
            assert await response.json() == {"error": "csrf"}
    assert await pending_texts(server) == ["/start"]
    assert (await browser.get("/api/me"))[0] == 200  # logout did not happen either


async def test_an_upload_without_the_token_is_refused(
    server: LocalServer, browser: Browser
) -> None:
    await browser.join("A", "")
    del browser.session.headers["X-CSRF-Token"]
    status, body, _ = await upload(browser, b"data", "a.txt", "text/plain")
    assert (status, body) == (403, {"error": "csrf"})


async def test_joining_from_another_origin_is_refused(
    server: LocalServer, browser: Browser
) -> None:
    async with browser.session.post(
        browser.base + "/api/join",
        json={"name": "A", "code": ""},
        headers={"Origin": "http://127.0.0.1:1"},
    ) as response:
        assert response.status == 403
        assert "Set-Cookie" not in response.headers
    assert await server.store.person(700_000_001) is None


# --- 16: event streams are capped ---------------------------------------------------------


async def open_stream(browser: Browser) -> tuple[aiohttp.ClientResponse, int]:
    """Open /api/events; a 200 stream is read up to its first event."""
    response = await browser.session.get(browser.base + "/api/events")
    if response.status == 200:
        line = await asyncio.wait_for(response.content.readline(), 5)
        assert line.startswith(b"data: ")
    return response, response.status


async def test_streams_are_capped_per_session_and_in_all(
    tmp_path: Path, clock: FakeClock, ticks: Ticks
) -> None:
    server = await started(tmp_path, clock, ticks, max_streams_per_session=2, max_streams=3)
    alice, bob = Browser(server.people_url), Browser(server.people_url)
    opened: list[aiohttp.ClientResponse] = []
    try:
        await alice.join("Alice", "")
        await bob.join("Bob", "")
        for _ in range(2):
            response, status = await open_stream(alice)
            opened.append(response)
            assert status == 200
        response, status = await open_stream(alice)
        assert status == 429
        assert await response.json() == {"error": "too_many_streams", "retry_after": 10}
        assert response.headers["Retry-After"] == "10" and secured(response.headers)
        response, status = await open_stream(bob)  # another session: its own two
        opened.append(response)
        assert status == 200
        response, status = await open_stream(bob)  # but three in all
        assert (status, await response.json()) == (429, {"error": "server_busy", "retry_after": 10})
        # A page that went away frees its place (a reload opens a new stream).
        opened.pop(0).close()
        for _ in range(50):  # the server notices the closed connection within a moment
            await asyncio.sleep(0.1)
            response, status = await open_stream(alice)
            opened.append(response)
            if status == 200:
                break
        assert status == 200
    finally:
        for response in opened:
            response.close()
        await alice.close()
        await bob.close()
        await server.stop()


async def _id(browser: Browser) -> int:
    return int((await browser.get("/api/me"))[1]["user_id"])


async def test_a_repeated_loop_error_is_logged_once_with_a_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Out of sockets, asyncio reports each failed accept(); the log says it once a window."""
    loop = asyncio.get_running_loop()
    ticks = Ticks()
    quiet = QuietRepeats(loop, every=60.0, now=ticks)
    loop.set_exception_handler(quiet)
    error = OSError(24, "Too many open files")
    context = {"message": "socket.accept() out of system resource", "exception": error}
    try:
        with caplog.at_level(logging.ERROR):
            for _ in range(5000):
                loop.call_exception_handler(context)
            ticks.now += 61
            loop.call_exception_handler(context)  # a new window: said again, the count too
    finally:
        quiet.uninstall()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3, lines
    assert lines[0] == "socket.accept() out of system resource"
    assert "4999 more time(s) in 60 s" in lines[1] and "OSError" in lines[1]
    assert lines[2] == "socket.accept() out of system resource"
    assert loop.get_exception_handler() is None


async def test_the_server_installs_the_quiet_handler_and_gives_it_back(
    tmp_path: Path,
    clock: FakeClock,
    ticks: Ticks,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("localchat.server.QUIET_LINGER", 0.05)
    loop = asyncio.get_running_loop()
    server = await started(tmp_path, clock, ticks)
    try:
        assert isinstance(loop.get_exception_handler(), QuietRepeats)
        context = {"message": "socket.accept() out of system resource", "exception": OSError(24)}
        with caplog.at_level(logging.ERROR):
            for _ in range(1000):
                loop.call_exception_handler(context)
    finally:
        await server.stop()
    assert isinstance(loop.get_exception_handler(), QuietRepeats)  # late retries: still quiet
    await asyncio.sleep(0.1)
    assert loop.get_exception_handler() is None
    said = [r.getMessage() for r in caplog.records]
    assert said[0] == "socket.accept() out of system resource"
    assert any("999 more time(s)" in line for line in said) and len(said) == 2


# --- 17: rate limits --------------------------------------------------------------------------


async def test_joins_per_address_are_limited(
    tmp_path: Path, clock: FakeClock, ticks: Ticks
) -> None:
    server = await started(tmp_path, clock, ticks, joins_burst=3, joins_per_hour=60)
    try:
        browsers = [Browser(server.people_url) for _ in range(4)]
        for browser in browsers[:3]:
            await browser.join("A", "")
        status, body = await browsers[3].post("/api/join", {"name": "B", "code": ""})
        assert (status, body) == (429, {"error": "too_many_joins", "retry_after": 60})
        assert len(await server.store.updates(0, 100)) == 3  # the fourth never reached the bot
        ticks.now += 60  # one join a minute comes back
        assert (await browsers[3].post("/api/join", {"name": "B", "code": ""}))[0] == 200
    finally:
        for browser in browsers:
            await browser.close()
        await server.stop()


async def test_requests_per_session_are_limited(
    tmp_path: Path, clock: FakeClock, ticks: Ticks
) -> None:
    server = await started(
        tmp_path, clock, ticks, session_requests_burst=5, session_requests_per_second=2
    )
    browser, other = Browser(server.people_url), Browser(server.people_url)
    try:
        await browser.join("A", "")  # joining carries no session yet
        for _ in range(5):
            assert (await browser.get("/api/messages"))[0] == 200
        async with browser.session.post(
            browser.base + "/api/send", json={"text": "flood"}
        ) as response:
            assert response.status == 429
            assert await response.json() == {"error": "rate_limited", "retry_after": 1}
            assert response.headers["Retry-After"] == "1" and secured(response.headers)
        assert await pending_texts(server) == ["/start"]
        for path in ("/", "/static/chat.js"):  # a reload still brings a working page
            async with browser.session.get(browser.base + path) as response:
                assert response.status == 200
        await other.join("B", "")  # another session from the same address is not held up
        assert (await other.get("/api/messages"))[0] == 200
        ticks.now += 1  # two more a second
        await browser.send("again")
        assert await pending_texts(server) == ["/start", "/start", "again"]
    finally:
        await browser.close()
        await other.close()
        await server.stop()


async def test_requests_per_address_are_limited(
    tmp_path: Path, clock: FakeClock, ticks: Ticks
) -> None:
    server = await started(tmp_path, clock, ticks, address_requests_burst=4)
    try:
        async with aiohttp.ClientSession() as session:
            statuses = []
            for _ in range(6):  # no session at all: the address is what counts
                async with session.get(server.people_url + "/api/me") as response:
                    statuses.append(response.status)
                    body = await response.json()
            assert statuses == [401, 401, 401, 401, 429, 429]
            assert body["error"] == "rate_limited"
    finally:
        await server.stop()


async def test_behind_a_proxy_the_clients_address_counts(
    tmp_path: Path, clock: FakeClock, ticks: Ticks
) -> None:
    server = await started(tmp_path, clock, ticks, joins_burst=1, client_ip_header="X-Real-IP")
    try:
        async with aiohttp.ClientSession() as session:

            async def join(address: str) -> int:
                async with session.post(
                    server.people_url + "/api/join",
                    json={"name": "A", "code": ""},
                    headers={"X-Real-IP": address},
                ) as response:
                    return response.status

            assert [await join(a) for a in ("10.0.0.1", "10.0.0.2", "10.0.0.1")] == [
                200,
                200,
                429,
            ]
    finally:
        await server.stop()


async def test_the_header_is_ignored_without_the_setting(
    tmp_path: Path, clock: FakeClock, ticks: Ticks
) -> None:
    server = await started(tmp_path, clock, ticks, joins_burst=1)
    try:
        async with aiohttp.ClientSession() as session:
            statuses = []
            for address in ("10.0.0.1", "10.0.0.2"):
                async with session.post(
                    server.people_url + "/api/join",
                    json={"name": "A", "code": ""},
                    headers={"X-Real-IP": address},
                ) as response:
                    statuses.append(response.status)
        assert statuses == [200, 429]
    finally:
        await server.stop()


# --- 18: a file only for the chats it appears in ---------------------------------------------


@pytest.mark.parametrize("typed", ["{id}", '"{id}"', "看看 {id} 这个", "/files/{id}"])
async def test_typing_a_file_id_does_not_open_the_file(
    server: LocalServer, bot: Bot, typed: str
) -> None:
    alice, mallory = Browser(server.people_url), Browser(server.people_url)
    try:
        alice_id = await alice.join("Alice", "")
        await mallory.join("Mallory", "")
        sent = await bot.send_photo(alice_id, jpeg(12, 12), caption="隐患照片")
        file_id = sent.photo[-1].file_id
        await mallory.send(typed.format(id=file_id))
        async with mallory.session.get(f"{mallory.base}/files/{file_id}") as response:
            assert response.status == 404
            assert await response.json() == {"error": "not_found"}
            assert secured(response.headers)
        async with alice.session.get(f"{alice.base}/files/{file_id}") as response:
            assert response.status == 200
        # Sent to Mallory's chat by the bot, the same file is hers to see too.
        await bot.send_photo(await _id(mallory), file_id)
        async with mallory.session.get(f"{mallory.base}/files/{file_id}") as response:
            assert response.status == 200
    finally:
        await alice.close()
        await mallory.close()


async def test_an_upload_is_seen_by_its_sender_only(
    server: LocalServer, bot: Bot, browser: Browser
) -> None:
    other = Browser(server.people_url)
    try:
        await browser.join("A", "")
        await other.join("B", "")
        assert (await browser.upload(b"PK\x03\x04", "台账.xlsx", "application/zip"))[0] == 200
        await browser.refresh()
        url = browser.chat[-1]["file"]["url"]
        await other.send(url.removeprefix("/files/"))
        async with other.session.get(other.base + url) as response:
            assert response.status == 404
        async with browser.session.get(browser.base + url) as response:
            assert response.status == 200
        # Deleted from the chat, the file is no longer served there either.
        message_id = browser.chat[-1]["id"]
        await bot.delete_message(await _id(browser), message_id)
        async with browser.session.get(browser.base + url) as response:
            assert response.status == 404
    finally:
        await other.close()


# --- 19: bad requests get a 4xx with a reason, and the security headers ---------------------


def multipart(name: str, data: bytes, field: str = "file", **fields: str) -> tuple[bytes, str]:
    """A multipart body whose file name comes RFC 5987-encoded (filename*=), line breaks and all.

    Browsers and aiohttp escape a line break in a name; a hand-made request
    need not, and the server decodes ``filename*`` back into the raw text.
    """
    boundary = "xiaoanBoundary7"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    parts.append(
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}";'
            f" filename*=UTF-8''{quote(name, safe='')}\r\n"
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


async def test_a_line_break_in_an_uploaded_files_name(
    server: LocalServer, bot: Bot, browser: Browser
) -> None:
    await browser.join("A", "")
    body, content_type = multipart("楼栋\r\n表\u202e.xlsx", b"PK\x03\x04")
    async with browser.session.post(
        browser.base + "/api/upload", data=body, headers={"Content-Type": content_type}
    ) as response:
        assert response.status == 200 and secured(response.headers)
    document = (await bot.get_updates(timeout=0))[-1].message.document
    assert document.file_name == "楼栋 表 .xlsx"
    await browser.refresh()
    async with browser.session.get(browser.base + browser.chat[-1]["file"]["url"]) as response:
        assert response.status == 200
        assert "%E6%A5%BC%E6%A0%8B%20%E8%A1%A8" in response.headers["Content-Disposition"]


async def test_a_bot_file_with_a_line_break_in_its_name_downloads(
    server: LocalServer, browser: Browser
) -> None:
    user_id = await browser.join("A", "")
    body, content_type = multipart(
        "报告\n第一页.xlsx", b"report", field="document", chat_id=str(user_id)
    )
    url = f"{server.api_url}/bot{server.settings.token}/sendDocument"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers={"Content-Type": content_type}) as response,
    ):
        assert (await response.json())["result"]["document"]["file_name"] == "报告\n第一页.xlsx"
    await browser.refresh()
    async with browser.session.get(browser.base + browser.chat[-1]["file"]["url"]) as response:
        assert response.status == 200 and await response.read() == b"report"
        assert "%E6%8A%A5%E5%91%8A%20%E7%AC%AC" in response.headers["Content-Disposition"]
        assert secured(response.headers)


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("path", ["/api/send", "/api/tap", "/api/contact", "/api/join"])
async def test_json_nested_100000_deep_is_a_400(
    server: LocalServer, browser: Browser, path: str
) -> None:
    await browser.join("A", "")
    async with browser.session.post(
        browser.base + path, data=DEEP, headers={"Content-Type": "application/json"}
    ) as response:
        assert response.status == 400
        assert await response.json() == {"error": "bad_json"}
        assert secured(response.headers)


async def test_json_nested_100000_deep_to_the_bot_api_is_telegrams_400(
    server: LocalServer, browser: Browser
) -> None:
    user_id = await browser.join("A", "")
    url = f"{server.api_url}/bot{server.settings.token}/sendMessage"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=DEEP, headers={"Content-Type": "application/json"}) as r:
            assert r.status == 400 and (await r.json())["ok"] is False
        form = {"chat_id": str(user_id), "text": "x", "reply_markup": DEEP}
        async with session.post(url, data=form) as response:
            assert response.status == 400
            assert (await response.json())["description"] == (
                "Bad Request: can't parse reply keyboard markup JSON object"
            )


@pytest.mark.parametrize("message_id", [10**30, -1, "1e5", [1]])
async def test_a_huge_or_wrong_message_id_is_a_400(
    server: LocalServer, browser: Browser, message_id: Any
) -> None:
    await browser.join("A", "")
    status, body = await browser.post("/api/tap", {"message_id": message_id, "data": "x"})
    assert (status, body) == (400, {"error": "bad_message_id"})


@pytest.mark.parametrize("since", [str(10**30), "-1", "abc", "9" * 5000])
async def test_a_huge_or_wrong_since_is_a_400(
    server: LocalServer, browser: Browser, since: str
) -> None:
    await browser.join("A", "")
    async with browser.session.get(f"{browser.base}/api/messages?since={since}") as response:
        assert response.status == 400
        assert await response.json() == {"error": "bad_since"}
        assert secured(response.headers)


@pytest.mark.parametrize("chat_id", [str(10**30), str(-(10**30))])
async def test_a_huge_chat_id_to_the_bot_api_is_a_400(server: LocalServer, chat_id: str) -> None:
    url = f"{server.api_url}/bot{server.settings.token}/sendMessage"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data={"chat_id": chat_id, "text": "x"}) as response,
    ):
        assert response.status == 400
        assert (await response.json())["description"] == "Bad Request: chat not found"


@pytest.mark.parametrize(
    ("method", "path", "data", "status", "error"),
    [
        ("GET", "/nowhere", None, 404, "not_found"),
        ("GET", "/static/nothing.js", None, 404, "not_found"),
        ("DELETE", "/api/send", None, 405, "method_not_allowed"),
        ("GET", "/api/me", None, 401, "no_session"),
        ("POST", "/api/send", "text=hi", 415, "json_only"),
        ("POST", "/api/upload", b"not multipart", 400, "multipart_only"),
        ("GET", "/files/Lnothing", None, 404, "not_found"),
    ],
)
async def test_every_refusal_has_a_reason_and_the_security_headers(
    server: LocalServer,
    browser: Browser,
    method: str,
    path: str,
    data: Any,
    status: int,
    error: str,
) -> None:
    if status != 401:
        await browser.join("A", "")
    async with browser.session.request(method, browser.base + path, data=data) as response:
        assert response.status == status
        assert (await response.json(content_type=None))["error"] == error
        assert secured(response.headers)


async def test_an_unforeseen_failure_is_a_500_with_headers_and_no_trace(
    server: LocalServer, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    await browser.join("A", "")

    async def broken(*args: Any) -> Any:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(server.channel, "page_messages", broken)
    async with browser.session.get(browser.base + "/api/messages") as response:
        assert response.status == 500
        assert await response.json() == {"error": "internal"}
        assert secured(response.headers)


# --- 21: sessions end ----------------------------------------------------------------------


async def test_logout_ends_the_session_and_its_streams(
    server: LocalServer, browser: Browser
) -> None:
    await browser.join("A", "")
    cookie = next(c.value for c in browser.session.cookie_jar if c.key == "xiaoan_chat")
    stream, status = await open_stream(browser)
    assert status == 200
    async with browser.session.post(browser.base + "/api/logout", json={}) as response:
        assert response.status == 200
        assert 'xiaoan_chat=""' in response.headers["Set-Cookie"]
    assert (await asyncio.wait_for(stream.content.read(), 5)).strip() == b""  # it ended
    assert stream.content.at_eof()
    stream.close()
    # The old cookie opens nothing any more, even sent again by hand.
    async with (
        aiohttp.ClientSession(cookies={"xiaoan_chat": cookie}) as session,
        session.get(browser.base + "/api/me") as response,
    ):
        assert response.status == 401
        assert await response.json() == {"error": "session_ended"}
    rows = await server.store._all("SELECT * FROM sessions")
    assert rows == []


async def test_a_session_ends_after_the_set_days_without_use(
    tmp_path: Path, clock: FakeClock, ticks: Ticks
) -> None:
    server = await started(tmp_path, clock, ticks, session_days=30)
    browser = Browser(server.people_url)
    try:
        await browser.join("A", "")
        async with browser.session.get(browser.base + "/api/me") as response:
            assert "Max-Age=2592000" in response.headers["Set-Cookie"]
        clock.advance(days=29)
        assert (await browser.get("/api/me"))[0] == 200  # used: another 30 days from now
        clock.advance(days=29)
        assert (await browser.get("/api/messages"))[0] == 200
        clock.advance(days=30)
        assert await browser.get("/api/me") == (401, {"error": "session_ended"})
        assert await server.store._all("SELECT * FROM sessions") == []
    finally:
        await browser.close()
        await server.stop()


async def test_the_page_is_told_who_it_is(tmp_path: Path, clock: FakeClock, ticks: Ticks) -> None:
    asked: list[tuple[int, str]] = []

    async def directory(user_id: int, language: str) -> list[str]:
        asked.append((user_id, language))
        return ["主要负责人 · 演示小学"]

    server = await LocalServer(settings(tmp_path), clock, ticks=ticks, directory=directory).start()
    browser = Browser(server.people_url)
    try:
        user_id = await browser.join("王校长", "", language="zh-CN")
        status, body = await browser.get("/api/me")
        assert status == 200
        assert (body["name"], body["roles"], body["user_id"]) == (
            "王校长",
            ["主要负责人 · 演示小学"],
            user_id,
        )
        assert asked == [(user_id, "zh-CN")]
        assert json.dumps(body).count(body["csrf"]) == 1 and len(body["csrf"]) == 32
    finally:
        await browser.close()
        await server.stop()


CHILD = """
import asyncio, logging, resource, sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
from ledger.clock import FakeClock
from localchat.server import LocalServer
from tests.localchat_support import settings

async def main():
    clock = FakeClock(datetime(2026, 11, 28, 9, tzinfo=ZoneInfo("Asia/Shanghai")))
    server = await LocalServer(settings(Path(sys.argv[1]), port=int(sys.argv[2])), clock).start()
    print("ready", flush=True)
    await asyncio.sleep(float(sys.argv[3]))
    await server.stop()

asyncio.run(main())
"""


def test_out_of_sockets_the_log_says_it_once_with_a_count(tmp_path: Path) -> None:
    """A process allowed 64 open files, sent 300 connections: a few lines of log, not a flood."""
    import socket
    import subprocess
    import sys

    from tests.localchat_support import free_port

    port = free_port()
    root = Path(__file__).resolve().parents[1]
    errors = (tmp_path / "stderr.log").open("wb")
    child = subprocess.Popen(  # noqa: S603 - this interpreter, a script of this test
        [sys.executable, "-c", CHILD, str(tmp_path), str(port), "4"],
        stdout=subprocess.PIPE,
        stderr=errors,
        cwd=root,
    )
    held: list[socket.socket] = []
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"ready"
        for _ in range(300):
            try:
                held.append(socket.create_connection(("127.0.0.1", port), timeout=2))
            except OSError:
                break
        child.wait(timeout=30)
    finally:
        for connection in held:
            connection.close()
        if child.poll() is None:
            child.kill()
        errors.close()
    log = (tmp_path / "stderr.log").read_text(encoding="utf-8", errors="replace")
    assert child.returncode == 0, log[-2000:]
    assert "open-files limit (64) is low for local.max_streams = 200" in log
    assert log.count("socket.accept() out of system resource") == 2, log[-3000:]
    # The first failed accept(), and the first of asyncio's retries on the closed socket.
    assert log.count("Traceback") <= 2, log[-3000:]
    assert "more time(s) in 60 s, not logged one by one" in log
    assert len(log) < 10_000


async def test_a_proxy_without_the_header_setting_is_warned_of_once(
    server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(3):
            async with session.get(
                server.people_url + "/api/me", headers={"X-Forwarded-For": "10.1.2.3"}
            ) as response:
                assert response.status == 401
    warned = [r.getMessage() for r in caplog.records if "client_ip_header" in r.getMessage()]
    assert len(warned) == 1 and "X-Forwarded-For" in warned[0]
