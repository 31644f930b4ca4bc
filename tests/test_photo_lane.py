"""Photos in a lane of their own: never queued behind an export or a reminders pass.

The long jobs' pool is kept busy by a job that waits for a file to appear (so the
test decides when it ends); a photo sent meanwhile is normalised, compared with
the photos on record and answered all the same.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ledger.clock import FakeClock
from storage import workers
from storage.workers import HEAVY, PHOTOS, WorkerCrashed, Workers
from tests import scenes
from tests.simulator import Simulator, texts
from tests.test_evidence import fix_with, report_with, two_hazards

HOLD_SECONDS = 60.0  # the longest a blocking job waits for its release


def wait_for(release: Path) -> int:
    """A long job (in a worker): holds its process until ``release`` exists; its pid."""
    ends = time.monotonic() + HOLD_SECONDS
    while not release.exists() and time.monotonic() < ends:
        time.sleep(0.02)
    return os.getpid()


def pid_and_niceness() -> tuple[int, int]:
    return os.getpid(), os.nice(0)


def die() -> None:
    os.kill(os.getpid(), 9)


@pytest.fixture
async def busy_sim(
    tmp_path: Path, clock: FakeClock
) -> AsyncIterator[tuple[Simulator, asyncio.Future[int]]]:
    """The bot as it runs by default (worker processes), its long-jobs lane held busy
    (until the test ends: a photo queued behind it would be answered only after it)."""
    sim = await Simulator(tmp_path, clock, "[workers]\nprocesses = 1\n").start()
    release = tmp_path / "release"
    blocker = asyncio.ensure_future(sim.services.workers.run(wait_for, release))
    await asyncio.sleep(0)
    try:
        yield sim, blocker
    finally:
        release.touch()
        await blocker
        await sim.stop()


async def test_a_photo_is_answered_while_the_long_jobs_lane_is_busy(
    busy_sim: tuple[Simulator, asyncio.Future[int]],
) -> None:
    sim, blocker = busy_sim
    s, _, b = await two_hazards(sim)  # three photos normalised and compared meanwhile
    assert not blocker.done()  # the long job still holds its lane
    stored = await sim.db.value("SELECT COUNT(*) FROM photos")

    said = await report_with(s.staff, scenes.jpeg_bytes(scenes.room(7)), "配电箱未上锁")
    assert said > b
    assert not blocker.done()
    rows = await sim.db.all("SELECT sha256 FROM photos WHERE hazard_id = ?", (said,))
    assert len(rows) == 1 and await sim.db.value("SELECT COUNT(*) FROM photos") == stored + 1
    assert sim.services.photos.path_of(rows[0]["sha256"]).exists()


async def test_a_reused_photo_is_caught_while_the_long_jobs_lane_is_busy(
    busy_sim: tuple[Simulator, asyncio.Future[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pixel check (issue 15) runs in the photos' process too, not in the bot's."""
    sim, blocker = busy_sim
    jobs: list[tuple[str, str]] = []
    run = Workers.run

    async def recorded(self: Workers, work: Any, *args: Any, **kwargs: Any) -> Any:
        jobs.append((work.__name__, kwargs.get("lane", HEAVY)))
        return await run(self, work, *args, **kwargs)

    monkeypatch.setattr(Workers, "run", recorded)
    s, a, b = await two_hazards(sim)
    said = await fix_with(s.staff, b, scenes.jpeg_bytes(scenes.stairwell(2)))
    assert f"与隐患 #{a}【教学楼A】已登记的整改后照片相同" in texts(said)
    assert await sim.db.value("SELECT COUNT(*) FROM suspect_photos") == 1
    assert not blocker.done()
    assert ("_similarities", PHOTOS) in jobs and ("save", PHOTOS) in jobs
    assert {lane for _, lane in jobs} == {PHOTOS}


async def test_photos_have_a_process_of_their_own_at_a_middle_priority(tmp_path: Path) -> None:
    pool = Workers(1)
    try:
        release = tmp_path / "release"
        blocker = asyncio.ensure_future(pool.run(wait_for, release))
        photo_pid, niceness = await pool.run(pid_and_niceness, lane=PHOTOS)
        assert not blocker.done()
        release.touch()
        assert await blocker != photo_pid != os.getpid()
        assert niceness == min(19, os.nice(0) + workers.PHOTO_NICENESS)
        heavy_pid, heavy_niceness = await pool.run(pid_and_niceness, lane=HEAVY)
        assert heavy_niceness == min(19, os.nice(0) + workers.WORKER_NICENESS)
        assert heavy_pid != photo_pid
    finally:
        pool.close()


async def test_a_photo_worker_dying_fails_only_its_job(tmp_path: Path) -> None:
    pool = Workers(1)
    try:
        release = tmp_path / "release"
        blocker = asyncio.ensure_future(pool.run(wait_for, release))
        with pytest.raises(WorkerCrashed):
            await pool.run(die, lane=PHOTOS)
        pid, _ = await pool.run(pid_and_niceness, lane=PHOTOS)  # started afresh
        release.touch()
        assert await blocker != pid  # the long job was not touched
    finally:
        pool.close()
