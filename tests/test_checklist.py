"""ledger.checklist: the shipped checklist, which items a building gets, bad files."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ledger.buildings import USES
from ledger.checklist import CATEGORIES, DEFAULT_PATH, Checklist, load_checklist
from ledger.errors import ConfigError

# The default checklist (docs/product.md, "The checklist"), in order.
APPENDIX_CODES = [
    "F01", "F02", "F03", "F04", "F05", "F06", "F07", "F08", "F09", "F10", "F11", "F12", "F13",
    "K01", "D01", "L01", "S01", "S02", "R01", "R02", "R03", "R04", "P01",
]  # fmt: skip

# The appendix's "applies to" column: (uses, built_before) for the items that are not "all".
APPENDIX_SCOPES = {
    "K01": (("canteen",), None),
    "D01": (("dormitory",), None),
    "L01": (("laboratory",), None),
    "P01": ((), 1998),
}

COMMON = [c for c in APPENDIX_CODES if c[0] in "FSR"]  # the 19 items every building gets


@pytest.fixture(scope="module")
def shipped() -> Checklist:
    return load_checklist()


def test_shipped_checklist_has_23_unique_items(shipped):
    """The built-in file loads, with 23 items and no code twice."""
    codes = [i.code for i in shipped.items]
    assert len(codes) == 23
    assert len(set(codes)) == 23
    assert shipped.name


def test_shipped_checklist_matches_product_appendix(shipped):
    """The codes and their order are those of the default checklist."""
    assert [i.code for i in shipped.items] == APPENDIX_CODES


def test_shipped_checklist_scopes_match_product_appendix(shipped):
    """Only K01, D01, L01 (by use) and P01 (built before 1998) are restricted."""
    for item in shipped.items:
        assert (item.uses, item.built_before) == APPENDIX_SCOPES.get(item.code, ((), None))


def test_shipped_items_have_both_languages_and_a_known_category(shipped):
    """Every item has Chinese and English text and a known category."""
    for item in shipped.items:
        assert item.zh.strip() and item.en.strip()
        assert item.category in CATEGORIES
        assert item.text("zh") == item.zh
        assert item.text("en") == item.en
    seismic = [i.code for i in shipped.items if i.category == "seismic"]
    records = [i.code for i in shipped.items if i.category == "records"]
    assert seismic == ["S01", "S02"]
    assert records == ["R01", "R02", "R03", "R04"]


@pytest.mark.parametrize(
    ("use", "year_built", "extra"),
    [
        ("teaching", 2005, []),
        ("teaching", 1998, []),  # built in 1998 is not built before 1998
        ("teaching", None, []),  # unknown year: no P01
        ("canteen", 2005, ["K01"]),
        ("dormitory", 2005, ["D01"]),
        ("laboratory", 2005, ["L01"]),
        ("library", 2005, []),
        ("gym", 2005, []),
        ("office", 2005, []),
        ("other", 2005, []),
        ("teaching", 1995, ["P01"]),
        ("teaching", 1997, ["P01"]),
        ("canteen", 1995, ["K01", "P01"]),
        ("dormitory", None, ["D01"]),
    ],
)
def test_items_for_building(shipped, use, year_built, extra):
    """Every building gets the 19 F/S/R items, plus those for its use and age, in file order."""
    codes = [i.code for i in shipped.for_building(use, year_built)]
    expected = [c for c in APPENDIX_CODES if c in COMMON or c in extra]
    assert codes == expected


def test_teaching_building_gets_19(shipped):
    """The count a walk shows for a plain teaching building built 2005: n/19."""
    assert len(shipped.for_building("teaching", 2005)) == 19


def test_digest_is_stable(shipped):
    """Loading the same file twice gives the same version digest."""
    again = load_checklist(DEFAULT_PATH)
    assert again.digest == shipped.digest
    assert len(shipped.digest) == 16
    int(shipped.digest, 16)


@pytest.mark.parametrize(
    "change",
    [
        {"zh": "改过的文字"},
        {"en": "Changed text"},
        {"category": "records"},
        {"uses": ("gym",)},
        {"built_before": 2000},
    ],
)
def test_digest_changes_when_content_changes(shipped, change):
    """Any change to an item's content is a new version."""
    first, *rest = shipped.items
    edited = Checklist(shipped.name, (replace(first, **change), *rest))
    assert edited.digest != shipped.digest


