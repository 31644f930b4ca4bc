"""Benchmark: a message write in the local chat's store, with 100,000 messages stored.

Each write reads the highest message version first. The anchor is the same
write in a store of 100 messages, measured in the same run; the ratio says
whether the write still grows with the chat's size (it should not: the
version is indexed). For comparison the same write is also timed with the
index dropped, as it was before.

    .venv/bin/python bench/bench_localchat_writes.py [--messages 100000] [--writes 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from localchat.store import Store

CHAT = 700_000_001
BODY = {"kind": "text", "text": "第 3/19 项 · F03 疏散通道是否畅通？", "parse_mode": None}


def seed(path: Path, messages: int) -> None:
    """``messages`` rows written directly (not timed)."""
    conn = sqlite3.connect(path)
    body = json.dumps(BODY, ensure_ascii=False)
    conn.executemany(
        "INSERT INTO messages (chat_id, from_bot, date, body, version) VALUES (?, 1, 0, ?, ?)",
        ((CHAT + n % 200, body, n + 1) for n in range(messages)),
    )
    conn.commit()
    conn.close()


async def per_write(folder: Path, messages: int, writes: int, indexed: bool) -> float:
    """Seconds per ``add_message`` in a store holding ``messages`` messages."""
    path = folder / f"chat-{messages}-{indexed}.sqlite3"
    store = await Store(path, folder / "files").open()
    await store.close()
    seed(path, messages)
    if not indexed:
        conn = sqlite3.connect(path)
        conn.execute("DROP INDEX messages_by_version")
        conn.close()
    store = await Store(path, folder / "files").open()
    try:
        started = time.perf_counter()
        for _ in range(writes):
            await store.add_message(CHAT, True, 0, BODY)
        return (time.perf_counter() - started) / writes
    finally:
        await store.close()


async def main(messages: int, writes: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        where = Path(folder)
        anchor = await per_write(where, 100, writes, indexed=True)
        big = await per_write(where, messages, writes, indexed=True)
        unindexed = await per_write(where, messages, writes, indexed=False)
    print(f"write at 100 messages (anchor):      {anchor * 1000:7.3f} ms")
    print(f"write at {messages:,} messages:        {big * 1000:7.3f} ms  ratio {big / anchor:5.2f}")
    print(
        f"same, version not indexed (before):  {unindexed * 1000:7.3f} ms"
        f"  ratio {unindexed / anchor:5.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--writes", type=int, default=300)
    options = parser.parse_args()
    asyncio.run(main(options.messages, options.writes))
