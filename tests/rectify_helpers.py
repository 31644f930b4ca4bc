"""Setting the scene for rectification tests: a school with a leader, hazards reported."""

from __future__ import annotations

from dataclasses import dataclass

from tests.conftest import School, join, jpeg, link_code, make_school
from tests.simulator import Chat, Simulator


@dataclass
class Scene:
    school: School
    leader: Chat

    @property
    def staff(self) -> Chat:
        return self.school.staff

    @property
    def principal(self) -> Chat:
        return self.school.principal

    @property
    def taskforce(self) -> Chat:
        return self.school.taskforce


async def scene(
    sim: Simulator, buildings: tuple[tuple[str, str, str, str], ...] | None = None
) -> Scene:
    """A school (task force, principal, staff) and a leader (分管领导)."""
    school = await make_school(sim, buildings=buildings) if buildings else await make_school(sim)
    await school.principal.send("/invite")
    await school.principal.tap("分管领导")
    await school.principal.tap("7 天")
    made = await school.principal.tap("1 人")
    leader = await join(sim, link_code(made[-1].text), "实验小学刘主任")
    for chat in (school.taskforce, school.principal, school.staff, leader):
        chat.new()
    return Scene(school, leader)


async def report(
    chat: Chat,
    description: str,
    responsible: str = "实验小学王老师",
    building: str = "教学楼A",
    color: str = "red",
    days: str = "7 天内",
    typed: bool = False,
) -> int:
    """A hazard reported by quick report (随手拍), not fixable at once, due in ``days``.

    The responsible person is a colleague's button, or a ``typed`` name.
    """
    said = await chat.photo(jpeg(color=color))
    if "这是哪栋建筑" in said[-1].text:
        await chat.tap(building)
    await chat.tap("照片已发完")
    await chat.send(description)
    await chat.tap("否")  # not fixable at once
    await chat.tap(days)
    await (chat.send(responsible) if typed else chat.tap(responsible))
    await chat.send("清理并加固")
    await chat.tap("否")  # not out of use
    said = await chat.tap("否")  # not major
    hazard_id = int(said[0].text.split("#")[1].split()[0])
    chat.new()
    return hazard_id


async def report_fix(
    chat: Chat, hazard_id: int, note: str = "已整改完毕", color: str = "green"
) -> None:
    """The responsible person reports the fix with one after-photo."""
    await chat.tap_data(f"r:fx:{hazard_id}")
    await chat.photo(jpeg(color=color))
    await chat.tap("照片已发完")
    await chat.send(note)
