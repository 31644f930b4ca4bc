"""Supervision's long lists in pages: the visits drawn for a supervisor (``/supervise``) and
the ledger's hazards a finding may be matched to. Every entry can be reached, each page
within Telegram's keyboard limits (the simulator's fake judges every keyboard), and a page
button from before the list changed is answered clearly."""

from __future__ import annotations

from tests.simulator import Chat, Sent, Simulator
from tests.supervision_helpers import World, many_drawn, many_hazards, start_visit, world


def labels(message: Sent) -> list[str]:
    return [label for row in message.buttons for label, _ in row]


def starts(message: Sent) -> list[str]:
    return [label.removeprefix("开始督查：") for label in labels(message) if "开始督查" in label]


# --- the drawn visits ------------------------------------------------------------------------


async def test_forty_drawn_visits_are_reached_page_by_page_and_the_last_is_started(
    sim: Simulator,
) -> None:
    w = await world(sim)
    names = await many_drawn(sim, 40)
    said = await w.sup1.send("/supervise")
    menu = said[-1]
    assert "抽中给您的学校：40 所" in menu.text and "第 1/4 页" in menu.text
    assert starts(menu) == names[:10]
    assert labels(menu)[-2:] == ["下一页（2）➡️", "自选学校"]
    seen = list(starts(menu))
    for page in (2, 3, 4):
        said = await w.sup1.tap("下一页")
        assert [m.message_id for m in said] == [menu.message_id]  # turned in place
        assert f"第 {page}/4 页" in said[-1].text
        seen += starts(said[-1])
    assert seen == names  # every one, once, in the order drawn
    assert "下一页" not in str(said[-1].buttons)
    said = await w.sup1.tap("上一页")
    assert "第 3/4 页" in said[-1].text and starts(said[-1]) == names[20:30]
    said = await w.sup1.tap("下一页")
    assert "第 4/4 页" in said[-1].text
    said = await w.sup1.tap("开始督查：抽查学校40")
    assert "督查抽查学校40" in said[-1].text
    row = await sim.db.one(
        "SELECT v.state, s.name FROM supervision_visits v JOIN schools s ON s.id = v.school_id"
        " WHERE v.state = 'started'"
    )
    assert row is not None and tuple(row) == ("started", "抽查学校40")


async def test_a_drawn_page_past_the_lists_end_says_it_changed(sim: Simulator) -> None:
    """Page 3 asked from an old menu after most visits were started elsewhere: the last
    page there is now is shown, saying the list changed; nothing is stored."""
    w = await world(sim)
    await many_drawn(sim, 25)
    await w.sup1.send("/supervise")
    said = await w.sup1.tap("下一页")  # page 2 of 3: its "more" asks for page 3
    assert "第 2/3 页" in said[-1].text
    async with sim.db.write() as tx:  # 20 of them taken away meanwhile (another draw's fate)
        await tx.run(
            "DELETE FROM visit_supervisors WHERE visit_id IN"
            " (SELECT id FROM supervision_visits ORDER BY id DESC LIMIT 20)"
        )
    before = await sim.db.all("SELECT * FROM supervision_visits ORDER BY id")
    said = await w.sup1.tap("下一页（3）")
    assert said[-1].text.startswith("⚠️ 列表已有变化，现显示第 1 页。")
    assert "抽中给您的学校：5 所" in said[-1].text and "页" not in said[-1].text.splitlines()[-1]
    assert len(starts(said[-1])) == 5
    assert [tuple(r) for r in await sim.db.all("SELECT * FROM supervision_visits ORDER BY id")] == [
        tuple(r) for r in before
    ]


async def test_a_drawn_page_in_english(sim: Simulator) -> None:
    w = await world(sim)
    await many_drawn(sim, 12)
    w.sup1.user["language_code"] = "en"
    await w.sup1.send("/supervise")
    said = await w.sup1.tap("➡️")
    assert "Page 2 of 2" in said[-1].text and "抽查学校12" in str(said[-1].buttons)


async def test_a_page_of_drawn_visits_is_for_supervisors_only(sim: Simulator) -> None:
    """The page button, tapped by someone who is not a supervisor (a forwarded keyboard),
    is refused as the menu is."""
    w = await world(sim)
    await many_drawn(sim, 12)
    await w.sup1.send("/supervise")
    _, data = w.sup1._button("下一页")
    await w.s.staff.tap_data(data, w.sup1.last)
    assert w.s.staff.alerts[-1] == "只有督导组成员可以进行督查。"


# --- the hazards a finding may be matched to -------------------------------------------------


async def at_match(sim: Simulator, w: World, chat: Chat) -> Sent:
    """督导甲 at his finding's match question on 教学楼A (found on F01, no photo, not major)."""
    await start_visit(sim, w)
    await chat.tap("🕵️ 教学楼A")
    await chat.tap("有隐患")
    await chat.tap("无照片")
    await chat.send("楼梯间仍有杂物")
    said = await chat.tap("否")
    assert "是否已列入学校台账" in said[-1].text
    return said[-1]


