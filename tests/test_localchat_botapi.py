"""The local chat's Bot API side: Telegram's answers and Telegram's errors, over HTTP.

Raw HTTP checks the status codes and descriptions; a real ``telegram.Bot``
pointed at the server checks that python-telegram-bot raises what it raises
against Telegram.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto
from telegram.constants import ParseMode
from telegram.error import BadRequest, EndPointNotFound, InvalidToken, RetryAfter

from bot.local_request import LocalChatRequest
from ledger.clock import FakeClock
from localchat.limits import Bucket, FloodLimits
from localchat.server import LocalServer
from tests.conftest import jpeg
from tests.localchat_support import TOKEN, bot_for, start_server


class Ticks:
    """A monotonic clock for the flood limits that moves only when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
async def server(tmp_path: Path, clock: FakeClock, ticks: Ticks) -> AsyncIterator[LocalServer]:
    limits = FloodLimits(ticks, chat_burst=3, all_burst=30)
    running = await start_server(tmp_path, clock, limits)
    yield running
    await running.stop()


@pytest.fixture
async def chat_id(server: LocalServer) -> int:
    user_id, _ = await server.channel.join("王老师", "zh-CN", "")
    return user_id


@pytest.fixture(params=["httpx", "aiohttp"])
async def bot(server: LocalServer, request: pytest.FixtureRequest) -> AsyncIterator[Bot]:
    """The bot's Bot object with python-telegram-bot's client (towards Telegram) and with
    the one ``xiaoan run`` uses towards its own local chat: each test passes with both."""
    client = LocalChatRequest() if request.param == "aiohttp" else None
    async with bot_for(server, request=client) as connected:
        yield connected


async def call(
    server: LocalServer, method: str, token: str = TOKEN, **params: Any
) -> tuple[int, dict[str, Any]]:
    """A raw Bot API call with form fields, complex values JSON inside them (as PTB posts)."""
    form = {k: v if isinstance(v, str | int) else json.dumps(v) for k, v in params.items()}
    url = f"{server.api_url}/bot{token}/{method}"
    async with aiohttp.ClientSession() as session, session.post(url, data=form) as response:
        return response.status, await response.json()


LONG_DATA = "x" * 65
ERRORS = [
    ("sendMessage", {"text": "字" * 4097}, "Bad Request: message is too long"),
    ("sendMessage", {"text": ""}, "Bad Request: message text is empty"),
    ("sendMessage", {"text": "  "}, "Bad Request: text must be non-empty"),
    (
        "sendMessage",
        {"text": "<b>a</i>", "parse_mode": "HTML"},
        "Bad Request: can't parse entities: ",
    ),
    (
        "sendMessage",
        {"text": "<script>x</script>", "parse_mode": "HTML"},
        'Bad Request: can\'t parse entities: Unsupported start tag "script" at byte offset 0',
    ),
    (
        "sendMessage",
        {"text": "1 < 2", "parse_mode": "HTML"},
        "Bad Request: can't parse entities: ",
    ),
    (
        "sendMessage",
        {
            "text": "q",
            "reply_markup": {"inline_keyboard": [[{"text": "t", "callback_data": LONG_DATA}]]},
        },
        "Bad Request: BUTTON_DATA_INVALID",
    ),
    (
        "sendMessage",
        {"text": "q", "reply_markup": {"inline_keyboard": [[{"text": "t", "callback_data": ""}]]}},
        "Bad Request: can't parse inline keyboard button: Text buttons are unallowed",
    ),
    (
        "editMessageText",
        {"message_id": 999999, "text": "x"},
        "Bad Request: message to edit not found",
    ),
    (
        "editMessageReplyMarkup",
        {"message_id": 999999, "reply_markup": {"inline_keyboard": []}},
        "Bad Request: message to edit not found",
    ),
    ("deleteMessage", {"message_id": 999999}, "Bad Request: message to delete not found"),
    ("getFile", {"file_id": "nope"}, "Bad Request: invalid file_id"),
    ("answerCallbackQuery", {"callback_query_id": "nope"}, "Bad Request: query is too old"),
]


@pytest.mark.parametrize(("method", "params", "description"), ERRORS)
async def test_bad_requests_get_telegrams_400(
    server: LocalServer, chat_id: int, method: str, params: dict[str, Any], description: str
) -> None:
    status, body = await call(server, method, chat_id=chat_id, **params)
    assert status == 400
    assert body["ok"] is False and body["error_code"] == 400
    assert body["description"].startswith(description), body


async def test_caption_over_1024_is_refused(server: LocalServer, chat_id: int) -> None:
    form = aiohttp.FormData()
    form.add_field("chat_id", str(chat_id))
    form.add_field("caption", "c" * 1025)
    form.add_field("photo", jpeg(), filename="p.jpg", content_type="image/jpeg")
    url = f"{server.api_url}/bot{TOKEN}/sendPhoto"
    async with aiohttp.ClientSession() as session, session.post(url, data=form) as response:
        body = await response.json()
    assert response.status == 400
    assert body["description"] == "Bad Request: message caption is too long"


