"""bot.config and config.example.toml: settings, their documentation and wrong values."""

from __future__ import annotations

import re
import tomllib
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import SETTINGS, TOKEN_ENV, load_config
from ledger.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[1] / "config.example.toml"
SECRET = "123456789:AAE-not-a-real-token-0123456789abcdef"

# The example sets the phase dates of the original notice; everything else is the default.
NOTICE_DATES = {
    "campaign.self_inspection_due": date(2027, 3, 30),
    "campaign.rectification_due": date(2027, 5, 31),
    "campaign.supervision_due": date(2027, 6, 15),
}


def example_values() -> dict[str, object]:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    return {
        f"{section}.{key}": value for section, table in data.items() for key, value in table.items()
    }


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- the example file documents every setting ------------------------------------------


def test_example_loads():
    config = load_config(EXAMPLE, env={})
    assert config.token == ""
    assert config.timezone == ZoneInfo("Asia/Shanghai")
    assert config.self_inspection_due == date(2027, 3, 30)
    assert config.rectification_due == date(2027, 5, 31)
    assert config.supervision_due == date(2027, 6, 15)


def test_example_names_exactly_the_settings():
    """Every setting is in the example, in its [section], and nothing else is."""
    assert set(example_values()) == {s.name for s in SETTINGS}


@pytest.mark.parametrize("setting", SETTINGS, ids=[s.name for s in SETTINGS])
def test_example_documents_setting(setting):
    """Each key sits in its [section] with its help text on the comment line right above."""
    section, key = setting.name.split(".")
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    current = None
    for n, line in enumerate(lines):
        header = re.fullmatch(r"\[(\w+)\]", line.strip())
        if header:
            current = header[1]
        if current == section and re.match(rf"{key}\s*=", line):
            assert lines[n - 1] == f"# {setting.help}"
            break
    else:
        pytest.fail(f"{setting.name} is not set in {EXAMPLE.name}")


@pytest.mark.parametrize("setting", SETTINGS, ids=[s.name for s in SETTINGS])
def test_example_shows_defaults(setting):
    """The example's values are the defaults (but for the notice's phase dates)."""
    value = example_values()[setting.name]
    if setting.name in NOTICE_DATES:
        assert setting.default is None
        assert value == NOTICE_DATES[setting.name]
    else:
        assert value == setting.default


def test_example_token_mentions_the_environment_variable():
    text = EXAMPLE.read_text(encoding="utf-8")
    before_token = text.split("\ntoken =")[0].rsplit("[bot]", 1)[1]
    assert TOKEN_ENV in before_token
    assert example_values()["bot.token"] == ""


def test_help_texts_are_one_line_english():
    """Help texts fit on one comment line and are in English (code and docs language)."""
    for setting in SETTINGS:
        assert "\n" not in setting.help
        assert not re.search(r"[\u4e00-\u9fff]", setting.help), setting.name


# --- defaults and values --------------------------------------------------------------


def test_defaults_without_a_file():
    config = load_config(None, env={})
    assert config.token == ""
    assert config.database == Path("data/xiaoan.sqlite3")
    assert config.photos == Path("data/photos")
    assert config.checklist is None
    assert config.self_inspection_due is None
    assert (config.max_bytes, config.max_pixels, config.max_side) == (
        20 * 1024**2,
        50_000_000,
        2048,
    )
    assert (config.takeover_after_minutes, config.fix_at_once_days) == (30, 7)


def test_values_from_a_file(tmp_path):
    path = write(
        tmp_path,
        """
[bot]
username = "@xiaoan_bot"
[campaign]
timezone = "Europe/Berlin"
self_inspection_due = "2027-04-01"
checklist = "my-list.toml"
[storage]
database = "/srv/x.sqlite3"
[walk]
takeover_after_minutes = 5
""",
    )
    config = load_config(path, env={})
    assert config.username == "xiaoan_bot"  # a leading @ is dropped
    assert config.timezone == ZoneInfo("Europe/Berlin")
    assert config.self_inspection_due == date(2027, 4, 1)  # a quoted date works too
    assert config.checklist == Path("my-list.toml")
    assert config.database == Path("/srv/x.sqlite3")
    assert config.takeover_after_minutes == 5


