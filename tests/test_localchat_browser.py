"""A real browser on the local chat page: headless Chromium (Debian's) driven by Playwright.

``xiaoan run --demo`` without a token, as a newcomer starts it; the staff
invitation link opened on a phone-sized page; join (the name offered back as
one tap), the labelled menu with a teacher's commands only, tappable commands,
the button that starts the walk, two questions tapped, a photo taken with the
photo step's big button, the next question seen; then a mistyped code and the
bare right one typed after it. The screenshot is kept in
``test-artifacts/`` (gitignored).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import jpeg
from tests.localchat_support import free_port

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium; .ci/run does)",
)


@contextlib.contextmanager
def running_demo(tmp_path: Path, database: Path | None = None) -> Iterator[str]:
    """``xiaoan run --demo`` with no token, on ``database`` (a new one in ``tmp_path`` by
    default); yields the staff member's invitation link, and stops it."""
    port, api_port = free_port(), free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\ndatabase = "{database or tmp_path / "xiaoan.sqlite3"}"\n'
        f'photos = "{tmp_path / "photos"}"\n'
        f"[local]\nport = {port}\napi_port = {api_port}\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k != "XIAOAN_TELEGRAM_TOKEN"}
    log = (tmp_path / "run.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - this interpreter, this project's own command
        [sys.executable, "-m", "bot.cli", "--config", str(config), "run", "--demo"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**env, "PYTHONUNBUFFERED": "1"},
        cwd=tmp_path,
    )
    try:
        link, said = None, ""
        for _ in range(600):
            said = (tmp_path / "run.log").read_text(encoding="utf-8", errors="replace")
            found = re.search(r"staff +(http://\S+)", said)
            if found and "Application started" in said:
                link = found.group(1)
                break
            if process.poll() is not None:
                break
            time.sleep(0.05)
        assert link, f"no staff link; xiaoan said: {said[-2000:]}"
        yield link
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[str]:
    """``xiaoan run --demo`` with no token; yields the staff member's invitation link."""
    with running_demo(tmp_path) as link:
        yield link


