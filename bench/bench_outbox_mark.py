"""How long the outbox's "sent" mark waits for the single writer while others write.

Between Telegram's answer and the committed mark, a crash sends a notice twice
(on Telegram). The mark is an urgent write: it takes the writer's next turn,
ahead of writers already waiting. This measures that window under load:
``--writers`` tasks keep the writer busy with transactions of ``--hold`` ms
each, and marks are made now and then, once urgent and once in turn. Printed:
the median and worst wait of each, and their ratio (in turn / urgent).

    .venv/bin/python bench/bench_outbox_mark.py [--writers 8] [--hold 20] [--marks 40]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from ledger.clock import SystemClock
from storage.db import Database


async def busy_writer(db: Database, hold: float, stop: asyncio.Event) -> None:
    """A writer whose transactions each last ``hold`` seconds (a long import, a plan)."""
    while not stop.is_set():
        async with db.write() as tx:
            await tx.run("INSERT INTO schema_migrations VALUES (NULL, 'bench', 'x')")
            await asyncio.sleep(hold)
            await tx.run("DELETE FROM schema_migrations WHERE name = 'bench'")


async def marks(db: Database, count: int, urgent: bool) -> list[float]:
    """Waits (ms) from "Telegram answered" to the mark committed."""
    waits = []
    for _ in range(count):
        await asyncio.sleep(0.013)
        start = time.perf_counter()
        async with db.write(urgent=urgent) as tx:
            await tx.value("SELECT 1")
        waits.append((time.perf_counter() - start) * 1000)
    return waits


async def measure(writers: int, hold_ms: float, count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        async with Database(Path(folder) / "bench.sqlite3", SystemClock()) as db:
            results = {}
            for urgent in (True, False):
                stop = asyncio.Event()
                tasks = [
                    asyncio.create_task(busy_writer(db, hold_ms / 1000, stop))
                    for _ in range(writers)
                ]
                await asyncio.sleep(0.05)
                results[urgent] = await marks(db, count, urgent)
                stop.set()
                await asyncio.gather(*tasks)
    for urgent, waits in results.items():
        print(
            f"{'urgent ' if urgent else 'in turn'}: median {statistics.median(waits):7.1f} ms,"
            f" worst {max(waits):7.1f} ms"
        )
    ratio = statistics.median(results[False]) / statistics.median(results[True])
    print(f"{writers} writers holding {hold_ms:g} ms: in turn / urgent (median) = {ratio:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--hold", type=float, default=20.0, help="ms per busy transaction")
    parser.add_argument("--marks", type=int, default=40)
    args = parser.parse_args()
    asyncio.run(measure(args.writers, args.hold, args.marks))


if __name__ == "__main__":
    main()
