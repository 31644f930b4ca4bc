"""What the local chat's own file keeps: commits without fsync (synchronous=NORMAL), the
WAL copied back by a checkpoint in a thread, and all of it across its process killed."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from localchat import store as store_module
from localchat.store import Store
from tests.localchat_support import TOKEN, Browser, free_port, until_served


async def test_commits_skip_fsync_and_a_thread_checkpoints_the_wal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "CHECKPOINT_SECONDS", 0.05)
    store = await Store(tmp_path / "chat.sqlite3", tmp_path / "files").open()
    try:
        assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert store.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        user_id, _ = await store.add_person("王老师", "zh-CN", "2026-11-29T09:00:00")
        for n in range(300):
            await store.add_message(user_id, True, 0, {"kind": "text", "text": f"第{n}条" * 20})
        await asyncio.sleep(0.5)  # a few checkpoints, in their thread
        # Copied back: the database file itself now holds the pages (nothing left to copy).
        other = sqlite3.connect(tmp_path / "chat.sqlite3")
        busy, wal_pages, copied = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        other.close()
        assert busy == 0 and copied == wal_pages
        assert (tmp_path / "chat.sqlite3").stat().st_size > 100_000
    finally:
        await store.close()


async def test_a_message_acknowledged_survives_the_local_chat_killed(tmp_path: Path) -> None:
    """``xiaoan local`` killed (SIGKILL) right after a page's send was answered 200: started
    again, the chat still shows it (commits are in the WAL, in the system's hands)."""
    port, api_port = free_port(), free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\ndatabase = "{tmp_path / "x.sqlite3"}"\n'
        f"[local]\nport = {port}\napi_port = {api_port}\n",
        encoding="utf-8",
    )
    env = {**os.environ, "XIAOAN_TELEGRAM_TOKEN": TOKEN}

    def local() -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603 - this interpreter, this project's command
            [sys.executable, "-m", "bot.cli", "--config", str(config), "local"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )

    page = f"http://127.0.0.1:{port}"
    server = local()
    browser = Browser(page)
    try:
        await until_served(page + "/")
        await browser.join("王老师", "")
        for n in range(20):
            await browser.send(f"消息{n}")
        server.send_signal(signal.SIGKILL)
        server.wait()
        server = local()
        await until_served(page + "/")
        browser.version = 0
        texts = [m.get("html") for m in await browser.refresh()]
        assert [f"消息{n}" for n in range(20)] == [t for t in texts if t and t.startswith("消息")]
    finally:
        await browser.close()
        server.kill()
        server.wait()
