"""Supervision (督查) as plain rules: the draw, visits, findings and who may do what.

The draw (双随机) picks schools at random among those not yet visited in the
campaign, and for each school supervisors from the supervisor pool, never one
who belongs to that school. It is reproducible: the same seed and the same
candidate lists give the same result, so a stored draw can be re-run by anyone
(``xiaoan draw --verify``). Nothing here reads the clock, the database or a
random source of its own: the seed is passed in.

No notice (四不两直): a visit is invisible to the school's members until it
starts on site; its record reaches the principal when it ends.

A visit's steps (arriving, walking a building, answering blind, giving a finding
and matching it to the ledger) are decided here on typed records (``Visit``,
``SupervisionWalk``, ``Finding``…) that ``storage.supervision`` fills in and
``cases.supervision`` acts on.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ledger.errors import NotAllowed, Stale, XiaoanError
from ledger.hazards import Hazard
from ledger.rectify import State
from ledger.roles import Person, Role
from ledger.walk import Choice

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


class FindingState(StrEnum):
    DRAFT = "draft"  # its photos, description and weight being given
    RECORDED = "recorded"
    WITHDRAWN = "withdrawn"  # the visit ended before it was recorded: kept, never counted


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


def contradicts(school_answer: Choice | None, supervisor_answer: Choice) -> bool:
    """The supervisor found otherwise than the school's own answer on the item."""
    return school_answer is not None and school_answer != supervisor_answer


def reopenable(state: State) -> bool:
    """Only a closed (verified) hazard can be found rectified badly."""
    return state == State.CLOSED


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


# --- the records: a visit, a supervision walk, an answer, a finding ------------------


@dataclass(frozen=True)
class Visit:
    """A visit with its school and supervisors; moments parsed."""

    id: int
    campaign_id: int
    school_id: int
    school_name: str
    district: str
    draw_id: int | None
    chosen_by: ChosenBy
    state: VisitState
    supervisor_ids: tuple[int, ...]
    created_at: datetime
    started_at: datetime | None
    started_by: int | None
    ended_at: datetime | None
    ended_by: int | None


@dataclass(frozen=True)
class SupervisionWalk:
    """A building walked in supervision mode, with what the checklist needs of it."""

    id: int
    visit_id: int
    campaign_id: int
    school_id: int
    building_id: int
    building_name: str
    building_use: str
    year_built: int | None
    checklist_version_id: int
    walker_id: int
    started_at: datetime
    finished_at: datetime | None
    answered: int  # items answered so far

    @property
    def finished(self) -> bool:
        return self.finished_at is not None


@dataclass(frozen=True)
class SupervisionAnswer:
    """The supervisor's blind answer, and the school's own as it stood then."""

    item_id: int
    choice: Choice
    school_choice: Choice | None
    answered_by: int
    answered_at: datetime


@dataclass(frozen=True)
class Contradiction:
    """A school's own answer a supervisor found otherwise, on a visit."""

    building_name: str
    item_code: str
    school_choice: Choice
    choice: Choice


@dataclass(frozen=True)
class Finding:
    """What a supervisor found, with the names it is shown with."""

    id: int
    visit_id: int
    walk_id: int | None
    school_id: int
    campaign_id: int
    building_id: int | None
    building_name: str | None
    item_id: int | None
    item_code: str | None
    state: FindingState
    kind: FindingKind | None
    photos_done: bool
    photos: int  # photos given so far
    description: str | None
    major: bool | None
    hazard_id: int | None
    hazard_text: str | None  # the description of the hazard it names
    closed_fix_id: int | None
    verifier_id: int | None
    verifier_name: str | None
    found_by: int
    finder_name: str
    found_at: datetime
    recorded_at: datetime | None


@dataclass(frozen=True)
class VisitBuilding:
    """A building of the visited school as the visit shows it."""

    id: int
    name: str
    self_state: str  # its self-inspection: not_started, in_progress, closed
    missed: bool  # added by a visit as a building the school never registered
    hazards: int  # on the ledger
    still_open: int  # of those, open or submitted


# --- the steps of a visit, decided from what is stored -------------------------------


def require_supervisor(person: Person) -> None:
    """Supervision's commands are a supervisor's."""
    if not is_supervisor(person):
        raise VisitRefused(reason="not_supervisor")


def can_list_visits(person: Person) -> bool:
    """``/visits``: the city's list, for the task force and supervisors."""
    return person.is_taskforce or is_supervisor(person)


def can_open_record(person: Person, school_id: int, state: VisitState) -> bool:
    """A record opened from ``/visits``: an ended visit, for a city role not of the school
    (a member of the school gets the record in its own chat, from the principal's notice)."""
    return state is VisitState.ENDED and can_list_visits(person) and can_see_plan(person, school_id)


def require_on_drawn(person: Person, visit: Visit) -> None:
    """Starting a drawn visit: a supervisor drawn for it, not of that school, once."""
    require_can_visit(person, visit.school_id)
    if person.id not in visit.supervisor_ids:
        raise VisitRefused(reason="not_on_visit")
    require_startable(visit.state)


