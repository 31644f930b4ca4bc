"""A hazard as it is being reported: which question comes next.

The next question is derived from what is already filled in, never stored
separately, so a restarted bot asks exactly what is still missing. A button
carries the step it answers; a tap whose step is no longer the next one is
stale and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from ledger.rectify import State


class Step(StrEnum):
    BUILDING = "bld"  # quick report only: which building
    PHOTOS = "ph"  # one or more photos, then "done" or "no photo"
    DESCRIPTION = "ds"
    FIXABLE = "fx"  # can it be fixed at once?
    DEADLINE = "dl"  # planned completion date
    RESPONSIBLE = "rp"  # responsible person: a colleague or a typed name
    MEASURES = "ms"
    OUT_OF_USE = "ou"  # is the building taken out of use?
    MAJOR = "mj"  # a major hazard asks the rest of the five fixes
    FUNDING = "fd"
    CONTINGENCY = "cp"  # contingency plan
    DONE = "ok"


# Steps answered by typing (the others by buttons, photos, or both).
TYPED_STEPS = frozenset(
    {
        Step.DESCRIPTION,
        Step.DEADLINE,
        Step.RESPONSIBLE,
        Step.MEASURES,
        Step.FUNDING,
        Step.CONTINGENCY,
    }
)

# Quick buttons for the planned completion date, in days from today.
DEADLINE_CHOICES = (7, 30, 90, 180)


@dataclass(frozen=True)
class HazardDraft:
    building_id: int | None
    photos_done: bool
    description: str | None
    fixable_now: bool | None
    deadline: date | None
    responsible_name: str | None
    measures: str | None
    takes_out_of_use: bool | None
    major: bool | None
    funding: str | None
    contingency_plan: str | None


@dataclass(frozen=True)
class Hazard:
    """A hazard as stored, with the names it is shown with (its school, building,
    checklist item and reporter); moments and days parsed, never sliced by hand."""

    id: int
    school_id: int
    school_name: str
    building_id: int | None
    building_name: str | None
    campaign_id: int
    inspection_id: int | None
    item_id: int | None
    item_code: str | None
    item_zh: str | None
    item_en: str | None
    source: str  # "walk" or "quick"
    reported_by: int
    reporter_name: str
    reported_at: datetime
    state: State
    photos_done: bool
    description: str | None
    fixable_now: bool | None
    deadline: date | None
    responsible_id: int | None
    responsible_name: str | None
    measures: str | None
    takes_out_of_use: bool | None
    major: bool | None
    funding: str | None
    contingency_plan: str | None
    completed_at: datetime | None
    closed_at: datetime | None
    demolition_due: date | None
    visit_id: int | None  # found by a supervision visit, off the school's own list
    accident_grade: bool  # treated as an accident (按事故对待)

    @property
    def draft(self) -> HazardDraft:
        """What is filled in so far, for the next question (``next_step``)."""
        return HazardDraft(
            building_id=self.building_id,
            photos_done=self.photos_done,
            description=self.description,
            fixable_now=self.fixable_now,
            deadline=self.deadline,
            responsible_name=self.responsible_name,
            measures=self.measures,
            takes_out_of_use=self.takes_out_of_use,
            major=self.major,
            funding=self.funding,
            contingency_plan=self.contingency_plan,
        )


@dataclass(frozen=True)
class Photo:
    """A photo of a hazard: before (the hazard) or after (a fix report's)."""

    id: int
    hazard_id: int
    kind: str  # "before" or "after"
    fix_report_id: int | None
    sha256: str
    uploaded_by: int
    uploaded_at: datetime
    # Capture time as the camera wrote it (an offset only when the camera gave one:
    # ``ledger.evidence.parse_taken`` reads it), and where, from its EXIF.
    taken_at: str | None
    latitude: float | None
    longitude: float | None
    reused_of: int | None  # kept although it copies this photo on record
    time_flag: str | None  # why its capture time is suspect (``ledger.evidence.TimeFlag``)


def next_step(h: HazardDraft) -> Step:
    """The question to ask next, from the fields filled in so far."""
    if h.building_id is None:
        return Step.BUILDING
    if not h.photos_done:
        return Step.PHOTOS
    if h.description is None:
        return Step.DESCRIPTION
    if h.fixable_now is None:
        return Step.FIXABLE
    if h.fixable_now:
        return Step.DONE
    for step, value in (
        (Step.DEADLINE, h.deadline),
        (Step.RESPONSIBLE, h.responsible_name),
        (Step.MEASURES, h.measures),
        (Step.OUT_OF_USE, h.takes_out_of_use),
        (Step.MAJOR, h.major),
    ):
        if value is None:
            return step
    if h.major:
        if h.funding is None:
            return Step.FUNDING
        if h.contingency_plan is None:
            return Step.CONTINGENCY
    return Step.DONE


def quick_fix_deadline(today: date, days: int) -> date:
    """A hazard fixable at once gets a short deadline (configurable, 7 days)."""
    return today + timedelta(days=days)


@dataclass(frozen=True)
class FixedAtOnce:
    """Who answers for a hazard fixable at once, and by when."""

    responsible_id: int
    responsible_name: str
    deadline: date


def fixed_at_once(reporter_id: int, reporter_name: str, today: date, days: int) -> FixedAtOnce:
    """A hazard its reporter says can be fixed at once: the reporter answers for it, with
    the short deadline (``quick_fix_deadline``); no other question is asked."""
    return FixedAtOnce(reporter_id, reporter_name, quick_fix_deadline(today, days))
