"""Benchmark: ``xiaoan verify`` over 100,000 events in 301 chains (300 schools, the city).

The events are written the way the bot writes them (each hashed and linked to
its chain's head, JSON texts like the bot's), straight into a migrated
database (not timed). Then, timed in the same run:

- the anchor: reading every event row once (what any check must at least do);
- ``storage.chain.verify``: walking every chain and checking each hash, plus
  the photo store (1,000 photos named by events, read and hashed).

    .venv/bin/python bench/bench_verify.py               # 100,000 events
    .venv/bin/python bench/bench_verify.py --events 10000
Target: under 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import sqlite3
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger.chain import GENESIS, event_hash, school_chain
from ledger.clock import FakeClock
from storage.chain import verify
from storage.db import Database

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
ACTIONS = ("answer.given", "hazard.updated", "photo.added", "fix.submitted", "fix.verified")


async def migrate(path: Path) -> None:
    async with Database(path, FakeClock(NOW)):
        pass


def seed(folder: Path, events: int, schools: int, photos: int) -> Path:
    path = folder / "bench.sqlite3"
    asyncio.run(migrate(path))
    store = folder / "photos"
    rng = random.Random(1)
    heads: dict[str, tuple[int, str]] = {}
    shas = []
    for n in range(photos):
        data = f"photo {n}".encode() * 5000
        sha = hashlib.sha256(data).hexdigest()
        (store / sha[:2]).mkdir(parents=True, exist_ok=True)
        (store / sha[:2] / f"{sha}.jpg").write_bytes(data)
        shas.append(sha)
    rows = []
    for n in range(events):
        school = rng.randrange(schools + 1)
        chain = school_chain(school or None)
        seq, prev = heads.get(chain, (0, GENESIS))
        action = ACTIONS[n % len(ACTIONS)]
        after: dict[str, object] = {"state": "open", "note": "楼梯间堆放杂物已清理" * 3}
        if action == "photo.added" and shas:
            after = {"sha256": shas[(n // len(ACTIONS)) % len(shas)], "kind": "after"}
        text = json.dumps(after, ensure_ascii=False)
        at = NOW.isoformat(timespec="seconds")
        subject = "hazard" if school else "person"
        digest = event_hash(chain, seq + 1, prev, at, 1, action, subject, n, None, text)
        rows.append((at, 1, action, subject, n, None, text, chain, seq + 1, prev, digest))
        heads[chain] = (seq + 1, digest)
    conn = sqlite3.connect(path)
    conn.executemany(
        "INSERT INTO events (at, actor_id, action, subject, subject_id, before, after, chain,"
        " seq, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    conn.executemany(
        "INSERT INTO chain_heads (chain, seq, hash) VALUES (?, ?, ?)",
        [(c, s, h) for c, (s, h) in heads.items()],
    )
    conn.commit()
    conn.close()
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--schools", type=int, default=300)
    parser.add_argument("--photos", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        path = seed(folder, args.events, args.schools, args.photos)
        started = time.perf_counter()
        conn = sqlite3.connect(path)
        read = sum(1 for _ in conn.execute("SELECT * FROM events ORDER BY id"))
        conn.close()
        anchor = time.perf_counter() - started
        started = time.perf_counter()
        report = verify(path, folder / "photos")
        took = time.perf_counter() - started
        assert report.intact, "the generated chains must hold"
        events = sum(c.events for c in report.chains)
        print(f"events: {read:,} in {len(report.chains)} chains; photos: {report.photos_checked}")
        print(f"reading every event once (anchor): {anchor:.2f} s")
        print(
            f"xiaoan verify: {took:.2f} s for {events:,} events = {took / anchor:.1f}x the anchor"
            f" (target < 5 s)"
        )


if __name__ == "__main__":
    main()
