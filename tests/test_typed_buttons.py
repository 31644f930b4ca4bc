"""Typed buttons: every kind packs within Telegram's 64 bytes and reads back; buttons
already in people's chats (from before typed buttons) keep working or are answered as
stale; crafted data is refused; no handler reads callback data by hand."""

from __future__ import annotations

import dataclasses
import typing
from enum import StrEnum
from pathlib import Path

import pytest

import bot.app  # noqa: F401 - imports every handler module, which registers its buttons
from handlers.base import Ctx
from handlers.buttons import _LEGACY, DATA_MAX, KINDS, PREFIX, Tap, button, unpack
from handlers.inspect import Answer, OpenBuilding
from handlers.named import Card
from ledger.errors import BadId, NotAllowed, Stale
from ledger.ids import MAX_ID
from ledger.walk import Choice
from tests.conftest import join, link_code, make_school
from tests.simulator import Simulator

ROOT = Path(__file__).resolve().parent.parent
LONGEST_WORD = "w" * 16  # the longest str field a button takes


def _widest(kind: object, flip: bool) -> object:
    """The value of this type that packs longest (bools and enums in both forms)."""
    if kind is bool:
        return flip
    if kind is int:
        return MAX_ID
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        members = sorted(kind, key=lambda m: len(m.value))
        return members[0] if flip else members[-1]
    return LONGEST_WORD


def widest(cls: type[Tap], flip: bool = False) -> Tap:
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)
    return cls(**{f.name: _widest(hints[f.name], flip) for f in fields})


def test_every_handler_module_registered_its_buttons() -> None:
    assert len(KINDS) >= 26
    assert {"answer", "hazard", "card", "cam", "verify", "export", "form"} <= set(KINDS)


@pytest.mark.parametrize("code", sorted(KINDS))
@pytest.mark.parametrize("flip", [False, True])
def test_every_kind_packs_within_64_bytes_and_round_trips(code: str, flip: bool) -> None:
    tap = widest(KINDS[code], flip)
    data = tap.pack()
    assert data.startswith(f"{PREFIX}:{code}")
    assert len(data.encode()) <= DATA_MAX
    assert unpack(data) == tap
    assert type(tap).__doc__, "each button kind says what it does"


@pytest.mark.parametrize(("prefix", "count"), sorted(_LEGACY))
def test_an_old_format_button_reads_as_its_typed_kind(prefix: str, count: int) -> None:
    cls = _LEGACY[(prefix, count)]
    tap = widest(cls)
    fields = tap.pack().split(":")[2:]
    assert len(fields) == count
    assert unpack(":".join([prefix, *fields])) == tap