async def test_files_over_20_mb_cannot_be_downloaded(
    server: LocalServer, bot: Bot, chat_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = await bot.send_document(chat_id, b"0123456789", filename="a.bin")
    monkeypatch.setattr("localchat.channel.MAX_DOWNLOAD", 9)  # stands for 20 MB
    with pytest.raises(BadRequest, match="File is too big"):
        await bot.get_file(document.document.file_id)


async def test_a_chat_nobody_opened_is_not_found(server: LocalServer) -> None:
    status, body = await call(server, "sendMessage", chat_id=5, text="hi")
    assert (status, body["description"]) == (400, "Bad Request: chat not found")


async def test_unchanged_edit_is_not_modified(server: LocalServer, chat_id: int) -> None:
    status, sent = await call(
        server, "sendMessage", chat_id=chat_id, text="<b>同</b>", parse_mode="HTML"
    )
    assert status == 200
    message_id = sent["result"]["message_id"]
    status, body = await call(
        server,
        "editMessageText",
        chat_id=chat_id,
        message_id=message_id,
        text="<b>同</b>",
        parse_mode="HTML",
    )
    assert status == 400
    assert body["description"].startswith("Bad Request: message is not modified: ")


@pytest.mark.parametrize(
    ("path", "status", "description"),
    [
        (f"/bot{TOKEN}/noSuchMethod", 404, "Not Found"),
        ("/bot123:wrong/getMe", 401, "Unauthorized"),
        ("/file/bot123:wrong/x/y", 401, "Unauthorized"),
        (f"/file/bot{TOKEN}/nope/nope", 404, "Not Found"),
        ("/", 404, "Not Found"),
    ],
)
async def test_unknown_methods_and_wrong_tokens(
    server: LocalServer, path: str, status: int, description: str
) -> None:
    async with aiohttp.ClientSession() as session, session.get(server.api_url + path) as response:
        body = await response.json()
    assert response.status == status
    assert body == {"ok": False, "error_code": status, "description": description}


async def test_json_bodies_are_accepted(server: LocalServer, chat_id: int) -> None:
    url = f"{server.api_url}/bot{TOKEN}/sendMessage"
    payload = {
        "chat_id": chat_id,
        "text": "hi",
        "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "a:1"}]]},
    }
    async with aiohttp.ClientSession() as session, session.post(url, json=payload) as response:
        body = await response.json()
    assert response.status == 200 and body["ok"] is True
    assert body["result"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "a:1"


async def test_flood_gets_429_with_retry_after(
    server: LocalServer, chat_id: int, ticks: Ticks
) -> None:
    for _ in range(3):  # the burst
        status, _ = await call(server, "sendMessage", chat_id=chat_id, text="x")
        assert status == 200
    status, body = await call(server, "sendMessage", chat_id=chat_id, text="x")
    assert status == 429
    assert body["parameters"]["retry_after"] == 1
    assert body["description"] == "Too Many Requests: retry after 1"
    ticks.now += 1.0  # one message a second comes back
    status, _ = await call(server, "sendMessage", chat_id=chat_id, text="x")
    assert status == 200


@pytest.mark.parametrize(
    ("rate", "burst", "sent", "elapsed", "allowed"),
    [
        (1.0, 20, 20, 0.0, True),
        (1.0, 20, 21, 0.0, False),
        (1.0, 20, 21, 1.0, True),
        (30.0, 30, 31, 0.0, False),
        (30.0, 30, 31, 0.04, True),
    ],
)
def test_bucket(rate: float, burst: int, sent: int, elapsed: float, allowed: bool) -> None:
    bucket = Bucket(rate, burst)
    for _ in range(sent - 1):
        assert bucket.take(0.0) == 0.0
    assert (bucket.take(elapsed) == 0.0) is allowed


# --- python-telegram-bot against it ------------------------------------------------------


async def test_ptb_raises_bad_request_as_with_telegram(bot: Bot, chat_id: int) -> None:
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(chat_id, "x" * 4097)
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.send_message(chat_id, "<b>x", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", chat_id=chat_id, message_id=424242)
    sent = await bot.send_message(chat_id, "same")
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("same", chat_id=chat_id, message_id=sent.message_id)
    long = InlineKeyboardMarkup([[InlineKeyboardButton("t", callback_data=LONG_DATA)]])
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(chat_id, "q", reply_markup=long)


async def test_ptb_raises_retry_after(bot: Bot, chat_id: int) -> None:
    for _ in range(3):
        await bot.send_message(chat_id, "x")
    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(chat_id, "x")
    assert "Retry in 1 second" in raised.value.message


async def test_ptb_wrong_token_and_unknown_method(server: LocalServer, bot: Bot) -> None:
    wrong = Bot("1:wrong", base_url=f"{server.api_url}/bot")
    with pytest.raises(InvalidToken):
        await wrong.get_me()
    await wrong.shutdown()
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")


async def test_ptb_every_method_the_bot_uses(
    server: LocalServer, bot: Bot, chat_id: int, ticks: Ticks
) -> None:
    me = await bot.get_me()
    assert me.username == "xiaoan_local_bot" and me.id == 424242
    assert await bot.delete_webhook()
    sent = await bot.send_message(
        chat_id,
        "<b>粗</b> 与 <i>斜</i>",
        parse_mode=ParseMode.HTML,
        reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("无隐患", callback_data="a:1:1:ok")]]
        ),
    )
    assert sent.text == "粗 与 斜" and sent.text_html == "<b>粗</b> 与 <i>斜</i>"
    edited = await bot.edit_message_text(
        "<u>改</u>", chat_id=chat_id, message_id=sent.message_id, parse_mode=ParseMode.HTML
    )
    assert edited.text_html == "<u>改</u>" and edited.reply_markup is None
    assert await bot.edit_message_reply_markup(
        chat_id=chat_id,
        message_id=sent.message_id,
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data="b")]]),
    )
    assert await bot.send_chat_action(chat_id, "typing")
    ticks.now += 10
    photo = await bot.send_photo(chat_id, jpeg(32, 16), caption="照片")
    assert photo.photo[-1].width == 32 and photo.caption == "照片"
    recaptioned = await bot.edit_message_caption(
        chat_id=chat_id, message_id=photo.message_id, caption="新"
    )
    assert recaptioned.caption == "新"
    group = await bot.send_media_group(
        chat_id, [InputMediaPhoto(jpeg(8, 8)), InputMediaPhoto(photo.photo[-1].file_id)]
    )
    assert len(group) == 2 and group[0].media_group_id == group[1].media_group_id
    document = await bot.send_document(chat_id, io.BytesIO(b"PK\x03\x04xlsx"), filename="台账.xlsx")
    assert document.document.file_name == "台账.xlsx"
    file = await bot.get_file(document.document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"PK\x03\x04xlsx"
    assert await bot.delete_message(chat_id, document.message_id)
    await bot.set_my_commands([("inspect", "巡查")])
    await bot.set_my_commands([("inspect", "Walk")], language_code="en")
    assert await server.store.commands("default", "en") == [
        {"command": "inspect", "description": "Walk"}
    ]
    assert await server.store.commands("default", "") == [
        {"command": "inspect", "description": "巡查"}
    ]


async def test_get_updates_long_polls_and_offset_confirms(
    server: LocalServer, bot: Bot, chat_id: int
) -> None:
    first = await bot.get_updates(timeout=0)
    assert [u.message.text for u in first] == ["/start"]
    await server.channel.say(chat_id, "你好")
    updates = await bot.get_updates(offset=first[-1].update_id + 1, timeout=5)
    assert [u.message.text for u in updates] == ["你好"]
    assert updates[0].update_id == first[-1].update_id + 1
    # Confirmed updates are forgotten; an empty long poll returns after its timeout.
    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0.2) == ()


