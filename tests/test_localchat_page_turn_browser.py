"""A long list turned in a real browser: Chromium at a phone's size on the local chat.

The demo school with 25 more buildings (28 in all: two pages of 20) is written before
``xiaoan run --demo`` starts, which reuses it. A staff member joins from the link,
sends ``/inspect``, taps "next page" and sees the next buildings in the same message,
taps back to the first page, turns again and taps a building that is only on page 2:
its first question comes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.demo import DEMO_SCHOOL, create_demo
from ledger.clock import SystemClock
from storage import campus
from storage.db import Database
from tests.test_localchat_browser import ARTIFACTS, CHROMIUM, FLAGS, running_demo

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium; .ci/run does)",
)

# Named to sort between the demo's 学生宿舍 and 教学楼A: page 1 is 学生宿舍 and
# 实验楼01–19, page 2 实验楼20–25, 教学楼A and 食堂.
EXTRA = [f"实验楼{n:02d}" for n in range(1, 26)]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


async def seed(database: Path) -> None:
    """The demo school, as ``--demo`` makes it, and the extra buildings."""
    async with Database(database, SystemClock()) as db:
        await create_demo(db)
        async with db.write() as tx:
            school_id = await tx.value("SELECT id FROM schools WHERE name = ?", (DEMO_SCHOOL,))
            for name in EXTRA:
                await campus.create_building(
                    tx,
                    school_id=school_id,
                    name=name,
                    use="teaching",
                    floors=3,
                    year_built=2008,
                    actor_id=None,
                )


@pytest.fixture
def long_demo(tmp_path: Path) -> Iterator[str]:
    """``xiaoan run --demo`` with no token on a school of 28 buildings; the staff link."""
    database = tmp_path / "xiaoan.sqlite3"
    asyncio.run(seed(database))
    with running_demo(tmp_path, database) as link:
        yield link


async def test_turn_the_buildings_page_and_walk_one_from_page_two(long_demo: str) -> None:
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        context = await browser.new_context(locale="zh-CN", **PHONE)
        page = await context.new_page()
        await page.goto(long_demo)
        await page.fill("#join-name", "翻页王老师")
        await page.click("#join-button")
        messages = page.locator("#messages")
        await expect(messages).to_contain_text("请发送您的姓名", timeout=15_000)
        await page.locator("#keyboard button", has_text="翻页王老师").click(timeout=15_000)
        await page.locator("button.share-phone").click(timeout=15_000)
        await page.fill("#phone", "13800138000")
        await page.click("#phone-form button[type=submit]")
        await expect(messages).to_contain_text("您已以教职工身份加入演示小学", timeout=15_000)

        await page.fill("#text", "/inspect")
        await page.click("#send")
        listed = page.locator("#messages li.bot", has_text="第 1/2 页")
        await expect(listed).to_have_count(1, timeout=15_000)
        list_id = await listed.get_attribute("id")
        the_list = page.locator(f"#{list_id}")
        shown = page.locator("#messages li")
        count = await shown.count()
        await expect(the_list.locator("button", has_text="实验楼19")).to_be_visible()
        await expect(the_list.locator("button", has_text="食堂")).to_have_count(0)
        await expect(the_list.locator("button", has_text="上一页")).to_have_count(0)

        # "Next page": the same message now lists the next buildings.
        await the_list.locator("button", has_text="下一页（2）").click()
        await expect(the_list).to_contain_text("第 2/2 页", timeout=15_000)
        await expect(the_list.locator("button", has_text="实验楼20")).to_be_visible()
        await expect(the_list.locator("button", has_text="食堂")).to_be_visible()
        await expect(the_list.locator("button", has_text="实验楼19")).to_have_count(0)
        await expect(the_list.locator("button", has_text="下一页")).to_have_count(0)
        await expect(shown).to_have_count(count)  # edited in place, nothing new sent
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "localchat-page-two.png"))

        # Back: page 1 again, in the same message.
        await the_list.locator("button", has_text="上一页（1）").click()
        await expect(the_list).to_contain_text("第 1/2 页", timeout=15_000)
        await expect(the_list.locator("button", has_text="学生宿舍")).to_be_visible()
        await expect(the_list.locator("button", has_text="食堂")).to_have_count(0)
        await expect(shown).to_have_count(count)

        # A building found only on page 2: its first question.
        await the_list.locator("button", has_text="下一页（2）").click()
        await expect(the_list).to_contain_text("第 2/2 页", timeout=15_000)
        await the_list.locator("button", has_text="食堂").click()
        await expect(messages).to_contain_text("【食堂】1/", timeout=15_000)
        await expect(page.locator("#messages button", has_text="无隐患").last).to_be_visible()
        await browser.close()
