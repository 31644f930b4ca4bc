"""Long texts typed by people never make a screen too long for Telegram.

Each screen is filled with what overflowed it before: 500-character descriptions
(the most a field takes), emoji that count two UTF-16 units. Every message is
judged by the simulator as Telegram judges it, and the bot's own budget is checked
too: at most 4096 UTF-16 units of what the reader sees, buttons kept.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from handlers.named import Card
from ledger.roles import Role
from scheduler.jobs import render
from scheduler.planner import LIST_MAX, Planned
from storage import people
from telegram_rules import MAX_TEXT, utf16_len
from tests.conftest import jpeg
from tests.rectify_helpers import report, scene
from tests.simulator import Chat, Sent, Simulator, texts
from tests.test_imports import xlsx
from texts import t


def long_text(n: int, word: str = "楼梯间堆放杂物") -> str:
    """500 characters (a field's most), a third of them emoji: 667 UTF-16 units."""
    text = f"{n:02d}" + "".join(("🔥" if i % 3 == 0 else word[i % len(word)]) for i in range(498))
    assert len(text) == 500
    return text


def fits(message: Sent) -> None:
    assert utf16_len(message.text) <= MAX_TEXT, utf16_len(message.text)


async def walk_with_long_hazards(chat: Chat, count: int) -> None:
    await chat.send("/inspect")
    await chat.tap("教学楼A")
    for n in range(1, 20):
        if n <= count:
            await chat.tap("有隐患")
            await chat.tap("无照片")
            await chat.send(long_text(n))
            await chat.tap("是")  # fixable at once
        else:
            await chat.tap("无隐患")


async def test_walk_summary_with_nine_long_hazards_can_be_closed(sim: Simulator) -> None:
    s = await scene(sim)
    await walk_with_long_hazards(s.staff, 9)
    said = await s.staff.tap("否")  # no other hazard: the summary
    summary = said[-1]
    assert summary.text.startswith("【教学楼A】排查小结")
    fits(summary)
    assert summary.buttons == [[("🔒 销号", summary.buttons[0][0][1])]]
    listed = [n for n in range(1, 10) if f"{n}. {n:02d}" in summary.text]
    left = 9 - len(listed)
    assert listed == list(range(1, len(listed) + 1))
    assert left == 0 or f"……另有 {left} 处隐患未列出" in summary.text
    said = await s.staff.tap("🔒 销号")
    assert "🔒【教学楼A】已销号。" in texts(said)
    assert await sim.db.value("SELECT closed_at IS NOT NULL FROM inspections") == 1
    stored = await sim.db.all("SELECT description FROM hazards ORDER BY id")
    assert [r[0] for r in stored] == [long_text(n) for n in range(1, 10)]  # kept whole


async def test_walk_summary_with_every_item_a_long_hazard(sim: Simulator) -> None:
    s = await scene(sim)
    await walk_with_long_hazards(s.staff, 19)
    for extra in range(20, 41):  # and 21 more "other hazards": 40 in all
        await s.staff.tap("是")
        await s.staff.tap("无照片")
        await s.staff.send(long_text(extra))
        await s.staff.tap("是")
    said = await s.staff.tap("否")
    fits(said[-1])
    assert "……另有" in said[-1].text and said[-1].buttons[0][0][0] == "🔒 销号"
    summary_id = said[-1].message_id
    await s.staff.tap("🔒 销号")
    closed = next(m for m in s.staff.messages if m.message_id == summary_id)
    fits(closed)  # answered in place: the answer added only while it fits (UTF-16 units)
    assert closed.buttons == []
    assert await sim.db.value("SELECT closed_at IS NOT NULL FROM inspections") == 1


async def test_tasks_with_eight_long_hazards(sim: Simulator) -> None:
    s = await scene(sim)
    colors = ["red", "blue", "green", "yellow", "purple", "orange", "pink", "brown"]
    ids = [await report(s.staff, long_text(n), color=c) for n, c in enumerate(colors, 1)]
    said = await s.staff.send("/tasks")
    fits(said[-1])
    shown = [data for row in said[-1].buttons for _, data in row]
    assert shown == [Card(i).pack() for i in ids]  # every one on the screen, each a button
    for n in range(1, 9):
        assert long_text(n)[:20] in said[-1].text
    assert long_text(1) not in said[-1].text  # clipped in the list...
    said = await s.staff.tap_data(f"hc:{ids[0]}")
    assert long_text(1) in said[-1].text  # ...whole on the card
    fits(said[-1])


async def long_hazard_on_a_card(s, n: int = 1) -> int:
    """A major hazard, every typed field at its longest, reported by quick report."""
    chat = s.staff
    said = await chat.photo(jpeg(color="red"))
    if "这是哪栋建筑" in said[-1].text:
        await chat.tap("教学楼A")
    await chat.tap("照片已发完")
    await chat.send(long_text(n))
    await chat.tap("否")
    await chat.tap("30 天内")
    await chat.tap("实验小学王老师")
    await chat.send(long_text(n, "更换全部线路"))
    await chat.tap("否")
    await chat.tap("是")  # major
    await chat.send(long_text(n, "专项经费"))
    said = await chat.send(long_text(n, "停用并设置警戒线"))
    return int(said[0].text.split("#")[1].split()[0])


async def test_card_with_long_emoji_fields(sim: Simulator) -> None:
    s = await scene(sim)
    hazard_id = await long_hazard_on_a_card(s)
    for attempt in range(3):  # three fix reports, each returned with a long reason
        await s.staff.tap_data(f"r:fx:{hazard_id}")
        await s.staff.photo(jpeg(color=["green", "blue", "gray"][attempt]))
        await s.staff.tap("照片已发完")
        await s.staff.send(long_text(attempt, "已整改完毕"))
        fix_id = await sim.db.value("SELECT MAX(id) FROM fix_reports")
        await s.leader.tap_data(f"r:rt:{hazard_id}:{fix_id}")
        await s.leader.send(long_text(attempt, "照片不清楚"))
    await s.staff.tap_data(f"r:ex:{hazard_id}")
    await s.staff.send("2027-06-30")
    await s.staff.send(long_text(7, "等待材料到货"))
    said = await s.staff.send(f"/hazard {hazard_id}")
    card = said[-1]
    fits(card)
    assert long_text(1) in card.text  # the description whole
    assert [row[0][0] for row in card.buttons] == ["📷 上报整改完成"]
    said = await s.leader.send(f"/hazard {hazard_id}")
    fits(said[-1])
    labels = [label for row in said[-1].buttons for label, _ in row]
    assert labels == ["📷 上报整改完成", "✅ 同意延期", "❌ 不同意", "🚫 无法整改", "👤 更换责任人"]
    assert await sim.db.value("SELECT measures FROM hazards") == long_text(1, "更换全部线路")


async def test_invitations_listed_beyond_one_message(sim: Simulator) -> None:
    s = await scene(sim)
    async with sim.db.write() as tx:
        for _ in range(150):
            await people.create_invitation(
                tx,
                role=Role.STAFF,
                school_id=s.school.school_id,
                created_by=None,
                days=7,
                max_uses=50,
            )
    said = await s.principal.send("/invitations")
    fits(said[-1])
    assert "第 1/8 页" in said[-1].text  # in pages (tests/test_pages.py: every one reachable)
    shown = said[-1].text.count("已用 ")
    revoke, turns = said[-1].buttons[:-1], said[-1].buttons[-1]
    assert len(revoke) == shown  # a revoke button for each invitation listed
    assert [label for label, _ in turns] == ["下一页（2）➡️"]


async def test_a_long_roster_of_schools_imported_in_several_messages(sim: Simulator) -> None:
    s = await scene(sim)
    rows = [
        (
            f"{n:03d}" + "第一实验学校" * 9 + "🏫" * 0,
            "小学",
            "公办",
            "城关镇" * 10,
            "张校长" * 5,
            f"138001{n:05d}",
        )
        for n in range(120)
    ]
    s.taskforce.new()
    said = await s.taskforce.document(xlsx_schools(rows), "schools.xlsx", XLSX)
    assert len(said) > 1
    for message in said:
        fits(message)
    links = sum(m.text.count("?start=") for m in said)
    assert links == 120  # every principal's invitation reached the task force
    assert await sim.db.value("SELECT COUNT(*) FROM schools") == 121


def test_a_reminder_list_of_long_names_fits() -> None:
    item = {
        "school": "第一实验学校" * 10,
        "building": "教学楼" * 20,
        "id": 123456,
        "what": "🔥" * 40,
        "deadline": "2026-12-01",
        "responsible": "张" * 60,
    }
    planned = Planned(
        key="k",
        kind="remind.escalate_list",
        person_id=1,
        text="reminders.more",
        values={"count": 1},
        not_before=datetime(2026, 12, 5, 9, tzinfo=ZoneInfo("Asia/Shanghai")),
        instead_of=tuple("李" * 60 for _ in range(30)),
        items=tuple(("reminders.escalate_item", item) for _ in range(LIST_MAX + 5)),
    )
    for lang in ("zh", "en"):
        text = render(planned, lang)
        assert utf16_len(text) <= MAX_TEXT
        assert t(lang, "reminders.escalate_item", **item) in text
        assert t(lang, "reminders.more", count=5).split("5")[0] in text


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_schools(rows: list[tuple]) -> bytes:
    from reports.imports import Kind

    return xlsx(Kind.SCHOOLS, rows)


def test_a_screen_built_too_long_is_cut_not_refused(caplog) -> None:
    from handlers.base import within_limit
    from telegram_rules import formatted

    text = within_limit("<b>标题</b>\n" + "🔥" * 3000)
    assert utf16_len(formatted(text, "HTML").text) <= MAX_TEXT
    assert "UTF-16 units was built" in caplog.text
