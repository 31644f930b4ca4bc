"""Rectification (整改) as plain rules: the states of a hazard and who moves it.

    open ──fix reported──▶ submitted ──verified──▶ closed (销号)
      ▲                        │
      └──────returned──────────┘
    open ──cannot be fixed──▶ unfixable (the building out of use, to be demolished)

Every action is checked here before anything is stored: who may take it
(``may``), and whether the hazard's state allows it (``transition``). The
handlers ask ``actions`` which buttons to show, so a person only sees what
they may do now; a crafted tap is refused by the same rules.

Who verifies a fix (``verifiers``): the school's principal and leaders, but
never whoever reported it. A school whose only manager reported the fix (a
principal without a leader) has nobody left: the task force verifies it
instead, so the seed's two signatures can always be given. A request for a
later deadline is decided the same way.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from ledger.errors import NotAllowed, NotLater, OwnFix, WrongState
from ledger.roles import Person, can_manage_school, can_read_school


class State(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    SUBMITTED = "submitted"
    CLOSED = "closed"
    UNFIXABLE = "unfixable"
    WITHDRAWN = "withdrawn"


class Action(StrEnum):
    """What can be done to a hazard; the values travel in callback data."""

    FIX = "fx"  # the responsible person reports the fix (after-photos, note)
    VERIFY = "vf"  # a leader or the principal accepts it: closed
    RETURN = "rt"  # ... or sends it back with a reason: open again
    EXTEND = "ex"  # the responsible person asks for a later deadline
    DECIDE = "dx"  # a leader approves or refuses that request
    UNFIXABLE = "uf"  # a leader: cannot be fixed, out of use, demolition deadline
    REASSIGN = "ra"  # a leader: another responsible person


# The state each action needs, and the state it leaves (None: unchanged).
TRANSITIONS: dict[Action, tuple[State, State | None]] = {
    Action.FIX: (State.OPEN, State.SUBMITTED),
    Action.VERIFY: (State.SUBMITTED, State.CLOSED),
    Action.RETURN: (State.SUBMITTED, State.OPEN),
    Action.EXTEND: (State.OPEN, None),
    Action.DECIDE: (State.OPEN, None),
    Action.UNFIXABLE: (State.OPEN, State.UNFIXABLE),
    Action.REASSIGN: (State.OPEN, None),
}


class FixState(StrEnum):
    DRAFT = "draft"  # after-photos and the note being given
    SUBMITTED = "submitted"  # waiting for a verifier
    ACCEPTED = "accepted"  # verified: the hazard is closed
    RETURNED = "returned"  # sent back with a reason
    DROPPED = "dropped"  # cancelled, or replaced by somebody else's


@dataclass(frozen=True)
class FixReport:
    """A fix reported by the responsible person (their signature), then decided by a
    verifier (the second signature, or the reason it went back)."""

    id: int
    hazard_id: int
    reported_by: int
    started_at: datetime
    state: FixState
    note: str | None
    submitted_at: datetime | None
    decided_by: int | None
    decided_at: datetime | None
    reason: str | None  # why it was returned
    reporter_name: str | None = None  # the names, where a list shows them
    decider_name: str | None = None


@dataclass(frozen=True)
class HistoryEvent:
    """One line of a hazard's history: who (None: the system) did what, when."""

    action: str
    at: datetime
    actor_name: str | None


class ChangeState(StrEnum):
    ASKED = "asked"
    APPROVED = "approved"
    REFUSED = "refused"


@dataclass(frozen=True)
class DeadlineChange:
    """A later deadline asked for and its decision (a demolition date is one, approved)."""

    id: int
    hazard_id: int
    old_deadline: date | None
    new_deadline: date
    reason: str
    asked_by: int
    asked_at: datetime
    state: ChangeState
    decided_by: int | None
    decided_at: datetime | None
    refusal: str | None
    asker_name: str | None = None
    decider_name: str | None = None


@dataclass(frozen=True)
class Listed:
    """A hazard as a list of work shows it (``/tasks``)."""

    id: int
    state: State
    deadline: date | None
    description: str | None
    school_id: int
    school_name: str
    building_name: str | None
    responsible_name: str | None
    accident_grade: bool  # treated as an accident (按事故对待): heads the list


# States in which a hazard still needs work; the others are settled.
PENDING = frozenset({State.OPEN, State.SUBMITTED})
# States that count as found (a draft or a withdrawn report does not).
FOUND = frozenset({State.OPEN, State.SUBMITTED, State.CLOSED, State.UNFIXABLE})


