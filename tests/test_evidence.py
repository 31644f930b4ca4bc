"""Evidence in chat: reused after-photos caught, capture times flagged, the card's marks."""

from __future__ import annotations

import pytest

from storage import fingerprint
from tests import scenes
from tests.rectify_helpers import Scene, scene
from tests.simulator import Chat, Simulator, texts

KEEP = "仍用这张"


async def report_with(chat: Chat, photo: bytes, description: str) -> int:
    """A quick report with this before-photo, not fixable at once (as rectify_helpers.report)."""
    said = await chat.photo(photo)
    if "这是哪栋建筑" in texts(said):
        await chat.tap("教学楼A")
    await chat.tap("照片已发完")
    await chat.send(description)
    await chat.tap("否")
    await chat.tap("7 天内")
    await chat.tap("实验小学王老师")
    await chat.send("清理并加固")
    await chat.tap("否")
    said = await chat.tap("否")
    chat.new()
    return int(said[0].text.split("#")[1].split()[0])


async def fix_with(chat: Chat, hazard_id: int, photo: bytes, *, as_document: bool = False) -> list:
    await chat.tap_data(f"r:fx:{hazard_id}")
    return await chat.photo(photo, as_document=as_document)


async def finish_fix(chat: Chat, hazard_id: int) -> None:
    await chat.tap("照片已发完")
    await chat.send("已整改完毕")


async def two_hazards(sim: Simulator) -> tuple[Scene, int, int]:
    """Hazard A fixed and verified with a stairwell after-photo; hazard B open."""
    s = await scene(sim)
    a = await report_with(s.staff, scenes.jpeg_bytes(scenes.stairwell(1)), "楼梯间堆放杂物")
    said = await fix_with(s.staff, a, scenes.jpeg_bytes(scenes.stairwell(2)))
    assert KEEP not in texts(said)
    await finish_fix(s.staff, a)
    await s.leader.tap_data(f"r:vf:{a}:{await fix_id(sim, a)}")
    b = await report_with(s.staff, scenes.jpeg_bytes(scenes.room(3)), "教室灭火器过期")
    for chat in (s.staff, s.leader, s.principal, s.taskforce):
        chat.new()
    return s, a, b


async def fix_id(sim: Simulator, hazard_id: int) -> int:
    return int(
        await sim.db.value(
            "SELECT id FROM fix_reports WHERE hazard_id = ? ORDER BY id DESC", (hazard_id,)
        )
    )


@pytest.mark.parametrize(
    "edit", ["same", "resized", "recompressed_q60", "cropped_5pct", "cropped_5pct_side"]
)
async def test_after_photo_reused_from_another_hazard_is_caught(sim, edit):
    s, a, b = await two_hazards(sim)
    original = scenes.stairwell(2)
    reused = scenes.jpeg_bytes(scenes.EDITS[edit](original))
    said = await fix_with(s.staff, b, reused)
    shown = texts(said)
    assert f"与隐患 #{a}【教学楼A】已登记的整改后照片相同" in shown
    assert KEEP in shown
    # Nothing stored yet: the photo waits for the sender's choice.
    assert await sim.db.value("SELECT COUNT(*) FROM photos WHERE hazard_id = ?", (b,)) == 1
    assert await sim.db.value("SELECT COUNT(*) FROM suspect_photos") == 1

    said = await s.staff.tap(KEEP)
    assert "已保存这张照片" in texts(said)
    row = await sim.db.one(
        "SELECT p.reused_of, o.hazard_id AS other_hazard, o.sha256 AS other_sha, p.sha256"
        " FROM photos p JOIN photos o ON o.id = p.reused_of"
        " WHERE p.hazard_id = ? AND p.kind = 'after'",
        (b,),
    )
    assert row["other_hazard"] == a
    assert await sim.db.value("SELECT COUNT(*) FROM suspect_photos") == 0

    await finish_fix(s.staff, b)
    seen = s.leader.new()
    notice = next(m for m in seen if "待验收" in m.text)
    assert f"整改后照片 1 与隐患 #{a}【教学楼A】的整改后照片相同" in notice.text
    album = next(m for m in seen if m.kind == "album")
    photos = sim.services.photos
    flagged = photos.path_of(row["sha256"]).read_bytes()
    on_record = photos.path_of(row["other_sha"]).read_bytes()
    # Side by side, first (the same bytes make the same stored file: shown once).
    expected = [flagged] if flagged == on_record else [flagged, on_record]
    assert album.files[: len(expected)] == expected


async def test_reused_photo_replaced_by_a_new_one_is_stored_unflagged(sim):
    s, _, b = await two_hazards(sim)
    said = await fix_with(s.staff, b, scenes.jpeg_bytes(scenes.resized(scenes.stairwell(2))))
    assert KEEP in texts(said)
    said = await s.staff.photo(scenes.jpeg_bytes(scenes.room(40)))
    assert KEEP not in texts(said)
    rows = await sim.db.all(
        "SELECT reused_of FROM photos WHERE hazard_id = ? AND kind = 'after'", (b,)
    )
    assert [r["reused_of"] for r in rows] == [None]
    assert await sim.db.value("SELECT COUNT(*) FROM suspect_photos") == 0
    # The held photo can no longer be kept: it was replaced.
    await s.staff.tap_data(f"ev:k:{b}")
    assert s.staff.alerts
    assert await sim.db.value("SELECT COUNT(*) FROM photos WHERE hazard_id = ?", (b,)) == 2


