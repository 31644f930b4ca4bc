"""Rules for photo evidence (no paper rectification, 账面整改): when a photo is flagged.

A photo matching one on record is decided in ``storage.evidence`` (the
fingerprints); here: the thresholds, and whether the capture time its
metadata gives makes an after-photo suspect. A capture time without an
offset is read in the campaign's time zone, as a phone's clock shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum


@dataclass(frozen=True)
class EvidenceRules:
    # Perceptual-hash bits within which a photo on record is a candidate match.
    match_distance: int = 24
    # Candidates whose fine detail correlates at least this much (percent) are the same picture.
    match_similarity_percent: int = 90
    # An after-photo taken more than this many days before the fix is reported is flagged.
    after_photo_max_age_days: int = 3


class TimeFlag(StrEnum):
    BEFORE_HAZARD = "before_hazard"  # taken before the hazard was recorded
    STALE = "stale"  # taken days before the fix was reported


def parse_taken(taken_at: str, tz: tzinfo) -> datetime | None:
    """A stored capture time as an aware datetime (naive: in the campaign's zone)."""
    try:
        moment = datetime.fromisoformat(taken_at)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def after_photo_flag(
    taken_at: str | None,
    hazard_reported_at: datetime,
    received_at: datetime,
    rules: EvidenceRules,
    tz: tzinfo,
) -> TimeFlag | None:
    """Why an after-photo's capture time makes it suspect, if it does."""
    if taken_at is None:
        return None
    taken = parse_taken(taken_at, tz)
    if taken is None:
        return None
    if taken < hazard_reported_at:
        return TimeFlag.BEFORE_HAZARD
    if received_at - taken > timedelta(days=rules.after_photo_max_age_days):
        return TimeFlag.STALE
    return None
