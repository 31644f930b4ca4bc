"""ledger.rectify: which action each person may take in each state."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.errors import NotAllowed, NotLater, OwnFix, WrongState
from ledger.rectify import (
    Action,
    Facts,
    State,
    actions,
    check_extension,
    days_left,
    task_order,
    transition,
)
from ledger.roles import Membership, Person, Role

SCHOOL = 7


def person(pid: int, role: Role, school: int | None = SCHOOL) -> Person:
    return Person(pid, f"p{pid}", "13800138000", (Membership(role, school, "s"),))


STAFF = person(1, Role.STAFF)  # the responsible person
OTHER_STAFF = person(2, Role.STAFF)
LEADER = person(3, Role.LEADER)
PRINCIPAL = person(4, Role.PRINCIPAL)
TASKFORCE = person(5, Role.TASKFORCE, None)
ELSEWHERE = person(6, Role.PRINCIPAL, 99)


def facts(state: State, fixer: int | None = None, asker: int | None = None) -> Facts:
    return Facts(
        state,
        SCHOOL,
        responsible_id=1,
        fix_reporter_id=fixer,
        extension_asked_by=asker,
        managers=frozenset({LEADER.id, PRINCIPAL.id}),
    )


@pytest.mark.parametrize(
    ("who", "action", "state", "after"),
    [
        (STAFF, Action.FIX, State.OPEN, State.SUBMITTED),
        (LEADER, Action.FIX, State.OPEN, State.SUBMITTED),
        (LEADER, Action.VERIFY, State.SUBMITTED, State.CLOSED),
        (PRINCIPAL, Action.VERIFY, State.SUBMITTED, State.CLOSED),
        (LEADER, Action.RETURN, State.SUBMITTED, State.OPEN),
        (STAFF, Action.EXTEND, State.OPEN, State.OPEN),
        (LEADER, Action.UNFIXABLE, State.OPEN, State.UNFIXABLE),
        (PRINCIPAL, Action.REASSIGN, State.OPEN, State.OPEN),
    ],
)
def test_allowed_transitions(who: Person, action: Action, state: State, after: State) -> None:
    assert transition(who, action, facts(state, fixer=1)) is after


@pytest.mark.parametrize(
    ("who", "action"),
    [
        (OTHER_STAFF, Action.FIX),
        (STAFF, Action.VERIFY),
        (STAFF, Action.RETURN),
        (STAFF, Action.UNFIXABLE),
        (STAFF, Action.REASSIGN),
        (LEADER, Action.EXTEND),
        (TASKFORCE, Action.VERIFY),
        (TASKFORCE, Action.FIX),
        (ELSEWHERE, Action.VERIFY),
        (ELSEWHERE, Action.FIX),
    ],
)
def test_who_may_not(who: Person, action: Action) -> None:
    state = State.SUBMITTED if action in (Action.VERIFY, Action.RETURN) else State.OPEN
    with pytest.raises(NotAllowed):
        transition(who, action, facts(state, fixer=1))


@pytest.mark.parametrize(
    ("action", "state"),
    [
        (Action.FIX, State.SUBMITTED),
        (Action.FIX, State.CLOSED),
        (Action.FIX, State.UNFIXABLE),
        (Action.VERIFY, State.OPEN),
        (Action.VERIFY, State.CLOSED),
        (Action.RETURN, State.CLOSED),
        (Action.UNFIXABLE, State.SUBMITTED),
        (Action.UNFIXABLE, State.CLOSED),
        (Action.REASSIGN, State.CLOSED),
    ],
)
def test_illegal_transitions_name_the_state(action: Action, state: State) -> None:
    with pytest.raises(WrongState) as refused:
        transition(LEADER, action, facts(state, fixer=1))
    assert refused.value.params == {"reason": state.value}


@pytest.mark.parametrize("action", [Action.VERIFY, Action.RETURN])
def test_the_fixer_cannot_verify_even_as_a_leader(action: Action) -> None:
    with pytest.raises(OwnFix):
        transition(LEADER, action, facts(State.SUBMITTED, fixer=LEADER.id))
    assert transition(PRINCIPAL, action, facts(State.SUBMITTED, fixer=LEADER.id))


def test_an_extension_is_decided_by_someone_else() -> None:
    asked = facts(State.OPEN, asker=LEADER.id)
    with pytest.raises(OwnFix):
        transition(LEADER, Action.DECIDE, asked)
    assert transition(PRINCIPAL, Action.DECIDE, asked) is State.OPEN
    with pytest.raises(NotAllowed):  # nothing to decide
        transition(PRINCIPAL, Action.DECIDE, facts(State.OPEN))


def test_one_extension_at_a_time() -> None:
    with pytest.raises(WrongState):
        transition(STAFF, Action.EXTEND, facts(State.OPEN, asker=STAFF.id))


@pytest.mark.parametrize(
    ("who", "state", "expected"),
    [
        (STAFF, State.OPEN, [Action.FIX, Action.EXTEND]),
        (LEADER, State.OPEN, [Action.FIX, Action.UNFIXABLE, Action.REASSIGN]),
        (LEADER, State.SUBMITTED, [Action.VERIFY, Action.RETURN]),
        (STAFF, State.SUBMITTED, []),
        (LEADER, State.CLOSED, []),
        (TASKFORCE, State.OPEN, []),
    ],
)
def test_actions_offered(who: Person, state: State, expected: list[Action]) -> None:
    assert actions(who, facts(state, fixer=STAFF.id)) == expected


@pytest.mark.parametrize(
    ("current", "wanted", "ok"),
    [
        (date(2026, 12, 5), date(2026, 12, 6), True),
        (date(2026, 12, 5), date(2026, 12, 5), False),
        (date(2026, 12, 5), date(2026, 12, 1), False),
        (None, date(2026, 12, 1), True),
    ],
)
def test_an_extension_must_be_later(current: date | None, wanted: date, ok: bool) -> None:
    if ok:
        assert check_extension(current, wanted) == wanted
    else:
        with pytest.raises(NotLater):
            check_extension(current, wanted)


def test_tasks_overdue_first_then_by_deadline() -> None:
    today = date(2026, 12, 10)
    deadlines = [
        date(2026, 12, 20),
        None,
        date(2026, 12, 1),
        date(2026, 12, 10),
        date(2026, 11, 30),
    ]
    ordered = sorted(deadlines, key=lambda d: task_order(d, today))
    assert ordered == [
        date(2026, 11, 30),
        date(2026, 12, 1),
        date(2026, 12, 10),
        date(2026, 12, 20),
        None,
    ]
    assert days_left(date(2026, 12, 8), today) == -2
    assert days_left(None, today) is None
