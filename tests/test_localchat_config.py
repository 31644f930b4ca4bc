"""The local chat's settings: defaults beside the bot's database, and wrong values."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_config
from bot.local import local_page_of, local_settings
from ledger.errors import ConfigError


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_loopback_and_beside_the_bots_database(tmp_path: Path) -> None:
    config = load_config(
        config_file(tmp_path, '[storage]\ndatabase = "/srv/xa/bot.sqlite3"\n'), env={}
    )
    settings = local_settings(config, "t")
    assert (settings.host, settings.port, settings.api_host, settings.api_port) == (
        "127.0.0.1",
        8080,
        "127.0.0.1",
        8081,
    )
    assert settings.database == Path("/srv/xa/localchat.sqlite3")
    assert settings.files == Path("/srv/xa/localchat-files")
    assert settings.max_upload_bytes == 20 * 1024 * 1024
    assert settings.username == "xiaoan_local_bot"


def test_named_files_and_a_public_address(tmp_path: Path) -> None:
    text = (
        '[local]\ndatabase = "/d/chat.db"\nfiles = "/d/f"\n'
        'public_url = "https://xa.school.cn/"\nhost = "0.0.0.0"\n'
    )
    settings = local_settings(load_config(config_file(tmp_path, text), env={}), "t")
    assert (settings.database, settings.files) == (Path("/d/chat.db"), Path("/d/f"))
    assert settings.public_url == "https://xa.school.cn"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[local]\nport = -1\n", "local.port"),
        ("[local]\napi_port = 'x'\n", "local.api_port"),
        ("[local]\nmax_upload_bytes = 0\n", "local.max_upload_bytes"),
        ("[local]\nhost = 1\n", "local.host"),
        ("[local]\nsecret = 1\n", "local.secret"),
    ],
)
def test_wrong_values_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        load_config(config_file(tmp_path, text), env={})


@pytest.mark.parametrize(
    ("text", "page"),
    [
        ('[bot]\napi_base_url = "http://127.0.0.1:8081/bot"\n', "http://127.0.0.1:8080"),
        (
            '[bot]\napi_base_url = "http://127.0.0.1:9001/bot"\n[local]\napi_port = 9001\n'
            'public_url = "https://xa.cn"\n',
            "https://xa.cn",
        ),
        ("", None),  # Telegram itself
    ],
)
def test_demo_links_point_at_the_local_page_when_the_bot_uses_it(
    tmp_path: Path, text: str, page: str | None
) -> None:
    assert local_page_of(load_config(config_file(tmp_path, text), env={})) == page
