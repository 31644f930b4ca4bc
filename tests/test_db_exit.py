"""A database left open (a start-up cut short by a signal between opening it and
closing it) does not keep the process from ending: before, ``xiaoan run`` whose local
chat died while the demo school was being made said so and then hung for ever on its
connections' threads."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

LEFT_OPEN = """
import asyncio, sys
from pathlib import Path
from ledger.clock import SystemClock
from storage.db import Database

async def main() -> None:
    db = await Database(Path(sys.argv[1]), SystemClock("Asia/Shanghai")).open()
    async with db.write() as tx:
        await tx.run("INSERT INTO schema_migrations VALUES (9999, 'left open', 'now')")
    # never closed

asyncio.run(main())
print("ended")
"""


def test_a_database_left_open_lets_the_process_end_with_its_commits_kept(
    tmp_path: Path,
) -> None:
    path = tmp_path / "x.sqlite3"
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", LEFT_OPEN, str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ended"
    with sqlite3.connect(path) as conn:
        kept = conn.execute("SELECT name FROM schema_migrations WHERE version = 9999").fetchone()
    assert kept == ("left open",)
