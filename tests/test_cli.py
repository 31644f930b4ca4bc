"""bot.cli: ``xiaoan init | invite | checklist | run`` and their errors."""

from __future__ import annotations

import io
import logging
import re
import socket
import sqlite3
from pathlib import Path
from typing import Any, ClassVar

import pytest

from bot.cli import _Redact, main
from bot.config import TOKEN_ENV
from storage.db import migrations

SECRET = "123456789:AAE-not-a-real-token-0123456789abcdef"
CODE = re.compile(r"^code: ([A-Za-z0-9]{11})$", re.MULTILINE)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Run in tmp_path (defaults write data/ under the current folder), with no token set."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(TOKEN_ENV, raising=False)


def write_config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[storage]\ndatabase = "{tmp_path / "db" / "x.sqlite3"}"\n'
        f'photos = "{tmp_path / "photos"}"\n' + extra,
        encoding="utf-8",
    )
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    """stderr must hold exactly one line, starting with the program's name."""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("xiaoan: ")
    assert "Traceback" not in err
    return lines[0]


# --- help -------------------------------------------------------------------------------


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    for command in ("init", "invite", "checklist", "run", "local"):
        assert re.search(rf"^\s+{command}\s", out, re.MULTILINE), command
    assert "--config" in out


@pytest.mark.parametrize("argv", [[], ["nonsense"], ["invite"], ["invite", "--role", "janitor"]])
def test_usage_errors_exit_2(capsys, argv):
    """argparse's own refusals: exit status 2 and a usage message, no traceback."""
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "usage: xiaoan" in err
    assert "Traceback" not in err


# --- init ----------------------------------------------------------------------------------


def test_init_twice(tmp_path, capsys):
    """init creates the database, and running it again is harmless."""
    config = write_config(tmp_path)
    database = tmp_path / "db" / "x.sqlite3"
    for _ in range(2):
        code, out, err = run(capsys, "--config", str(config), "init")
        assert code == 0, err
        assert out.strip() == f"database ready: {database}"
    with sqlite3.connect(database) as conn:
        applied = conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0]
        assert applied == len(migrations())
        assert conn.execute("SELECT COUNT(*) FROM campaigns").fetchone()[0] == 1
        assert conn.execute("SELECT COUNT(*) FROM checklist_versions").fetchone()[0] == 1
    assert not (tmp_path / "data").exists()


def test_init_without_config_uses_data_folder(tmp_path, capsys):
    """Without --config the database goes to data/ under the current folder (tmp_path here)."""
    code, out, _ = run(capsys, "init")
    assert code == 0
    assert out.strip() == "database ready: data/xiaoan.sqlite3"
    assert (tmp_path / "data" / "xiaoan.sqlite3").is_file()


def test_init_with_a_file_that_is_not_a_database(tmp_path, capsys):
    """A database path pointing at some other file: one line, exit 2, no traceback."""
    database = tmp_path / "db" / "x.sqlite3"
    database.parent.mkdir()
    database.write_text("not a database", encoding="utf-8")
    code, _, err = run(capsys, "--config", str(write_config(tmp_path)), "init")
    assert code == 2
    assert "storage.database" in one_line_error(err)


def test_init_with_a_missing_checklist(tmp_path, capsys):
    """A checklist file that does not exist stops init with one line (and creates nothing)."""
    config = write_config(tmp_path, '[campaign]\nchecklist = "missing.toml"\n')
    code, _, err = run(capsys, "--config", str(config), "init")
    assert code == 2
    assert "missing.toml" in one_line_error(err)
    assert not (tmp_path / "db").exists()


# --- invite ------------------------------------------------------------------------------


def test_invite_taskforce(tmp_path, capsys):
    """A code, then a link line; without a username the link is the /start command."""
    config = write_config(tmp_path)
    code, out, err = run(capsys, "--config", str(config), "invite", "--role", "taskforce")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 3
    found = CODE.match(lines[0])
    assert found
    assert lines[1] == f"link: /start {found[1]}"
    # No token: the bot runs on the local chat, whose page opens the code.
    assert lines[2] == f"local chat: http://127.0.0.1:8080/?start={found[1]}"
    with sqlite3.connect(tmp_path / "db" / "x.sqlite3") as conn:
        row = conn.execute("SELECT role, school_id, max_uses FROM invitations").fetchone()
    assert row == ("taskforce", None, 1)


