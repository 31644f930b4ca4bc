"""How much one sender may ask of the bot: token buckets per sender, time passed in.

A flood must cost the flooder, not everyone else. Each sender has a bucket
for what they are: a member (or someone joining with a valid code) may work
fast, in bursts (an album of photos, quick taps through a walk); a stranger,
who has not joined, gets one answer and then silence for a while, except for
a few ``/start <code>`` tries (a mistyped invitation can be sent again).

Past the limit a member is told once to slow down, then ignored until the
bucket refills; a stranger is ignored. Nothing here does I/O: the guard in
``handlers.guard`` asks, with the time of a monotonic clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Verdict(Enum):
    """What to do with one update."""

    HANDLE = "handle"  # within the sender's allowance
    WARN = "warn"  # the first one past it: say once to slow down, handle nothing
    DROP = "drop"  # past it, already told: silence


class Lane(Enum):
    """Which allowance an update draws on."""

    MEMBER = "member"
    JOIN = "join"  # a stranger's /start: tries of an invitation code
    STRANGER = "stranger"  # anything else from someone who has not joined


@dataclass(frozen=True)
class Pace:
    """``burst`` updates at once, refilled at ``per_second``; ``warn``: say so once past it."""

    burst: float
    per_second: float
    warn: bool


# A person walking a building taps about once every few seconds and sends
# albums of up to ten photos; sixty at once and one a second is far above that.
MEMBER = Pace(burst=60, per_second=1.0, warn=True)
# Five tries of an invitation code, then one more every two minutes.
JOIN = Pace(burst=5, per_second=1 / 120, warn=False)
# One answer, then silence for ten minutes.
STRANGER = Pace(burst=1, per_second=1 / 600, warn=False)
PACES = {Lane.MEMBER: MEMBER, Lane.JOIN: JOIN, Lane.STRANGER: STRANGER}

# Senders remembered before the full (idle) buckets are forgotten.
REMEMBERED = 10_000


@dataclass
class _Bucket:
    tokens: float
    at: float
    warned: bool = False


@dataclass
class Throttle:
    """The buckets of every sender seen lately; ``paces`` may be replaced (``None``: no limit)."""

    paces: dict[Lane, Pace | None] = field(default_factory=lambda: dict(PACES))
    _buckets: dict[tuple[Lane, int], _Bucket] = field(default_factory=dict)

    def verdict(self, lane: Lane, sender: int, now: float) -> Verdict:
        """Take one update from ``sender``'s allowance in ``lane`` at time ``now`` (seconds)."""
        pace = self.paces.get(lane)
        if pace is None:
            return Verdict.HANDLE
        key = (lane, sender)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= REMEMBERED:
                self._forget_idle(now)
            bucket = self._buckets[key] = _Bucket(pace.burst, now)
        bucket.tokens = min(pace.burst, bucket.tokens + (now - bucket.at) * pace.per_second)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.warned = False
            return Verdict.HANDLE
        if pace.warn and not bucket.warned:
            bucket.warned = True
            return Verdict.WARN
        return Verdict.DROP

    def _forget_idle(self, now: float) -> None:
        """Drop the buckets that have refilled: forgetting them changes nothing."""
        for key, bucket in list(self._buckets.items()):
            pace = self.paces.get(key[0])
            if pace is None or bucket.tokens + (now - bucket.at) * pace.per_second >= pace.burst:
                del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)
