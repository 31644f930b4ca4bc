"""Rectification's notices fit one Telegram message whatever people typed (issue 12, 4b).

Each kind of notice is caused through the chat with the longest texts there can be:
a hazard's description, a building's, a school's and people's names of 4,000
characters (as an older version, an import or the database itself may hold them;
a third of them emoji, two UTF-16 units each), and reasons and notes typed to the
most a field takes (500 characters, emoji included). The sender delivers them to
the simulator's fake Bot API, which refuses a text over 4096 UTF-16 units as
Telegram does and holds the bot to that budget; every notice must arrive, start as
it should, and keep as much of the description as fits.
"""

from __future__ import annotations

import pytest

from cases.notify import fitted, text_only
from cases.rectify import about
from ledger.hazards import Hazard
from storage import hazards
from telegram_rules import MAX_TEXT, utf16_len
from telegram_rules.fit import html_units, share
from tests.conftest import jpeg, make_school
from tests.rectify_helpers import Scene, report, report_fix, scene
from tests.simulator import Chat, Sent, Simulator
from texts import LANGUAGES

LONG = 4000


def long_text(mark: str, n: int = LONG) -> str:
    """``n`` characters, a third of them emoji: ``n`` × 4/3 UTF-16 units."""
    text = mark + "".join("🔥" if i % 3 == 0 else "隐患描述文字"[i % 6] for i in range(n))
    return text[:n]


def typed(mark: str) -> str:
    return long_text(mark, 500)  # the most a typed field takes


async def stretch(sim: Simulator, hazard_id: int) -> None:
    """Every stored text a notice names made 4,000 characters long."""
    async with sim.db.write() as tx:
        await tx.run(
            "UPDATE hazards SET description = ?, responsible_name = ? WHERE id = ?",
            (long_text("描述"), long_text("责任人"), hazard_id),
        )
        await tx.run("UPDATE buildings SET name = ? || id", (long_text("楼", LONG - 4),))
        await tx.run("UPDATE schools SET name = ? || id", (long_text("校", LONG - 4),))
        await tx.run("UPDATE people SET name = ? || id", (long_text("人", LONG - 4),))


def notices(chat: Chat, start: str) -> list[Sent]:
    return [m for m in chat.new() if start in m.text[:200]]


def fits_whole(message: Sent) -> None:
    assert utf16_len(message.text) <= MAX_TEXT, utf16_len(message.text)
    assert "描述" in message.text  # the description's beginning is kept


async def fix_id_of(sim: Simulator, hazard_id: int) -> int:
    return int(
        await sim.db.value(
            "SELECT id FROM fix_reports WHERE hazard_id = ? ORDER BY id DESC", (hazard_id,)
        )
    )


async def stretched(sim: Simulator) -> tuple[Scene, int, int]:
    s = await scene(sim)
    hazard_id = await report(s.staff, "灭火器过期")
    other = await report(s.staff, "应急照明损坏")
    await stretch(sim, hazard_id)
    await stretch(sim, other)
    for chat in (s.staff, s.leader, s.principal, s.taskforce):
        chat.new()
    return s, hazard_id, other


async def test_a_fix_reported_reaches_the_verifiers_and_its_verification_the_fixer(
    sim: Simulator,
) -> None:
    s, hazard_id, other = await stretched(sim)
    await report_fix(s.staff, hazard_id, note=typed("整改说明"))
    [asked] = notices(s.leader, "待验收")  # under the album of before and after photos
    fits_whole(asked)
    assert asked.buttons and "整改说明" in asked.text  # verify, return, the card
    s.staff.new()
    await s.leader.tap_data(f"r:vf:{hazard_id}:{await fix_id_of(sim, hazard_id)}")
    [verified] = notices(s.staff, "您上报的整改已由")
    fits_whole(verified)
    # The building's and the school's last: the principal and the task force are told.
    await report_fix(s.staff, other, note=typed("整改说明"))
    s.principal.new()
    s.taskforce.new()
    await s.leader.tap_data(f"r:vf:{other}:{await fix_id_of(sim, other)}")
    for chat in (s.principal, s.taskforce):
        building, school = chat.new()
        assert "整改一栋" in building.text and "销号清零" in school.text
        for told in (building, school):
            assert utf16_len(told.text) <= MAX_TEXT and "校" in told.text
    assert await sim.db.value("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL") == 0


