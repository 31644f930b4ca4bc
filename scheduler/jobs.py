"""The planning job: read the ledger, plan, write the outbox. Thin on purpose.

Run by python-telegram-bot's JobQueue every ``reminders.plan_every_minutes``
(and at once after a person turns out to have blocked the bot, so their
escalation goes up the chain without waiting). Opening the rounds of
recurring inspections happens here too: a round is a change of the ledger,
the rest is the pure planner's.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import pickle
import sqlite3
from collections.abc import AsyncIterator, Callable, Collection, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path

from ledger.clock import Clock
from scheduler.planner import (
    ESCALATION_LAST_DAYS,
    LIST_MAX,
    Ledger,
    Planned,
    period_of,
    plan,
    plan_new,
    round_to_open,
)
from scheduler.rules import ReminderRules
from storage import outbox, schedule
from storage.db import BUSY_TIMEOUT_MS, Database
from storage.workers import Workers
from telegram_rules import MAX_TEXT
from telegram_rules.fit import clip, fit, html_units
from texts import t

log = logging.getLogger(__name__)

KIND_PREFIX = "remind."  # every planned reminder's kind starts so
# Outbox rows per write transaction: a few ms of the writer each on a 2-core machine
# (bench/bench_planner.py prints the longest hold; the target is 50 ms at most).
WRITE_CHUNK = 100
# While a pass writes, SQLite's automatic checkpoint (copying the write-ahead log into
# the database, every 1,000 pages) is off: run by the committing connection, it held
# the one writer for tens of ms every ~40 transactions. The pass checkpoints on a
# connection of its own instead, every so many chunks, beside the writer.
CHECKPOINT_EVERY = 20
NAMES_MAX = 600  # UTF-16 units of the names a reminder says it was meant for
STORED_LOOKBACK_DAYS = 31  # the oldest key a plan can still make (an escalation's, a week's)


@dataclass
class Reminders:
    """Plans reminders into the outbox; one pass at a time."""

    db: Database
    clock: Clock
    rules: ReminderRules
    campaign_id: int
    wake: Callable[[], None] = lambda: None
    # Where the pass's CPU work runs (a process of the pool, or a thread with none).
    workers: Workers = field(default_factory=lambda: Workers(0))
    last_run: datetime | None = None  # the last pass outside quiet hours
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Keys the last pass found or wrote in the outbox: not rendered nor written again.
    # Only a saving; after a restart the outbox's unique keys do the same, slower.
    _stored: set[str] = field(default_factory=set)

    def holding(self, now: datetime) -> bool:
        """Whether planned reminders must wait: in quiet hours, and after them until a
        pass has run (it drops what the night made stale, e.g. yesterday's nudge)."""
        if self.rules.quiet(now):
            return True
        morning = datetime.combine(now.date(), time(self.rules.quiet_end), now.tzinfo)
        if morning > now:
            morning -= timedelta(days=1)
        return self.last_run is None or self.last_run < morning

    @property
    def horizon(self) -> int:
        """Days before a deadline when the first reminder goes out."""
        return max(self.rules.before_deadline_days)

    async def run(self) -> int:
        """One planning pass; returns how many new messages were stored."""
        if self._lock.locked():
            return 0  # a pass is running; keys make a second one harmless, this saves work
        async with self._lock:
            now = self.clock.now()
            if self.rules.quiet(now):
                return 0
            await self.open_rounds(now.date())
            # Read, plan and render in a worker process: for a city that is seconds of
            # CPU, which in this process would hold up every tap meanwhile.
            since = now - timedelta(days=STORED_LOOKBACK_DAYS)
            known = frozenset(self._stored) if self._stored else None
            work = await self.workers.run(
                plan_pass,
                self.db.path,
                self.campaign_id,
                self.rules,
                self.horizon,
                now,
                known,
                since,
                WRITE_CHUNK,
            )
            added = await self.store(work)
            self.last_run = now
        if added:
            log.info("reminders: planned %d message(s)", added)
            self.wake()
        return added

    def read_and_plan(self, conn: sqlite3.Connection, now: datetime) -> list[Planned]:
        """The ledger as it is now, planned: every message due made (in a worker thread)."""
        with collector_paused():
            ledger = schedule.read_ledger(conn, self.campaign_id, now.date(), self.horizon)
            return plan(ledger, now, self.rules)

    async def open_rounds(self, today: date) -> int:
        """Open the current period's round of each recurring inspection due one."""
        opened = 0
        for row in await schedule.live_recurring(self.db):
            latest = date.fromisoformat(row["latest"]) if row["latest"] else None
            set_on = date.fromisoformat(row["set_at"][:10])
            start = round_to_open(row["every"], set_on, latest, today)
            if start is None:
                continue
            _, due = period_of(row["every"], start)
            async with self.db.write() as tx:
                opened += bool(await schedule.open_round(tx, row, self.campaign_id, start, due))
        return opened

    async def store(self, work: PassWork) -> int:
        """Write the new messages and drop pending ones no longer planned.

        Written in transactions of ``WRITE_CHUNK`` rows, not one: the single writer
        is held a few milliseconds at a time, and a tap's write waiting meanwhile
        goes before the next chunk (the writer's turns are first come, first
        served). A pass cut short (a crash) leaves a prefix written; the next pass
        plans the same keys and the outbox's unique keys write only the rest.

        The new rows are committed without waiting for the disk (``durable=False``):
        a power cut may lose the last of them, never half of one, and a lost row was
        never sent (marking a message in flight is synced, and syncs every row
        written before it); the next pass, knowing nothing after the restart, plans
        its key again.
        """
        keys: set[str] = pickle.loads(work.keys)  # noqa: S301 (our own worker's)
        gone = work.gone
        for start in range(0, len(gone), WRITE_CHUNK):
            async with self.db.write() as tx:
                await outbox.drop(tx, gone[start : start + WRITE_CHUNK])
        added = 0
        async with self._checkpoints_aside(bool(work.chunks)):
            for n, chunk in enumerate(work.chunks, 1):
                rows: list[outbox.Planned] = pickle.loads(chunk)  # noqa: S301
                async with self.db.write(durable=False) as tx:
                    added += await outbox.enqueue_many(tx, rows)
                if n % CHECKPOINT_EVERY == 0:
                    await asyncio.to_thread(checkpoint, self.db.path)
        self._stored = keys
        return added

    @asynccontextmanager
    async def _checkpoints_aside(self, writing: bool) -> AsyncIterator[None]:
        """The writer's automatic checkpoints off while a pass writes (``CHECKPOINT_EVERY``);
        a setting of the connection, so a crash meanwhile leaves nothing behind."""
        if not writing:
            yield
            return
        async with self.db.write() as tx:
            automatic = int(await tx.value("PRAGMA wal_autocheckpoint"))
            await tx.value("PRAGMA wal_autocheckpoint = 0")
        try:
            yield
        finally:
            async with self.db.write() as tx:
                await tx.value(f"PRAGMA wal_autocheckpoint = {automatic}")
            await asyncio.to_thread(checkpoint, self.db.path)

    async def preview(
        self,
        person_id: int | None,
        school_ids: Collection[int] | None,
        days: int = 14,
        visits_only: bool = False,
    ) -> list[Planned]:
        """What is planned next, supposing the ledger stays as it is: for a person
        (``person_id``) or for schools (``school_ids``), over the coming days.
        ``visits_only``: a supervisor's, who hears only of their supervision visits.

        Read and planned in a worker process, as a pass is: the task force's preview
        plans the city's ledger once for each coming day (seconds of CPU)."""
        return await self.workers.run(
            preview_pass,
            self.db.path,
            self.campaign_id,
            self.rules,
            self.horizon,
            self.clock.now(),
            days,
            person_id,
            None if school_ids is None else tuple(school_ids),
            visits_only,
        )


def preview_pass(
    db_path: Path,
    campaign_id: int,
    rules: ReminderRules,
    horizon: int,
    now: datetime,
    days: int,
    person_id: int | None,
    school_ids: tuple[int, ...] | None,
    visits_only: bool,
) -> list[Planned]:
    """``Reminders.preview``'s work, in a worker."""
    conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        with collector_paused():
            ledger = schedule.read_ledger(conn, campaign_id, now.date(), horizon + days, school_ids)
            if visits_only:
                ledger = replace(ledger, schools={}, hazards=(), waiting=(), rounds=())
            # Keys sent lately (a key planned again is at most weeks old), the reader's
            # own when the preview is theirs.
            since = (now - timedelta(days=STORED_LOOKBACK_DAYS)).isoformat(timespec="seconds")
            mine = "AND person_id = ?" if person_id is not None else ""
            stored = {
                r[0]
                for r in conn.execute(
                    "SELECT key FROM outbox WHERE kind LIKE ? AND created_at >= ?"  # noqa: S608
                    f" AND state IN ('sent', 'failed', 'blocked') {mine}",
                    (KIND_PREFIX + "%", since, *([person_id] if person_id is not None else [])),
                )
            }
            if school_ids is None and person_id in ledger.taskforce:
                ledger = _taskforce_part(ledger, rules, now.date(), days)
            return _project(ledger, rules, now, days, stored, person_id, school_ids)
    finally:
        conn.close()


def _taskforce_part(ledger: Ledger, rules: ReminderRules, today: date, days: int) -> Ledger:
    """For the task force's own preview, only hazards that may reach them: those
    whose task-force escalation falls in the coming days (a city has many)."""
    first = rules.escalate_taskforce_days
    last = first + ESCALATION_LAST_DAYS - 1
    earliest, latest = today - timedelta(days=last), today + timedelta(days=days - first)
    hazards = [h for h in ledger.hazards if earliest <= h.deadline <= latest]
    return replace(ledger, hazards=hazards)


def _project(
    ledger: Ledger,
    rules: ReminderRules,
    now: datetime,
    days: int,
    stored: set[str],
    person_id: int | None,
    school_ids: Collection[int] | None,
) -> list[Planned]:
    """Plan each coming day at its last allowed minute; keep what is new for the reader."""
    last_hour = max(rules.allowed_hours())
    found: dict[str, Planned] = {}
    for offset in range(days + 1):
        day = now.date() + timedelta(days=offset)
        moment = datetime.combine(day, time(last_hour, 59), now.tzinfo)
        for p in plan(ledger, moment, rules):
            if p.key in stored or p.key in found:
                continue
            if person_id is not None and p.person_id != person_id:
                continue
            if school_ids is not None and p.school_id not in school_ids:
                continue
            found[p.key] = p
    return sorted(found.values(), key=lambda p: (p.not_before, p.key))


def checkpoint(db_path: Path) -> None:
    """Copy what the write-ahead log holds into the database, on a connection of its own:
    a passive checkpoint takes no write lock, so the writer goes on meanwhile (it changes
    nothing the database says, only where the pages are kept)."""
    conn = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    finally:
        conn.close()


@dataclass(frozen=True)
class PassWork:
    """A pass's work as it comes back from the worker: pickles, each unpickled only when
    it is written. A city's pass makes tens of thousands of rows; unpickled at once in
    the bot's process they would hold the interpreter from the event loop for as long."""

    keys: bytes  # every key planned (a pickled set)
    chunks: tuple[bytes, ...]  # the new messages, a pickled list of outbox.Planned each
    gone: tuple[str, ...] = ()  # keys planned before, no longer: dropped if still pending


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off while a pass makes its objects: tens of thousands of
    tuples, none of them in a cycle, would otherwise set off full collections that scan
    every object of the process, again and again (a third of the pass's time)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def plan_pass(
    db_path: Path,
    campaign_id: int,
    rules: ReminderRules,
    horizon: int,
    now: datetime,
    known: frozenset[str] | None,
    since: datetime,
    chunk: int = WRITE_CHUNK,
) -> PassWork:
    """One pass's CPU work, in a worker: read the ledger, plan, render what is new.

    Returns every key planned, the new messages, rendered in each person's
    language, in pickles of ``chunk`` rows, and the keys no longer planned.
    ``known``: the keys the last pass planned; None after a start, when the
    outbox's keys since ``since`` are read instead (so that what it holds already
    is neither made, rendered nor written again), and every pending reminder is
    looked at to see whether it is still planned.
    """
    conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        with collector_paused():
            if known is not None:
                candidates = known
            else:
                known = frozenset(
                    r[0]
                    for r in conn.execute(
                        "SELECT key FROM outbox WHERE kind LIKE ? AND created_at >= ?",
                        (KIND_PREFIX + "%", since.isoformat(timespec="seconds")),
                    )
                )
                candidates = frozenset(
                    r[0]
                    for r in conn.execute(
                        "SELECT key FROM outbox WHERE state = 'pending' AND kind LIKE ?",
                        (KIND_PREFIX + "%",),
                    )
                )
            ledger = schedule.read_ledger(conn, campaign_id, now.date(), horizon)
            keys, new = plan_new(ledger, now, rules, known)
            contacts = {
                r[0]: (r[1], r[2]) for r in conn.execute("SELECT id, chat_id, language FROM people")
            }
            rows = [
                outbox.Planned(
                    p.key,
                    p.kind,
                    p.person_id,
                    contacts[p.person_id][0],
                    render(p, contacts[p.person_id][1]),
                    p.not_before,
                )
                for p in new
            ]
            return PassWork(
                pickle.dumps(keys, pickle.HIGHEST_PROTOCOL),
                tuple(
                    pickle.dumps(rows[start : start + chunk], pickle.HIGHEST_PROTOCOL)
                    for start in range(0, len(rows), chunk)
                ),
                tuple(sorted(candidates - keys)),
            )
    finally:
        conn.close()


def render(planned: Planned, lang: str) -> str:
    """The message's text in ``lang``: the text, its list, for whom it was meant; the list
    holds at most ``LIST_MAX`` lines and what one message holds (counted in UTF-16 units),
    the rest is counted."""
    head = t(lang, planned.text, **planned.values)
    tail: list[str] = []
    if planned.instead_of:
        names = t(lang, "reminders.separator").join(planned.instead_of)
        tail.append(t(lang, "reminders.instead", name=clip(names, NAMES_MAX)))
    items = [t(lang, key, **values) for key, values in planned.items[:LIST_MAX]]
    left = len(planned.items) - len(items)  # past LIST_MAX: counted, never rendered

    def more(count: int) -> str:
        return t(lang, "reminders.more", count=count + left)

    room = MAX_TEXT - html_units("\n".join([head, *tail])) - 1
    reserve = html_units(more(0)) + 1 if left else 0
    listed = fit(items, room - reserve, more)
    if left and len(listed) == len(items):
        listed.append(more(0))
    return "\n".join([head, *listed, *tail])
