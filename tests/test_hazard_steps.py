"""ledger.hazards.next_step and ledger.walk: where a hazard report and a walk stand."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ledger.hazards import (
    DEADLINE_CHOICES,
    TYPED_STEPS,
    HazardDraft,
    Step,
    next_step,
    quick_fix_deadline,
)
from ledger.walk import (
    BuildingState,
    Coverage,
    Position,
    Where,
    can_take_over,
    coverage,
    position,
    progress_bar,
)

EMPTY = HazardDraft(
    building_id=None,
    photos_done=False,
    description=None,
    fixable_now=None,
    deadline=None,
    responsible_name=None,
    measures=None,
    takes_out_of_use=None,
    major=None,
    funding=None,
    contingency_plan=None,
)

# Filled in, one field after another, along the longest path (not fixable, major).
LONG_PATH: list[tuple[dict[str, Any], Step]] = [
    ({}, Step.BUILDING),
    ({"building_id": 7}, Step.PHOTOS),
    ({"photos_done": True}, Step.DESCRIPTION),
    ({"description": "灭火器过期"}, Step.FIXABLE),
    ({"fixable_now": False}, Step.DEADLINE),
    ({"deadline": date(2027, 5, 20)}, Step.RESPONSIBLE),
    ({"responsible_name": "王老师"}, Step.MEASURES),
    ({"measures": "更换灭火器"}, Step.OUT_OF_USE),
    ({"takes_out_of_use": False}, Step.MAJOR),
    ({"major": True}, Step.FUNDING),
    ({"funding": "学校自筹"}, Step.CONTINGENCY),
    ({"contingency_plan": "临时放置备用灭火器"}, Step.DONE),
]


def draft_after(steps: int) -> HazardDraft:
    """The draft with the first ``steps`` fields of LONG_PATH filled in."""
    fields: dict[str, Any] = {}
    for change, _ in LONG_PATH[: steps + 1]:
        fields.update(change)
    return replace(EMPTY, **fields)


@pytest.mark.parametrize(
    ("steps", "expected"),
    [(n, step) for n, (_, step) in enumerate(LONG_PATH)],
    ids=[step.name for _, step in LONG_PATH],
)
def test_long_path(steps, expected):
    """Each answer along the not-fixable, major path leads to the next question."""
    assert next_step(draft_after(steps)) is expected


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"fixable_now": True}, Step.DONE),  # fixable at once: nothing more to ask
        ({"fixable_now": True, "major": True}, Step.DONE),
        ({"major": False}, Step.DONE),  # not major: no funding or contingency plan
        ({"major": False, "funding": None, "contingency_plan": None}, Step.DONE),
        ({"major": True, "funding": None}, Step.FUNDING),
        ({"major": True, "contingency_plan": None}, Step.CONTINGENCY),
        ({"takes_out_of_use": True, "major": None}, Step.MAJOR),
        ({"takes_out_of_use": None}, Step.OUT_OF_USE),
        ({"measures": None}, Step.MEASURES),
        ({"responsible_name": None}, Step.RESPONSIBLE),
        ({"deadline": None}, Step.DEADLINE),
        ({"fixable_now": None}, Step.FIXABLE),
        ({"description": None}, Step.DESCRIPTION),
        ({"photos_done": False}, Step.PHOTOS),
        ({"building_id": None}, Step.BUILDING),
    ],
)
def test_branches_from_a_complete_draft(change, expected):
    """Starting from a full report, removing or changing one answer asks for it again."""
    assert next_step(replace(draft_after(len(LONG_PATH) - 1), **change)) is expected


@pytest.mark.parametrize(
    ("steps", "change", "expected"),
    [
        (2, {"description": ""}, Step.FIXABLE),  # an answer, even empty, is an answer
        (7, {"takes_out_of_use": False}, Step.MAJOR),
        (8, {"major": False}, Step.DONE),
        (9, {"funding": ""}, Step.CONTINGENCY),
    ],
)
def test_falsy_answers_count_as_answered(steps, change, expected):
    """False and empty strings are answers; only None means 'not asked yet'."""
    assert next_step(replace(draft_after(steps), **change)) is expected


def test_earlier_gaps_come_first():
    """A missing earlier answer is asked before a missing later one."""
    draft = replace(draft_after(len(LONG_PATH) - 1), photos_done=False, measures=None)
    assert next_step(draft) is Step.PHOTOS


def test_step_values_are_short_and_unique():
    """Step values go into button data (64 bytes): short and distinct."""
    values = [s.value for s in Step]
    assert len(set(values)) == len(values)
    assert all(len(v) <= 3 for v in values)


def test_typed_steps():
    """Description, deadline, responsible, measures, funding and plan are typed."""
    assert {
        Step.DESCRIPTION,
        Step.DEADLINE,
        Step.RESPONSIBLE,
        Step.MEASURES,
        Step.FUNDING,
        Step.CONTINGENCY,
    } == TYPED_STEPS
    assert Step.FIXABLE not in TYPED_STEPS


@pytest.mark.parametrize(("days", "expected"), [(7, date(2027, 5, 27)), (0, date(2027, 5, 20))])
def test_quick_fix_deadline(days, expected):
    """A hazard fixed at once is due a configurable number of days from today."""
    assert quick_fix_deadline(date(2027, 5, 20), days) == expected


def test_deadline_choices_are_ascending_and_positive():
    assert list(DEADLINE_CHOICES) == sorted(DEADLINE_CHOICES)
    assert all(d > 0 for d in DEADLINE_CHOICES)


# --- ledger.walk.position ---------------------------------------------------------

ITEMS = [11, 12, 13, 14]


@pytest.mark.parametrize(
    ("answered", "draft", "extra_done", "closed", "expected"),
    [
        (set(), None, False, False, Position(Where.ITEM, index=0)),
        ({11}, None, False, False, Position(Where.ITEM, index=1)),
        ({11, 12, 14}, None, False, False, Position(Where.ITEM, index=2)),  # first unanswered
        ({12, 13, 14}, None, False, False, Position(Where.ITEM, index=0)),
        ({11, 12, 13, 14}, None, False, False, Position(Where.EXTRA)),
        ({11, 12, 13, 14}, None, True, False, Position(Where.SUMMARY)),
        ({11}, 99, False, False, Position(Where.HAZARD, hazard_id=99)),  # draft first
        ({11, 12, 13, 14}, 99, False, False, Position(Where.HAZARD, hazard_id=99)),
        ({11, 12, 13, 14}, 99, True, False, Position(Where.HAZARD, hazard_id=99)),
        ({11, 12, 13, 14}, None, True, True, Position(Where.CLOSED)),
        (set(), None, False, True, Position(Where.CLOSED)),  # closed wins over everything
        ({11}, 99, False, True, Position(Where.CLOSED)),
        ({11, 12, 13, 14, 99}, None, False, False, Position(Where.EXTRA)),  # stray answers
    ],
)
def test_position(answered, draft, extra_done, closed, expected):
    """The walk resumes where the stored answers say it stands."""
    assert position(ITEMS, answered, draft, extra_done, closed) == expected


def test_position_with_no_items_goes_to_extra():
    """A building whose checklist is empty goes straight to 'any other hazard?'."""
    assert position([], set(), None, False, False) == Position(Where.EXTRA)


# --- takeover, coverage, progress bar ----------------------------------------------

T0 = datetime(2027, 4, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.mark.parametrize(
    ("idle", "allowed"),
    [
        (timedelta(0), False),
        (timedelta(minutes=29, seconds=59), False),
        (timedelta(minutes=30), True),  # exactly the limit: may take over
        (timedelta(hours=5), True),
        (timedelta(minutes=-5), False),  # clock skew: activity "in the future"
    ],
)
def test_can_take_over(idle, allowed):
    """A colleague may take over a walk left idle for the configured minutes."""
    assert can_take_over(T0, T0 + idle, 30) is allowed


def test_can_take_over_across_time_zones():
    """Aware datetimes in different zones compare by the instant, not the wall clock."""
    utc_now = (T0 + timedelta(minutes=31)).astimezone(ZoneInfo("UTC"))
    assert can_take_over(T0, utc_now, 30)


C, P, N = BuildingState.CLOSED, BuildingState.IN_PROGRESS, BuildingState.NOT_STARTED


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([], Coverage(0, 0, 0)),
        ([N, N], Coverage(0, 0, 2)),
        ([C, P, N, C], Coverage(2, 1, 4)),
        ([C, C, C], Coverage(3, 0, 3)),
        ([P], Coverage(0, 1, 1)),
    ],
)
def test_coverage(states, expected):
    """Coverage counts closed and in-progress buildings; the rest are not started."""
    result = coverage(states)
    assert result == expected
    assert result.not_started == states.count(N)


def test_coverage_from_stored_strings():
    """States read back from the database as text count the same."""
    assert coverage([BuildingState("closed"), BuildingState("in_progress")]) == Coverage(1, 1, 2)


@pytest.mark.parametrize(
    ("done", "total", "width", "expected"),
    [
        (0, 10, 10, "░░░░░░░░░░"),
        (10, 10, 10, "▓▓▓▓▓▓▓▓▓▓"),
        (3, 10, 10, "▓▓▓░░░░░░░"),
        (1, 3, 6, "▓▓░░░░"),
        (2, 3, 10, "▓▓▓▓▓▓▓░░░"),  # 6.67 rounds to 7
        (0, 0, 10, "░░░░░░░░░░"),  # no buildings yet: empty, no division by zero
        (5, 19, 5, "▓░░░░"),
    ],
)
def test_progress_bar(done, total, width, expected):
    """A text bar of ``width`` characters, filled in proportion."""
    assert progress_bar(done, total, width) == expected


@pytest.mark.parametrize("total", [1, 7, 19, 23])
def test_progress_bar_always_has_its_width(total):
    """However far along, the bar is exactly as wide as asked."""
    for done in range(total + 1):
        assert len(progress_bar(done, total)) == 10
