"""四不两直: nothing about a drawn visit reaches the school before a supervisor starts it."""

from __future__ import annotations

from ledger.clock import FakeClock
from tests.simulator import Chat, Simulator
from tests.supervision_helpers import World, draw, seen, world

COMMANDS = ("/inspect", "/tasks", "/progress", "/reminders", "/whoami", "/help", "/visits")


async def everything(w: World, chat: Chat) -> list[object]:
    """Every message and export a member of the school can obtain."""
    found: list[object] = []
    for command in (*COMMANDS, f"/hazard_{w.listed}", f"/hazard_{w.closed}"):
        found.append(seen(await chat.send(command)))
    said = await chat.send("/export")
    found.append(seen(said))
    menu = [m for m in said if m.buttons]
    for message in menu:
        for row in message.buttons:
            for _, data in row:
                found.append(seen(await chat.tap_data(data, message)))
    return found


async def test_after_a_draw_every_message_and_export_of_the_school_is_unchanged(
    sim: Simulator, clock: FakeClock
) -> None:
    w = await world(sim)
    members = (w.s.principal, w.s.leader, w.s.staff, w.other.principal, w.other.staff)
    # Supervision is due tomorrow: the supervisors' reminders are due today.
    async with sim.db.write() as tx:
        await tx.run("UPDATE campaigns SET supervision_due = '2026-11-29'")
    clock.advance(hours=1)
    await sim.plan()
    while await sim.send_outbox():
        pass
    for chat in members:
        chat.new()
    before = [await everything(w, chat) for chat in members]
    outbox_before = await sim.db.all(
        "SELECT key, text FROM outbox WHERE person_id IN (SELECT person_id FROM memberships"
        " WHERE school_id IS NOT NULL) ORDER BY id"
    )

    await draw(sim, schools=2, per_visit=2)
    await sim.plan()
    while await sim.send_outbox():
        pass

    assert [chat.new() for chat in members] == [[] for _ in members]
    after = [await everything(w, chat) for chat in members]
    assert after == before
    outbox_after = await sim.db.all(
        "SELECT key, text FROM outbox WHERE person_id IN (SELECT person_id FROM memberships"
        " WHERE school_id IS NOT NULL) ORDER BY id"
    )
    assert [tuple(r) for r in outbox_after] == [tuple(r) for r in outbox_before]
    # The drawn supervisors were reminded (the planner ran), the school was not.
    reminded = [m.text for m in w.sup1.new() + w.sup2.new()]
    assert any("实验小学的抽查尚未完成" in text for text in reminded)
    # 督导丙 is a member of 实验小学: never drawn for it, never told of it.
    assert not any("实验小学" in m.text for m in w.sup3.new())


async def test_the_school_hears_of_the_visit_only_when_it_ends(sim: Simulator) -> None:
    w = await world(sim)
    await draw(sim)
    await w.sup1.send("/supervise")
    await w.sup1.tap("开始督查：实验小学")
    await w.sup1.tap("🕵️ 食堂")
    await w.sup1.tap("无隐患")
    assert w.s.principal.new() == []
    said = await w.s.principal.send("/visits")
    assert said[-1].text == "您没有权限进行此操作。"
    await w.sup1.send("/supervise")
    await w.sup1.tap("结束督查")
    (record,) = w.s.principal.new()
    assert record.text.startswith("📋 督查记录 · 实验小学")
    assert w.other.principal.new() == []


async def test_a_supervisor_sees_the_reminders_of_their_drawn_visits(sim: Simulator) -> None:
    w = await world(sim)
    async with sim.db.write() as tx:
        await tx.run("UPDATE campaigns SET supervision_due = '2026-12-05'")
    await draw(sim)
    w.sup1.new()
    said = await w.sup1.send("/reminders")
    assert "11月28日 09:00 → 督导甲：督查提醒 实验小学" in said[0].text
    assert "12月4日 09:00 → 督导甲：督查提醒 实验小学" in said[0].text
    said = await w.s.principal.send("/reminders")
    assert "督查" not in "\n".join(m.text for m in said)
