"""The chain in the database: checking it (``xiaoan verify``), recording heads, seals.

``verify`` reads the file on a read-only connection of its own and walks
every chain (``ledger.chain.walk``) and the photo store: each photo an event
names must be on disk with that very SHA-256, and each photo row must be
named by an event of its hazard. A seal is what an export prints so that a
paper copy can later be checked against the database: a school's head, or
for city-wide papers one hash over all heads (recorded, so that
``verify --since`` can find it again).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ledger.chain import (
    CITY,
    GENESIS,
    Break,
    ChainState,
    StoredEvent,
    heads_digest,
    school_chain,
    walk,
)
from storage.db import Database, Query, Reader, Tx

_COLUMNS = (
    "id, chain, seq, prev_hash, hash, at, actor_id, action, subject, subject_id, before, after"
)


@dataclass(frozen=True)
class PhotoProblem:
    sha256: str
    chain: str | None
    position: int | None
    event_id: int | None
    kind: str  # missing, changed, unbound
    detail: str


@dataclass
class Report:
    chains: list[ChainState] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    photos_checked: int = 0
    photo_problems: list[PhotoProblem] = field(default_factory=list)
    unchained: int = 0
    since: str | None = None  # what --since found, in words
    since_ok: bool = True

    @property
    def intact(self) -> bool:
        return (
            all(c.broken is None for c in self.chains)
            and not self.photo_problems
            and not self.unchained
            and self.since_ok
        )

    @property
    def heads(self) -> dict[str, tuple[int, str]]:
        return {c.chain: (c.events, c.head) for c in self.chains}


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def _events(conn: sqlite3.Connection, chain: str) -> Iterator[StoredEvent]:
    cur = conn.execute(f"SELECT {_COLUMNS} FROM events WHERE chain = ? ORDER BY id", (chain,))  # noqa: S608
    for row in cur:
        yield StoredEvent(*row)


def _file_sha(path: Path) -> str | None:
    try:
        with path.open("rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return None


def _names(conn: sqlite3.Connection) -> dict[str, str]:
    names = {CITY: "city"}
    for school_id, name in conn.execute("SELECT id, name FROM schools"):
        names[school_chain(school_id)] = name
    return names


def _check_photos(conn: sqlite3.Connection, photos_root: Path, report: Report) -> None:
    """Every photo an event names is on disk unchanged; every photo row is named by one."""
    bound: set[tuple[int, str]] = set()
    seen: dict[str, str | None] = {}
    first_problem: set[str | None] = set()
    rows = conn.execute(
        "SELECT id, chain, seq, subject_id, after FROM events"
        " WHERE subject = 'hazard' AND after LIKE '%\"sha256\"%' ORDER BY id"
    )
    for event_id, chain, seq, hazard_id, after in rows:
        try:
            sha = json.loads(after).get("sha256")
        except (TypeError, ValueError, AttributeError):
            continue
        if not isinstance(sha, str):
            continue
        bound.add((hazard_id, sha))
        if sha not in seen:
            seen[sha] = _file_sha(photos_root / sha[:2] / f"{sha}.jpg")
            report.photos_checked += 1
            actual = seen[sha]
            if actual != sha and chain not in first_problem:
                first_problem.add(chain)
                kind = "missing" if actual is None else "changed"
                detail = (
                    f"photo {sha[:12]}… of hazard #{hazard_id} is not in the photo store"
                    if actual is None
                    else f"photo {sha[:12]}… of hazard #{hazard_id}: the file's content changed"
                )
                report.photo_problems.append(PhotoProblem(sha, chain, seq, event_id, kind, detail))
    for photo_id, hazard_id, sha in conn.execute("SELECT id, hazard_id, sha256 FROM photos"):
        if (hazard_id, sha) not in bound:
            report.photo_problems.append(
                PhotoProblem(
                    sha,
                    None,
                    None,
                    None,
                    "unbound",
                    f"photo row {photo_id} (hazard #{hazard_id}) is named by no event",
                )
            )
            break


def verify(db_path: Path, photos_root: Path, since: str | None = None) -> Report:
    """Walk every chain and the photo store; with ``since``, prove nothing before it changed."""
    conn = _connect(db_path)
    try:
        report = Report(names=_names(conn))
        recorded = {c: (int(s), str(h)) for c, s, h in conn.execute("SELECT * FROM chain_heads")}
        chains = {
            c for (c,) in conn.execute("SELECT DISTINCT chain FROM events WHERE chain IS NOT NULL")
        }
        report.unchained = int(
            conn.execute("SELECT COUNT(*) FROM events WHERE hash IS NULL").fetchone()[0]
        )
        anchor = _anchor(conn, since) if since else None
        for chain in sorted(chains | set(recorded)):
            keep = {anchor[chain][0]} if anchor and chain in anchor else None
            report.chains.append(walk(chain, _events(conn, chain), recorded.get(chain), keep))
        _check_photos(conn, photos_root, report)
        if since:
            _check_since(report, since, anchor)
        return report
    finally:
        conn.close()


def _anchor(conn: sqlite3.Connection, since: str) -> dict[str, tuple[int, str]] | None:
    """The heads a --since hash stands for: a recorded set of heads, or one event's place."""
    row = conn.execute(
        "SELECT heads FROM chain_anchors WHERE digest = ? ORDER BY id LIMIT 1", (since,)
    ).fetchone()
    if row is not None:
        return {c: (int(s), str(h)) for c, (s, h) in json.loads(row[0]).items()}
    event = conn.execute("SELECT chain, seq FROM events WHERE hash = ?", (since,)).fetchone()
    if event is not None and event[0] is not None:
        return {str(event[0]): (int(event[1]), since)}
    return None


