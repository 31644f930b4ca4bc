"""Supervision's buttons and journey states read back (every kind's packing and the
refusal of crafted data: test_typed_buttons)."""

from __future__ import annotations

import pytest

from handlers.buttons import unpack
from handlers.journeys import Journey, load
from handlers.supervise import Answer, MissedBuilding, PickSchool, Walking
from ledger.ids import MAX_ID


def test_the_largest_id_and_a_long_word_read_back() -> None:
    assert unpack("j1:sv_pick:" + str(MAX_ID)) == PickSchool(MAX_ID)
    assert unpack("j1:sv_pick:" + "9" * 13) == PickSchool(10**13 - 1)
    assert unpack("j1:sv_a:1:2:OK-1") == Answer(1, 2, "OK-1")


def test_labels_travel_with_the_data() -> None:
    assert PickSchool(3).as_button("一小") == ("一小", "j1:sv_pick:3")
    assert Answer(1, 2, "hz").pack() == "j1:sv_a:1:2:hz"


@pytest.mark.parametrize(
    "state", [Walking(4), MissedBuilding(2), MissedBuilding(2, "配电房", "other", 3)]
)
def test_journey_states_are_stored_and_read_back(state: Journey) -> None:
    data = state.stored()
    assert "journey" not in data and "v" not in data  # stored under their own name
    assert load(state.kind, data) == state


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("nope", {"walk_id": 4}),
        ("supervision_walk", {}),  # a field missing
        ("missed_building", {"building": "配电房"}),
        ("journey", {"journey": "supervision_walk", "v": 1, "walk_id": 4}),  # the old wrapper
    ],
)
def test_a_state_of_another_version_or_kind_is_forgotten(
    kind: str, data: dict[str, object]
) -> None:
    assert load(kind, data) is None
