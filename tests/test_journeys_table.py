"""The journeys table: every journey that waits for input answers typed text, a photo, a
document and ``/cancel`` sensibly — a short answer, no error, and after ``/cancel``
nothing pending — driven through the chat as people do."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import bot.app  # noqa: F401 - imports every handler module, which registers its journeys
from handlers.journeys import TABLE, Journey, load
from handlers.rectify import AskExtension, DecideExtension, MarkUnfixable, ReportFix, ReturnFix
from ledger.roles import Role
from tests.conftest import cli_invitation, jpeg
from tests.rectify_helpers import report, report_fix, scene
from tests.simulator import Chat, Simulator
from tests.supervision_helpers import start_visit, world
from texts import t

Setup = Callable[[Simulator], Awaitable[Chat]]


async def _joining(sim: Simulator) -> Chat:
    chat = sim.chat("新同事", "zh-hans")
    await chat.send(f"/start {await cli_invitation(sim, Role.TASKFORCE)}")
    return chat


async def _walking(sim: Simulator) -> Chat:
    s = await scene(sim)
    await s.staff.send("/inspect")
    await s.staff.tap("教学楼A")
    return s.staff


async def _quick(sim: Simulator) -> Chat:
    s = await scene(sim)
    await s.staff.photo(jpeg(color="red"))
    return s.staff


async def _scanned(sim: Simulator) -> Chat:
    s = await scene(sim)
    building = await sim.db.value("SELECT id FROM buildings")
    await s.staff.send(f"/start w_{building}")
    async with sim.db.write() as tx:
        await tx.run("UPDATE inspections SET closed_at = ?", (tx.now(),))
    await s.principal.send(f"/start w_{building}")
    return s.principal


async def _fixing(sim: Simulator) -> Chat:
    s = await scene(sim)
    hazard_id = await report(s.staff, "灭火器过期")
    await s.staff.tap_data(ReportFix(hazard_id).pack())
    return s.staff


async def _returning(sim: Simulator) -> Chat:
    s = await scene(sim)
    hazard_id = await report(s.staff, "灭火器过期")
    await report_fix(s.staff, hazard_id)
    fix_id = await sim.db.value("SELECT id FROM fix_reports")
    await s.leader.tap_data(ReturnFix(hazard_id, fix_id).pack())
    return s.leader


async def _extending(sim: Simulator) -> Chat:
    s = await scene(sim)
    hazard_id = await report(s.staff, "灭火器过期")
    await s.staff.tap_data(AskExtension(hazard_id).pack())
    return s.staff


async def _refusing(sim: Simulator) -> Chat:
    s = await scene(sim)
    hazard_id = await report(s.staff, "灭火器过期")
    await s.staff.tap_data(AskExtension(hazard_id).pack())
    await s.staff.send("2030-01-01")
    await s.staff.send("材料未到")
    change_id = await sim.db.value("SELECT MAX(id) FROM deadline_changes")
    await s.leader.tap_data(DecideExtension(hazard_id, change_id, False).pack())
    return s.leader


async def _unfixable(sim: Simulator) -> Chat:
    s = await scene(sim)
    hazard_id = await report(s.staff, "灭火器过期")
    await s.leader.tap_data(MarkUnfixable(hazard_id).pack())
    return s.leader


async def _form(command: str, sim: Simulator) -> Chat:
    s = await scene(sim)
    chat = s.taskforce if command == "/addschool" else s.principal
    await chat.send(command)
    return chat


async def _supervising(sim: Simulator) -> Chat:
    w = await world(sim)
    await start_visit(sim, w)
    await w.sup1.tap("🕵️ 食堂")
    return w.sup1


async def _missed(sim: Simulator) -> Chat:
    w = await world(sim)
    await start_visit(sim, w)
    await w.sup1.tap("添加遗漏建筑")
    return w.sup1


async def _drawing(sim: Simulator) -> Chat:
    w = await world(sim)
    await w.s.taskforce.send("/draw")
    return w.s.taskforce


SETUPS: dict[str, Setup] = {
    "join": _joining,
    "walk": _walking,
    "quick": _quick,
    "scanned": _scanned,
    "fix": _fixing,
    "return": _returning,
    "extend": _extending,
    "refuse": _refusing,
    "unfixable": _unfixable,
    "form:school": lambda sim: _form("/addschool", sim),
    "form:building": lambda sim: _form("/addbuilding", sim),
    "form:invite": lambda sim: _form("/invite", sim),
    "supervision_walk": _supervising,
    "missed_building": _missed,
    "draw": _drawing,
}


def test_every_journey_in_the_table_is_driven_here() -> None:
    assert set(SETUPS) == set(TABLE)


async def _in(sim: Simulator, chat: Chat, kind: str) -> Journey:
    row = await sim.db.one(
        "SELECT p.kind, p.data FROM pending_inputs p WHERE p.tg_user_id = ?", (chat.user_id,)
    )
    assert row is not None and row["kind"] == kind
    state = load(row["kind"], json.loads(row["data"]))
    assert state is not None and state.kind == kind
    return state


PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.mark.parametrize("kind", sorted(SETUPS))
@pytest.mark.parametrize("what", ["text", "photo", "document", "cancel"])
async def test_every_journey_answers_what_people_send(sim: Simulator, kind: str, what: str) -> None:
    chat = await SETUPS[kind](sim)
    state = await _in(sim, chat, kind)
    chat.new()
    said: list[Any]
    if what == "text":
        said = await chat.send("这里有问题")
    elif what == "photo":
        said = await chat.photo(jpeg(color="blue"))
    elif what == "document":
        said = await chat.document(PDF, "说明.pdf", "application/pdf")
        assert said[0].text == t("zh", "error.photo.not_image")
    else:
        said = await chat.send("/cancel")
        assert said[0].text.startswith(t("zh", state.cancelled)[:6])
        waiting = "SELECT COUNT(*) FROM pending_inputs WHERE tg_user_id = ?"
        assert await sim.db.value(waiting, (chat.user_id,)) == 0
    assert said, f"{kind}: no answer to {what}"
    assert all(m.text or m.kind != "message" for m in said)
    assert sim.errors == []
    assert await sim.db.all("SELECT * FROM update_errors") == []


@pytest.mark.parametrize("kind", sorted(TABLE))
def test_every_journey_state_is_stored_and_read_back(kind: str) -> None:
    cls = TABLE[kind]
    assert cls.__doc__, "each journey says what it waits for"
    fields = dataclasses.fields(cls)
    sample: dict[str, object] = {f.name: (1 if f.type in (int, "int") else "x") for f in fields}
    if kind.startswith("form:"):  # typed fields, None until given: a form half filled in
        sample = {"school": 1, "name": "一小"} if kind == "form:building" else {}
    state = cls(**sample)
    assert load(kind, state.stored()) == state


def test_a_state_no_journey_reads_is_none() -> None:
    assert load("nope", {}) is None
    assert load("walk", {}) is None  # a field missing: from another version
