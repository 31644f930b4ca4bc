"""What the reports count: the form's five totals, a school's progress, the city's.

Pure rules over plain values, so the form, the city report and ``/progress``
count the same way. A hazard counts once it is reported in full (open,
submitted, closed or unfixable); drafts and withdrawn ones never count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

# Hazard states that are on the ledger.
COUNTED_STATES = ("open", "submitted", "closed", "unfixable")
# States that still need work.
OPEN_STATES = ("open", "submitted")


@dataclass(frozen=True)
class HazardFacts:
    """What the totals need to know of one hazard."""

    fixable_now: bool
    takes_out_of_use: bool
    state: str
    deadline: date | None = None


@dataclass(frozen=True)
class BuildingFacts:
    """What the totals need to know of one building."""

    out_of_use: bool
    hazards: Sequence[HazardFacts]
    walk: str = "not_started"  # ledger.walk.BuildingState's value

    @property
    def has_hazards(self) -> bool:
        return bool(self.hazards)

    @property
    def fixable_at_once(self) -> bool:
        """All its new hazards can be fixed at once (and it has some)."""
        return bool(self.hazards) and all(h.fixable_now for h in self.hazards)

    @property
    def hard_to_fix(self) -> bool:
        """Any of its new hazards cannot be fixed in the short term."""
        return any(not h.fixable_now for h in self.hazards)

    @property
    def stopped(self) -> bool:
        """Out of use: marked so, or a hazard took it out of use."""
        return self.out_of_use or any(h.takes_out_of_use for h in self.hazards)


@dataclass(frozen=True)
class FormTotals:
    """The 合计 line of the summary form."""

    buildings: int
    with_hazards: int
    fixable_at_once: int
    hard_to_fix: int
    out_of_use: int


def form_totals(buildings: Iterable[BuildingFacts]) -> FormTotals:
    """The five totals, counted over every building of the school."""
    rows = list(buildings)
    return FormTotals(
        buildings=len(rows),
        with_hazards=sum(b.has_hazards for b in rows),
        fixable_at_once=sum(b.fixable_at_once for b in rows),
        hard_to_fix=sum(b.hard_to_fix for b in rows),
        out_of_use=sum(b.stopped for b in rows),
    )


@dataclass(frozen=True)
class SchoolProgress:
    """One school's figures for the city report and ``/progress``.

    Like the form, ``fixable_at_once``, ``hard_to_fix`` and ``out_of_use``
    count buildings, so the city's totals are the sum of the schools' forms.
    """

    buildings: int
    inspected: int  # walks closed (销号)
    in_progress: int
    hazards: int
    with_hazards: int  # buildings
    fixable_at_once: int  # buildings
    hard_to_fix: int  # buildings
    out_of_use: int  # buildings
    closed: int  # hazards closed
    unfixable: int  # hazards that cannot be fixed: the building is out of use
    overdue: int  # hazards still open past their deadline

    @property
    def started(self) -> bool:
        return self.inspected > 0 or self.in_progress > 0 or self.hazards > 0

    @property
    def left_to_fix(self) -> int:
        """Hazards neither closed nor declared unfixable."""
        return self.hazards - self.closed - self.unfixable

    @property
    def percent_done(self) -> int:
        """Buildings inspected and hazards settled, as one share of all the work (0-100).

        Rounded down, so 100 means everything is done.
        """
        work = self.buildings + self.hazards
        done = self.inspected + self.closed + self.unfixable
        return 100 * done // work if work else 0


def school_progress(buildings: Iterable[BuildingFacts], today: date) -> SchoolProgress:
    """A school's figures from its buildings and their hazards."""
    rows = list(buildings)
    form = form_totals(rows)
    hazards = [h for b in rows for h in b.hazards]
    return SchoolProgress(
        buildings=form.buildings,
        inspected=sum(b.walk == "closed" for b in rows),
        in_progress=sum(b.walk == "in_progress" for b in rows),
        hazards=len(hazards),
        with_hazards=form.with_hazards,
        fixable_at_once=form.fixable_at_once,
        hard_to_fix=form.hard_to_fix,
        out_of_use=form.out_of_use,
        closed=sum(h.state == "closed" for h in hazards),
        unfixable=sum(h.state == "unfixable" for h in hazards),
        overdue=sum(is_overdue(h, today) for h in hazards),
    )


def is_overdue(hazard: HazardFacts, today: date) -> bool:
    """Still to be fixed and its deadline has passed."""
    return hazard.state in OPEN_STATES and hazard.deadline is not None and hazard.deadline < today


def add_up(schools: Iterable[SchoolProgress]) -> SchoolProgress:
    """The city's figures: every school's added up."""
    rows = list(schools)
    return SchoolProgress(
        **{
            name: sum(getattr(r, name) for r in rows)
            for name in SchoolProgress.__dataclass_fields__
        }
    )


def phase_missed(
    progress: SchoolProgress,
    today: date,
    self_inspection_due: date | None,
    rectification_due: date | None,
) -> bool:
    """Past a phase deadline with that phase's work not done."""
    if (
        self_inspection_due is not None
        and today > self_inspection_due
        and progress.inspected < progress.buildings
    ):
        return True
    return rectification_due is not None and today > rectification_due and progress.left_to_fix > 0
