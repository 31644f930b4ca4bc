"""The chat simulator: the real Application, Telegram played by a fake.

``FakeBotAPI`` answers every Bot API call the way Telegram does and checks
it against Telegram's limits (text length, caption length, callback data
size, HTML that parses); a violation fails the test. ``Chat`` is one person
on a phone: ``send`` text, ``tap`` a button by its label, send a ``photo``
or a ``document`` or a ``contact``, and read what the bot said.

Updates go the way polling sends them: stored in the inbox first, then
processed by the Application, so restarts and repeats behave as in real life.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image
from telegram import Update
from telegram.error import NetworkError
from telegram.ext import AIORateLimiter
from telegram.request import BaseRequest, RequestData

from bot.app import build_application
from bot.config import Config, load_config
from ledger.clock import FakeClock
from localchat.telegram_html import check_html
from storage import inbox

TOKEN = "123456:TEST-TOKEN-never-real"
BOT_ID = 123456
BOT_USERNAME = "xiaoan_test_bot"


@dataclass
class Sent:
    """A message in a chat as the person sees it."""

    chat_id: int
    message_id: int
    text: str  # what the person reads (HTML removed)
    raw: str
    buttons: list[list[tuple[str, str]]] = field(default_factory=list)  # (label, data)
    reply_keyboard: list[list[dict[str, Any]]] | None = None
    kind: str = "text"  # text, photo, album or document
    caption: str = ""
    files: list[bytes] = field(default_factory=list)  # a photo's, an album's or a document's
    file_name: str = ""


class FakeBotAPI(BaseRequest):
    """Telegram's side: answers Bot API calls, keeps chats, checks limits."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.violations: list[str] = []
        self.messages: dict[tuple[int, int], Sent] = {}
        self.files: dict[str, bytes] = {}
        self.alerts: list[tuple[str, str]] = []  # (callback id, text) of answerCallbackQuery
        self.commands: dict[str | None, list[dict[str, str]]] = {}
        self.failures: list[_Failure] = []
        self._ids = itertools.count(1000)

    def fail(
        self,
        method: str,
        code: int | None,
        description: str = "",
        chat_id: int | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (to ``chat_id``) fail.

        ``code`` None is a network failure (no answer at all); 403 is a person
        who blocked the bot; 429 with ``retry_after`` is Telegram's flood control.
        """
        for _ in range(times):
            self.failures.append(_Failure(method, chat_id, code, description, retry_after))

    def _failure(self, name: str, params: dict[str, Any]) -> _Failure | None:
        for failure in self.failures:
            if failure.method == name and failure.chat_id in (None, _int(params.get("chat_id"))):
                self.failures.remove(failure)
                return failure
        return None

    # BaseRequest's abstract parts
    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> tuple[int, bytes]:
        if "/file/bot" in url:
            file_path = url.rsplit("/", 1)[-1]
            if file_path not in self.files:
                return 404, b'{"ok":false,"error_code":404,"description":"Not Found"}'
            return 200, self.files[file_path]
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        self.calls.append((name, params))
        failure = self._failure(name, params)
        if failure is not None:
            if failure.code is None:
                raise NetworkError("connection reset by the fake network")
            extra = {"retry_after": failure.retry_after} if failure.retry_after else None
            return self._error(failure.code, failure.description, extra)
        handler = getattr(self, f"api_{name}", None)
        if handler is None:
            return self._error(404, "Not Found")
        if request_data is not None and request_data.contains_files:
            params["_files"] = [
                (value[0], value[1]) for value in request_data.multipart_data.values()
            ]
        try:
            result = handler(params)
        except _Refused as refusal:
            self.violations.append(f"{name}: {refusal.description}")
            return self._error(400, f"Bad Request: {refusal.description}")
        return 200, json.dumps({"ok": True, "result": result}).encode()

    @staticmethod
    def _error(
        code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> tuple[int, bytes]:
        answer: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            answer["parameters"] = parameters
        return code, json.dumps(answer).encode()

    # --- checks ---------------------------------------------------------------
    def _text(self, params: dict[str, Any], key: str, limit: int) -> tuple[str, str]:
        raw = str(params.get(key, ""))
        if params.get("parse_mode") == "HTML":
            plain, problems = check_html(raw)
            if problems:
                raise _Refused(f"can't parse entities: {problems[0]}")
        else:
            plain = raw
        if key == "text" and not plain.strip():
            raise _Refused("message text is empty")
        if len(plain) > limit:
            raise _Refused(f"{key} is too long ({len(plain)} > {limit})")
        return plain, raw

    def _buttons(self, params: dict[str, Any]) -> tuple[list[list[tuple[str, str]]], Any]:
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        if not markup:
            return [], None
        if "inline_keyboard" in markup:
            rows = []
            for row in markup["inline_keyboard"]:
                out = []
                for button in row:
                    data = button.get("callback_data", "")
                    if not 1 <= len(data.encode()) <= 64:
                        raise _Refused(f"BUTTON_DATA_INVALID ({len(data.encode())} bytes)")
                    if not button.get("text"):
                        raise _Refused("button text is empty")
                    out.append((button["text"], data))
                rows.append(out)
            return rows, None
        return [], markup.get("keyboard")

    def _message(self, chat_id: int, sent: Sent) -> dict[str, Any]:
        return {
            "message_id": sent.message_id,
            "date": 0,
            "chat": {"id": chat_id, "type": "private"},
            "from": {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "xiaoan",
                "username": BOT_USERNAME,
            },
            "text": (sent.raw and sent.text) or None,
            **(
                {
                    "reply_markup": {
                        "inline_keyboard": [
                            [{"text": label, "callback_data": data} for label, data in row]
                            for row in sent.buttons
                        ]
                    }
                }
                if sent.buttons
                else {}
            ),
        }

    # --- methods ----------------------------------------------------------------
    def api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "xiaoan",
            "username": BOT_USERNAME,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def api_setMyCommands(self, params: dict[str, Any]) -> bool:
        commands = params["commands"]
        if isinstance(commands, str):
            commands = json.loads(commands)
        for c in commands:
            if (
                not re.fullmatch(r"[a-z0-9_]{1,32}", c["command"])
                or not 1 <= len(c["description"]) <= 256
            ):
                raise _Refused(f"bad command {c}")
        self.commands[params.get("language_code")] = commands
        return True

    def api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        return True

    def api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        plain, raw = self._text(params, "text", 4096)
        buttons, keyboard = self._buttons(params)
        chat_id = int(params["chat_id"])
        sent = Sent(chat_id, next(self._ids), plain, raw, buttons, keyboard)
        self.messages[(chat_id, sent.message_id)] = sent
        return self._message(chat_id, sent)

    def _file_message(self, params: dict[str, Any], kind: str) -> Sent:
        plain, raw = self._text(params, "caption", 1024)
        buttons, keyboard = self._buttons(params)
        chat_id = int(params["chat_id"])
        files = params.get("_files", [])
        sent = Sent(
            chat_id,
            next(self._ids),
            plain,
            raw,
            buttons,
            keyboard,
            kind=kind,
            caption=plain,
            files=[data for _, data in files],
            file_name=files[0][0] if files else "",
        )
        self.messages[(chat_id, sent.message_id)] = sent
        return sent

    def api_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        sent = self._file_message(params, "photo")
        return self._message(sent.chat_id, sent)

    def api_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        sent = self._file_message(params, "document")
        return self._message(sent.chat_id, sent)

    def api_sendMediaGroup(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        media = params["media"]
        if isinstance(media, str):
            media = json.loads(media)
        if not 2 <= len(media) <= 10:
            raise _Refused("wrong number of media in an album")
        sent = self._file_message(params, "album")
        return [self._message(sent.chat_id, sent) for _ in media]

    def api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        old = self.messages.get((chat_id, message_id))
        if old is None:
            raise _Refused("message to edit not found")
        plain, raw = self._text(params, "text", 4096)
        buttons, _ = self._buttons(params)
        if raw == old.raw and buttons == old.buttons:
            raise _Refused("message is not modified")
        old.text, old.raw, old.buttons = plain, raw, buttons
        return self._message(chat_id, old)

    def api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        old = self.messages.get((chat_id, message_id))
        if old is None:
            raise _Refused("message to edit not found")
        old.buttons, _ = self._buttons(params)
        return self._message(chat_id, old)

    def api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        text = str(params.get("text", ""))
        if len(text) > 200:
            raise _Refused("callback answer text is too long")
        self.alerts.append((str(params["callback_query_id"]), text))
        return True

    def api_getFile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params["file_id"])
        if file_id not in self.files:
            raise _Refused("wrong file_id or the file is temporarily unavailable")
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(self.files[file_id]),
            "file_path": file_id,
        }


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


@dataclass
class _Failure:
    method: str
    chat_id: int | None
    code: int | None
    description: str
    retry_after: int | None


class _Refused(Exception):
    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class Simulator:
    """The bot on a database in a folder; people are ``chat()``s."""

    def __init__(self, folder: Path, clock: FakeClock, settings: str = "") -> None:
        self.folder = folder
        self.clock = clock
        self.api = FakeBotAPI()
        self.config_path = folder / "config.toml"
        self.config_path.write_text(
            f'[bot]\nusername = "{BOT_USERNAME}"\n'
            f'[storage]\ndatabase = "{folder / "xiaoan.sqlite3"}"\nphotos = "{folder / "photos"}"\n'
            + settings,
            encoding="utf-8",
        )
        self.config: Config = load_config(self.config_path, env={"XIAOAN_TELEGRAM_TOKEN": TOKEN})
        self._update_ids = itertools.count(1)
        self._users = itertools.count(5001)
        self.app: Any = None
        self.auto_send = True
        # The sender's pacing runs on this fake monotonic time: its waits are
        # recorded (chat id, seconds) and pass at once.
        self.seconds = 0.0
        self.pauses: list[float] = []

    async def start(self) -> Simulator:
        """Build and initialise the Application as ``xiaoan run`` would."""
        self.app = build_application(
            self.config,
            self.clock,
            request=self.api,
            updates_request=self.api,
            # The fake answers at once: pacing to Telegram's 30 a second would only slow
            # tests; and a refusal reaches the code under test, without the limiter's
            # retries (which sleep for real).
            rate_limiter=AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=0),
        )
        self.errors: list[BaseException] = []

        async def record(update: object, context: Any) -> None:
            self.errors.append(context.error)

        self.app.add_error_handler(record)
        await self.app.initialize()
        await self.app.post_init(self.app)
        sender = self.app.bot_data["sender"]
        sender.sleep, sender.monotonic = self._pause, lambda: self.seconds
        await self.drain()
        return self

    async def _pause(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.seconds += seconds

    async def stop(self) -> None:
        await self.app.post_shutdown(self.app)
        await self.app.shutdown()

    async def restart(self) -> None:
        """The bot stops and starts again on the same database."""
        await self.stop()
        await self.start()

    @property
    def services(self) -> Any:
        return self.app.bot_data["services"]

    @property
    def db(self) -> Any:
        return self.services.db

    def chat(self, first_name: str = "王老师", language: str = "zh-hans") -> Chat:
        return Chat(self, next(self._users), first_name, language)

    def next_update_id(self) -> int:
        return next(self._update_ids)

    async def deliver(self, raw: dict[str, Any]) -> None:
        """As polling does: store in the inbox, then let the Application handle it.

        What the update wrote to the outbox is then sent, as the woken sending
        job would (unless ``auto_send`` is off, to test the outbox itself).
        """
        await inbox.receive(self.db, [raw])
        await self.app.process_update(Update.de_json(raw, self.app.bot))
        if self.auto_send:
            await self.send_outbox()
        self.assert_clean()

    async def send_outbox(self) -> int:
        """One pass of the sending job."""
        sent: int = await self.app.bot_data["sender"].send_due()
        return sent

    async def plan(self) -> int:
        """One pass of the planning job (reminders into the outbox)."""
        added: int = await self.app.bot_data["reminders"].run()
        return added

    async def drain(self) -> None:
        """Handle what start-up put on the update queue (updates fed again)."""
        while not self.app.update_queue.empty():
            update = await self.app.update_queue.get()
            await self.app.process_update(update)
        self.assert_clean()

    def assert_clean(self) -> None:
        problems, self.api.violations = self.api.violations, []
        assert not problems, f"the bot broke Telegram's rules: {problems}"
        errors, self.errors = self.errors, []
        assert not errors, f"a handler failed: {errors!r}"


class Chat:
    """One person in a private chat with the bot."""

    def __init__(self, sim: Simulator, user_id: int, first_name: str, language: str) -> None:
        self.sim = sim
        self.user_id = user_id
        self.user = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language,
        }
        self._seen = 0

    # --- what the bot said --------------------------------------------------------
    @property
    def messages(self) -> list[Sent]:
        return [m for (chat, _), m in sorted(self.sim.api.messages.items()) if chat == self.user_id]

    @property
    def last(self) -> Sent:
        return self.messages[-1]

    def new(self) -> list[Sent]:
        """Messages sent since the last time this was asked."""
        messages = self.messages
        fresh, self._seen = messages[self._seen :], len(messages)
        return fresh

    @property
    def alerts(self) -> list[str]:
        return [text for _, text in self.sim.api.alerts if text]

    # --- what the person does -------------------------------------------------------
    def _message(self, **content: Any) -> dict[str, Any]:
        return {
            "update_id": self.sim.next_update_id(),
            "message": {
                "message_id": next(self.sim.api._ids),
                "date": int(self.sim.clock.now().timestamp()),
                "chat": {"id": self.user_id, "type": "private"},
                "from": self.user,
                **content,
            },
        }

    async def send(self, text: str) -> list[Sent]:
        entities = []
        if text.startswith("/"):
            entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        await self.sim.deliver(self._message(text=text, entities=entities))
        return self.new()

    async def set_blocked(self, blocked: bool) -> list[Sent]:
        """The person blocks the bot (or unblocks it): Telegram sends my_chat_member."""
        bot = {"id": BOT_ID, "is_bot": True, "first_name": "xiaoan", "username": BOT_USERNAME}
        kicked = {"status": "kicked", "user": bot, "until_date": 0}
        member = {"status": "member", "user": bot}
        raw = {
            "update_id": self.sim.next_update_id(),
            "my_chat_member": {
                "chat": {"id": self.user_id, "type": "private"},
                "from": self.user,
                "date": 0,
                "old_chat_member": member if blocked else kicked,
                "new_chat_member": kicked if blocked else member,
            },
        }
        await self.sim.deliver(raw)
        return self.new()

    async def contact(self, phone: str, own: bool = True) -> list[Sent]:
        contact = {
            "phone_number": phone,
            "first_name": self.user["first_name"],
            "user_id": self.user_id if own else self.user_id + 999,
        }
        await self.sim.deliver(self._message(contact=contact))
        return self.new()

    def _button(self, label: str) -> tuple[Sent, str]:
        for message in reversed(self.messages):
            for row in message.buttons:
                for text, data in row:
                    if text == label or label in text:
                        return message, data
        raise AssertionError(f"no button {label!r} in the chat")

    async def tap(self, label: str) -> list[Sent]:
        """Tap the newest button whose label contains ``label``."""
        message, data = self._button(label)
        return await self.tap_data(data, message)

    async def tap_data(self, data: str, message: Sent | None = None) -> list[Sent]:
        """Tap a button with this callback data (crafted, or on an old message)."""
        message = message or self.last
        raw = {
            "update_id": self.sim.next_update_id(),
            "callback_query": {
                "id": str(next(self.sim.api._ids)),
                "from": self.user,
                "chat_instance": "ci",
                "data": data,
                "message": {
                    "message_id": message.message_id,
                    "date": 0,
                    "chat": {"id": self.user_id, "type": "private"},
                    "from": {"id": BOT_ID, "is_bot": True, "first_name": "xiaoan"},
                    "text": message.text,
                    **({"entities": []}),
                    **(
                        {
                            "reply_markup": {
                                "inline_keyboard": [
                                    [{"text": label, "callback_data": d} for label, d in row]
                                    for row in message.buttons
                                ]
                            }
                        }
                        if message.buttons
                        else {}
                    ),
                },
            },
        }
        await self.sim.deliver(raw)
        return self.new()

    async def photo(
        self,
        data: bytes,
        *,
        as_document: bool = False,
        mime: str = "image/jpeg",
        file_size: int | None = None,
    ) -> list[Sent]:
        file_id = f"f{next(self.sim.api._ids)}"
        if not as_document:
            data = _as_telegram_photo(data)
        self.sim.api.files[file_id] = data
        size = len(data) if file_size is None else file_size
        if as_document:
            content: dict[str, Any] = {
                "document": {
                    "file_id": file_id,
                    "file_unique_id": f"u{file_id}",
                    "file_name": "photo.jpg",
                    "mime_type": mime,
                    "file_size": size,
                }
            }
        else:
            small = f"{file_id}s"
            self.sim.api.files[small] = data[:10]
            content = {
                "photo": [
                    {
                        "file_id": small,
                        "file_unique_id": f"u{small}",
                        "width": 90,
                        "height": 90,
                        "file_size": 10,
                    },
                    {
                        "file_id": file_id,
                        "file_unique_id": f"u{file_id}",
                        "width": 1280,
                        "height": 960,
                        "file_size": size,
                    },
                ]
            }
        await self.sim.deliver(self._message(**content))
        return self.new()

    async def document(self, data: bytes, name: str, mime: str) -> list[Sent]:
        return (
            await self.photo(data, as_document=True, mime=mime)
            if mime.startswith("image/")
            else await self._document(data, name, mime)
        )

    async def _document(self, data: bytes, name: str, mime: str) -> list[Sent]:
        file_id = f"f{next(self.sim.api._ids)}"
        self.sim.api.files[file_id] = data
        await self.sim.deliver(
            self._message(
                document={
                    "file_id": file_id,
                    "file_unique_id": f"u{file_id}",
                    "file_name": name,
                    "mime_type": mime,
                    "file_size": len(data),
                }
            )
        )
        return self.new()


def _as_telegram_photo(data: bytes) -> bytes:
    """Telegram recompresses a photo (not a file) and drops its metadata: a picture
    carrying EXIF arrives without it. Anything else is left as sent, so the tests of
    bad photos still reach the bot as they were made."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if not image.getexif():
                    return data
                out = io.BytesIO()
                image.convert("RGB").save(out, "JPEG", quality=87)
                return out.getvalue()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return data


def texts(messages: list[Sent]) -> str:
    """All a person sees of some messages (text and button labels), for ``in`` assertions."""
    return "\n".join(
        "\n".join([m.text, *(label for row in m.buttons for label, _ in row)]) for m in messages
    )