def _check_since(report: Report, since: str, anchor: dict[str, tuple[int, str]] | None) -> None:
    if anchor is None:
        report.since_ok = False
        report.since = f"{since} is neither a recorded head nor an event of any chain"
        return
    one_event = len(anchor) == 1 and next(iter(anchor.values()))[1] == since
    if not one_event and heads_digest(anchor) != since:
        report.since_ok = False
        report.since = f"the heads recorded under {since} no longer hash to it: changed"
        return
    states = {c.chain: c for c in report.chains}
    for chain, (seq, head) in sorted(anchor.items()):
        state = states.get(chain)
        broken = state.broken if state else None
        if state is None or (broken is not None and broken.position <= seq):
            report.since_ok = False
            where = f" at position {broken.position}" if broken else ""
            report.since = f"chain {chain} changed before the recorded head{where}"
            return
        if state.hashes.get(seq) != head:
            report.since_ok = False
            report.since = f"chain {chain}: position {seq} is no longer the recorded head"
            return
    events = sum(seq for seq, _ in anchor.values())
    report.since = f"nothing before {since} changed: {len(anchor)} chain(s), {events} event(s)"


def format_report(report: Report) -> str:
    """What ``xiaoan verify`` prints."""
    lines = []
    for state in report.chains:
        name = report.names.get(state.chain, "?")
        label = f"chain {state.chain} ({name})"
        if state.broken is None:
            lines.append(f"{label}: intact, {state.events} events, head {state.head}")
        else:
            lines.append(f"{label}: {_break_text(state.broken)}")
    if report.unchained:
        lines.append(f"events without a chain: {report.unchained}")
    if report.photo_problems:
        for problem in report.photo_problems:
            where = (
                f" (bound at chain {problem.chain} position {problem.position},"
                f" event {problem.event_id})"
                if problem.chain
                else ""
            )
            lines.append(f"photo {problem.kind}: {problem.detail}{where}")
    else:
        lines.append(f"photos: intact, {report.photos_checked} files")
    lines.append(f"all heads: {heads_digest(report.heads)}")
    if report.since:
        lines.append(report.since)
    lines.append("intact" if report.intact else "BROKEN")
    return "\n".join(lines)


def _break_text(b: Break) -> str:
    event = f", event {b.event_id}" if b.event_id is not None else ""
    return f"BROKEN at position {b.position}{event}: {b.kind} ({b.detail})"


# --- heads, anchors, seals -----------------------------------------------------


async def heads(db: Reader) -> dict[str, tuple[int, str]]:
    return {r["chain"]: (r["seq"], r["hash"]) for r in await db.all("SELECT * FROM chain_heads")}


async def record_anchor(tx: Tx) -> str:
    """Keep the heads as they are now; return their digest (the daily job logs it)."""
    now = await heads(tx)
    digest = heads_digest(now)
    await tx.run(
        "INSERT INTO chain_anchors (at, digest, heads) VALUES (?, ?, ?)",
        (tx.now(), digest, json.dumps({c: list(v) for c, v in now.items()})),
    )
    return digest


@dataclass(frozen=True)
class Seal:
    """What an export prints: which head, how many events, and when it was made."""

    scope: str  # "s<id>" for a school, "all" for the city
    events: int
    hash: str
    at: str

    def text(self) -> str:
        if self.scope == "all":
            what = f"全部{self.events}条记录链头摘要 all heads"
        else:
            what = f"本校记录链头 chain {self.scope} #{self.events}"
        return f"数据校验 {what}: {self.hash}  导出时间 made {self.at}  (xiaoan verify)"


def head_query(chain: str) -> Query:
    """One chain's head (``school_seal`` reads it; a tap may read it ahead)."""
    return "SELECT seq, hash FROM chain_heads WHERE chain = ?", (chain,)


async def school_seal(db: Reader, school_id: int, at: datetime) -> Seal:
    """A school's head, as its papers print it, made ``at``."""
    chain = school_chain(school_id)
    row = await db.one(*head_query(chain))
    seq, head = (row["seq"], row["hash"]) if row is not None else (0, GENESIS)
    return Seal(chain, seq, head, at.isoformat(timespec="seconds"))


async def seal(db: Database, school_id: int | None) -> Seal:
    """A school's head; for the city, the digest over every chain's head, recorded as an
    anchor so that ``verify --since`` finds the heads a city-wide paper was made from."""
    if school_id is not None:
        return await school_seal(db, school_id, db.clock.now())
    at = db.clock.now().isoformat(timespec="seconds")
    async with db.write() as tx:
        now = await heads(tx)
        digest = await record_anchor(tx)
    return Seal("all", sum(seq for seq, _ in now.values()), digest, at)
