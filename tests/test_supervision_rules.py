"""Supervision's plain rules: the draw, rights, findings, the record."""

from __future__ import annotations

import pytest

from ledger.rectify import State
from ledger.roles import Membership, Person, Role
from ledger.supervision import (
    AGAINST_SCHOOL,
    DRAW_MAX,
    Draw,
    DrawnVisit,
    DrawRefused,
    FindingKind,
    Origin,
    SchoolCandidate,
    SupervisorCandidate,
    VisitRefused,
    VisitState,
    WalkFacts,
    can_draw,
    can_see_plan,
    can_see_record,
    contradicts,
    draw,
    new_hazard_kind,
    next_item,
    origin_of,
    record,
    reopenable,
    require_can_visit,
    require_on_visit,
    require_startable,
    school_candidates,
    verify_draw,
)
from ledger.walk import Choice

SCHOOLS = tuple(
    SchoolCandidate(i, f"校{i}", district, kind)
    for i, district, kind in [
        (1, "城关镇", "primary"),
        (2, "城关镇", "middle"),
        (3, "夏村镇", "primary"),
        (4, "夏村镇", "kindergarten"),
        (5, "海阳所", "middle"),
    ]
)
POOL = (
    SupervisorCandidate(10, "督导甲"),
    SupervisorCandidate(11, "督导乙", frozenset({1})),
    SupervisorCandidate(12, "督导丙"),
)


def person(*memberships: tuple[Role, int | None]) -> Person:
    return Person(7, "某人", "1", tuple(Membership(r, s) for r, s in memberships))


SUPERVISOR = person((Role.SUPERVISOR, None))
TASKFORCE = person((Role.TASKFORCE, None))
PRINCIPAL_1 = person((Role.PRINCIPAL, 1))
STAFF_2 = person((Role.STAFF, 2))
SUPERVISOR_OF_1 = person((Role.SUPERVISOR, None), (Role.STAFF, 1))


@pytest.mark.parametrize("seed", ["a", "seed-1", "7f3c", "督查2027"])
@pytest.mark.parametrize(("n", "m"), [(1, 1), (2, 2), (5, 2), (3, 1)])
def test_the_same_seed_and_candidates_give_the_same_draw(seed: str, n: int, m: int) -> None:
    first = draw(seed, SCHOOLS, POOL, n, m)
    again = draw(seed, SCHOOLS, POOL, n, m)
    assert first == again
    assert len(first.visits) == n
    assert len({v.school_id for v in first.visits}) == n
    assert all(len(set(v.supervisor_ids)) == m for v in first.visits)
    assert verify_draw(first)


@pytest.mark.parametrize("seed", [str(i) for i in range(30)])
def test_the_candidates_order_does_not_change_the_draw(seed: str) -> None:
    assert draw(seed, SCHOOLS, POOL, 2, 2) == draw(seed, SCHOOLS[::-1], POOL[::-1], 2, 2)


def test_different_seeds_give_different_draws_somewhere() -> None:
    results = {draw(str(i), SCHOOLS, POOL, 2, 1).visits for i in range(40)}
    assert len(results) > 5


@pytest.mark.parametrize("seed", [str(i) for i in range(40)])
def test_a_supervisor_never_visits_their_own_school(seed: str) -> None:
    result = draw(seed, SCHOOLS, POOL, 5, 2)
    for visit in result.visits:
        if visit.school_id == 1:
            assert 11 not in visit.supervisor_ids
            assert set(visit.supervisor_ids) == {10, 12}


@pytest.mark.parametrize(
    ("n", "m", "reason"),
    [
        (6, 1, "schools"),
        (100, 1, "schools"),
        (2, 4, "supervisors"),
        (1, 99, "supervisors"),
        (0, 1, "count"),
        (1, 0, "count"),
        (-1, 1, "count"),
        (DRAW_MAX + 1, 1, "count"),
    ],
)
def test_a_draw_that_cannot_be_made_is_refused(n: int, m: int, reason: str) -> None:
    with pytest.raises(DrawRefused) as refused:
        draw("s", SCHOOLS, POOL, n, m)
    assert refused.value.params["reason"] == reason