async def test_a_fix_returned_reaches_the_fixer_with_its_reason(sim: Simulator) -> None:
    s, hazard_id, _ = await stretched(sim)
    await report_fix(s.staff, hazard_id, note=typed("整改说明"))
    await s.leader.tap_data(f"r:rt:{hazard_id}:{await fix_id_of(sim, hazard_id)}")
    s.staff.new()
    await s.leader.send(typed("退回原因"))
    [returned] = notices(s.staff, "")
    fits_whole(returned)
    assert "退回原因" in returned.text
    assert await sim.db.value("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL") == 0


async def test_a_fix_replaced_tells_whose_report_was_dropped(sim: Simulator) -> None:
    s, hazard_id, _ = await stretched(sim)
    await s.staff.tap_data(f"r:fx:{hazard_id}")
    await s.leader.tap_data(f"r:fx:{hazard_id}")
    [dropped] = notices(s.staff, "")
    fits_whole(dropped)


async def test_an_extension_asked_and_refused(sim: Simulator) -> None:
    s, hazard_id, _ = await stretched(sim)
    await s.staff.tap_data(f"r:ex:{hazard_id}")
    await s.staff.send("2027-01-31")
    await s.staff.send(typed("延期理由"))
    [asked] = notices(s.leader, "")
    fits_whole(asked)
    assert "延期理由" in asked.text
    change_id = await sim.db.value("SELECT id FROM deadline_changes WHERE state = 'asked'")
    await s.leader.tap_data(f"r:dx:{hazard_id}:{change_id}:n")
    await s.leader.send(typed("不同意理由"))
    [refused] = notices(s.staff, "")
    assert utf16_len(refused.text) <= MAX_TEXT and "不同意理由" in refused.text


async def test_unfixable_and_reassigned(sim: Simulator) -> None:
    s, hazard_id, other = await stretched(sim)
    await s.leader.tap_data(f"r:uf:{hazard_id}")
    await s.leader.send("2027-08-31")
    s.staff.new()
    await s.leader.send(typed("无法整改原因"))
    for chat in (s.taskforce, s.staff):
        [told] = notices(chat, "")
        fits_whole(told)

    leader_id = await sim.db.value(
        "SELECT id FROM people WHERE tg_user_id = ?", (s.leader.user_id,)
    )
    s.leader.new()
    s.staff.new()
    await s.principal.tap_data(f"r:ra:{other}:{leader_id}")
    for chat in (s.leader, s.staff):
        [told] = notices(chat, "")
        fits_whole(told)
    assert await sim.db.value("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL") == 0


async def _hazard(sim: Simulator) -> Hazard:
    s = await scene(sim)
    hazard_id = await report(s.staff, "灭火器过期")
    await stretch(sim, hazard_id)
    found = await hazards.hazard(sim.db, hazard_id)
    assert found is not None
    return found


NOTICES = [
    "fix.to_verifier",
    "fix.verified_notice",
    "fix.returned_notice",
    "fix_dropped.notice",
    "extension.to_manager",
    "unfixable.notice",
    "reassign.to_new",
    "reassign.to_old",
    "verify_by_taskforce.assigned",
    "named.to_responsible",
    "named.major_to_principal",
]
VALUES = "fixer note verifier reason name asker school building leader reporter responsible"
VALUES += " old new deadline date"


@pytest.mark.parametrize("key", NOTICES)
async def test_every_notice_about_a_hazard_fits_with_4000_characters_everywhere(
    sim: Simulator, key: str
) -> None:
    hazard = await _hazard(sim)
    values: dict[str, object] = {v: long_text(v) for v in VALUES.split()}
    values |= {"before": 5, "after": 5}
    render = about(
        hazard,
        key,
        [[("card.open", "x")]],
        head=lambda lang: "⚠️ " * 40,
        tail=lambda lang: ["✅ " * 30, "🔁 " * 30],
        **values,
    )
    for lang in LANGUAGES:
        text, buttons = render(lang)
        assert html_units(text) <= MAX_TEXT
        assert text.startswith("⚠️") and text.rstrip().endswith("🔁")
        assert "描述" in text and buttons