@pytest.mark.parametrize("username", ["xiaoan_bot", "@xiaoan_bot"])
def test_invite_link_with_username(tmp_path, capsys, username):
    config = write_config(tmp_path, f'[bot]\nusername = "{username}"\n')
    code, out, _ = run(capsys, "--config", str(config), "invite", "--role", "supervisor")
    assert code == 0
    found = CODE.search(out)
    assert found
    assert f"link: https://t.me/xiaoan_bot?start={found[1]}" in out.splitlines()


def test_invite_with_a_token_prints_no_local_page(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "123:never-real")
    config = write_config(tmp_path, '[local]\npublic_url = "https://xa.school.cn/"\n')
    _, out, _ = run(capsys, "--config", str(config), "invite", "--role", "taskforce")
    assert "local chat" not in out


def test_invite_local_page_behind_a_proxy(tmp_path, capsys):
    config = write_config(tmp_path, '[local]\npublic_url = "https://xa.school.cn/"\n')
    _, out, _ = run(capsys, "--config", str(config), "invite", "--role", "taskforce")
    code = CODE.search(out)[1]
    assert f"local chat: https://xa.school.cn/?start={code}" in out.splitlines()


def test_invite_codes_differ(tmp_path, capsys):
    config = str(write_config(tmp_path))
    codes = set()
    for _ in range(3):
        _, out, _ = run(capsys, "--config", config, "invite", "--role", "taskforce")
        codes.add(CODE.search(out)[1])
    assert len(codes) == 3


def test_invite_principal_for_a_school(tmp_path, capsys):
    """With an existing school id the principal invitation is made for it."""
    config = str(write_config(tmp_path))
    assert run(capsys, "--config", config, "init")[0] == 0
    with sqlite3.connect(tmp_path / "db" / "x.sqlite3") as conn:
        conn.execute(
            "INSERT INTO schools (id, name, kind, ownership, created_at)"
            " VALUES (5, '实验小学', 'primary', 'public', '2027-03-01T09:00:00+08:00')"
        )
    code, out, _ = run(
        capsys,
        "--config",
        config,
        "invite",
        "--role",
        "principal",
        "--school",
        "5",
        "--days",
        "30",
        "--uses",
        "3",
    )
    assert code == 0
    with sqlite3.connect(tmp_path / "db" / "x.sqlite3") as conn:
        row = conn.execute("SELECT role, school_id, max_uses, code FROM invitations").fetchone()
    assert row[:3] == ("principal", 5, 3)
    assert f"code: {row[3]}" in out


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["--role", "staff"], "--school"),
        (["--role", "leader"], "--school"),
        (["--role", "principal"], "--school"),
        (["--role", "taskforce", "--school", "1"], "--school"),
        (["--role", "principal", "--school", "999"], "999"),
        (["--role", "taskforce", "--days", "0"], "--days"),
        (["--role", "taskforce", "--uses", "0"], "--uses"),
    ],
)
def test_invite_refusals(tmp_path, capsys, args, mentions):
    """A wrong combination exits 2 with one line on stderr and prints no code."""
    code, out, err = run(capsys, "--config", str(write_config(tmp_path)), "invite", *args)
    assert code == 2
    assert mentions in one_line_error(err)
    assert out == ""


def test_invite_for_missing_school_stores_nothing(tmp_path, capsys):
    config = str(write_config(tmp_path))
    run(capsys, "--config", config, "invite", "--role", "principal", "--school", "999")
    with sqlite3.connect(tmp_path / "db" / "x.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(*) FROM invitations").fetchone()[0] == 0


# --- checklist ------------------------------------------------------------------------------


def test_checklist_in_chinese(capsys):
    code, out, _ = run(capsys, "checklist")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 24  # a header and 23 items
    assert "version" in lines[0]
    assert lines[1].startswith("F01  [fire; all]  疏散通道")
    assert lines[14].startswith("K01  [fire; canteen]")
    assert lines[-1].startswith("P01  [fire; all <1998]")
    assert [line.split()[0] for line in lines[1:]][:3] == ["F01", "F02", "F03"]


