"""A visit's record lists every answer (issue 12, supervision): when the visit ends, the
supervisor and the school's principal read each building walked, each item's answer with
the school's own beside it, each finding and what it was matched to, in as many messages
as Telegram's limit needs, in order; read back here from the messages themselves."""

from __future__ import annotations

from dataclasses import dataclass

from storage import campus
from telegram_rules import MAX_TEXT
from telegram_rules.fit import clip, html_units
from tests.simulator import Chat, Sent, Simulator
from tests.supervision_helpers import World, start_visit, world

ANSWER = {
    "zh": {"ok": "无隐患", "na": "不适用", "hz": "有隐患"},
    "en": {"ok": "no hazard", "na": "not applicable", "hz": "hazard"},
}
MARK = {"ok": "✓", "na": "–", "hz": "⚠️"}
SCHOOL = {"zh": "学校自查：{}", "en": "school: {}"}
OTHER = {"zh": "⚠️ 与学校自查不一致（学校：{}）", "en": "⚠️ differs from the school's ({})"}
NONE = {"zh": "未作答", "en": "not answered"}
LINE = {"zh": 24, "en": 40}  # how much of an item's text a line quotes (handlers.inplace)


@dataclass(frozen=True)
class Stored:
    """One answer as stored, with its item."""

    building: str
    code: str
    zh: str
    en: str
    choice: str
    school: str | None


async def stored(sim: Simulator) -> list[Stored]:
    rows = await sim.db.all(
        "SELECT b.name, c.code, c.text_zh, c.text_en, a.choice, a.school_choice"
        " FROM supervision_answers a JOIN supervision_walks w ON w.id = a.walk_id"
        " JOIN buildings b ON b.id = w.building_id JOIN checklist_items c ON c.id = a.item_id"
        " ORDER BY w.id, c.position"
    )
    return [Stored(*tuple(r)) for r in rows]


def expected_line(a: Stored, lang: str) -> str:
    text = clip(a.en if lang == "en" else a.zh, LINE[lang])
    answer = ANSWER[lang][a.choice]
    school = NONE[lang] if a.school is None else ANSWER[lang][a.school]
    differs = a.school is not None and a.school != a.choice
    beside = (OTHER if differs else SCHOOL)[lang].format(school)
    return f"  {MARK[a.choice]} {a.code} {text} — {answer} · {beside}"


async def walk(chat: Chat, building: str, hazard_on: int | None, match: str) -> int:
    """Walk a building: "not applicable" on every third item, a hazard on item
    ``hazard_on`` (photoless, matched by ``match``), "no hazard" otherwise; then no more."""
    said = await chat.tap(f"🕵️ {building}")
    n = 0
    while "还有其他隐患吗" not in said[-1].text:
        n += 1
        if n == hazard_on:
            await chat.tap("有隐患")
            await chat.tap("无照片")
            await chat.send(f"{building}第{n}项发现的问题")
            await chat.tap("否")
            said = await chat.tap(match)
        else:
            said = await chat.tap("不适用" if n % 3 == 0 else "无隐患")
    await chat.tap("否")
    return n


def record_of(messages: list[Sent], school: str = "实验小学") -> list[str]:
    return [m.text for m in messages if school in m.text and "📋" in m.text]


async def ended(sim: Simulator, w: World) -> tuple[list[str], list[str]]:
    """Both buildings walked by 督导甲, the visit ended: his record and the principal's."""
    await start_visit(sim, w)
    assert await walk(w.sup1, "食堂", 4, "清单外") == 20
    assert await walk(w.sup1, "教学楼A", 2, f"已列入 #{w.listed}") >= 19
    w.sup1.new()
    w.s.principal.new()
    said = await w.sup1.tap("结束督查")
    return record_of(said), record_of(w.s.principal.new())


def check_record(parts: list[str], answers: list[Stored], lang: str) -> None:
    """Every answer's line, under its building's line, in the checklist's order; each
    message within Telegram's limit."""
    assert all(html_units(p) <= MAX_TEXT for p in parts)
    lines = "\n".join(parts).splitlines()
    at = -1
    for building in ("食堂", "教学楼A"):
        named = f"[{building}]" if lang == "en" else f"【{building}】"
        head = next(n for n, line in enumerate(lines) if line.startswith(f"· {named}"))
        assert head > at
        at = head
        for a in (a for a in answers if a.building == building):
            found = lines.index(expected_line(a, lang), at + 1)
            assert found == at + 1, (lines[at + 1], expected_line(a, lang))
            at = found


