"""Bad input: a short answer in the user's language; nothing stored changes."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.conftest import jpeg, make_school
from tests.simulator import Chat, Simulator, texts


async def at_description(sim: Simulator) -> Chat:
    """A staff member in a walk, asked to describe a hazard on F01."""
    school = await make_school(sim)
    await school.staff.send("/inspect")
    await school.staff.tap("教学楼A")
    await school.staff.tap("有隐患")
    await school.staff.tap("无照片")
    return school.staff


async def at_photos(sim: Simulator) -> Chat:
    school = await make_school(sim)
    await school.staff.send("/inspect")
    await school.staff.tap("教学楼A")
    await school.staff.tap("有隐患")
    return school.staff


async def at_deadline(sim: Simulator) -> Chat:
    staff = await at_description(sim)
    await staff.send("描述")
    await staff.tap("否")
    return staff


async def snapshot(sim: Simulator) -> list[list[dict]]:
    tables = ("answers", "hazards", "photos", "inspections", "buildings")
    found = []
    for table in tables:
        rows = await sim.db.all(f"SELECT * FROM {table} ORDER BY id")  # noqa: S608
        found.append([dict(r) for r in rows])
    return found


def png_bytes(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "as_document", "mime", "expected"),
    [
        (b"%PDF-1.4 not a picture", True, "application/pdf", "这不是图片"),
        (b"this is text, not a jpeg", False, "image/jpeg", "这不是图片"),
        (jpeg()[:400], False, "image/jpeg", "图片已损坏"),
        (png_bytes(8000, 7000), True, "image/png", "图片像素过多"),  # 56 MP
        (png_bytes(20000, 20000), False, "image/png", "图片像素过多"),  # a bomb
    ],
    ids=["document", "not-an-image", "corrupt", "50-megapixel", "decompression-bomb"],
)
async def test_bad_photos_are_refused_and_the_walk_waits(
    sim, data, as_document, mime, expected
) -> None:
    staff = await at_photos(sim)
    before = await snapshot(sim)
    said = await staff.photo(data, as_document=as_document, mime=mime)
    assert expected in texts(said)
    assert await snapshot(sim) == before
    said = await staff.photo(jpeg())  # the walk still waits for a photo
    assert "已收到 1 张照片" in said[-1].text


async def test_a_file_over_the_byte_limit_is_refused_before_download(sim) -> None:
    staff = await at_photos(sim)
    said = await staff.photo(jpeg(), as_document=True, file_size=30 * 1024 * 1024)
    assert "文件太大，最大 20 MB" in texts(said)
    assert not any(name == "getFile" for name, _ in sim.api.calls[-3:])
    assert await sim.db.value("SELECT COUNT(*) FROM photos") == 0


async def test_photos_done_without_a_photo(sim) -> None:
    staff = await at_photos(sim)
    await staff.tap_data("h:1:ph:done")
    assert staff.alerts[-1] == "还没有收到照片。请发送照片，或点“无照片”。"
    assert await sim.db.value("SELECT photos_done FROM hazards") == 0


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("明天吧", "没有看懂日期“明天吧”"),
        ("2021-05-20", "2021-05-20 已经过去"),
        ("2027-02-30", "没有看懂日期"),
    ],
)
async def test_bad_dates(sim, typed, expected) -> None:
    staff = await at_deadline(sim)
    before = await snapshot(sim)
    said = await staff.send(typed)
    assert expected in said[-1].text
    assert await snapshot(sim) == before
    said = await staff.send("5月20日")
    assert await sim.db.value("SELECT deadline FROM hazards") == "2027-05-20"
    assert "具体责任人" in said[-1].text


async def test_text_of_ten_thousand_characters(sim) -> None:
    staff = await at_description(sim)
    said = await staff.send("长" * 10_000)
    assert "内容太长（10000 字），最多 4096 字" in said[-1].text
    said = await staff.send("长" * 600)
    assert "内容太长（600 字），最多 500 字" in said[-1].text
    assert await sim.db.value("SELECT description FROM hazards") is None


async def test_text_where_a_button_is_expected(sim) -> None:
    school = await make_school(sim)
    await school.staff.send("/inspect")
    await school.staff.tap("教学楼A")
    said = await school.staff.send("好的")
    assert "请点击下方按钮作答" in said[0].text
    assert "1/19 · F01" in said[-1].text
    assert await sim.db.value("SELECT COUNT(*) FROM answers") == 0


async def test_a_command_in_the_middle_of_a_walk(sim) -> None:
    staff = await at_description(sim)
    said = await staff.send("/whoami")
    assert "实验小学：教职工" in said[-1].text
    said = await staff.send("/nosuchcommand")
    assert "没有这个命令" in said[-1].text
    said = await staff.send("消防通道堵塞")  # the walk is where it was
    assert "能否立即整改" in said[-1].text


async def test_a_photo_when_none_is_asked(sim) -> None:
    staff = await at_description(sim)
    said = await staff.photo(jpeg())
    assert "现在不需要照片" in texts(said)
    assert "请简要描述隐患" in said[-1].text
    assert await sim.db.value("SELECT COUNT(*) FROM photos") == 0


async def test_a_sticker(sim) -> None:
    staff = await at_description(sim)
    raw = {
        "update_id": sim.next_update_id(),
        "message": {
            "message_id": 9,
            "date": 0,
            "chat": {"id": staff.user_id, "type": "private"},
            "from": staff.user,
            "sticker": {
                "file_id": "s",
                "file_unique_id": "s",
                "width": 1,
                "height": 1,
                "is_animated": False,
                "is_video": False,
                "type": "regular",
            },
        },
    }
    await sim.deliver(raw)
    assert "请简要描述隐患" in staff.last.text


async def test_building_form_bad_numbers(sim) -> None:
    school = await make_school(sim)
    await school.principal.send("/addbuilding")
    await school.principal.send("体育馆")
    await school.principal.tap("体育馆")
    said = await school.principal.send("很多层")
    assert "请输入 1 到 200 之间的数字" in said[-1].text
    await school.principal.send("2")
    said = await school.principal.send("2030")
    assert "请输入 1800 到 2026 之间的数字" in said[-1].text
    said = await school.principal.send("1990")
    assert "已添加建筑：体育馆" in said[-1].text
    said = await school.principal.send("/addbuilding")
    said = await school.principal.send("体育馆")
    assert "“体育馆”已存在" not in said[-1].text  # the name is checked when the form is full
    await school.principal.tap("体育馆")
    await school.principal.send("1")
    said = await school.principal.send("2000")
    assert "“体育馆”已存在" in said[0].text
    assert "请输入建筑名称" in said[-1].text  # only the name is asked again
    said = await school.principal.send("体育馆二")
    assert "已添加建筑：体育馆二（体育馆，1 层，2000 年建成）" in said[-1].text
    assert await sim.db.value("SELECT COUNT(*) FROM buildings WHERE name = '体育馆'") == 1


async def test_staff_cannot_add_buildings_or_schools(sim) -> None:
    school = await make_school(sim)
    said = await school.staff.send("/addbuilding")
    assert "您没有权限" in said[-1].text
    said = await school.principal.send("/addschool")
    assert "您没有权限" in said[-1].text
