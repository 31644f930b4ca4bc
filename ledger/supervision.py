"""Supervision (督查) as plain rules: the draw, visits, findings and who may do what.

The draw (双随机) picks schools at random among those not yet visited in the
campaign, and for each school supervisors from the supervisor pool, never one
who belongs to that school. It is reproducible: the same seed and the same
candidate lists give the same result, so a stored draw can be re-run by anyone
(``xiaoan draw --verify``). Nothing here reads the clock, the database or a
random source of its own: the seed is passed in.

No notice (四不两直): a visit is invisible to the school's members until it
starts on site; its record reaches the principal when it ends.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from ledger.errors import XiaoanError
from ledger.roles import Person, Role

# A draw asks for at most this many schools or supervisors per visit: a city's
# worth, and a bound on what a typed number can make the bot do.
DRAW_MAX = 1000


class DrawRefused(XiaoanError):
    """A draw that cannot be made (``reason`` says why: too many schools or supervisors)."""

    code = "draw"


class VisitRefused(XiaoanError):
    """A visit that cannot start or go on (``reason``: own school, started, ended...)."""

    code = "visit"


class VisitState(StrEnum):
    PLANNED = "planned"  # drawn, nobody has arrived yet
    STARTED = "started"  # a supervisor started it on site
    ENDED = "ended"  # its record is made


class ChosenBy(StrEnum):
    """How a visit's school was chosen: the record says which."""

    DRAWN = "drawn"
    BY_HAND = "by_hand"


class FindingKind(StrEnum):
    LISTED = "listed"  # already on the school's ledger
    OFF_LIST = "off_list"  # 清单外: the school's own inspection missed it
    ACCIDENT = "accident"  # a major off-list hazard: 按事故对待
    RECTIFIED_BADLY = "rectified_badly"  # 整改不到位: a closed hazard reopened
    MISSED_BUILDING = "missed_building"  # 遗漏建筑: a building the school never registered


# The kinds that count against the school in every report.
AGAINST_SCHOOL = frozenset(
    {
        FindingKind.OFF_LIST,
        FindingKind.ACCIDENT,
        FindingKind.RECTIFIED_BADLY,
        FindingKind.MISSED_BUILDING,
    }
)


class Origin(StrEnum):
    """Where a hazard on the ledger came from."""

    SELF_INSPECTION = "self_inspection"
    QUICK = "quick"
    SUPERVISION = "supervision"


def origin_of(source: str, visit_id: int | None) -> Origin:
    """A hazard's origin: an off-list supervision finding, else how the school reported it."""
    if visit_id is not None:
        return Origin.SUPERVISION
    return Origin.QUICK if source == "quick" else Origin.SELF_INSPECTION


def new_hazard_kind(major: bool) -> FindingKind:
    """A hazard that is not on the list: off-list, or accident-grade when major."""
    return FindingKind.ACCIDENT if major else FindingKind.OFF_LIST


# --- the draw ------------------------------------------------------------------


@dataclass(frozen=True)
class SchoolCandidate:
    id: int
    name: str
    district: str
    kind: str


@dataclass(frozen=True)
class SupervisorCandidate:
    id: int
    name: str
    school_ids: frozenset[int] = frozenset()  # schools they are a member of


@dataclass(frozen=True)
class DrawnVisit:
    school_id: int
    supervisor_ids: tuple[int, ...]


@dataclass(frozen=True)
class Draw:
    """What a draw stores: everything needed to make it again."""

    seed: str
    schools_asked: int
    supervisors_per_visit: int
    school_candidates: tuple[SchoolCandidate, ...]
    supervisor_pool: tuple[SupervisorCandidate, ...]
    visits: tuple[DrawnVisit, ...]


def school_candidates(
    schools: Iterable[SchoolCandidate],
    visited: Collection[int],
    districts: Collection[str] = (),
    kinds: Collection[str] = (),
) -> tuple[SchoolCandidate, ...]:
    """The schools a draw may pick, in id order: not yet visited, in the districts and kinds."""
    return tuple(
        sorted(
            (
                s
                for s in schools
                if s.id not in visited
                and (not districts or s.district in districts)
                and (not kinds or s.kind in kinds)
            ),
            key=lambda s: s.id,
        )
    )


def _check_count(value: int, name: str) -> None:
    if not 1 <= value <= DRAW_MAX:
        raise DrawRefused(reason="count", what=name, value=value, most=DRAW_MAX)


