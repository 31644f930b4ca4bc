"""The flood bench (issue 11): a colleague's answers alone and under a flood.

A stranger sends 100 messages and a colleague floods their own chat past
Telegram's flood limit (the fake Bot API of ``tests/simulator.py`` imposes
it, on real time) while another colleague walks a building. Prints her
answer times alone (the anchor) and under the flood, with the ratio and the
difference, for the bot as it is and, for comparison, as it was (one update
at a time, a RetryAfter halting every chat).

    .venv/bin/python bench/bench_flood.py [--old]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger.clock import FakeClock
from tests import flood


def report(name: str, figures: flood.Figures) -> None:
    alone, flooded = figures.alone, figures.flooded
    anchor = statistics.median(alone)
    print(f"{name}:")
    print(f"  alone        median {anchor * 1000:7.1f} ms  max {max(alone) * 1000:7.1f} ms")
    print(
        f"  under flood  median {statistics.median(flooded) * 1000:7.1f} ms"
        f"  max {max(flooded) * 1000:7.1f} ms"
    )
    print(
        f"  ratio (median) {statistics.median(flooded) / anchor:5.2f}"
        f"   worst answer {(max(flooded) - max(alone)) * 1000:+7.1f} ms over the worst alone"
    )
    print(
        f"  stranger answered {figures.stranger_answers} time(s); flood limits hit"
        f" {figures.retry_afters}; flood updates still waiting after the walk {figures.flood_left}"
    )


async def main(old: bool) -> None:
    clock = FakeClock(datetime(2026, 11, 28, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    with tempfile.TemporaryDirectory() as folder:
        await asyncio.to_thread(Path(folder, "now").mkdir)
        await asyncio.to_thread(Path(folder, "old").mkdir)
        report("now", await flood.run(Path(folder, "now"), clock))
        if old:
            limiter, processor = flood.old_way()
            report(
                "before (one queue, RetryAfter halts all)",
                await flood.run(Path(folder, "old"), clock, limiter, processor),
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", action="store_true", help="also run the old design")
    asyncio.run(main(parser.parse_args().old))