def matches(message: Sent) -> list[str]:
    return [label for label in labels(message) if "#" in label]


async def test_sixty_hazards_are_reached_page_by_page_and_the_last_is_matched(
    sim: Simulator,
) -> None:
    w = await world(sim)
    made = await many_hazards(sim, w, 60)
    question = await at_match(sim, w, w.sup1)
    ledger = 62  # the scene's two, and sixty more
    assert "第 1/7 页" in question.text and len(matches(question)) == 10
    assert labels(question)[-2:] == ["下一页（2）➡️", "🚩 清单外"]
    seen = list(matches(question))
    for page in range(2, 8):
        said = await w.sup1.tap("下一页")
        assert [m.message_id for m in said] == [question.message_id]
        assert f"第 {page}/7 页" in said[-1].text and "🚩 清单外" in labels(said[-1])
        seen += matches(said[-1])
    assert len(seen) == len(set(seen)) == ledger
    assert all(any(f"#{h} " in label for label in seen) for h in [w.listed, w.closed, *made])
    said = await w.sup1.tap("上一页")
    assert "第 6/7 页" in said[-1].text
    said = await w.sup1.tap("下一页")
    assert "第 7/7 页" in said[-1].text and "下一页" not in str(said[-1].buttons)
    last = made[-1]
    assert f"已列入 #{last} 堆放杂物60" in labels(said[-1])
    said = await w.sup1.tap(f"已列入 #{last} ")
    assert any(f"与台账隐患 #{last} 一致" in m.text for m in said)
    row = await sim.db.one("SELECT state, kind, hazard_id FROM supervision_findings")
    assert row is not None and tuple(row) == ("recorded", "listed", last)
    assert "【教学楼A】2/" in said[-1].text  # the walk goes on


async def test_a_match_page_after_the_finding_was_matched_is_stale(sim: Simulator) -> None:
    w = await world(sim)
    await many_hazards(sim, w, 30)
    question = await at_match(sim, w, w.sup1)
    _, more = w.sup1._button("下一页")
    await w.sup1.tap("清单外")
    before = await sim.db.all("SELECT id, state, kind, hazard_id FROM supervision_findings")
    w.sup1.new()
    await w.sup1.tap_data(more, question)
    assert w.sup1.alerts[-1] == "这个问题已经回答过了。"
    after = await sim.db.all("SELECT id, state, kind, hazard_id FROM supervision_findings")
    assert [tuple(r) for r in after] == [tuple(r) for r in before]


async def test_a_match_page_past_the_lists_end_says_it_changed(sim: Simulator) -> None:
    w = await world(sim)
    made = await many_hazards(sim, w, 30)  # 32 in all: 4 pages
    await at_match(sim, w, w.sup1)
    await w.sup1.tap("下一页")
    said = await w.sup1.tap("下一页")
    assert "第 3/4 页" in said[-1].text
    async with sim.db.write() as tx:  # withdrawn meanwhile: 2 pages left
        for hazard in made[:15]:
            await tx.run("UPDATE hazards SET state = 'withdrawn' WHERE id = ?", (hazard,))
    said = await w.sup1.tap("下一页（4）")
    assert said[-1].text.startswith("⚠️ 列表已有变化，现显示第 2 页。")
    assert "第 2/2 页" in said[-1].text
    assert await sim.db.value("SELECT state FROM supervision_findings") == "draft"


async def test_a_match_page_in_english(sim: Simulator) -> None:
    w = await world(sim)
    await many_hazards(sim, w, 12)
    await at_match(sim, w, w.sup1)
    w.sup1.user["language_code"] = "en"
    said = await w.sup1.tap("下一页")
    assert "Page 2 of 2" in said[-1].text and "🚩 Off-list" in labels(said[-1])


# --- /visits ----------------------------------------------------------------------------------


async def test_forty_visits_in_visits_are_reached_and_the_last_record_opened(
    sim: Simulator,
) -> None:
    w = await world(sim)
    names = await many_drawn(sim, 40)
    async with sim.db.write() as tx:  # all of them visited and ended
        await tx.run(
            "UPDATE supervision_visits SET state = 'ended', started_at = ?, ended_at = ?",
            (tx.now(), tx.now()),
        )
    said = await w.s.taskforce.send("/visits")
    listing = said[-1]
    assert "第 1/2 页" in listing.text and len(labels(listing)) == 21  # 20 records, "more"
    said = await w.s.taskforce.tap("下一页")
    assert [m.message_id for m in said] == [listing.message_id]
    assert "第 2/2 页" in said[-1].text and "抽查学校40" in said[-1].text
    assert [label for label in labels(said[-1]) if "督查记录" in label] == [
        f"督查记录：{name}" for name in names[20:]
    ]
    said = await w.s.taskforce.tap("上一页")
    assert "第 1/2 页" in said[-1].text
    await w.s.taskforce.tap("下一页")
    said = await w.s.taskforce.tap("督查记录：抽查学校40")
    assert "督查记录 · 抽查学校40" in said[-1].text
