"""QR sheets: each code decodes back to its building's deep link; scanning opens the walk."""

from __future__ import annotations

import re

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from reports.qr import CODE_SIDE, Label, building_link, parse_payload, sheet_pdf
from tests.conftest import jpeg, make_school
from tests.simulator import Simulator, texts

BOT = "xiaoan_test_bot"
BASE = f"https://t.me/{BOT}"
RECT = re.compile(rb"([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+) re\n")


def codes_in(pdf: bytes) -> dict[str, Image.Image]:
    """Each code drawn in the PDF, rasterised from its squares, keyed by its link."""
    found = {}
    for block in pdf.split(b"% code ")[1:]:
        link, _, body = block.partition(b"\n")
        squares = [
            tuple(float(v) for v in m.groups()) for m in RECT.finditer(body.split(b"f\n")[0])
        ]
        assert squares, "a code without modules"
        left = min(x for x, _, _, _ in squares)
        bottom = min(y for _, y, _, _ in squares)
        unit = squares[0][2]
        scale = 4
        side = round(CODE_SIDE / unit) * scale + 8 * scale
        image = Image.new("L", (side, side), 255)
        draw = ImageDraw.Draw(image)
        for x, y, w, h in squares:
            # PDF y grows upwards; a picture's downwards. 4 modules of quiet zone added.
            col = round((x - left) / unit)
            row = round((bottom + CODE_SIDE - (y + h)) / unit) - 4
            px, py = (col + 4) * scale, (row + 4) * scale
            draw.rectangle([px, py, px + scale * round(w / unit) - 1, py + scale - 1], fill=0)
        found[link.decode()] = image
    return found


def test_each_code_decodes_to_its_deep_link() -> None:
    labels = [Label(i, f"教学楼{i}", "实验小学") for i in (3, 17, 250, 4, 5, 6, 7)]
    pdf = sheet_pdf(labels, BASE)
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    assert pdf.count(b"/Type /Page ") == 2  # six to a page
    images = codes_in(pdf)
    assert len(images) == 7
    for label in labels:
        link = building_link(BASE, label.building_id)
        assert link == f"https://t.me/{BOT}?start=w_{label.building_id}"
        decoded = zxingcpp.read_barcodes(images[link])
        assert [d.text for d in decoded] == [link]


def test_names_are_printed_as_chinese_text() -> None:
    pdf = sheet_pdf([Label(1, "教学楼A", "实验小学")], BASE)
    shown = [
        bytes.fromhex(h.decode()).decode("utf-16-be") for h in re.findall(rb"<([0-9A-F]+)> Tj", pdf)
    ]
    assert shown == ["教学楼A", "实验小学", "扫码开始本楼排查"]
    assert b"/BaseFont /STSong-Light" in pdf and b"/Encoding /UniGB-UTF16-H" in pdf
    # The cross-reference table points at each object.
    xref = int(pdf.rsplit(b"startxref\n", 1)[1].split()[0])
    assert pdf[xref:].startswith(b"xref")
    offsets = [
        int(line.split()[0]) for line in pdf[xref:].split(b"\n")[3:] if line.endswith(b" n ")
    ]
    for number, offset in enumerate(offsets, 1):
        assert pdf[offset:].startswith(f"{number} 0 obj".encode())


@pytest.mark.parametrize(
    ("payload", "building"),
    [
        ("w_12", 12),
        ("w_", None),
        ("w_x1", None),
        ("w_-1", None),
        ("abc", None),
        ("w_" + "9" * 12, None),
    ],
)
def test_parse_payload(payload: str, building: int | None) -> None:
    assert parse_payload(payload) == building


async def test_scanning_opens_the_walk_for_members_only(sim: Simulator) -> None:
    school = await make_school(sim)
    other = await make_school(sim, name="第二中学", taskforce=school.taskforce,
                              buildings=(("主楼", "教学楼", "3", "2001"),))  # fmt: skip
    building = await sim.db.value(
        "SELECT id FROM buildings WHERE school_id = ?", (school.school_id,)
    )
    said = await school.staff.send(f"/start w_{building}")
    assert "【教学楼A】1/19" in said[-1].text
    walk = await sim.db.one("SELECT * FROM inspections WHERE building_id = ?", (building,))
    assert walk is not None and walk["walker_id"] is not None

    said = await other.staff.send(f"/start w_{building}")
    assert said[-1].text == "这个二维码无效或建筑已不存在。"  # as for an unknown id
    assert await sim.db.value("SELECT COUNT(*) FROM inspections") == 1

    stranger = sim.chat("路人")
    said = await stranger.send(f"/start w_{building}")
    assert "邀请" in said[-1].text
    said = await school.staff.send("/start w_999")
    assert "无效" in said[-1].text

    async with sim.db.write() as tx:
        await tx.run("UPDATE inspections SET closed_at = ? WHERE id = ?", (tx.now(), walk["id"]))
    said = await school.principal.send(f"/start w_{building}")
    assert "已销号" in said[-1].text and "随手拍" in said[-1].text
    said = await school.principal.send("这里有问题")
    assert "请拍照发送这栋建筑的隐患照片" in said[-1].text
    said = await school.principal.photo(jpeg())
    assert "这是哪栋建筑" not in texts(said)  # the scan said which
    assert "已收到 1 张照片" in said[-1].text
    hazard = await sim.db.one("SELECT * FROM hazards ORDER BY id DESC LIMIT 1")
    assert (hazard["building_id"], hazard["source"]) == (building, "quick")
    assert (
        await sim.db.value(
            "SELECT COUNT(*) FROM events WHERE action = 'building.scanned' AND subject_id = ?",
            (building,),
        )
        == 1
    )
