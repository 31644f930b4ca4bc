"""Typed buttons and journey states: packed and read back, old or crafted data refused."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from handlers import draw, supervise
from handlers.buttons import DATA_MAX, KINDS, PREFIX, Tap, button, unpack
from handlers.journeys import Journey, load
from handlers.supervise import Answer, MissedBuilding, PickSchool, Walking
from ledger.errors import BadId, NotAllowed, Stale
from ledger.ids import MAX_ID

BIG = MAX_ID  # the largest id a field takes (SQLite's largest INTEGER)


def example(cls: type[Tap]) -> Tap:
    values = {
        f.name: BIG if f.type in (int, "int") else "rectified_badly"[:16]
        for f in dataclasses.fields(cls)
    }
    return cls(**values)


# Supervision's buttons (the other kinds are packed and read back in test_journeys_table).
SUPERVISION = sorted(
    c for c, k in KINDS.items() if k.__module__ in (supervise.__name__, draw.__name__)
)


@pytest.mark.parametrize("code", SUPERVISION)
def test_every_button_packs_within_telegrams_limit_and_reads_back(code: str) -> None:
    tap = example(KINDS[code])
    data = tap.pack()
    assert data.startswith(f"{PREFIX}:{code}:") or data == f"{PREFIX}:{code}"
    assert len(data.encode()) <= DATA_MAX
    assert unpack(data) == tap


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ("j0:sv_pick:1", Stale),  # another version
        ("j2:sv_pick:1", Stale),
        ("j1:unknown:1", Stale),
        ("j1:sv_pick", Stale),  # fields missing
        ("j1:sv_pick:1:2", Stale),  # too many
        ("j1:sv_pick:-1", BadId),  # not an id
        ("j1:sv_pick:1e3", BadId),
        ("j1:sv_pick:" + str(MAX_ID + 1), BadId),  # past SQLite's largest INTEGER
        ("j1:sv_pick:" + "9" * 20, BadId),
        ("j1:sv_a:1:2:o.k", NotAllowed),  # a str field outside its alphabet
        ("j1:sv_a:1:2:好", NotAllowed),
        ("j1:sv_a:1:2:" + "a" * 17, NotAllowed),
        ("x:1", Stale),
    ],
)
def test_old_or_crafted_data_is_refused(data: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        unpack(data)


def test_a_code_is_registered_once() -> None:
    with pytest.raises(ValueError, match="taken"):

        @button("sv_pick")
        @dataclasses.dataclass(frozen=True)
        class Again(Tap):
            school_id: int


def test_a_button_over_64_bytes_cannot_be_made() -> None:
    @dataclasses.dataclass(frozen=True)
    class Long(Tap):
        a: int
        b: int
        c: int
        d: int
        e: int

        async def tap(self, ctx: Any) -> None:
            """Never tapped: it cannot even be made."""

    Long.code = "long_for_test"
    with pytest.raises(ValueError, match="64"):
        Long(BIG, BIG, BIG, BIG, BIG).pack()


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
