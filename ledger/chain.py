"""The hash chain of the event log: how an event is hashed, and how a chain is checked.

Every event carries the SHA-256 of its own content and of the hash of the
event before it in the same chain, so that changing, removing or inserting an
event anywhere breaks the links after it. There is one chain per school
("s<id>") and one for city-level events ("city"): writers for different
schools never wait on one another. Photos are bound in by the SHA-256 their
events name. Nothing here touches the database; ``storage.chain`` does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# One encoder for every event: json.dumps would build one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
GENESIS = "0" * 64  # the "previous hash" of a chain's first event
CITY = "city"


def school_chain(school_id: int | None) -> str:
    return CITY if school_id is None else f"s{school_id}"


def event_hash(
    chain: str,
    seq: int,
    prev_hash: str,
    at: str,
    actor_id: int | None,
    action: str,
    subject: str,
    subject_id: int,
    before: str | None,
    after: str | None,
) -> str:
    """SHA-256 over an event's content exactly as stored (its JSON texts as they are)."""
    content = [chain, seq, prev_hash, at, actor_id, action, subject, subject_id, before, after]
    encoded = _ENCODER.encode(content)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def heads_digest(heads: Mapping[str, tuple[int, str]]) -> str:
    """One hash over every chain's head: what a city-wide paper prints."""
    lines = "".join(f"{chain}:{seq}:{head}\n" for chain, (seq, head) in sorted(heads.items()))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StoredEvent:
    """An event row as the chain check reads it."""

    id: int
    chain: str
    seq: int | None
    prev_hash: str | None
    hash: str | None
    at: str
    actor_id: int | None
    action: str
    subject: str
    subject_id: int
    before: str | None
    after: str | None


@dataclass(frozen=True)
class Break:
    """The first place a chain stops holding: which event, at which position, and how."""

    chain: str
    position: int  # 1-based place in the chain
    event_id: int | None
    kind: str  # edited, deleted, inserted, unchained, truncated
    detail: str


@dataclass(frozen=True)
class ChainState:
    chain: str
    events: int
    head: str
    broken: Break | None
    # The hashes of the positions asked for (for --since).
    hashes: dict[int, str]


def walk(
    chain: str,
    events: Iterable[StoredEvent],
    recorded_head: tuple[int, str] | None = None,
    keep: set[int] | None = None,
) -> ChainState:
    """Check one chain's events (in the order they were written); stop at the first break.

    ``recorded_head`` is the chain's head as the database keeps it: events
    removed from the end show as the walk ending before it. ``keep`` names
    positions whose hashes the caller wants back.
    """
    expected, prev, count = 1, GENESIS, 0
    hashes: dict[int, str] = {}
    last_id: int | None = None
    for e in events:
        if e.seq is None or e.hash is None or e.prev_hash is None:
            return ChainState(
                chain, count, prev, Break(chain, expected, e.id, "unchained", "no hash"), hashes
            )
        if e.seq > expected:
            missing = (
                f"position {expected}" if e.seq == expected + 1 else f"{expected}..{e.seq - 1}"
            )
            detail = f"{missing} missing before event {e.id}"
            return ChainState(
                chain, count, prev, Break(chain, expected, e.id, "deleted", detail), hashes
            )
        if e.seq < expected:
            detail = f"event {e.id} claims position {e.seq}, already held by an earlier event"
            return ChainState(
                chain, count, prev, Break(chain, e.seq, e.id, "inserted", detail), hashes
            )
        content = event_hash(
            e.chain,
            e.seq,
            e.prev_hash,
            e.at,
            e.actor_id,
            e.action,
            e.subject,
            e.subject_id,
            e.before,
            e.after,
        )
        if content != e.hash:
            detail = f"event {e.id}: its content does not match its hash"
            return ChainState(
                chain, count, prev, Break(chain, e.seq, e.id, "edited", detail), hashes
            )
        if e.prev_hash != prev:
            # This event is intact but does not follow the one before it: that one
            # was replaced (rewritten with a new hash) or put in.
            detail = f"event {last_id} does not lead to event {e.id}: replaced or inserted"
            return ChainState(
                chain, count - 1, prev, Break(chain, e.seq - 1, last_id, "inserted", detail), hashes
            )
        prev, count, expected, last_id = e.hash, count + 1, expected + 1, e.id
        if keep is not None and e.seq in keep:
            hashes[e.seq] = e.hash
    if recorded_head is not None and (count, prev) != recorded_head:
        seq, head = recorded_head
        kind = "truncated" if seq > count else "inserted"
        detail = f"the recorded head is position {seq} ({head[:12]}…), the chain ends at {count}"
        return ChainState(
            chain, count, prev, Break(chain, min(seq, count + 1), None, kind, detail), hashes
        )
    return ChainState(chain, count, prev, None, hashes)
