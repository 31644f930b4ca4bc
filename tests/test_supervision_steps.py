"""The rules of a visit's steps, moved out of the chat into ``ledger.supervision``: who
arrives how, whose walk and finding a tap may touch, which step a finding waits for, what
a match makes of it, who hears of a reopening. Plain values in, a decision or a refusal out.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from ledger.errors import NotAllowed, Stale
from ledger.hazards import Hazard
from ledger.rectify import State
from ledger.roles import Membership, Person, Role
from ledger.supervision import (
    Arrival,
    ChosenBy,
    Finding,
    FindingState,
    FindingStep,
    Matching,
    SchoolCandidate,
    SupervisionWalk,
    Visit,
    VisitRefused,
    VisitState,
    arrival,
    can_list_visits,
    can_open_record,
    elsewhere,
    finding_step,
    match,
    match_order,
    parse_choice,
    planned_for,
    require_last_question,
    require_my_draft,
    require_next_item,
    require_on_drawn,
    require_photos_answer,
    require_supervisor,
    require_walker,
    schools_to_visit,
    still_open,
    told_of_reopening,
    walk_taken,
)
from ledger.walk import Choice

AT = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
SCHOOL = 1


def person(pid: int, *memberships: tuple[Role, int | None]) -> Person:
    return Person(pid, f"p{pid}", "1", tuple(Membership(r, s) for r, s in memberships))


SUP = person(10, (Role.SUPERVISOR, None))
SUP2 = person(11, (Role.SUPERVISOR, None))
SUP_OF_SCHOOL = person(12, (Role.SUPERVISOR, None), (Role.STAFF, SCHOOL))
TASKFORCE = person(13, (Role.TASKFORCE, None))
STAFF = person(14, (Role.STAFF, SCHOOL))
PRINCIPAL = person(15, (Role.PRINCIPAL, SCHOOL))


def visit(state: VisitState = VisitState.PLANNED, school: int = SCHOOL, *sups: int) -> Visit:
    return Visit(
        id=1,
        campaign_id=1,
        school_id=school,
        school_name=f"school{school}",
        district="城关镇",
        draw_id=1,
        chosen_by=ChosenBy.DRAWN,
        state=state,
        supervisor_ids=sups or (SUP.id,),
        created_at=AT,
        started_at=None if state is VisitState.PLANNED else AT,
        started_by=None if state is VisitState.PLANNED else SUP.id,
        ended_at=AT if state is VisitState.ENDED else None,
        ended_by=SUP.id if state is VisitState.ENDED else None,
    )


def walk(walker: int = SUP.id, finished: bool = False) -> SupervisionWalk:
    return SupervisionWalk(
        id=1,
        visit_id=1,
        campaign_id=1,
        school_id=SCHOOL,
        building_id=5,
        building_name="教学楼A",
        building_use="teaching",
        year_built=2005,
        checklist_version_id=1,
        walker_id=walker,
        started_at=AT,
        finished_at=AT if finished else None,
        answered=0,
    )


def finding(**fields: object) -> Finding:
    base = Finding(
        id=1,
        visit_id=1,
        walk_id=1,
        school_id=SCHOOL,
        campaign_id=1,
        building_id=5,
        building_name="教学楼A",
        item_id=100,
        item_code="1.1",
        state=FindingState.DRAFT,
        kind=None,
        photos_done=False,
        photos=0,
        description=None,
        major=None,
        hazard_id=None,
        hazard_text=None,
        closed_fix_id=None,
        verifier_id=None,
        verifier_name=None,
        found_by=SUP.id,
        finder_name="督导甲",
        found_at=AT,
        recorded_at=None,
    )
    return replace(base, **fields)


AT_MATCH = {"photos_done": True, "photos": 1, "description": "灭火器过期", "major": False}


def hazard(hid: int, state: State = State.OPEN, building: int | None = 5, item: int | None = 100
           ) -> Hazard:  # fmt: skip
    return Hazard(
        id=hid, school_id=SCHOOL, school_name="实验小学", building_id=building,
        building_name="教学楼A", campaign_id=1, inspection_id=None, item_id=item,
        item_code="1.1", item_zh=None, item_en=None, source="walk", reported_by=15,
        reporter_name="校长", reported_at=AT, state=state, photos_done=True,
        description="d", fixable_now=True, deadline=None, responsible_id=15,
        responsible_name=None, measures=None, takes_out_of_use=None, major=False,
        funding=None, contingency_plan=None, completed_at=None, closed_at=None,
        demolition_due=None, visit_id=None, accident_grade=False,
    )  # fmt: skip


# --- who ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "ok"), [(SUP, True), (TASKFORCE, False), (STAFF, False)])
def test_only_a_supervisor_supervises(who: Person, ok: bool) -> None:
    if ok:
        require_supervisor(who)
    else:
        with pytest.raises(VisitRefused) as raised:
            require_supervisor(who)
        assert raised.value.params["reason"] == "not_supervisor"


@pytest.mark.parametrize(
    ("who", "listed"), [(SUP, True), (TASKFORCE, True), (STAFF, False), (PRINCIPAL, False)]
)
def test_the_city_list_of_visits_is_for_city_roles(who: Person, listed: bool) -> None:
    assert can_list_visits(who) is listed


@pytest.mark.parametrize(
    ("who", "state", "opens"),
    [
        (TASKFORCE, VisitState.ENDED, True),
        (SUP, VisitState.ENDED, True),
        (SUP, VisitState.STARTED, False),
        (PRINCIPAL, VisitState.ENDED, False),  # gets it in its own chat
        (SUP_OF_SCHOOL, VisitState.ENDED, False),
    ],
)
def test_a_record_opens_from_the_city_list_once_ended(
    who: Person, state: VisitState, opens: bool
) -> None:
    assert can_open_record(who, SCHOOL, state) is opens


def test_a_supervisor_picks_by_hand_any_school_but_their_own() -> None:
    schools = [SchoolCandidate(SCHOOL, "实验小学", "", ""), SchoolCandidate(2, "二中", "", "")]
    assert [s.id for s in schools_to_visit(SUP_OF_SCHOOL, schools)] == [2]
    assert [s.id for s in schools_to_visit(SUP, schools)] == [SCHOOL, 2]


def test_the_drawn_visits_to_start_are_the_planned_ones_of_this_supervisor() -> None:
    visits = [
        visit(VisitState.PLANNED, SCHOOL, SUP.id),
        visit(VisitState.PLANNED, 2, SUP2.id),
        visit(VisitState.STARTED, 3, SUP.id),
    ]
    assert [v.school_id for v in planned_for(visits, SUP.id)] == [SCHOOL]


# --- arriving -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "v", "reason"),
    [
        (SUP_OF_SCHOOL, visit(VisitState.PLANNED, SCHOOL, SUP_OF_SCHOOL.id), "own_school"),
        (SUP2, visit(VisitState.PLANNED), "not_on_visit"),
        (SUP, visit(VisitState.STARTED), "started"),
        (SUP, visit(VisitState.ENDED), "ended"),
        (STAFF, visit(VisitState.PLANNED), "not_supervisor"),
    ],
)
def test_starting_a_drawn_visit_is_refused(who: Person, v: Visit, reason: str) -> None:
    with pytest.raises(VisitRefused) as raised:
        require_on_drawn(who, v)
    assert raised.value.params["reason"] == reason


def test_a_drawn_supervisor_starts_a_planned_visit() -> None:
    require_on_drawn(SUP, visit(VisitState.PLANNED))


@pytest.mark.parametrize(
    ("live", "how"),
    [
        (None, Arrival.BY_HAND),
        (visit(VisitState.PLANNED), Arrival.START),
        (visit(VisitState.PLANNED, SCHOOL, SUP2.id), Arrival.START),  # on site: they join
        (visit(VisitState.STARTED), Arrival.JOIN),
    ],
)
def test_arriving_at_a_school(live: Visit | None, how: Arrival) -> None:
    assert arrival(SUP, SCHOOL, live) is how


def test_arriving_where_someone_else_started_is_refused() -> None:
    with pytest.raises(VisitRefused) as raised:
        arrival(SUP2, SCHOOL, visit(VisitState.STARTED))
    assert raised.value.params["reason"] == "started"


def test_arriving_at_ones_own_school_is_refused() -> None:
    with pytest.raises(VisitRefused) as raised:
        arrival(SUP_OF_SCHOOL, SCHOOL, None)
    assert raised.value.params["reason"] == "own_school"


@pytest.mark.parametrize(
    ("mine", "school", "busy"),
    [
        (None, 2, False),
        (visit(VisitState.STARTED), SCHOOL, False),
        (visit(VisitState.STARTED), 2, True),
    ],
)
def test_one_visit_at_a_time(mine: Visit | None, school: int, busy: bool) -> None:
    assert elsewhere(mine, school) is busy


# --- the walk ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("w", "taken"),
    [(None, False), (walk(SUP.id), False), (walk(SUP2.id), True), (walk(SUP2.id, True), False)],
)
def test_a_building_is_walked_by_one_supervisor_at_a_time(
    w: SupervisionWalk | None, taken: bool
) -> None:
    assert walk_taken(w, SUP.id) is taken


def test_a_walks_taps_are_its_walkers() -> None:
    require_walker(walk(SUP.id), SUP.id)
    with pytest.raises(NotAllowed):
        require_walker(walk(SUP2.id), SUP.id)


@pytest.mark.parametrize(("value", "choice"), [("ok", Choice.OK), ("hz", Choice.HAZARD)])
def test_a_choice_as_a_button_carries_it(value: str, choice: Choice) -> None:
    assert parse_choice(value) is choice


@pytest.mark.parametrize("value", ["", "OK", "yes", "hz "])
def test_a_forged_choice_is_refused(value: str) -> None:
    with pytest.raises(NotAllowed):
        parse_choice(value)


@pytest.mark.parametrize(
    ("answered", "draft", "item", "error"),
    [
        ((), None, 1, None),
        ((1,), None, 2, None),
        ((1,), None, 1, Stale),  # answered already
        ((), None, 2, Stale),  # not yet asked
        ((), None, 9, NotAllowed),  # not this building's
        ((), finding(), 1, Stale),  # a finding is being given
    ],
)
def test_an_answer_is_for_the_item_asked_now(
    answered: tuple[int, ...], draft: Finding | None, item: int, error: type[Exception] | None
) -> None:
    if error is None:
        require_next_item([1, 2, 3], answered, draft, item)
    else:
        with pytest.raises(error):
            require_next_item([1, 2, 3], answered, draft, item)


@pytest.mark.parametrize(
    ("answered", "draft", "finished", "asked"),
    [
        ((1, 2), None, False, True),
        ((1,), None, False, False),
        ((1, 2), finding(), False, False),
        ((1, 2), None, True, False),
    ],
)
def test_any_other_hazard_is_asked_once_every_item_is_answered(
    answered: tuple[int, ...], draft: Finding | None, finished: bool, asked: bool
) -> None:
    if asked:
        require_last_question(walk(finished=finished), [1, 2], answered, draft)
    else:
        with pytest.raises(Stale):
            require_last_question(walk(finished=finished), [1, 2], answered, draft)


# --- a finding -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "step"),
    [
        ({}, FindingStep.PHOTOS),
        ({"photos": 2}, FindingStep.PHOTOS),
        ({"photos_done": True}, FindingStep.DESCRIPTION),
        ({"photos_done": True, "description": "d"}, FindingStep.MAJOR),
        (AT_MATCH, FindingStep.MATCH),
    ],
)
def test_a_finding_waits_for_its_steps_in_turn(
    fields: dict[str, object], step: FindingStep
) -> None:
    assert finding_step(finding(**fields)) is step


def test_a_finding_is_given_by_whoever_found_it_while_a_draft() -> None:
    require_my_draft(finding(), SUP.id)
    with pytest.raises(NotAllowed):
        require_my_draft(finding(), SUP2.id)
    with pytest.raises(Stale):
        require_my_draft(finding(state=FindingState.RECORDED), SUP.id)


@pytest.mark.parametrize(
    ("fields", "done", "ok"),
    [
        ({"photos": 1}, True, True),
        ({}, False, True),
        ({}, True, False),  # "done" without a photo
        ({"photos": 1}, False, False),  # "no photo" after one came
        ({"photos": 1, "photos_done": True}, True, False),  # answered already
    ],
)
def test_photos_done_or_none_as_the_button_said(
    fields: dict[str, object], done: bool, ok: bool
) -> None:
    if ok:
        require_photos_answer(finding(**fields), done)
    else:
        with pytest.raises(Stale):
            require_photos_answer(finding(**fields), done)


@pytest.mark.parametrize(
    ("h", "photos", "how"),
    [
        (None, 0, Matching.OFF_LIST),
        (hazard(1, State.OPEN), 0, Matching.LISTED),
        (hazard(1, State.SUBMITTED), 0, Matching.LISTED),
        (hazard(1, State.UNFIXABLE), 0, Matching.LISTED),
        (hazard(1, State.CLOSED), 1, Matching.REOPEN),
    ],
)
def test_what_a_match_makes_of_a_finding(h: Hazard | None, photos: int, how: Matching) -> None:
    assert match(finding(**{**AT_MATCH, "photos": photos}), h) is how


def test_a_closed_hazard_is_found_rectified_badly_only_with_a_photo() -> None:
    with pytest.raises(VisitRefused) as raised:
        match(finding(**{**AT_MATCH, "photos": 0}), hazard(1, State.CLOSED))
    assert raised.value.params["reason"] == "need_photo"


def test_a_hazard_of_another_building_is_not_a_match() -> None:
    with pytest.raises(NotAllowed):
        match(finding(**AT_MATCH), hazard(1, building=6))


def test_a_match_before_the_finding_is_weighed_is_stale() -> None:
    with pytest.raises(Stale):
        match(finding(photos_done=True, description="d"), None)


def test_the_same_items_hazards_are_offered_first_and_at_most_so_many() -> None:
    hazards = [hazard(1, item=7), hazard(2, item=100), hazard(3, item=None), hazard(4, item=100)]
    assert [h.id for h in match_order(hazards, 100, 3)] == [2, 4, 1]
    assert [h.id for h in match_order(hazards, None, 9)] == [3, 1, 2, 4]


@pytest.mark.parametrize(
    ("responsible", "verifier", "told"),
    [(15, 3, [3, 15]), (15, 15, [15]), (None, 3, [3]), (None, None, [])],
)
def test_a_reopening_is_told_to_the_responsible_person_and_the_verifier(
    responsible: int | None, verifier: int | None, told: list[int]
) -> None:
    assert told_of_reopening(responsible, verifier) == told


@pytest.mark.parametrize(
    ("state", "open_"),
    [(State.OPEN, True), (State.SUBMITTED, True), (State.CLOSED, False), (State.UNFIXABLE, False)],
)
def test_a_ledger_hazard_still_open(state: State, open_: bool) -> None:
    assert still_open(state) is open_