def test_checklist_in_english(capsys):
    code, out, _ = run(capsys, "checklist", "--lang", "en")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 24
    assert lines[1] == (
        "F01  [fire; all]  Escape routes, stairs and exits clear; not blocked, occupied or locked"
    )
    assert not re.search(r"[\u4e00-\u9fff]", "\n".join(lines[1:]))


def test_checklist_from_a_config_file(tmp_path, capsys):
    """campaign.checklist names another checklist file, which is then printed."""
    custom = tmp_path / "mine.toml"
    custom.write_text(
        'name = "mine"\n[[item]]\ncode = "X1"\ncategory = "fire"\nzh = "一"\nen = "one"\n',
        encoding="utf-8",
    )
    config = write_config(tmp_path, f'[campaign]\nchecklist = "{custom}"\n')
    code, out, _ = run(capsys, "--config", str(config), "checklist", "--lang", "en")
    assert code == 0
    assert out.splitlines()[1:] == ["X1  [fire; all]  one"]


def test_checklist_bad_file(tmp_path, capsys):
    custom = tmp_path / "bad.toml"
    custom.write_text('[[item]]\ncode = "X1"\ncategory = "water"\nzh = "一"\nen = "one"\n')
    config = write_config(tmp_path, f'[campaign]\nchecklist = "{custom}"\n')
    code, _, err = run(capsys, "--config", str(config), "checklist")
    assert code == 2
    assert "category" in one_line_error(err)


# --- run -----------------------------------------------------------------------------------


class FakeApp:
    """Stands for the Application: records the settings it was built with, never polls."""

    built: ClassVar[list[Any]] = []
    requests: ClassVar[list[Any]] = []

    def __init__(self, config, clock, request=None) -> None:
        FakeApp.built.append(config)
        FakeApp.requests.append(request)

    def run_polling(self, **kwargs) -> None:
        return None


LOCAL_PORTS = "[local]\nport = 0\napi_port = 0\n"


@pytest.mark.parametrize("demo", [False, True])
def test_run_without_a_token_uses_the_local_chat(tmp_path, capsys, monkeypatch, demo):
    """No token: the local chat starts on loopback and the bot is pointed at it."""
    FakeApp.built, FakeApp.requests = [], []
    monkeypatch.setattr("bot.app.build_application", FakeApp)
    argv = ["--config", str(write_config(tmp_path, LOCAL_PORTS)), "run"]
    code, out, err = run(capsys, *argv, *(["--demo"] if demo else []))
    assert code == 0, err
    (config,) = FakeApp.built
    (request,) = FakeApp.requests
    assert type(request).__name__ == "LocalChatRequest"  # aiohttp's client, to our own server
    assert re.match(r"local chat: http://127\.0\.0\.1:\d+ ", out)
    assert config.api_base_url.startswith("http://127.0.0.1:")
    assert config.api_base_url.endswith("/bot") and config.api_file_url.endswith("/file/bot")
    assert config.token and config.token not in out + err
    links = re.findall(r"^  (\w+) +http://127\.0\.0\.1:\d+/\?start=([A-Za-z0-9]{11})$", out, re.M)
    if demo:
        assert [role for role, _ in links] == [
            "principal",
            "leader",
            "staff",
            "taskforce",
            "supervisor",
        ]
    else:
        assert links == []
    assert (tmp_path / "db" / "localchat.sqlite3").exists()