async def test_after_photo_matching_this_hazards_before_photo_is_caught(sim):
    s, _, b = await two_hazards(sim)
    said = await fix_with(s.staff, b, scenes.jpeg_bytes(scenes.recompressed(scenes.room(3))))
    assert f"与隐患 #{b}【教学楼A】已登记的整改前照片相同" in texts(said)


async def test_a_different_after_photo_of_a_similar_scene_passes(sim):
    s, _, b = await two_hazards(sim)
    said = await fix_with(s.staff, b, scenes.jpeg_bytes(scenes.stairwell(77)))
    assert KEEP not in texts(said)
    assert "已收到 1 张" in texts(said) or "照片已发完" in texts(said)
    await finish_fix(s.staff, b)
    notice = next(m for m in s.leader.new() if "待验收" in m.text)
    assert "相同" not in notice.text
    assert (
        await sim.db.value(
            "SELECT reused_of FROM photos WHERE hazard_id = ? AND kind = 'after'", (b,)
        )
        is None
    )


async def test_photo_sent_as_a_file_taken_before_the_hazard_is_flagged(sim, clock):
    s, _, b = await two_hazards(sim)
    early = scenes.with_capture_time(scenes.stairwell(55), "2026:11:01 10:15:00", (37.1, 121.5))
    said = await fix_with(s.staff, b, early, as_document=True)
    assert KEEP not in texts(said)
    row = await sim.db.one(
        "SELECT taken_at, latitude, longitude, time_flag FROM photos"
        " WHERE hazard_id = ? AND kind = 'after'",
        (b,),
    )
    assert (row["taken_at"], row["time_flag"]) == ("2026-11-01T10:15:00", "before_hazard")
    assert (row["latitude"], row["longitude"]) == (37.1, 121.5)
    await finish_fix(s.staff, b)
    notice = next(m for m in s.leader.new() if "待验收" in m.text)
    assert "整改后照片 1 拍摄于 2026-11-01 10:15，早于隐患登记时间" in notice.text
    # The card shows the capture time, and the before-photo's missing metadata.
    said = await s.leader.tap_data(f"hc:{b}")
    card = texts(said)
    assert "整改后照片 1：拍摄于 2026-11-01 10:15，位置 37.1, 121.5" in card
    assert "整改前照片 1：无拍摄信息" in card
    assert "早于隐患登记时间" in card


async def test_photo_taken_days_before_the_fix_is_flagged_stale(sim, clock):
    s, _, b = await two_hazards(sim)
    taken = clock.now()
    clock.advance(days=5)
    stamp = taken.strftime("%Y:%m:%d %H:%M:%S")
    said = await fix_with(
        s.staff, b, scenes.with_capture_time(scenes.stairwell(56), stamp), as_document=True
    )
    assert KEEP not in texts(said)
    flag = await sim.db.value(
        "SELECT time_flag FROM photos WHERE hazard_id = ? AND kind = 'after'", (b,)
    )
    assert flag == "stale"


async def test_after_photo_with_no_metadata_is_marked_for_the_verifier(sim):
    s, _, b = await two_hazards(sim)
    await fix_with(s.staff, b, scenes.jpeg_bytes(scenes.stairwell(57)))
    await finish_fix(s.staff, b)
    notice = next(m for m in s.leader.new() if "待验收" in m.text)
    assert "1 张整改后照片无拍摄信息" in notice.text


async def test_before_photo_matching_another_schools_photo_is_caught(sim):
    from tests.conftest import make_school

    s, a, _ = await two_hazards(sim)
    other = await make_school(sim, name="第二中学", taskforce=s.taskforce)
    copied = scenes.jpeg_bytes(scenes.cropped(scenes.stairwell(1)))  # school one's before-photo
    said = await other.staff.photo(copied)
    shown = texts(said)
    assert "与另一所学校已登记的照片相同" in shown
    assert f"#{a}" not in shown and "实验小学" not in shown  # the other school is not named
    await other.staff.tap(KEEP)
    row = await sim.db.one(
        "SELECT p.reused_of, h.school_id FROM photos p JOIN hazards h ON h.id = p.hazard_id"
        " WHERE h.school_id = ? AND p.kind = 'before'",
        (other.school_id,),
    )
    assert row["reused_of"] is not None


async def test_same_school_before_photos_are_not_checked(sim):
    s, _, _ = await two_hazards(sim)
    said = await s.staff.photo(scenes.jpeg_bytes(scenes.stairwell(1)))
    assert KEEP not in texts(said)


