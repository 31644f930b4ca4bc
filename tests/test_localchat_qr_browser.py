"""A building's QR code on the local chat, opened in Chromium as a phone's camera would.

``xiaoan run --demo`` without a token; ``xiaoan qr`` makes the demo school's sheet; the
code of 教学楼A is decoded and its link opened: by a member it starts that building's
walk; a newcomer gets the join form with no invitation code taken from it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import zxingcpp

from tests.test_localchat_browser import CHROMIUM, FLAGS, demo  # noqa: F401 - the fixture
from tests.test_qr import codes_in

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium; .ci/run does)",
)


def qr_links(folder: Path) -> list[str]:
    """``xiaoan qr`` for the demo school (no token, as the bot runs), its codes decoded."""
    env = {k: v for k, v in os.environ.items() if k != "XIAOAN_TELEGRAM_TOKEN"}
    out = folder / "qr.pdf"
    done = subprocess.run(  # noqa: S603 - this interpreter, this project's own command
        [sys.executable, "-m", "bot.cli", "--config", str(folder / "config.toml"), "qr",
         "--school", "1", "--out", str(out)],
        env=env, cwd=folder, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    links = []
    for image in codes_in(out.read_bytes()).values():
        links += [found.text for found in zxingcpp.read_barcodes(image)]
    return links


async def test_a_scanned_code_opens_the_walk_of_its_building(demo: str, tmp_path: Path) -> None:  # noqa: F811
    from playwright.async_api import async_playwright, expect

    page_url = demo.split("/?start=")[0]
    links = qr_links(tmp_path)
    assert len(links) == 3  # the demo school's three buildings, in the form's order
    assert all(link.startswith(f"{page_url}/?start=w_") for link in links)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        context = await browser.new_context(
            locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
        )
        page = await context.new_page()
        await page.goto(demo)
        await page.fill("#join-name", "扫码王老师")
        await page.click("#join-button")
        messages = page.locator("#messages")
        await expect(messages).to_contain_text("姓名", timeout=15_000)
        await page.fill("#text", "扫码王老师")
        await page.click("#send")
        await page.locator("button.share-phone").click(timeout=15_000)
        await page.fill("#phone", "13800138000")
        await page.click("#phone-form button[type=submit]")
        await expect(messages).to_contain_text("您已以", timeout=15_000)

        # The camera opens the first code's link: 教学楼A's walk starts.
        await page.goto(links[0])
        await expect(messages).to_contain_text("【教学楼A】1/19", timeout=15_000)
        assert "start=" not in page.url  # a reload does not start it again

        # Someone who has not joined: the join form, no building id posing as a code.
        stranger = await (await browser.new_context(locale="zh-CN")).new_page()
        await stranger.goto(links[1])
        await expect(stranger.locator("#join")).to_be_visible()
        await expect(stranger.locator("#join-code")).to_have_value("")
        await browser.close()
