"""The chat page in Chromium says why the server refused: too fast, too many joins, session over.

The local chat runs in this test's own event loop (no bot: what people send
waits as updates); Debian's Chromium, phone-sized, drives the page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ledger.clock import FakeClock
from localchat.server import LocalServer
from tests.localchat_support import settings
from tests.test_localchat_browser import CHROMIUM, FLAGS

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium; .ci/run does)",
)


@pytest.fixture
async def server(tmp_path: Path, clock: FakeClock) -> AsyncIterator[LocalServer]:
    running = await LocalServer(
        settings(
            tmp_path,
            joins_burst=1,
            joins_per_hour=1,
            session_requests_burst=12,
            session_requests_per_second=1,
        ),
        clock,
    ).start()
    yield running
    await running.stop()


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield browser
        await browser.close()


async def phone(chromium: Any, locale: str = "zh-CN") -> Any:
    context = await chromium.new_context(
        locale=locale, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    return await context.new_page()


async def test_the_page_says_why_it_was_refused(server: LocalServer, chromium: Any) -> None:
    from playwright.async_api import expect

    page = await phone(chromium)
    await page.goto(server.people_url)
    await page.fill("#join-name", "王老师")
    await page.click("#join-button")
    await expect(page.locator("#me-button")).to_have_text("王老师", timeout=15_000)

    # Typing faster than the session's limit: the page says to wait, in words.
    toast = page.locator("#toast")
    for n in range(15):
        await page.fill("#text", f"第 {n} 条")
        await page.click("#send")
    await expect(toast).to_contain_text("操作太频繁，请", timeout=15_000)
    await expect(toast).to_contain_text("秒后再试")
    sent = [u["message"].get("text") for u in await server.store.updates(0, 100)]
    assert 2 < len(sent) < 16 and sent[0] == "/start"

    # A second join from the same address within the hour: refused, and said so.
    other = await phone(chromium, locale="en-US")
    await other.goto(server.people_url)
    await other.fill("#join-name", "Ann")
    await other.click("#join-button")
    await expect(other.locator("#join-error")).to_contain_text(
        "Too many joins; try again in", timeout=15_000
    )
    assert await server.store.person(700_000_002) is None

    # The session ended on the server (expired, say) while the page was open.
    await server.store._write("DELETE FROM sessions")
    await page.wait_for_timeout(1100)  # a token back for the session's limit
    await page.fill("#text", "还在吗")
    await page.click("#send")
    await expect(page.locator("#join-error")).to_contain_text("登录已过期或已退出", timeout=15_000)
    await expect(page.locator("#join-button")).to_be_visible()