def test_texts_share_the_room_each_whole_when_it_can_be() -> None:
    assert share({"a": "短", "b": "x" * 100}, 50) == {"a": "短", "b": "x" * 48 + "…"}
    # Equal texts: the first takes its half, the second what is left (one unit more).
    assert share({"a": "x" * 100, "b": "y" * 100}, 41) == {"a": "x" * 19 + "…", "b": "y" * 20 + "…"}
    assert share({"a": "abc"}, 0) == {"a": ""}
    assert share({"a": "abc", "b": "de"}, 10) == {"a": "abc", "b": "de"}


def test_a_text_only_notice_fits() -> None:
    render = text_only("extension.refused_notice", id=12, old="-", new="2027-01-31",
                       decider=long_text("人"), refusal=long_text("拒绝"))  # fmt: skip
    for lang in LANGUAGES:
        text, _ = render(lang)
        assert html_units(text) <= MAX_TEXT and "拒绝" in text and "人" in text
    assert fitted(lambda typed: f"<b>{typed['a']}</b>", {"a": "x" * 5000}).endswith("…</b>")


async def test_a_hazard_named_to_a_colleague_reaches_them(sim: Simulator) -> None:
    s = await scene(sim)
    await s.staff.photo(jpeg())
    await s.staff.tap("教学楼A")
    await s.staff.tap("照片已发完")
    await s.staff.send(typed("描述"))
    await s.staff.tap("否")  # not fixable at once
    await s.staff.tap("7 天内")
    await s.staff.tap("实验小学刘主任")
    await s.staff.send(typed("措施"))
    hazard_id = await sim.db.value("SELECT id FROM hazards")
    await stretch(sim, hazard_id)
    s.leader.new()
    await s.staff.tap("否")  # the building stays in use
    await s.staff.tap("否")  # not major
    [named] = notices(s.leader, "")
    fits_whole(named)
    assert named.buttons  # the card


async def test_a_major_hazard_reaches_the_principal(sim: Simulator) -> None:
    s = await scene(sim)
    await s.staff.photo(jpeg())
    await s.staff.tap("教学楼A")
    await s.staff.tap("照片已发完")
    await s.staff.send(typed("描述"))
    await s.staff.tap("否")  # not fixable at once
    await s.staff.tap("7 天内")
    await s.staff.tap("实验小学刘主任")
    await s.staff.send(typed("措施"))
    await s.staff.tap("否")  # the building stays in use
    await s.staff.tap("是")  # major: the rest of the five fixes
    await s.staff.send(typed("资金"))
    hazard_id = await sim.db.value("SELECT id FROM hazards")
    await stretch(sim, hazard_id)
    s.leader.new()
    s.principal.new()
    await s.staff.send(typed("预案"))
    [major] = notices(s.principal, "")
    fits_whole(major)
    [named] = notices(s.leader, "")
    fits_whole(named)


async def test_a_sole_managers_hazard_and_fix_reach_them_and_the_task_force(
    sim: Simulator,
) -> None:
    school = await make_school(sim)  # the principal is the school's only manager
    principal = school.principal
    await principal.photo(jpeg())
    await principal.tap("教学楼A")
    await principal.tap("照片已发完")
    await principal.send(typed("描述"))
    await principal.tap("否")  # not fixable at once
    await principal.tap("7 天内")
    await principal.tap("实验小学张校长")
    await principal.send(typed("措施"))
    await principal.tap("否")  # the building stays in use
    hazard_id = await sim.db.value("SELECT id FROM hazards")
    await stretch(sim, hazard_id)
    said = await principal.tap("否")  # not major
    [warned] = [m for m in said if "您是以下隐患的责任人" in m.text[:200]]
    fits_whole(warned)
    assert "转市专班验收" in warned.text  # the task force will verify their fix
    school.taskforce.new()
    await report_fix(principal, hazard_id, note=typed("整改说明"))
    # Why it comes to them heads it, the school's name clipped (under the photo album).
    [asked] = notices(school.taskforce, "🏛 校")
    fits_whole(asked)
    assert "待验收" in asked.text