def elsewhere(mine: Visit | None, school_id: int) -> bool:
    """A supervisor is on one visit at a time: another school waits until it ends."""
    return mine is not None and mine.school_id != school_id


def schools_to_visit(person: Person, schools: Iterable[SchoolCandidate]) -> list[SchoolCandidate]:
    """The schools a supervisor may pick by hand: any but their own."""
    return [s for s in schools if not person.roles_in(s.id)]


def planned_for(visits: Iterable[Visit], person_id: int) -> list[Visit]:
    """The drawn visits this supervisor is to start."""
    return [v for v in visits if v.state is VisitState.PLANNED and person_id in v.supervisor_ids]


def parse_choice(value: str) -> Choice:
    """An answer's choice as a button carries it; anything else is forged."""
    try:
        return Choice(value)
    except ValueError:
        raise NotAllowed() from None


class Arrival(StrEnum):
    """What arriving at a school does to its visit."""

    BY_HAND = "by_hand"  # no visit: one is made and started now
    START = "start"  # the drawn visit starts
    JOIN = "join"  # already started, with this supervisor on it


def arrival(person: Person, school_id: int, live: Visit | None) -> Arrival:
    """The supervisor is at the school: what happens to its planned or running visit."""
    require_can_visit(person, school_id)
    if live is None:
        return Arrival.BY_HAND
    if live.state is VisitState.STARTED:
        if person.id in live.supervisor_ids:
            return Arrival.JOIN
        raise VisitRefused(reason="started")
    return Arrival.START


def require_walker(walk: SupervisionWalk, person_id: int) -> None:
    """A supervision walk's taps are its walker's."""
    if walk.walker_id != person_id:
        raise NotAllowed()


def walk_taken(walk: SupervisionWalk | None, person_id: int) -> bool:
    """Someone else is walking this building now (a finished walk may be opened by anyone)."""
    return walk is not None and walk.walker_id != person_id and not walk.finished


def require_next_item(
    item_ids: Sequence[int], answered: Collection[int], draft: Finding | None, item_id: int
) -> None:
    """An answer is for the item asked now: not one of another building, nor one answered,
    nor while a finding is being given."""
    if item_id not in item_ids:
        raise NotAllowed()
    if draft is not None or next_item(item_ids, answered) != item_id:
        raise Stale()


def require_last_question(
    walk: SupervisionWalk, item_ids: Sequence[int], answered: Collection[int], draft: Finding | None
) -> None:
    """ "Any other hazard?" is asked once every item is answered, before the walk ends."""
    if draft is not None or next_item(item_ids, answered) is not None or walk.finished:
        raise Stale()


class FindingStep(StrEnum):
    """What a finding waits for: photos, a description, its weight, then its match."""

    PHOTOS = "photos"
    DESCRIPTION = "description"
    MAJOR = "major"
    MATCH = "match"


def finding_step(finding: Finding) -> FindingStep:
    if not finding.photos_done:
        return FindingStep.PHOTOS
    if finding.description is None:
        return FindingStep.DESCRIPTION
    if finding.major is None:
        return FindingStep.MAJOR
    return FindingStep.MATCH


def require_my_draft(finding: Finding, person_id: int) -> None:
    """A finding is given by whoever found it, while it is a draft."""
    if finding.found_by != person_id:
        raise NotAllowed()
    if finding.state is not FindingState.DRAFT:
        raise Stale()


def require_step(finding: Finding, step: FindingStep) -> None:
    """A tap for another step than the one waiting is from an old question."""
    if finding_step(finding) is not step:
        raise Stale()


def require_photos_answer(finding: Finding, done: bool) -> None:
    """ "Photos done" needs photos, "no photo" none: the button shown said which."""
    require_step(finding, FindingStep.PHOTOS)
    if done != bool(finding.photos):
        raise Stale()


class Matching(StrEnum):
    """What matching a finding to the ledger makes of it."""

    LISTED = "listed"
    OFF_LIST = "off_list"
    REOPEN = "reopen"


def match(finding: Finding, hazard: Hazard | None) -> Matching:
    """A listed hazard of the finding's building (reopened when it was closed: rectified
    badly, which needs a photo as evidence); None: off the list (清单外)."""
    require_step(finding, FindingStep.MATCH)
    if hazard is None:
        return Matching.OFF_LIST
    if hazard.building_id != finding.building_id:
        raise NotAllowed()
    if not reopenable(hazard.state):
        return Matching.LISTED
    if not finding.photos:
        raise VisitRefused(reason="need_photo")
    return Matching.REOPEN


def match_order(hazards: Sequence[Hazard], item_id: int | None, most: int) -> list[Hazard]:
    """The listed hazards offered for a match: the same item's first, at most ``most``."""
    same = [h for h in hazards if h.item_id == item_id]
    return (same + [h for h in hazards if h.item_id != item_id])[:most]


def told_of_reopening(responsible_id: int | None, verifier_id: int | None) -> list[int]:
    """Who hears that a closed hazard is open again: its responsible person and whoever
    verified the fix that closed it."""
    return sorted({pid for pid in (responsible_id, verifier_id) if pid})


def still_open(state: State) -> bool:
    """A ledger hazard the school still has to deal with."""
    return state in (State.OPEN, State.SUBMITTED)
