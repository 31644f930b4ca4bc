"""A photo too big for Telegram's getFile, sent without ``file_size`` (issue 11.6):
answered like any photo over the limit, wherever a photo is taken.
"""

from __future__ import annotations

import pytest

from tests.conftest import jpeg, make_school
from tests.rectify_helpers import report, scene
from tests.simulator import Simulator, texts
from tests.test_bad_input import at_photos, snapshot

TOO_LARGE = "文件太大，最大 20 MB。请重新拍照发送。"
HUGE = 30 * 1024 * 1024  # what Telegram holds: past the 20 MB a bot may download


@pytest.mark.parametrize("as_document", [False, True], ids=["photo", "image-file"])
async def test_in_a_walk(sim: Simulator, as_document: bool) -> None:
    staff = await at_photos(sim)
    before = await snapshot(sim)
    said = await staff.photo(jpeg(), as_document=as_document, real_size=HUGE, size_sent=False)
    assert [m.text for m in said] == [TOO_LARGE]
    assert sim.api.calls[-2][0] == "getFile"  # Telegram was asked, and said "too big"
    assert await snapshot(sim) == before
    # The same answer as a photo whose message says its size.
    said_sized = await staff.photo(jpeg(), as_document=as_document, file_size=HUGE)
    assert [m.text for m in said_sized] == [m.text for m in said]
    said = await staff.photo(jpeg())  # the walk still waits for a photo
    assert "已收到 1 张照片" in said[-1].text


async def test_a_quick_report(sim: Simulator) -> None:
    school = await make_school(sim)
    said = await school.staff.photo(jpeg(), real_size=HUGE, size_sent=False)
    assert [m.text for m in said] == [TOO_LARGE]
    assert await sim.db.value("SELECT COUNT(*) FROM hazards") == 0
    assert await sim.db.value("SELECT COUNT(*) FROM pending_inputs") == 0


async def test_a_fixs_after_photo(sim: Simulator) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "楼道堆放杂物")
    await s.staff.tap_data(f"r:fx:{hazard_id}")
    said = await s.staff.photo(jpeg(color="green"), real_size=HUGE, size_sent=False)
    assert TOO_LARGE in texts(said)
    assert await sim.db.value("SELECT COUNT(*) FROM photos WHERE kind = 'after'") == 0
    said = await s.staff.photo(jpeg(color="green"))
    assert await sim.db.value("SELECT COUNT(*) FROM photos WHERE kind = 'after'") == 1


async def test_the_fake_answers_getfile_as_telegram(sim: Simulator) -> None:
    """Past 20 MB (20 << 20 bytes) getFile fails with Telegram's words; at 20 MB it works."""
    from telegram.error import BadRequest

    sim.api.files["big"] = b"x"
    sim.api.sizes["big"] = (20 << 20) + 1
    with pytest.raises(BadRequest, match="File is too big"):
        await sim.app.bot.get_file("big")
    sim.api.sizes["big"] = 20 << 20
    assert (await sim.app.bot.get_file("big")).file_size == 20 << 20
    sim.assert_clean()  # the bot broke no rule: Telegram just refused