async def test_the_record_lists_every_answer_beside_the_schools_and_every_finding(
    sim: Simulator,
) -> None:
    w = await world(sim)
    mine, principals = await ended(sim, w)
    answers = await stored(sim)
    assert len([a for a in answers if a.building == "食堂"]) == 20
    assert len([a for a in answers if a.building == "教学楼A"]) >= 19
    check_record(mine, answers, "zh")
    assert principals == mine  # the principal reads the same record, in the same order
    whole = "\n".join(mine)
    # The school walked 食堂 all "no hazard": a "not applicable" there is a contradiction.
    assert "  – F03 " in whole and "⚠️ 与学校自查不一致（学校：无隐患）" in whole
    assert "  ✓ F01 " in whole and "学校自查：未作答" in whole  # 教学楼A: never walked
    assert "督查发现 2 项：" in whole
    assert "· 🚩 清单外：【食堂】F04 食堂第4项发现的问题（已列入台账 #" in whole
    assert f"· 清单内：【教学楼A】F02 教学楼A第2项发现的问题（台账 #{w.listed}）" in whole
    assert "发现：清单内 1，清单外 1" in whole


async def test_the_record_in_english(sim: Simulator) -> None:
    """The supervisor reads it in English, and so does a principal whose language is."""
    w = await world(sim)
    principal = await sim.db.value("SELECT id FROM people WHERE tg_user_id = ?",
                                   (w.s.principal.user_id,))  # fmt: skip
    async with sim.db.write() as tx:
        await tx.run("UPDATE people SET language = 'en' WHERE id = ?", (principal,))
    await start_visit(sim, w)
    assert await walk(w.sup1, "食堂", 4, "清单外") == 20
    assert await walk(w.sup1, "教学楼A", 2, f"已列入 #{w.listed}") >= 19
    w.sup1.user["language_code"] = "en"
    await w.sup1.send("/supervise")
    w.s.principal.new()
    said = await w.sup1.tap("End the visit")
    mine = record_of(said)
    assert mine and mine[0].startswith("📋 Supervision record")
    check_record(mine, await stored(sim), "en")
    assert record_of(w.s.principal.new()) == mine
    whole = "\n".join(mine)
    assert "· 🚩 off-list: [食堂] F04 食堂第4项发现的问题 (now on the ledger as #" in whole


async def test_a_record_longer_than_a_message_comes_in_parts_in_order(
    sim: Simulator,
) -> None:
    """Six buildings walked: the answers no longer fit one message; they come in several,
    each within the limit, each after the first saying it goes on, every answer once, in
    order, the principal's the same."""
    w = await world(sim)
    async with sim.db.write() as tx:
        for n in range(1, 5):
            await campus.create_building(tx, school_id=w.school_id, name=f"宿舍{n}",
                                         use="dormitory", floors=5, year_built=2012,
                                         actor_id=None)  # fmt: skip
    await start_visit(sim, w)
    buildings = ["食堂", "教学楼A", "宿舍1", "宿舍2", "宿舍3", "宿舍4"]
    for building in buildings:
        await walk(w.sup1, building, None, "")
    w.sup1.new()
    w.s.principal.new()
    mine = record_of(await w.sup1.tap("结束督查"))
    assert len(mine) >= 2
    assert all(part.startswith("📋 督查记录 · 实验小学（续）") for part in mine[1:])
    answers = await stored(sim)
    assert len(answers) > 100
    lines = "\n".join(mine).splitlines()
    shown = [line for line in lines if line.startswith("  ")]
    assert shown == [expected_line(a, "zh") for a in answers]  # every one, once, in order
    walked = [line for line in lines if line.startswith("· 【") and "已督查" in line]
    count = {b: len([a for a in answers if a.building == b]) for b in buildings}
    assert walked == [f"· 【{b}】已督查 {count[b]}/{count[b]} 项" for b in buildings]
    assert record_of(w.s.principal.new()) == mine