def test_packing_is_what_travels() -> None:
    assert Answer(12, 34, Choice.OK).pack() == "j1:answer:12:34:ok"
    assert Card(5).labelled("查看详情") == ("查看详情", "j1:card:5")
    assert unpack("a:12:34:hz") == Answer(12, 34, Choice.HAZARD)  # as it was before


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ("j0:answer:1:2:ok", Stale),  # a version that never was
        ("j2:answer:1:2:ok", Stale),  # a later version (a rollback)
        ("j1:nothing:1", Stale),
        ("j1:answer:1:2", Stale),  # a field missing
        ("j1:answer:1:2:ok:9", Stale),  # one too many
        ("j1:card", Stale),
        ("zz:1", Stale),  # no such old prefix
        ("a:1:2", Stale),  # an old prefix with the wrong number of fields
        ("", Stale),
        ("j1:answer:1:2:maybe", NotAllowed),  # not a choice
        ("j1:other:1:maybe", NotAllowed),  # not yes or no
        ("j1:form:school:kind:" + "a" * 17, NotAllowed),  # past a word's length
        ("j1:form:school:kind:a.b", NotAllowed),  # outside a word's alphabet
        ("j1:card:-1", BadId),
        ("j1:card:²", BadId),
        ("j1:card:" + "9" * 20, BadId),
        ("j1:sv_pick:1e3", BadId),
        ("j1:sv_pick:" + str(MAX_ID + 1), BadId),  # past SQLite's largest INTEGER
        ("j1:sv_a:1:2:好", NotAllowed),  # a str field outside its alphabet
        ("x:1", Stale),
    ],
)
def test_old_or_crafted_data_is_refused(data: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        unpack(data)


def test_a_code_is_registered_once_and_a_button_cannot_pass_64_bytes() -> None:
    with pytest.raises(ValueError, match="taken"):

        @button("card")
        @dataclasses.dataclass(frozen=True)
        class Again(Tap):
            hazard_id: int

    @dataclasses.dataclass(frozen=True)
    class Long(Tap):
        a: int
        b: int
        c: int
        d: int

        async def tap(self, ctx: Ctx) -> None:
            """Never tapped: only packed."""

    Long.code = "long_for_test"
    with pytest.raises(ValueError, match="64"):
        Long(MAX_ID, MAX_ID, MAX_ID, MAX_ID).pack()
    with pytest.raises(ValueError, match="short word"):
        KINDS["form"]("school", "kind", "not a word").pack()  # type: ignore[call-arg]


def test_no_handler_reads_or_writes_callback_data_by_hand() -> None:
    for package in ("handlers", "bot", "scheduler"):
        for path in (ROOT / package).rglob("*.py"):
            if path.name == "buttons.py":
                continue
            source = path.read_text(encoding="utf-8")
            assert "tap_data" not in source or path.name == "base.py", path
            assert "callback_query.data" not in source, path
            assert (
                "CallbackQueryHandler(" not in source or source.count("CallbackQueryHandler(") == 1
            ), path


# --- in a chat ----------------------------------------------------------------------


async def test_an_old_walk_button_in_a_chat_still_answers_its_question(sim: Simulator) -> None:
    school = await make_school(sim)
    staff = school.staff
    await staff.send("/inspect")
    said = await staff.tap("教学楼A")
    question = said[-1]
    typed = unpack(question.buttons[0][0][1])
    assert isinstance(typed, Answer)
    # The same question as the version before typed buttons showed it.
    said = await staff.tap_data(f"a:{typed.walk_id}:{typed.item_id}:ok", question)
    assert "2/19 · F02" in said[-1].text
    rows = await sim.db.all("SELECT item_id, choice FROM answers")
    assert [(r["item_id"], r["choice"]) for r in rows] == [(typed.item_id, "ok")]


@pytest.mark.parametrize(
    "data", ["q:1", "r:zz:1", "j0:answer:1:1:ok", "j9:building:1", "j1:gone:1", "in"]
)
async def test_an_old_or_unknown_button_is_answered_as_stale(sim: Simulator, data: str) -> None:
    school = await make_school(sim)
    staff = school.staff
    await staff.send("/inspect")
    await staff.tap("教学楼A")
    before = await sim.db.all("SELECT * FROM answers")
    staff.new()
    said = await staff.tap_data(data)
    assert staff.alerts[-1] == "这个问题已经回答过了。"
    # Then the question the person is at, asked again (main's stale-tap rule).
    assert [m.text.split("\n")[0] for m in said] == ["【教学楼A】1/19 · F01"]
    assert await sim.db.all("SELECT * FROM answers") == before
    assert await sim.db.all("SELECT * FROM update_errors") == []  # not an error


async def test_a_stale_building_button_in_english(sim: Simulator) -> None:
    school = await make_school(sim)
    await school.principal.send("/invite")
    await school.principal.tap("教职工")
    await school.principal.tap("7 天")
    made = await school.principal.tap("10 人")
    english = await join(sim, link_code(made[-1].text), "Li Lei", language="en")
    await english.tap_data("j0:" + OpenBuilding(1).pack().partition(":")[2])
    assert english.alerts[-1] == "This question is already answered."
    said = await english.tap_data(OpenBuilding(1).pack())  # today's button works
    assert "1/19 · F01" in said[-1].text