def draw(
    seed: str,
    schools: Sequence[SchoolCandidate],
    supervisors: Sequence[SupervisorCandidate],
    n_schools: int,
    per_visit: int,
) -> Draw:
    """Draw ``n_schools`` schools and ``per_visit`` supervisors for each.

    The candidates are put in id order first, so the result depends only on the
    seed and on who the candidates are, never on how a query ordered them.
    """
    _check_count(n_schools, "schools")
    _check_count(per_visit, "supervisors")
    pool_schools = tuple(sorted(schools, key=lambda s: s.id))
    pool = tuple(sorted(supervisors, key=lambda s: s.id))
    if n_schools > len(pool_schools):
        raise DrawRefused(reason="schools", asked=n_schools, left=len(pool_schools))
    if per_visit > len(pool):
        raise DrawRefused(reason="supervisors", asked=per_visit, pool=len(pool))
    rng = random.Random(seed)
    picked = rng.sample(pool_schools, n_schools)
    visits = []
    for school in picked:
        eligible = [s for s in pool if school.id not in s.school_ids]
        if per_visit > len(eligible):
            raise DrawRefused(
                reason="members", school=school.name, asked=per_visit, left=len(eligible)
            )
        chosen = rng.sample(eligible, per_visit)
        visits.append(DrawnVisit(school.id, tuple(s.id for s in chosen)))
    return Draw(seed, n_schools, per_visit, pool_schools, pool, tuple(visits))


def redraw(stored: Draw) -> Draw:
    """The same draw made again from its stored seed and candidates."""
    return draw(
        stored.seed,
        stored.school_candidates,
        stored.supervisor_pool,
        stored.schools_asked,
        stored.supervisors_per_visit,
    )


def verify_draw(stored: Draw) -> bool:
    """Whether the stored result is what the stored seed and candidates give."""
    try:
        return redraw(stored).visits == stored.visits
    except DrawRefused:
        return False


# --- rights ----------------------------------------------------------------------


def is_supervisor(person: Person) -> bool:
    return any(m.role is Role.SUPERVISOR for m in person.memberships)


def can_draw(person: Person) -> bool:
    """The task force or a supervisor asks for a draw."""
    return person.is_taskforce or is_supervisor(person)


def require_can_visit(person: Person, school_id: int) -> None:
    """A supervisor visits any school but their own; nobody else visits."""
    if not is_supervisor(person):
        raise VisitRefused(reason="not_supervisor")
    if person.roles_in(school_id):
        raise VisitRefused(reason="own_school")


def can_see_plan(person: Person, school_id: int) -> bool:
    """A planned or running visit: the task force, and supervisors not of that school.

    A member of the school never sees it (四不两直), whatever else they are.
    """
    if person.roles_in(school_id):
        return False
    return person.is_taskforce or is_supervisor(person)


def can_see_record(person: Person, school_id: int, state: VisitState) -> bool:
    """An ended visit's record: the city roles, and the visited school's own members."""
    if state is not VisitState.ENDED:
        return can_see_plan(person, school_id)
    return bool(person.roles_in(school_id)) or person.is_taskforce or is_supervisor(person)


def require_on_visit(person_id: int, supervisor_ids: Collection[int], state: VisitState) -> None:
    """Walking, recording and ending: only a supervisor of a started visit."""
    if person_id not in supervisor_ids:
        raise VisitRefused(reason="not_on_visit")
    if state is VisitState.PLANNED:
        raise VisitRefused(reason="not_started")
    if state is VisitState.ENDED:
        raise VisitRefused(reason="ended")


def require_startable(state: VisitState) -> None:
    """A visit starts once: a second start is refused and says so."""
    if state is VisitState.STARTED:
        raise VisitRefused(reason="started")
    if state is VisitState.ENDED:
        raise VisitRefused(reason="ended")


# --- the supervision walk --------------------------------------------------------


def next_item(item_ids: Sequence[int], answered: Collection[int]) -> int | None:
    """The first item the supervisor has not answered yet (blind, one at a time)."""
    return next((i for i in item_ids if i not in answered), None)


def contradicts(school_answer: str | None, supervisor_answer: str) -> bool:
    """The supervisor found otherwise than the school's own answer on the item."""
    return school_answer is not None and school_answer != supervisor_answer


def reopenable(state: str) -> bool:
    """Only a closed (verified) hazard can be found rectified badly."""
    return state == "closed"


@dataclass(frozen=True)
class WalkFacts:
    building: str
    items: int
    answered: int
    finished: bool


@dataclass(frozen=True)
class Record:
    """What a visit's record counts."""

    walks: tuple[WalkFacts, ...]
    findings: Mapping[FindingKind, int]
    contradicted: int

    @property
    def items_checked(self) -> int:
        return sum(w.answered for w in self.walks)

    @property
    def unfinished(self) -> tuple[WalkFacts, ...]:
        return tuple(w for w in self.walks if not w.finished)


def record(walks: Iterable[WalkFacts], kinds: Iterable[FindingKind], contradicted: int) -> Record:
    counts = dict.fromkeys(FindingKind, 0)
    for kind in kinds:
        counts[kind] += 1
    return Record(tuple(walks), counts, contradicted)
