"""Invisible and spoofed text (issue 11.5): every typed field is normalised before it is
stored, and text with nothing visible is refused with a short answer.

Each field a person types is driven through its own journey in the chat: a text of
zero-width characters, bidi controls and control characters only is refused and
changes nothing; a text with a right-to-left override, isolates, control
characters and a decomposed accent inside is stored composed and without them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from ledger.roles import Role
from ledger.text import BIDI_CONTROLS, normalise
from tests.conftest import cli_invitation, jpeg, make_school
from tests.rectify_helpers import report, report_fix, scene
from tests.simulator import Chat, Sent, Simulator

INVISIBLE = "\u200b\u200b\u200c\u200d\u2060\ufeff\u202e\u2066\u2069\x07\x00 \u3164"
REFUSED_ZH = "这段文字只有看不见的字符（如零宽空格、控制字符），请重新输入。"
REFUSED_EN = "That text has only invisible characters"
# A right-to-left override, an isolate, a bell, an escape, a zero-width space and
# a decomposed é (e + combining acute) inside ordinary text.
SPOOFED = "\u202e\u2067灭火器\x07过期\u2069\u202c\x1b 已\u200b逾期 cafe\u0301"
SPOOFED_CLEAN = "灭火器过期 已逾期 café"
# A second line, where the field allows one (a name keeps one line).
SPOOFED_LINES = SPOOFED + "\r\n\u202e第二行\x08"
LINES_CLEAN = SPOOFED_CLEAN + "\n第二行"


def _has_spoof(messages: list[Sent]) -> bool:
    return any(ch in BIDI_CONTROLS or ch in "\x07\x1b\x00\u200b" for m in messages for ch in m.raw)


@dataclass
class Field:
    """Where a typed field is asked, and how to read what was stored for it."""

    name: str
    reach: Callable[[Simulator], Awaitable[Chat]]
    stored: str  # SQL giving the stored value; ``?`` is the person's Telegram id
    multiline: bool
    after: Callable[[Chat], Awaitable[object]] | None = None  # finish what makes it stored


async def _joining(sim: Simulator) -> Chat:
    chat = sim.chat("新人")
    await chat.send(f"/start {await cli_invitation(sim, Role.TASKFORCE)}")
    return chat


async def _school_form(sim: Simulator) -> Chat:
    school = await make_school(sim)
    await school.taskforce.send("/addschool")
    return school.taskforce


async def _district(sim: Simulator) -> Chat:
    chat = await _school_form(sim)
    await chat.send("第二小学")
    await chat.tap("小学")
    await chat.tap("公办")
    return chat


async def _building_form(sim: Simulator) -> Chat:
    school = await make_school(sim)
    await school.principal.send("/addbuilding")
    return school.principal


async def _description(sim: Simulator) -> Chat:
    school = await make_school(sim)
    said = await school.staff.photo(jpeg())
    if "这是哪栋建筑" in said[-1].text:
        await school.staff.tap("教学楼A")
    await school.staff.tap("照片已发完")
    return school.staff


async def _responsible(sim: Simulator) -> Chat:
    chat = await _description(sim)
    await chat.send("楼道堆放杂物")
    await chat.tap("否")
    await chat.tap("7 天内")
    return chat


async def _measures(sim: Simulator) -> Chat:
    chat = await _responsible(sim)
    await chat.tap("实验小学王老师")
    return chat


async def _funding(sim: Simulator) -> Chat:
    chat = await _measures(sim)
    await chat.send("清理")
    await chat.tap("否")  # not out of use
    await chat.tap("是")  # major
    return chat


async def _contingency(sim: Simulator) -> Chat:
    chat = await _funding(sim)
    await chat.send("学校自筹")
    return chat


async def _fix_note(sim: Simulator) -> Chat:
    s = await scene(sim)
    hazard_id = await report(s.staff, "楼道堆放杂物")
    await s.staff.tap_data(f"r:fx:{hazard_id}")
    await s.staff.photo(jpeg(color="green"))
    await s.staff.tap("照片已发完")
    return s.staff


async def _return_reason(sim: Simulator) -> Chat:
    s = await scene(sim)
    hazard_id = await report(s.staff, "楼道堆放杂物")
    await report_fix(s.staff, hazard_id)
    fix_id = await sim.db.value("SELECT id FROM fix_reports")
    await s.leader.tap_data(f"r:rt:{hazard_id}:{fix_id}")
    return s.leader


async def _extension_reason(sim: Simulator) -> Chat:
    s = await scene(sim)
    hazard_id = await report(s.staff, "楼道堆放杂物")
    await s.staff.tap_data(f"r:ex:{hazard_id}")
    await s.staff.send("2027-03-01")
    return s.staff


async def _refusal(sim: Simulator) -> Chat:
    s = await scene(sim)
    hazard_id = await report(s.staff, "楼道堆放杂物")
    await s.staff.tap_data(f"r:ex:{hazard_id}")
    await s.staff.send("2027-03-01")
    await s.staff.send("材料未到")
    change_id = await sim.db.value("SELECT id FROM deadline_changes")
    await s.leader.tap_data(f"r:dx:{hazard_id}:{change_id}:n")
    return s.leader


async def _unfixable_reason(sim: Simulator) -> Chat:
    s = await scene(sim)
    hazard_id = await report(s.staff, "楼道堆放杂物")
    await s.leader.tap_data(f"r:uf:{hazard_id}")
    await s.leader.send("2027-08-31")
    return s.leader


async def _share_phone(chat: Chat) -> object:
    return await chat.contact("13800138000")


async def _finish_building(chat: Chat) -> object:
    await chat.tap("教学楼")
    await chat.send("3")
    return await chat.send("2001")


PENDING_NAME = "SELECT json_extract(data, '$.name') FROM pending_inputs WHERE tg_user_id = ?"
FIELDS = [
    Field(
        "person's name",
        _joining,
        "SELECT name FROM people WHERE tg_user_id = ?",
        False,
        after=_share_phone,
    ),
    Field("school name", _school_form, PENDING_NAME, False),
    Field(
        "district",
        _district,
        "SELECT district FROM schools WHERE name = '第二小学' AND ? > 0",
        False,
    ),
    Field(
        "building name",
        _building_form,
        "SELECT name FROM buildings WHERE id > 1 AND ? > 0",
        False,
        after=_finish_building,
    ),
    Field("description", _description, "SELECT description FROM hazards WHERE ? > 0", True),
    Field(
        "typed responsible person",
        _responsible,
        "SELECT responsible_name FROM hazards WHERE ? > 0",
        False,
    ),
    Field("measures", _measures, "SELECT measures FROM hazards WHERE ? > 0", True),
    Field("funding", _funding, "SELECT funding FROM hazards WHERE ? > 0", True),
    Field(
        "contingency plan", _contingency, "SELECT contingency_plan FROM hazards WHERE ? > 0", True
    ),
    Field("fix note", _fix_note, "SELECT note FROM fix_reports WHERE ? > 0", True),
    Field(
        "reason for returning a fix",
        _return_reason,
        "SELECT reason FROM fix_reports WHERE ? > 0",
        True,
    ),
    Field(
        "reason for a later deadline",
        _extension_reason,
        "SELECT reason FROM deadline_changes WHERE ? > 0",
        True,
    ),
    Field(
        "reason for refusing a later deadline",
        _refusal,
        "SELECT refusal FROM deadline_changes WHERE ? > 0",
        True,
    ),
    Field(
        "reason a hazard cannot be fixed",
        _unfixable_reason,
        "SELECT reason FROM deadline_changes WHERE ? > 0",
        True,
    ),
]


@pytest.mark.parametrize("field", FIELDS, ids=[f.name for f in FIELDS])
async def test_invisible_text_is_refused_and_spoofed_text_cleaned(
    sim: Simulator, field: Field
) -> None:
    chat = await field.reach(sim)
    chat.new()
    stored_before = await sim.db.value(field.stored, (chat.user_id,))
    pending_before = await sim.db.value(
        "SELECT data FROM pending_inputs WHERE tg_user_id = ?", (chat.user_id,)
    )
    said = await chat.send(INVISIBLE)
    assert [m.text for m in said] == [REFUSED_ZH]
    assert await sim.db.value(field.stored, (chat.user_id,)) == stored_before
    assert (
        await sim.db.value("SELECT data FROM pending_inputs WHERE tg_user_id = ?", (chat.user_id,))
        == pending_before
    )

    said = await chat.send(SPOOFED_LINES)
    if field.after is not None:
        await field.after(chat)
        said += chat.new()
    expected = LINES_CLEAN if field.multiline else SPOOFED_CLEAN + " 第二行"
    assert await sim.db.value(field.stored, (chat.user_id,)) == expected
    assert not _has_spoof(said)  # nothing of it echoed either


async def test_the_refusal_speaks_english_to_english_clients(sim: Simulator) -> None:
    chat = sim.chat("Ann", "en")
    await chat.send(f"/start {await cli_invitation(sim, Role.TASKFORCE)}")
    said = await chat.send("\u200b\u200b\u200b")
    assert said[-1].text.startswith(REFUSED_EN)
    said = await chat.send("   ")  # blank text keeps its own answer
    assert said[-1].text != "" and not said[-1].text.startswith(REFUSED_EN)


async def test_a_walks_description_of_zero_width_spaces_is_refused(sim: Simulator) -> None:
    """The same rule inside a walk (the hazard questions are shared with quick reports)."""
    school = await make_school(sim)
    await school.staff.send("/inspect")
    await school.staff.tap("教学楼A")
    await school.staff.tap("有隐患")
    await school.staff.tap("无照片")
    said = await school.staff.send("\u200b" * 30)
    assert said[0].text == REFUSED_ZH
    assert await sim.db.value("SELECT description FROM hazards") is None


@pytest.mark.parametrize(
    ("typed", "multiline", "stored"),
    [
        ("\u202eexe.gpj", False, "exe.gpj"),
        ("王\u2066老\u2069师", False, "王老师"),
        ("a\x00b\x1fc\x7fd\x85e", False, "abcd e"),
        ("a\x85b\u2028c\u2029d\x0be\x0cf", True, "a\nb\nc\nd\ne\nf"),
        ("Ｅ\u0301\u200b", False, "Ｅ\u0301"),  # no composed form: kept as typed
        ("e\u0301", False, "é"),
        ("👷\u200d♂\ufe0f 王", False, "👷\u200d♂\ufe0f 王"),  # an emoji's joiner stays
        ("\u200d王\u200d\u200d", False, "王"),  # joiners at the edges go
        ("\u3164\u3164\u115f", False, ""),  # Hangul fillers: blank-looking letters
        ("\u2800\u034f", False, ""),
        ("\ud800王", False, "王"),  # a lone surrogate (bad JSON) cannot be stored
        ("第一行  \n\n  第二行\t尾", True, "第一行\n\n  第二行 尾"),
        ("第一行\n第二行", False, "第一行 第二行"),
        ("\u00ad\u180e\U000e0041", False, ""),
        ("\u0301\u0301", False, ""),  # marks with nothing to mark
    ],
)
def test_normalise(typed: str, multiline: bool, stored: str) -> None:
    assert normalise(typed, multiline=multiline) == stored


async def test_a_date_is_read_and_quoted_back_clean(sim: Simulator) -> None:
    """A typed date with invisible characters still parses; one that does not parse is
    quoted back without its bidi controls, and cut short."""
    chat = await _description(sim)
    await chat.send("楼道堆放杂物")
    await chat.tap("否")
    said = await chat.send("\u202e2027-13-45\u200b")
    assert said[-1].text == "没有看懂日期“2027-13-45”。请输入如 2027-05-20、5月20日 或 5-20。"
    said = await chat.send("明" * 3000)
    assert len(said[-1].text) < 120 and "明" * 39 + "…" in said[-1].text
    await chat.send("\u200b2027-05-20\u2069")
    assert await sim.db.value("SELECT deadline FROM hazards ORDER BY id DESC") == "2027-05-20"


async def test_imported_names_are_normalised_and_invisible_ones_refused(sim: Simulator) -> None:
    """The cells of an imported sheet follow the same rule as typed text."""
    from reports.files import XLSX_MIME
    from reports.imports import Kind
    from tests.test_imports import xlsx

    school = await make_school(sim)
    bad = xlsx(
        Kind.BUILDINGS, [("\u200b\u200b\u2066", "教学楼", 3, 2001), ("实验楼", "实验室", 2, 2000)]
    )
    said = await school.principal.document(bad, "b.xlsx", XLSX_MIME)
    assert "建筑物名称：名称只有看不见的字符" in said[-1].text and "第 2 行" in said[-1].text
    assert await sim.db.value("SELECT COUNT(*) FROM buildings") == 1
    good = xlsx(Kind.BUILDINGS, [("\u202e实验\u200b楼\u2069", "实验室", 2, 2000)])
    await school.principal.document(good, "b.xlsx", XLSX_MIME)
    assert await sim.db.value("SELECT name FROM buildings WHERE id > 1") == "实验楼"

    roster = xlsx(
        Kind.SCHOOLS,
        [
            (
                "\u202e第三\u200b小学",
                "小学",
                "公办",
                "\u2067城关\u200b镇\u2069",
                "\u200e李校长",
                "13800138009",
            )
        ],
    )
    said = await school.taskforce.document(roster, "s.xlsx", XLSX_MIME)
    row = await sim.db.one("SELECT name, district FROM schools ORDER BY id DESC")
    assert tuple(row) == ("第三小学", "城关镇")
    assert "李校长" in said[-1].text and not _has_spoof(said)


async def test_a_profile_name_is_offered_clean_or_not_at_all(sim: Simulator) -> None:
    """The name a client gives (a Telegram profile) is offered as a one-tap answer: with
    its bidi and invisible characters gone, and not at all when nothing visible is left."""
    code = await cli_invitation(sim, Role.TASKFORCE)
    spoofed = sim.chat("\u202e\u2066李\u200b四\u2069")
    said = await spoofed.send(f"/start {code}")
    assert said[-1].reply_keyboard[0][0]["text"] == "李四"
    assert not _has_spoof(said)
    await spoofed.send(said[-1].reply_keyboard[0][0]["text"])  # the tap sends it as text
    await spoofed.contact("13800138000")
    assert await sim.db.value(
        "SELECT name FROM people WHERE tg_user_id = ?", (spoofed.user_id,)
    ) == ("李四")
    blank = sim.chat("\u200b\u3164")
    said = await blank.send(f"/start {await cli_invitation(sim, Role.TASKFORCE)}")
    assert said[-1].reply_keyboard is None
    assert said[-1].text.endswith("请发送您的姓名：")
