"""The scene for supervision tests: a school that inspected and fixed, supervisors, a draw."""

from __future__ import annotations

import io
from dataclasses import dataclass

from openpyxl import load_workbook

from cases import supervision
from ledger.roles import Role
from ledger.supervision import Draw, DrawnVisit
from storage import campus
from storage import supervision as store
from tests.conftest import School, cli_invitation, join, jpeg, make_school
from tests.rectify_helpers import Scene, report, report_fix, scene
from tests.simulator import Chat, Sent, Simulator

BUILDINGS = (("教学楼A", "教学楼", "4", "2005"), ("食堂", "食堂", "1", "2010"))


@dataclass
class World:
    s: Scene
    other: School  # 第二中学: another school
    sup1: Chat
    sup2: Chat
    sup3: Chat  # a supervisor who is also a staff member of 实验小学
    listed: int  # an open hazard on 教学楼A
    closed: int  # a closed hazard on 教学楼A (fixed by staff, verified by the leader)

    @property
    def school_id(self) -> int:
        return self.s.school.school_id


async def walk_all_ok(chat: Chat, building: str) -> None:
    """Walk a building answering "no hazard" to every item, and close it."""
    await chat.send("/inspect")
    said = await chat.tap(building)
    while "还有其他隐患吗" not in said[-1].text:
        said = await chat.tap("无隐患")
    await chat.tap("否")
    await chat.tap("销号")
    chat.new()


async def world(sim: Simulator) -> World:
    s = await scene(sim, BUILDINGS)
    await walk_all_ok(s.staff, "食堂")
    listed = await report(s.staff, "楼梯间堆放杂物", building="教学楼A")
    closed = await report(s.staff, "灭火器过期", building="教学楼A", color="blue")
    await report_fix(s.staff, closed)
    await s.leader.tap("✅ 验收销号")
    assert await sim.db.value("SELECT state FROM hazards WHERE id = ?", (closed,)) == "closed"
    other = await make_school(sim, name="第二中学", taskforce=s.taskforce)
    sups = []
    for name in ("督导甲", "督导乙", "督导丙"):
        sups.append(await join(sim, await cli_invitation(sim, Role.SUPERVISOR), name))
    staff_code = await cli_invitation(sim, Role.STAFF, s.school.school_id)
    await sups[2].send(f"/start {staff_code}")
    for chat in (s.taskforce, s.principal, s.staff, s.leader, other.principal, *sups):
        chat.new()
    return World(s, other, sups[0], sups[1], sups[2], listed, closed)


async def draw(sim: Simulator, schools: int = 2, per_visit: int = 2, seed: str = "t") -> int:
    """What ``xiaoan draw`` does."""
    asked = supervision.DrawAsked(sim.services.campaign_id, seed, schools, per_visit)
    draw_id, _ = await supervision.draw_by_operator(sim.db, asked)
    await sim.send_outbox()
    return draw_id


async def start_visit(sim: Simulator, w: World) -> list[Sent]:
    """Both schools drawn; 督导甲 starts the visit at 实验小学 (what he sees)."""
    await draw(sim)
    for chat in (w.sup1, w.sup2, w.sup3):
        chat.new()  # told of the draw
    await w.sup1.send("/supervise")
    return await w.sup1.tap("开始督查：实验小学")


async def many_drawn(sim: Simulator, count: int, supervisor: str = "督导甲") -> list[str]:
    """``count`` more schools, each drawn for ``supervisor`` alone (a draw as stored):
    their names, in the order drawn."""
    person = int(await sim.db.value("SELECT id FROM people WHERE name = ?", (supervisor,)))
    names = [f"抽查学校{n:02d}" for n in range(1, count + 1)]
    async with sim.db.write() as tx:
        ids = [
            await campus.create_school(tx, name=name, kind="小学", ownership="public",
                                       district="城关镇", actor_id=None)
            for name in names
        ]  # fmt: skip
        made = Draw("many", count, 1, (), (), tuple(DrawnVisit(i, (person,)) for i in ids))
        await store.store_draw(tx, sim.services.campaign_id, made, [], [], None)
    return names


async def many_hazards(sim: Simulator, w: World, count: int) -> list[int]:
    """``count`` more open hazards on 教学楼A's ledger (copies of ``w.listed``, each its own
    description): their ids, in the order made."""
    columns = [
        r["name"] for r in await sim.db.all("PRAGMA table_info(hazards)") if r["name"] != "id"
    ]
    listed = ", ".join(c if c != "description" else "?" for c in columns)
    made = []
    async with sim.db.write() as tx:
        for n in range(1, count + 1):
            made.append(
                await tx.run(
                    f"INSERT INTO hazards ({', '.join(columns)})"  # noqa: S608
                    f" SELECT {listed} FROM hazards WHERE id = ?",
                    (f"堆放杂物{n:02d}", w.listed),
                )
            )
    return made


def workbook_values(data: bytes) -> dict[str, list[list[object]]]:
    wb = load_workbook(io.BytesIO(data))
    return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in wb.worksheets}


def seen(messages: list[Sent]) -> list[object]:
    """What a person can read of messages: texts, buttons, files (workbooks by their cells)."""
    found: list[object] = []
    for m in messages:
        found.append((m.kind, m.text, m.caption, m.buttons))
        for data in m.files:
            found.append(workbook_values(data) if data[:2] == b"PK" else data)
    return found


__all__ = ["jpeg"]