# --- wrong input: one line naming the key -----------------------------------------------

BAD = [
    ("unknown-key", "[bot]\ntokne = 'x'\n", "bot.tokne"),
    ("unknown-section", "[storag]\ndatabase = 'x'\n", "storag.database"),
    ("nested-table", "[bot.extra]\nx = 1\n", "bot.extra"),
    ("max_bytes-text", "[photos]\nmax_bytes = '20MB'\n", "photos.max_bytes"),
    ("max_bytes-float", "[photos]\nmax_bytes = 1.5\n", "photos.max_bytes"),
    ("max_bytes-bool", "[photos]\nmax_bytes = true\n", "photos.max_bytes"),
    ("max_bytes-zero", "[photos]\nmax_bytes = 0\n", "photos.max_bytes"),
    ("max_side-too-small", "[photos]\nmax_side = 10\n", "photos.max_side"),
    ("takeover-negative", "[walk]\ntakeover_after_minutes = -5\n", "walk.takeover_after_minutes"),
    ("fix-days-text", "[walk]\nfix_at_once_days = 'seven'\n", "walk.fix_at_once_days"),
    ("timezone-unknown", "[campaign]\ntimezone = 'Mars/Olympus'\n", "campaign.timezone"),
    ("timezone-not-a-key", "[campaign]\ntimezone = '/etc/passwd'\n", "campaign.timezone"),
    ("timezone-number", "[campaign]\ntimezone = 8\n", "campaign.timezone"),
    (
        "date-impossible",
        "[campaign]\nrectification_due = '2027-02-30'\n",
        "campaign.rectification_due",
    ),
    ("date-words", "[campaign]\nsupervision_due = 'June'\n", "campaign.supervision_due"),
    (
        "date-with-time",
        "[campaign]\nsupervision_due = 2027-06-15T10:00:00\n",
        "campaign.supervision_due",
    ),
    ("name-number", "[campaign]\nname = 2027\n", "campaign.name"),
    ("database-number", "[storage]\ndatabase = 1\n", "storage.database"),
    ("username-list", "[bot]\nusername = ['a']\n", "bot.username"),
    ("top-level-value", "token = 'abc'\n", "'token'"),
    ("invalid-toml", "[bot\ntoken = 'x'\n", "not valid TOML"),
    ("invalid-toml-date", "[campaign]\nsupervision_due = 2027-02-30\n", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "names"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_wrong_input_is_one_line_naming_the_key(tmp_path, text, names):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), env={})
    message = str(caught.value)
    assert names in message
    assert "\n" not in message
    assert message.startswith("config: ")


@pytest.mark.parametrize("make", ["missing", "directory", "gbk"])
def test_unreadable_file_is_one_line(tmp_path, make):
    """A missing file, a folder or a file not in UTF-8 is a ConfigError naming the path."""
    path = tmp_path / "config.toml"
    if make == "directory":
        path.mkdir()
    elif make == "gbk":
        path.write_bytes('[campaign]\nname = "回头看"\n'.encode("gbk"))
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    message = str(caught.value)
    assert str(path) in message
    assert "\n" not in message


# --- the token ----------------------------------------------------------------------------


def test_environment_token_overrides_the_file(tmp_path):
    path = write(tmp_path, "[bot]\ntoken = 'from-file'\n")
    assert load_config(path, env={TOKEN_ENV: SECRET}).token == SECRET
    assert load_config(path, env={}).token == "from-file"
    assert load_config(path, env={TOKEN_ENV: ""}).token == "from-file"  # empty: not set
    assert load_config(None, env={TOKEN_ENV: f"  {SECRET}\n"}).token == SECRET


def test_os_environment_is_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, SECRET)
    assert load_config(None).token == SECRET


def test_repr_never_shows_the_token(tmp_path):
    path = write(tmp_path, f"[bot]\ntoken = '{SECRET}'\n")
    for config in (load_config(path, env={}), load_config(None, env={TOKEN_ENV: SECRET})):
        assert config.token == SECRET
        assert SECRET not in repr(config)
        assert SECRET not in str(config)
        assert "AAE-not-a-real" not in repr(config)