def test_a_school_whose_members_leave_too_few_supervisors_is_refused() -> None:
    only_school_1 = school_candidates(SCHOOLS, visited=(), districts=(), kinds=())[:1]
    with pytest.raises(DrawRefused) as refused:
        draw("s", only_school_1, POOL, 1, 3)
    assert refused.value.params == {"reason": "members", "school": "校1", "asked": 3, "left": 2}


@pytest.mark.parametrize(
    ("visited", "districts", "kinds", "expected"),
    [
        ((), (), (), [1, 2, 3, 4, 5]),
        ((1, 2), (), (), [3, 4, 5]),
        ((), ("城关镇",), (), [1, 2]),
        ((), ("城关镇", "海阳所"), (), [1, 2, 5]),
        ((), (), ("primary",), [1, 3]),
        ((), ("夏村镇",), ("primary",), [3]),
        ((3,), ("夏村镇",), ("primary",), []),
        ((), ("不存在",), (), []),
    ],
)
def test_candidates_are_the_unvisited_schools_of_the_districts_and_kinds(
    visited: tuple[int, ...],
    districts: tuple[str, ...],
    kinds: tuple[str, ...],
    expected: list[int],
) -> None:
    found = school_candidates(SCHOOLS[::-1], visited, districts, kinds)
    assert [s.id for s in found] == expected


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: Draw(d.seed + "x", *_rest(d)),
        lambda d: Draw(
            d.seed,
            d.schools_asked,
            d.supervisors_per_visit,
            d.school_candidates[1:],
            d.supervisor_pool,
            d.visits,
        ),
        lambda d: Draw(
            d.seed,
            d.schools_asked,
            d.supervisors_per_visit,
            d.school_candidates,
            d.supervisor_pool,
            (DrawnVisit(99, (10,)), *d.visits[1:]),
        ),
        lambda d: Draw(
            d.seed,
            d.schools_asked,
            d.supervisors_per_visit,
            d.school_candidates,
            d.supervisor_pool[:1],
            d.visits,
        ),
    ],
)
def test_a_tampered_draw_does_not_verify(tamper: object) -> None:
    original = draw("fixed", SCHOOLS, POOL, 2, 2)
    assert verify_draw(original)
    assert not verify_draw(tamper(original))  # type: ignore[operator]


def _rest(d: Draw) -> tuple[object, ...]:
    return (d.schools_asked, d.supervisors_per_visit, d.school_candidates, d.supervisor_pool,
            d.visits)  # fmt: skip


@pytest.mark.parametrize(
    ("who", "allowed"),
    [(SUPERVISOR, True), (TASKFORCE, True), (PRINCIPAL_1, False), (STAFF_2, False)],
)
def test_who_may_draw(who: Person, allowed: bool) -> None:
    assert can_draw(who) is allowed


@pytest.mark.parametrize(
    ("who", "school", "reason"),
    [
        (SUPERVISOR, 1, None),
        (SUPERVISOR_OF_1, 2, None),
        (SUPERVISOR_OF_1, 1, "own_school"),
        (TASKFORCE, 1, "not_supervisor"),
        (PRINCIPAL_1, 1, "not_supervisor"),
        (STAFF_2, 1, "not_supervisor"),
    ],
)
def test_who_may_visit_a_school(who: Person, school: int, reason: str | None) -> None:
    if reason is None:
        require_can_visit(who, school)
        return
    with pytest.raises(VisitRefused) as refused:
        require_can_visit(who, school)
    assert refused.value.params["reason"] == reason


@pytest.mark.parametrize(
    ("who", "school", "plan", "ended_record"),
    [
        (TASKFORCE, 1, True, True),
        (SUPERVISOR, 1, True, True),
        (SUPERVISOR_OF_1, 1, False, True),
        (SUPERVISOR_OF_1, 2, True, True),
        (PRINCIPAL_1, 1, False, True),
        (PRINCIPAL_1, 2, False, False),
        (STAFF_2, 1, False, False),
        (STAFF_2, 2, False, True),
    ],
)
def test_who_sees_plans_and_records(
    who: Person, school: int, plan: bool, ended_record: bool
) -> None:
    assert can_see_plan(who, school) is plan
    for state in (VisitState.PLANNED, VisitState.STARTED):
        assert can_see_record(who, school, state) is plan
    assert can_see_record(who, school, VisitState.ENDED) is ended_record