def test_digest_changes_when_order_changes(shipped):
    """The order is part of the version: questions are asked in file order."""
    swapped = Checklist(shipped.name, (shipped.items[1], shipped.items[0], *shipped.items[2:]))
    assert swapped.digest != shipped.digest


def test_digest_of_edited_file_changes(tmp_path, shipped):
    """Editing one text in a copy of the shipped file gives a new digest."""
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    edited = tmp_path / "checklist.toml"
    edited.write_text(text.replace("消防车通道畅通", "消防车通道畅通无阻"), encoding="utf-8")
    assert load_checklist(edited).digest != shipped.digest


# --- bad files -----------------------------------------------------------------

GOOD = {"code": '"A01"', "category": '"fire"', "zh": '"检查"', "en": '"Check"'}


def item(**fields: str | None) -> str:
    """One [[item]] in TOML; a field set to None is left out."""
    values = {**GOOD, **fields}
    lines = [f"{key} = {value}" for key, value in values.items() if value is not None]
    return "[[item]]\n" + "\n".join(lines) + "\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "checklist.toml"
    path.write_text('name = "test"\n\n' + text, encoding="utf-8")
    return path


def test_good_minimal_file_loads(tmp_path):
    """The helper's item is valid on its own (so the failures below are the edits)."""
    checklist = load_checklist(write(tmp_path, item() + item(code='"A02"')))
    assert [i.code for i in checklist.items] == ["A01", "A02"]
    assert checklist.name == "test"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (item() + item(code=None), ["item 2", "'code'"]),
        (item() + item(code='""'), ["item 2", "'code'"]),
        (item() + item(), ["item 2", "A01", "repeated"]),
        (item(category='"water"'), ["item 1", "A01", "'category'"]),
        (item(category=None), ["item 1", "A01", "'category'"]),
        (item(uses='["teaching", "garage"]'), ["item 1", "A01", "'uses'"]),
        (item(uses='"canteen"'), ["item 1", "A01", "'uses'"]),
        (item(uses="5"), ["item 1", "A01", "'uses'"]),
        (item(built_before='"1998"'), ["item 1", "A01", "'built_before'"]),
        (item(built_before="true"), ["item 1", "A01", "'built_before'"]),
        (item(zh=None), ["item 1", "A01", "'zh'"]),
        (item(en=None), ["item 1", "A01", "'en'"]),
        (item(en='"   "'), ["item 1", "A01", "'en'"]),
        (item(zh="3"), ["item 1", "A01", "'zh'"]),
        (item(use='["canteen"]'), ["item 1", "A01", "'use'"]),  # a typo'd key
        ("item = [1, 2]\n", ["item 1"]),
        ("[[item]\ncode = 'A'\n", ["line 3"]),  # invalid TOML: its position
        ("# nothing here\n", ["no [[item]]"]),
        ("item = []\n", ["no [[item]]"]),
    ],
    ids=[
        "missing-code",
        "empty-code",
        "repeated-code",
        "unknown-category",
        "missing-category",
        "unknown-use",
        "uses-not-a-list",
        "uses-a-number",
        "built_before-text",
        "built_before-bool",
        "missing-zh",
        "missing-en",
        "blank-en",
        "zh-not-text",
        "unknown-key",
        "item-not-a-table",
        "invalid-toml",
        "no-items",
        "empty-items",
    ],
)
def test_bad_files_raise_config_error_naming_the_item(tmp_path, text, names):
    """A mistake is a one-line ConfigError that names the file, the item and the key."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_checklist(path)
    message = str(caught.value)
    assert str(path) in message
    assert "\n" not in message
    for part in names:
        assert part in message


def test_missing_file_raises_config_error(tmp_path):
    """A checklist path that does not exist is a ConfigError, not a traceback."""
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=r"nope\.toml"):
        load_checklist(path)


def test_non_utf8_file_raises_config_error(tmp_path):
    """A file saved in GBK by a Windows editor is refused cleanly."""
    path = tmp_path / "gbk.toml"
    path.write_bytes(('name = "清单"\n' + item()).encode("gbk"))
    with pytest.raises(ConfigError, match=r"gbk\.toml"):
        load_checklist(path)


def test_every_use_is_accepted(tmp_path):
    """Each building use named in ledger.buildings.USES is valid in 'uses'."""
    uses = ", ".join(f'"{u}"' for u in USES)
    checklist = load_checklist(write(tmp_path, item(uses=f"[{uses}]")))
    assert checklist.items[0].uses == USES