@pytest.mark.parametrize(("offset", "left"), [(-1, ["c"]), (-2, ["b", "c"]), (-9, ["a", "b", "c"])])
async def test_a_negative_offset_keeps_the_newest(
    server: LocalServer, bot: Bot, chat_id: int, offset: int, left: list[str]
) -> None:
    await bot.get_updates(offset=2, timeout=0)  # confirms the /start
    for text in ("a", "b", "c"):
        await server.channel.say(chat_id, text)
    assert [u.message.text for u in await bot.get_updates(offset=offset, timeout=0)] == left
    assert [u.message.text for u in await bot.get_updates(timeout=0)] == left


async def test_dropping_pending_updates(server: LocalServer, bot: Bot, chat_id: int) -> None:
    await bot.delete_webhook(drop_pending_updates=False)
    assert len(await bot.get_updates(timeout=0)) == 1
    await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates(timeout=0) == ()


async def test_updates_survive_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    server = await start_server(tmp_path, clock)
    user_id, _ = await server.channel.join("A", "zh", "CODE")
    await server.stop()
    server = await start_server(tmp_path, clock)
    try:
        async with Bot(TOKEN, base_url=f"{server.api_url}/bot") as bot:
            updates = await bot.get_updates(timeout=0)
        assert [u.message.text for u in updates] == ["/start CODE"]
        assert updates[0].message.chat.id == user_id
    finally:
        await server.stop()


async def test_a_text_read_once_is_given_out_as_a_copy(server: LocalServer, chat_id: int) -> None:
    """Telegram's reading of a text is kept for the next edit; what callers get is their own."""
    body = {"kind": "text", "text": "<b>第 3/19 项</b>", "parse_mode": "HTML", "reply_markup": None}
    message = await server.channel.store.add_message(chat_id, True, 0, body)
    first = await server.channel.telegram_message(message)
    first["entities"][0]["length"] = 99
    first["entities"].append({"type": "italic", "offset": 0, "length": 1})
    again = await server.channel.telegram_message(message)
    assert again["entities"] == [{"type": "bold", "offset": 0, "length": 8}]