@dataclass(frozen=True)
class Facts:
    """What the rules need to know about one hazard."""

    state: State
    school_id: int
    responsible_id: int | None
    fix_reporter_id: int | None = None  # who reported the fix now waiting
    extension_asked_by: int | None = None  # who asked for the pending extension
    fix_id: int | None = None  # the fix now waiting (what verify and return name)
    extension_id: int | None = None  # the pending request (what approve and refuse name)
    # The school's principals and leaders: who may verify, besides the fix's reporter.
    managers: frozenset[int] = frozenset()


def verifiers(fix_reporter_id: int | None, managers: Collection[int]) -> frozenset[int]:
    """The school's people who may verify a fix: its managers but the one who reported it."""
    return frozenset(managers) - {fix_reporter_id}


def taskforce_verifies(fix_reporter_id: int | None, managers: Collection[int]) -> bool:
    """A fix nobody at the school may verify goes to the task force (and so does a
    request for a later deadline nobody at the school but its author may decide)."""
    return fix_reporter_id is not None and not verifiers(fix_reporter_id, managers)


def sole_manager(person_id: int | None, managers: Collection[int]) -> bool:
    """Whether a fix this person reports could only be verified by the task force:
    they are the school's one principal or leader (worth a word when they are named)."""
    return person_id in managers and taskforce_verifies(person_id, managers)


def may(person: Person, action: Action, h: Facts) -> bool:
    """Whether ``person`` may take ``action`` on this hazard, whatever its state."""
    manager = can_manage_school(person, h.school_id)
    taskforce = person.is_taskforce  # stands in where nobody at the school may sign
    if action is Action.FIX:
        return person.id == h.responsible_id or manager
    if action is Action.EXTEND:
        return person.id == h.responsible_id
    if action in (Action.VERIFY, Action.RETURN):
        return manager or (taskforce and taskforce_verifies(h.fix_reporter_id, h.managers))
    if action is Action.DECIDE:
        return h.extension_asked_by is not None and (
            manager or (taskforce and taskforce_verifies(h.extension_asked_by, h.managers))
        )
    return manager  # UNFIXABLE, REASSIGN


def entitled(person: Person, action: Action, h: Facts) -> bool:
    """Whether ``action`` on this hazard is this person's at all, whatever its state
    and the requests pending: a tap that fails this is not theirs (not allowed); one
    that passes it and fails ``transition`` only came late (already answered)."""
    if action in (Action.VERIFY, Action.RETURN, Action.DECIDE):
        # The task force stands in at a school with one manager or none, whoever asked.
        stands_in = person.is_taskforce and len(h.managers) <= 1
        return can_manage_school(person, h.school_id) or stands_in
    return may(person, action, h)


def transition(person: Person, action: Action, h: Facts) -> State:
    """The state after ``action``; refused (``NotAllowed``, ``OwnFix``, ``WrongState``)."""
    if not may(person, action, h):
        raise NotAllowed()
    needed, after = TRANSITIONS[action]
    if h.state is not needed:
        raise WrongState(reason=h.state.value)
    if action in (Action.VERIFY, Action.RETURN) and person.id == h.fix_reporter_id:
        raise OwnFix()
    if action is Action.DECIDE and person.id == h.extension_asked_by:
        raise OwnFix()
    if action is Action.EXTEND and h.extension_asked_by is not None:
        raise WrongState(reason="extension_asked")
    return after or h.state


def actions(person: Person, h: Facts) -> list[Action]:
    """The actions this person may take on this hazard now, in button order."""
    possible = []
    for action in Action:
        try:
            transition(person, action, h)
        except (NotAllowed, OwnFix, WrongState):
            continue
        possible.append(action)
    return possible


def may_see(person: Person, h: Facts) -> bool:
    """A hazard's card: its school's members, the task force and supervisors."""
    return can_read_school(person, h.school_id)


def check_extension(current: date | None, wanted: date) -> date:
    """A later deadline must be later than the one in force."""
    if current is not None and wanted <= current:
        raise NotLater(deadline=current.isoformat())
    return wanted


def days_left(deadline: date | None, today: date) -> int | None:
    """Days until the deadline (negative: overdue), or None without one."""
    return None if deadline is None else (deadline - today).days


def task_order(deadline: date | None, today: date) -> tuple[int, str]:
    """Overdue first, then by deadline; no deadline last."""
    if deadline is None:
        return (2, "")
    return (0 if deadline < today else 1, deadline.isoformat())


def my_tasks_order(hazard: Listed, today: date) -> tuple[bool, tuple[int, str], int]:
    """A person's own hazards: accident-grade ones first until closed, then ``task_order``."""
    return not hazard.accident_grade, task_order(hazard.deadline, today), hazard.id
