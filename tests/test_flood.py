"""The flood test (issue 11): a stranger sends 100 messages, and a colleague
floods their own chat past Telegram's flood limit (the bot's limiter paces
their answers in that chat, so Telegram never answers 429; issue 12), while
another colleague walks a building. Her answers stay within 200 ms of her answers alone,
measured in the same test; the floods cost only the flooders.

(The one timed assertion of the suite: the issue asks for this figure, and it
is a difference between two measurements of the same run, with the old design
some seconds away from it.)
"""

from __future__ import annotations

from pathlib import Path

from ledger.clock import FakeClock
from tests import flood

MARGIN = 0.200
ATTEMPTS = 3  # a shared machine's burst can slow one run; the old design failed every run by ~4 s


async def test_a_flood_does_not_hold_up_a_colleague(tmp_path: Path, clock: FakeClock) -> None:
    seen = []
    for attempt in range(ATTEMPTS):
        folder = tmp_path / str(attempt)
        folder.mkdir()
        figures = await flood.run(folder, clock)
        normal = max(figures.alone)
        seen.append((figures.alone, figures.flooded))
        if all(step <= normal + MARGIN for step in figures.flooded):
            break
    else:
        raise AssertionError(f"in each of {ATTEMPTS} runs, (alone, under flood): {seen}")
    # The walk went on while the flooders still waited: it did not wait for them.
    assert figures.flood_left > 0
    # The flooder's answers were paced in their own chat (one a second after a burst),
    # within Telegram's flood limit: every one came, and Telegram never answered 429.
    assert figures.flooder_answers == flood.MEMBER_MESSAGES
    assert figures.retry_afters == 0
    assert figures.stranger_answers == 1  # one short answer, then silence
