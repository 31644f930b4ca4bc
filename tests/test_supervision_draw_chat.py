"""``/draw`` in chat: the task force draws; bad numbers and too many refused, nothing stored."""

from __future__ import annotations

import re

from bot.cli import parser
from bot.draw import cmd_draw
from handlers.draw import DrawDistrict, DrawKind
from tests.simulator import Simulator
from tests.supervision_helpers import world


async def test_the_task_force_draws_in_chat_and_the_draw_verifies(sim: Simulator) -> None:
    w = await world(sim)
    tf = w.s.taskforce
    said = await tf.send("/draw")
    assert "要抽取几所学校" in said[-1].text
    said = await tf.send("两所")
    assert said[0].text == "请输入 1 到 1000 之间的数字。"  # the question stays
    await tf.send("2")
    said = await tf.tap("全部区域")
    assert "抽取哪类学校" in said[-1].text
    said = await tf.tap("全部类型")
    said = await tf.send("2")
    text = said[-1].text
    assert "抽取 #1 完成（不通知学校）" in text
    assert "候选学校 2 所，督导员库 3 人" in text
    seed = re.search(r"随机种子：(\w+)", text)
    assert seed is not None
    assert await sim.db.value("SELECT seed FROM supervision_draws") == seed.group(1)
    (line,) = [x for x in text.split("\n") if x.startswith("· 实验小学：")]
    assert sorted(line.split("：")[1].split("、")) == ["督导乙", "督导甲"]  # 督导丙 is a member
    assert await sim.db.value("SELECT drawn_by FROM supervision_draws") is not None
    assert await sim.db.value("SELECT COUNT(*) FROM pending_inputs") == 0
    # The same seed and candidates give the same result: the command line checks it.
    code, out = await cmd_draw(sim.config, parser().parse_args(["draw", "--verify", "1"]))
    assert code == 0
    assert out.endswith("verified: the same result")
    assert w.s.principal.new() == [] and w.other.principal.new() == []
    told = [m.text for m in w.sup1.new() + w.sup2.new() + w.sup3.new()]
    assert (
        "🎲 您被抽中督查实验小学（四不两直：不要提前通知学校）。到达现场后发送 /supervise 开始。"
        in told
    )
    assert len(told) == 4  # two supervisors for each of the two schools


async def test_a_draw_in_chat_of_more_schools_than_left_is_refused(sim: Simulator) -> None:
    w = await world(sim)
    tf = w.s.taskforce
    await tf.send("/draw")
    await tf.send("3")
    await tf.tap("城关镇")
    await tf.tap("小学")
    said = await tf.send("1")
    assert said[0].text == ("要抽取 3 所学校，但本轮尚未督查的符合条件的学校只剩 2 所。")
    assert await sim.db.value("SELECT COUNT(*) FROM supervision_draws") == 0
    assert await sim.db.value("SELECT COUNT(*) FROM pending_inputs") == 0


async def test_a_draw_in_chat_of_more_supervisors_than_the_pool_is_refused(
    sim: Simulator,
) -> None:
    w = await world(sim)
    tf = w.s.taskforce
    await tf.send("/draw")
    await tf.send("1")
    await tf.tap("全部区域")
    await tf.tap("全部类型")
    said = await tf.send("4")
    assert said[0].text == "每组要 4 名督导员，但督导员库中只有 3 人。"
    assert await sim.db.value("SELECT COUNT(*) FROM supervision_visits") == 0


async def test_a_school_member_cannot_draw(sim: Simulator) -> None:
    w = await world(sim)
    said = await w.s.principal.send("/draw")
    assert said[-1].text == "您没有权限进行此操作。"
    await w.s.principal.tap_data(DrawDistrict(0).pack())
    assert w.s.principal.alerts[-1] == "您没有权限进行此操作。"
    await w.sup1.tap_data(DrawKind("all").pack())  # no draw being asked for: an old button
    assert w.sup1.alerts[-1] == "这个问题已经回答过了。"
