"""The rule of answering a walk's item (``ledger.walk.after_answer``), without a database."""

from __future__ import annotations

from datetime import datetime

import pytest

from ledger.errors import NotAllowed, Stale
from ledger.walk import Choice, Position, Walk, Where, after_answer

ITEMS = [11, 12, 13]


def walk(answers: dict[int, Choice], draft: int | None = None, extra: bool = False) -> Walk:
    return Walk(
        id=1,
        campaign_id=1,
        building_id=1,
        building_name="教学楼A",
        school_id=1,
        use="teaching",
        year_built=2005,
        checklist_version_id=1,
        walker_id=7,
        started_by=7,
        last_activity_at=datetime(2026, 11, 28, 9, 0),
        extra_done=extra,
        closed_at=None,
        answers=answers,
        draft_id=draft,
    )


def test_the_current_item_answered_moves_to_the_next() -> None:
    assert after_answer(walk({}), ITEMS, 11, Choice.OK) == Position(Where.ITEM, index=1)
    assert after_answer(walk({11: Choice.OK}), ITEMS, 12, Choice.NA) == Position(
        Where.ITEM, index=2
    )


def test_the_last_item_leads_to_any_other_hazard_then_the_summary() -> None:
    done = {11: Choice.OK, 12: Choice.NA}
    assert after_answer(walk(done), ITEMS, 13, Choice.OK) == Position(Where.EXTRA)
    assert after_answer(walk(done, extra=True), ITEMS, 13, Choice.OK) == Position(Where.SUMMARY)


def test_a_hazard_found_leaves_the_walk_at_its_questions() -> None:
    assert after_answer(walk({}), ITEMS, 11, Choice.HAZARD).where is Where.HAZARD


def test_an_item_answered_already_or_not_asked_yet_is_stale() -> None:
    with pytest.raises(Stale):
        after_answer(walk({11: Choice.OK}), ITEMS, 11, Choice.OK)
    with pytest.raises(Stale):
        after_answer(walk({}), ITEMS, 12, Choice.OK)
    with pytest.raises(Stale):  # a hazard being reported comes first
        after_answer(walk({11: Choice.HAZARD}, draft=5), ITEMS, 12, Choice.OK)


def test_an_item_of_another_building_is_refused() -> None:
    with pytest.raises(NotAllowed):
        after_answer(walk({}), ITEMS, 99, Choice.OK)