def test_demo_twice_reuses_the_school(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("bot.app.build_application", FakeApp)
    config = str(write_config(tmp_path, LOCAL_PORTS))
    for _ in range(2):
        assert run(capsys, "--config", config, "run", "--demo")[0] == 0
    db = sqlite3.connect(tmp_path / "db" / "x.sqlite3")
    assert db.execute("SELECT COUNT(*) FROM schools").fetchone() == (1,)
    assert db.execute("SELECT COUNT(*) FROM buildings").fetchone() == (3,)
    assert db.execute("SELECT COUNT(*) FROM invitations").fetchone() == (10,)


def test_a_refused_token_is_one_line_without_it(tmp_path, capsys, monkeypatch):
    """The Bot API (here the local chat, which has a token of its own) says 401."""
    from bot.config import load_config
    from tests.localchat_support import LocalChatThread

    config = write_config(tmp_path, LOCAL_PORTS)
    server = LocalChatThread(load_config(config, env={})).start()
    try:
        api = server.server.api_url
        extra = f'[bot]\napi_base_url = "{api}/bot"\napi_file_url = "{api}/file/bot"\n'
        monkeypatch.setenv(TOKEN_ENV, SECRET)
        code, out, err = run(capsys, "--config", str(write_config(tmp_path, extra)), "run")
    finally:
        server.stop()
    assert code == 2
    assert "refused the token" in one_line_error(err)
    assert SECRET not in out + err


def test_local_without_a_token(tmp_path, capsys):
    code, out, err = run(capsys, "--config", str(write_config(tmp_path)), "local")
    assert code == 2
    assert TOKEN_ENV in one_line_error(err)
    assert out == ""


def test_run_on_a_busy_port_says_so_in_one_line(tmp_path, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = write_config(tmp_path, f"[local]\nport = {port}\napi_port = 0\n")
        code, _, err = run(capsys, "--config", str(config), "run")
    assert code == 2
    assert f"127.0.0.1:{port}" in one_line_error(err)


def test_run_with_a_token_and_a_bad_checklist_never_prints_the_token(tmp_path, capsys, monkeypatch):
    """The run refuses before connecting; neither output shows the token."""

    def must_not_start(*args, **kwargs):
        raise AssertionError("the bot must not start (it would reach the network)")

    monkeypatch.setattr("bot.app.build_application", must_not_start)
    monkeypatch.setenv(TOKEN_ENV, SECRET)
    config = write_config(tmp_path, '[campaign]\nchecklist = "missing.toml"\n')
    code, out, err = run(capsys, "--config", str(config), "run")
    assert code == 2
    one_line_error(err)
    assert SECRET not in out + err


def test_invite_output_never_shows_the_token(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, SECRET)
    code, out, err = run(
        capsys, "--config", str(write_config(tmp_path)), "invite", "--role", "taskforce"
    )
    assert code == 0
    assert SECRET not in out + err


# --- config errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "mentions"),
    [
        ("[bot]\ntokne = 'x'\n", "bot.tokne"),
        ("[photos]\nmax_bytes = 'big'\n", "photos.max_bytes"),
        ("[bot\n", "TOML"),
    ],
)
@pytest.mark.parametrize("command", ["init", "checklist", "run"])
def test_bad_config_exits_2_with_one_line(tmp_path, capsys, text, mentions, command):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "--config", str(path), command)
    assert code == 2
    assert mentions in one_line_error(err)
    assert out == ""
    assert not (tmp_path / "data").exists()


def test_missing_config_file(tmp_path, capsys):
    code, _, err = run(capsys, "--config", str(tmp_path / "nope.toml"), "init")
    assert code == 2
    assert "nope.toml" in one_line_error(err)


# --- the log filter -----------------------------------------------------------------------------


def logged(secret: str, emit) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(_Redact(secret))
    logger = logging.getLogger("tests.cli.redact")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        emit(logger)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_log_lines_never_show_the_token():
    """A URL with the token (as httpx logs it) is redacted in the message."""
    out = logged(SECRET, lambda log: log.warning("POST https://api.telegram.org/bot%s/x", SECRET))
    assert SECRET not in out
    assert "bot<token>/x" in out


def test_log_tracebacks_never_show_the_token():
    """An exception whose message names the URL is redacted in the traceback too."""

    def emit(log):
        try:
            raise ConnectionError(f"failed: https://api.telegram.org/bot{SECRET}/getMe")
        except ConnectionError:
            log.exception("request failed")

    out = logged(SECRET, emit)
    assert "request failed" in out
    assert "Traceback" in out
    assert SECRET not in out
    assert "bot<token>/getMe" in out


def test_log_filter_without_a_token_changes_nothing():
    out = logged("", lambda log: log.warning("plain %s", "message"))
    assert out == "plain message\n"