@pytest.mark.parametrize(
    ("person_id", "state", "reason"),
    [
        (1, VisitState.STARTED, None),
        (3, VisitState.STARTED, "not_on_visit"),
        (1, VisitState.PLANNED, "not_started"),
        (1, VisitState.ENDED, "ended"),
        (3, VisitState.ENDED, "not_on_visit"),
    ],
)
def test_only_a_supervisor_of_a_started_visit_works_on_it(
    person_id: int, state: VisitState, reason: str | None
) -> None:
    if reason is None:
        require_on_visit(person_id, (1, 2), state)
        return
    with pytest.raises(VisitRefused) as refused:
        require_on_visit(person_id, (1, 2), state)
    assert refused.value.params["reason"] == reason


@pytest.mark.parametrize(
    ("state", "reason"),
    [(VisitState.PLANNED, None), (VisitState.STARTED, "started"), (VisitState.ENDED, "ended")],
)
def test_a_visit_starts_once(state: VisitState, reason: str | None) -> None:
    if reason is None:
        require_startable(state)
        return
    with pytest.raises(VisitRefused) as refused:
        require_startable(state)
    assert refused.value.params["reason"] == reason


@pytest.mark.parametrize(
    ("source", "visit", "origin"),
    [
        ("walk", None, Origin.SELF_INSPECTION),
        ("quick", None, Origin.QUICK),
        ("walk", 3, Origin.SUPERVISION),
        ("quick", 3, Origin.SUPERVISION),
    ],
)
def test_a_hazards_origin(source: str, visit: int | None, origin: Origin) -> None:
    assert origin_of(source, visit) is origin


@pytest.mark.parametrize(
    ("major", "kind"), [(True, FindingKind.ACCIDENT), (False, FindingKind.OFF_LIST)]
)
def test_a_new_hazard_is_off_list_or_accident_grade(major: bool, kind: FindingKind) -> None:
    assert new_hazard_kind(major) is kind
    assert kind in AGAINST_SCHOOL


def test_a_listed_finding_does_not_count_against_the_school() -> None:
    assert FindingKind.LISTED not in AGAINST_SCHOOL


@pytest.mark.parametrize(
    ("items", "answered", "expected"),
    [([1, 2, 3], set(), 1), ([1, 2, 3], {1}, 2), ([1, 2, 3], {1, 3}, 2), ([1, 2], {1, 2}, None)],
)
def test_the_next_blind_question(
    items: list[int], answered: set[int], expected: int | None
) -> None:
    assert next_item(items, answered) == expected


@pytest.mark.parametrize(
    ("school", "supervisor", "contradicted"),
    [
        ("ok", "hz", True),
        ("hz", "ok", True),
        ("na", "hz", True),
        ("ok", "ok", False),
        ("hz", "hz", False),
        (None, "hz", False),
    ],
)
def test_a_contradicted_answer(school: str | None, supervisor: str, contradicted: bool) -> None:
    found = None if school is None else Choice(school)
    assert contradicts(found, Choice(supervisor)) is contradicted


@pytest.mark.parametrize(
    ("state", "ok"),
    [
        ("closed", True),
        ("open", False),
        ("submitted", False),
        ("unfixable", False),
        ("draft", False),
        ("withdrawn", False),
    ],
)
def test_only_a_closed_hazard_is_reopened(state: str, ok: bool) -> None:
    assert reopenable(State(state)) is ok


def test_the_record_counts_walks_items_and_findings() -> None:
    made = record(
        [WalkFacts("教学楼A", 20, 20, True), WalkFacts("食堂", 21, 5, False)],
        [FindingKind.LISTED, FindingKind.OFF_LIST, FindingKind.OFF_LIST, FindingKind.ACCIDENT],
        contradicted=2,
    )
    assert made.items_checked == 25
    assert [w.building for w in made.unfinished] == ["食堂"]
    assert made.findings[FindingKind.OFF_LIST] == 2
    assert made.findings[FindingKind.MISSED_BUILDING] == 0
    assert made.contradicted == 2