async def test_the_same_photo_sent_as_a_photo_loses_its_metadata(sim):
    """Telegram recompresses a photo (not a file): no capture time, the card says so."""
    s, _, b = await two_hazards(sim)
    early = scenes.with_capture_time(scenes.stairwell(58), "2026:11:01 10:15:00")
    await fix_with(s.staff, b, early)
    row = await sim.db.one(
        "SELECT taken_at, time_flag FROM photos WHERE hazard_id = ? AND kind = 'after'", (b,)
    )
    assert (row["taken_at"], row["time_flag"]) == (None, None)
    said = await s.staff.tap_data(f"hc:{b}")
    assert "整改后照片 1：无拍摄信息" in texts(said)


async def test_english_reader_sees_the_match_in_english(sim):
    s, a, b = await two_hazards(sim)
    s.staff.user["language_code"] = "en"
    async with sim.db.write() as tx:
        await tx.run("UPDATE people SET language = 'en' WHERE tg_user_id = ?", (s.staff.user_id,))
    said = await fix_with(s.staff, b, scenes.jpeg_bytes(scenes.resized(scenes.stairwell(2))))
    shown = texts(said)
    assert f"the after-photo on record for hazard #{a}" in shown
    assert "Use it anyway" in shown


async def test_ledger_and_city_report_show_flagged_photos(sim, clock):
    import io

    from openpyxl import load_workbook

    from reports import files

    s, a, b = await two_hazards(sim)
    await fix_with(s.staff, b, scenes.jpeg_bytes(scenes.recompressed(scenes.stairwell(2))))
    await s.staff.tap(KEEP)
    await finish_fix(s.staff, b)
    await s.leader.tap_data(f"r:vf:{b}:{await fix_id(sim, b)}")
    services = sim.services
    _, data = await files.ledger_file(
        sim.db,
        services.workers,
        services.photos,
        services.campaign_id,
        s.school.school_id,
        clock.today(),
    )
    ws = load_workbook(io.BytesIO(data))["台账"]
    header = [c.value for c in ws[1]]
    rows = {
        r[0]: dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)
    }
    assert rows[b]["照片复用"] == f"整改后照片1与#{a}的照片相同"
    assert rows[b]["存疑照片验收结果"].startswith("整改后照片1：验收通过，实验小学刘主任")
    assert rows[b]["无拍摄信息照片数"] == 2  # the before-photo and the after-photo
    assert rows[a]["照片复用"] is None and rows[a]["存疑照片验收结果"] is None

    _, data = await files.city_file(sim.db, services.workers, services.campaign_id, clock.today())
    city = load_workbook(io.BytesIO(data))["全市进度"]
    header = [c.value for c in city[3]]
    column = header.index("照片存疑的整改")
    school_row = next(r for r in city.iter_rows(min_row=4, values_only=True) if r[1] == "实验小学")
    assert school_row[column] == 1


async def test_ledger_shows_a_photo_taken_before_the_hazard(sim, clock):
    import io

    from openpyxl import load_workbook

    from reports import files

    s, _, b = await two_hazards(sim)
    early = scenes.with_capture_time(scenes.stairwell(59), "2026:11:01 10:15:00")
    await fix_with(s.staff, b, early, as_document=True)
    await finish_fix(s.staff, b)
    _, data = await files.ledger_file(
        sim.db,
        sim.services.workers,
        sim.services.photos,
        sim.services.campaign_id,
        s.school.school_id,
        clock.today(),
    )
    ws = load_workbook(io.BytesIO(data))["台账"]
    header = [c.value for c in ws[1]]
    rows = {
        r[0]: dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)
    }
    assert rows[b]["拍摄时间存疑"] == "整改后照片1拍摄于2026-11-01 10:15（早于隐患登记）"
    assert rows[b]["存疑照片验收结果"] == "整改后照片1：待验收"


async def test_photos_stored_before_fingerprints_get_them_at_start(sim):
    """What the migration leaves NULL is filled from the files at the next start."""
    s, _, b = await two_hazards(sim)
    before = await sim.db.all("SELECT id, phash FROM photos ORDER BY id")
    assert all(r["phash"] is not None for r in before)
    gone = await sim.db.value("SELECT sha256 FROM photos WHERE hazard_id = ?", (b,))
    async with sim.db.write() as tx:
        await tx.run("UPDATE photos SET phash = NULL")
    sim.services.photos.path_of(gone).unlink()  # a file no longer there stays without
    await sim.restart()
    after = await sim.db.all("SELECT id, phash, sha256 FROM photos ORDER BY id")
    for now, then in zip(after, before, strict=True):
        if now["sha256"] == gone:
            assert now["phash"] is None
        else:  # read back from the stored JPEG: within a few bits of the hash made at saving
            assert fingerprint.distance(now["phash"], then["phash"]) <= 4
    # And a reused copy of a backfilled photo is caught again.
    said = await fix_with(s.staff, b, scenes.jpeg_bytes(scenes.resized(scenes.stairwell(2))))
    assert KEEP in texts(said)
