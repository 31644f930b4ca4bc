"""Chinese texts: no space between Chinese words and a name put in (以教职工身份加入演示小学)."""

from __future__ import annotations

import re

import pytest

from ledger.roles import Role
from tests.conftest import cli_invitation, join, make_school
from tests.simulator import Simulator, texts
from texts import catalogue

# Blanks that put in a name or a Chinese word (people, roles, schools, places, labels);
# numbers, dates and times keep their spaces (“剩 7 天”).
NAMES = (
    "asker|building|column|decider|every|fixer|kind|leader|name|person|responsible|role"
    "|school|title|verifier|walker|what|where|campaign"
)
CJK = r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]"
BLANK = rf"(?:<b>)?\{{(?:{NAMES})\}}(?:</b>)?"
SPACED = re.compile(rf"{CJK} {BLANK}|{BLANK} {CJK}")


@pytest.mark.parametrize("key", sorted(catalogue("zh")))
def test_no_space_around_a_name_in_chinese(key: str) -> None:
    found = SPACED.search(catalogue("zh")[key])
    assert found is None, f"{key}: {found.group(0) if found else ''!r}"


async def test_joining_reads_without_spaces(sim: Simulator) -> None:
    school = await make_school(sim, name="演示小学")
    await school.principal.send("/invite")
    await school.principal.tap("教职工")
    await school.principal.tap("7 天")
    made = await school.principal.tap("1 人")
    code = made[-1].text.split("start=")[1].split()[0]
    chat = sim.chat("赵老师")
    said = await chat.send(f"/start {code}")
    assert "您受邀以教职工身份加入演示小学" in texts(said)
    await chat.send("赵老师")
    said = await chat.contact("13800138000")
    assert "您已以教职工身份加入演示小学。" in texts(said)


async def test_the_task_force_joins_the_city_without_spaces(sim: Simulator) -> None:
    chat = await join(sim, await cli_invitation(sim, Role.TASKFORCE), "李四")
    assert "您已以市专班身份加入市级。" in texts(chat.messages)
