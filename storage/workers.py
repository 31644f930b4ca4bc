"""Heavy work in worker processes: exports and photo normalisation.

A city ledger takes seconds of CPU and a 12-MP photo a few hundred
milliseconds; in a thread of the bot's own process either would take the
interpreter from the event loop, and every tap would wait. Here they run in a
pool of worker processes (``workers.processes``; 0 runs them in a thread, for
a machine that cannot spare a process).

Two lanes: the pool for long jobs (exports, reminders passes, imports), and a
process of its own for photos (``PHOTOS``: normalised and compared while their
sender waits), so that a photo never queues behind a city's ledger; it runs at
a priority between the bot's and the long jobs'.

A job may report its progress: given an ``on_progress``, the function is
called with a ``progress`` keyword, a callable ``(done, total)``; what it
reports reaches ``on_progress`` on the event loop. A worker that dies (killed, out of memory)
fails its job with ``WorkerCrashed`` and the pool is started afresh for the
next job.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing.queues import Queue
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
Progress = Callable[[int, int], None]
PROGRESS_EVERY_SECONDS = 0.5  # a worker reports at most this often (the last report always)
WORKER_NICENESS = 10  # how much lower than the bot's a worker's priority is
PHOTO_NICENESS = 5  # a photo's sender waits for it: above the long jobs, below the bot
HEAVY, PHOTOS = "heavy", "photos"  # the lanes
FINISHED = -1  # a job's last word on the progress queue
LAST_REPORT_WAIT_SECONDS = 5.0


class WorkerCrashed(Exception):
    """The process doing a job died before it finished."""


# --- inside a worker process -------------------------------------------------------------

_reports: Queue[tuple[int, int, int]] | None = None


def _start_worker(reports: Queue[tuple[int, int, int]], niceness: int = WORKER_NICENESS) -> None:
    """Each worker process keeps the queue its jobs report progress on, and yields the
    processor to the bot: on a machine with as many workers as cores, the event loop
    answering taps must not wait for its turn behind a ledger being written."""
    global _reports
    _reports = reports
    with contextlib.suppress(OSError):  # a platform without nice: same priority, still apart
        os.nice(niceness)


def _run_job(job_id: int, work: Callable[..., T], args: tuple[Any, ...], watched: bool) -> T:
    """A job in a worker: ``work(*args)``, or with ``watched`` ``work(*args, progress=...)``,
    its reports paced and queued."""
    if not watched:
        return work(*args)
    last = 0.0

    def progress(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if done < total and now - last < PROGRESS_EVERY_SECONDS:
            return
        last = now
        if _reports is not None:
            _reports.put((job_id, done, total))

    try:
        return work(*args, progress=progress)
    finally:
        if _reports is not None:
            _reports.put((job_id, FINISHED, FINISHED))  # after every report of this job


# --- in the bot's process ----------------------------------------------------------------


@dataclass
class _Watcher:
    """Who hears a job's progress, and when its last report has been heard."""

    loop: asyncio.AbstractEventLoop
    on_progress: Progress
    finished: asyncio.Event


@dataclass
class _Lane:
    """A lane's pool of processes and the queue its jobs report progress on."""

    pool: Executor
    reports: Queue[tuple[int, int, int]]

    def stop_listener(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.reports.put((0, 0, 0))


class Workers:
    """A pool of worker processes and the photos' own process, each started at its first job."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._pools: dict[str, _Lane] = {}
        self._context = multiprocessing.get_context("spawn")  # no fork of a threaded process
        self._ids = itertools.count(1)
        self._watchers: dict[int, _Watcher] = {}

    def _started(self, lane: str) -> Executor:
        started = self._pools.get(lane)
        if started is None:
            # A queue per lane: a worker killed while reporting may leave its queue
            # unusable, and only its own lane starts afresh.
            reports: Queue[tuple[int, int, int]] = self._context.Queue()
            photos = lane == PHOTOS
            pool = ProcessPoolExecutor(
                1 if photos else self.processes,
                mp_context=self._context,
                initializer=_start_worker,
                initargs=(reports, PHOTO_NICENESS if photos else WORKER_NICENESS),
            )
            listener = threading.Thread(
                target=self._listen, args=(reports,), name=f"worker-progress-{lane}", daemon=True
            )
            listener.start()
            started = self._pools[lane] = _Lane(pool, reports)
        return started.pool

    def _listen(self, reports: Queue[tuple[int, int, int]]) -> None:
        """Hand each progress report to its job's watcher, on the watcher's loop."""
        while True:
            try:
                report = reports.get()
            except (EOFError, OSError, ValueError):
                return  # the queue was closed
            if report[0] == 0:
                return  # closing
            watcher = self._watchers.get(report[0])
            if watcher is None:
                continue
            if report[1] == FINISHED:
                watcher.loop.call_soon_threadsafe(watcher.finished.set)
            else:
                watcher.loop.call_soon_threadsafe(watcher.on_progress, report[1], report[2])

    async def run(
        self,
        work: Callable[..., T],
        *args: Any,
        on_progress: Progress | None = None,
        lane: str = HEAVY,
    ) -> T:
        """``work(*args)`` in a worker of ``lane`` (with ``on_progress``:
        ``work(*args, progress=...)``); its result, or the error it raised."""
        loop = asyncio.get_running_loop()
        if self.processes <= 0:
            if on_progress is None:
                return await asyncio.to_thread(work, *args)

            def in_thread(done: int, total: int) -> None:
                assert on_progress is not None
                loop.call_soon_threadsafe(on_progress, done, total)

            return await asyncio.to_thread(work, *args, progress=in_thread)
        job_id = next(self._ids)
        watcher = None
        if on_progress is not None:
            watcher = self._watchers[job_id] = _Watcher(loop, on_progress, asyncio.Event())
        pool = self._started(lane)
        try:
            result = await loop.run_in_executor(
                pool, _run_job, job_id, work, args, watcher is not None
            )
            if watcher is not None:
                # The job's reports are all handed over before its result is.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(watcher.finished.wait(), LAST_REPORT_WAIT_SECONDS)
            return result
        except BrokenProcessPool as exc:
            log.error("a worker process died during %s", getattr(work, "__name__", work))
            self._discard(lane, pool)
            raise WorkerCrashed() from exc
        finally:
            self._watchers.pop(job_id, None)

    def _discard(self, lane: str, pool: Executor) -> None:
        """Forget a broken pool; the next job of its lane starts a new one."""
        started = self._pools.get(lane)
        if started is not None and started.pool is pool:
            del self._pools[lane]
            started.stop_listener()
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the pools (their running jobs finish first)."""
        lanes, self._pools = list(self._pools.values()), {}
        for started in lanes:
            started.stop_listener()
            started.pool.shutdown(wait=True, cancel_futures=True)