async def test_join_walk_and_photo_in_chromium(demo: str, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    photo = tmp_path / "IMG_0001.jpg"
    photo.write_bytes(jpeg(color="orange"))
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "localchat-browser.png"
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=FLAGS,  # Playwright gives each launch a fresh, empty user data dir
        )
        context = await browser.new_context(
            locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
        )
        page = await context.new_page()
        await page.goto(demo)
        # The invitation code from the link is filled in; the page speaks Chinese.
        await expect(page.locator("#join-code")).to_have_value(demo.split("start=")[1])
        await expect(page.locator("#join-button")).to_have_text("加入")
        await page.fill("#join-name", "浏览器王老师")
        await page.click("#join-button")

        messages = page.locator("#messages")
        await expect(messages).to_contain_text("请发送您的姓名", timeout=15_000)
        # The name typed in the form is offered back: one tap, not typed twice.
        await page.locator("#keyboard button", has_text="浏览器王老师").click(timeout=15_000)
        await page.locator("button.share-phone").click(timeout=15_000)
        await page.fill("#phone", "13800138000")
        await page.click("#phone-form button[type=submit]")
        await expect(messages).to_contain_text("您已以教职工身份加入演示小学", timeout=15_000)

        # The menu is one labelled tap away and holds a teacher's commands only.
        menu_button = page.locator("#menu-button")
        await expect(menu_button).to_contain_text("菜单")
        await menu_button.click()
        await expect(page.locator("#menu button", has_text="/inspect")).to_be_visible()
        await expect(page.locator("#menu button", has_text="/tasks")).to_be_visible()
        await expect(page.locator("#menu button", has_text="/addschool")).to_have_count(0)
        await expect(page.locator("#menu button", has_text="/export")).to_have_count(0)
        await menu_button.click()
        await expect(page.locator("#menu")).to_be_hidden()
        # /help's commands are tappable in the text; a button starts the walk.
        await expect(page.locator("#messages a.command", has_text="/inspect").last).to_be_visible()
        await page.locator("#messages button", has_text="开始排查").last.click()
        await page.locator("#messages button", has_text="教学楼A").last.click(timeout=15_000)
        await expect(messages).to_contain_text("1/19 · F01", timeout=15_000)
        # A step is one request: the tap. The next question comes in the event stream.
        fetched: list[str] = []
        page.on("request", lambda request: fetched.append(request.url.split("/", 3)[3]))
        await page.locator("#messages button", has_text="无隐患").last.click()
        await expect(messages).to_contain_text("2/19 · F02", timeout=15_000)
        await page.locator("#messages button", has_text="无隐患").last.click()
        await expect(messages).to_contain_text("3/19 · F03", timeout=15_000)
        assert fetched == ["api/tap", "api/tap"]

        await page.locator("#messages button", has_text="有隐患").last.click()
        await expect(messages).to_contain_text("请拍照发送隐患照片", timeout=15_000)
        await expect(messages).to_contain_text("凭据")
        # The photo step's big button opens the phone's camera (a file chooser here).
        camera = page.locator("#messages button.camera-button").last
        await expect(camera).to_have_text("📷 拍照 / 选照片")
        await page.screenshot(path=str(ARTIFACTS / "localchat-photo-step.png"))
        async with page.expect_file_chooser() as chooser:
            await camera.click()
        await (await chooser.value).set_files(str(photo))
        await expect(messages).to_contain_text("已收到 1 张照片", timeout=15_000)
        await expect(page.locator("#messages li.me img")).to_have_count(1)
        await page.locator("#messages button", has_text="照片已发完").last.click()
        await expect(messages).to_contain_text("请简要描述隐患", timeout=15_000)
        await page.fill("#text", "消防栓被遮挡")
        await page.click("#send")
        await page.locator("#messages button", has_text="是").last.click(timeout=15_000)
        await expect(messages).to_contain_text("4/19 · F04", timeout=15_000)

        # A reload keeps the chat.
        await page.reload()
        await expect(messages).to_contain_text("4/19 · F04", timeout=15_000)
        await page.screenshot(path=str(shot), full_page=True)

        # Who am I: the name at the top; tapped, the role and school the bot gave.
        me = page.locator("#me-button")
        await expect(me).to_have_text("浏览器王老师")
        await me.click()
        await expect(page.locator("#me-name")).to_have_text("浏览器王老师")
        await expect(page.locator("#me-roles li")).to_have_text(["教职工 · 演示小学"])
        await page.screenshot(path=str(ARTIFACTS / "localchat-me.png"))
        # Logging out asks first; then the join form, saying nothing of the old chat.
        asked: list[str] = []

        async def accept(dialog: Any) -> None:
            asked.append(dialog.message)
            await dialog.accept()

        page.on("dialog", accept)
        await page.click("#logout")
        await expect(page.locator("#join-button")).to_be_visible(timeout=15_000)
        assert asked and "邀请链接" in asked[0]
        await expect(page.locator("#messages li")).to_have_count(0)
        await page.reload()  # the session is over on the server too
        await expect(page.locator("#join-button")).to_be_visible(timeout=15_000)

        # A mistyped code is no dead end: the right one, typed bare, joins.
        code = demo.split("start=")[1]
        second = await browser.new_context(
            locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
        )
        other = await second.new_page()
        await other.goto(demo.split("?")[0])
        await other.fill("#join-name", "另一位老师")
        await other.fill("#join-code", code[:-1] + ("A" if code[-1] != "A" else "B"))
        await other.click("#join-button")
        chat = other.locator("#messages")
        await expect(chat).to_contain_text("邀请码无效", timeout=15_000)
        await expect(chat).to_contain_text("直接把正确的邀请码发给我")
        await other.fill("#text", code)
        await other.click("#send")
        await expect(chat).to_contain_text("请发送您的姓名", timeout=15_000)
        await expect(other.locator("#keyboard button", has_text="另一位老师")).to_be_visible()

        # An English browser gets the page in English.
        english = await browser.new_context(locale="en-US", viewport={"width": 390, "height": 844})
        other = await english.new_page()
        await other.goto(demo)
        await expect(other.locator("#join-button")).to_have_text("Join")
        await expect(other.locator("#join h1")).to_have_text("Join Xiaoan")
        await browser.close()
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 1000
