"""The chat simulator: the real Application, Telegram played by a fake.

``FakeBotAPI`` answers every Bot API call the way Telegram does, judging it
by ``telegram_rules`` (the local chat's judge too); a refusal fails the test.
It also holds the bot to its own budget, stricter than Telegram: a text or
caption over 4096 (1024) UTF-16 units is accepted but fails the test.
``Chat`` is one person on a phone: ``send`` text, ``tap`` a button by its
label, send a ``photo`` or a ``document`` or a ``contact``, and read what the
bot said.

Updates go the way polling sends them: stored in the inbox first, then
processed by the Application, so restarts and repeats behave as in real life.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from PIL import Image
from telegram import Update
from telegram.error import NetworkError
from telegram.ext import BaseRateLimiter, BaseUpdateProcessor
from telegram.request import BaseRequest, RequestData

import telegram_rules as rules
from bot.app import build_application
from bot.config import Config, load_config
from bot.limiter import ChatRateLimiter
from handlers.guard import Guard
from handlers.resume import resume_journeys
from ledger.clock import FakeClock
from ledger.throttle import Lane, Throttle
from localchat.limits import FloodLimits
from storage import inbox
from telegram_rules.commands import checked, language_key, private_chat_menu, scope_key

TOKEN = "123456:TEST-TOKEN-never-real"
# The largest file a bot may download (telegram-bot-api's MAX_DOWNLOAD_FILE_SIZE, 20 << 20).
DOWNLOAD_LIMIT = 20 << 20
BOT_ID = 123456
BOT_USERNAME = "xiaoan_test_bot"
T = TypeVar("T")

# Telegram's exact words (tdlib/telegram-bot-api, Client.cpp), after "Bad Request: ".
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly"
    " the same as a current content and reply markup of the message"
)
# How long Telegram takes an answer to a tap: unpublished; seconds, not minutes.
QUERY_TIMEOUT = timedelta(seconds=15)
# What a chat's flood limit applies to: new messages (edits and tap answers are not counted).
COUNTED = {"sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup"}


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
    entities: list[dict[str, Any]] = field(default_factory=list)  # as Telegram keeps them
    edits: int = 0  # how many times the bot edited it


class FakeBotAPI(BaseRequest):
    """Telegram's side: answers Bot API calls, keeps chats, checks limits."""

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self.now = now
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.violations: list[str] = []
        # Refusals that are Telegram's doing, not the bot's fault (a tap gone stale,
        # a flood limit): recorded apart, never violations.
        self.refusals: list[str] = []
        self.queries: dict[str, datetime | None] = {}  # tap id -> when tapped
        self.expired: set[str] = set()
        self.answered: set[str] = set()
        self.chat_types: dict[int, str] = {}
        # Telegram's flood limits per chat and overall; off unless a test sets them.
        self.flood: FloodLimits | None = None
        self.messages: dict[tuple[int, int], Sent] = {}
        self.files: dict[str, bytes] = {}
        # A file's size as Telegram knows it, where a test says it differs from the bytes
        # kept here (a 30 MB photo need not be 30 MB in memory).
        self.sizes: dict[str, int] = {}
        self.alerts: list[tuple[str, str]] = []  # (callback id, text) of answerCallbackQuery
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}  # (scope, language)
        self.chats: set[int] = set()  # the private chats of people who wrote to the bot
        self.failures: list[_Failure] = []
        self.last_entities: list[dict[str, Any]] = []
        # Texts over the bot's own budget (4096 UTF-16 units, 1024 for a caption):
        # accepted, as Telegram accepts them, but a test that makes one fails.
        self.overruns: list[str] = []
        # Whether a call lets other updates run while it is under way, as over a network
        # (the benches' concurrent walkers interleave so); tests keep calls instant.
        self.yields = False
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
        if self.yields:  # as over a network: other updates run while the call is under way
            await asyncio.sleep(0)
        failure = self._failure(name, params)
        if failure is None and self.flood is not None and name in COUNTED:
            wait = self.flood.retry_after(int(params["chat_id"]))
            if wait:
                self.refusals.append(f"{name}: flood limit in chat {params['chat_id']}")
                return self._error(
                    429, f"Too Many Requests: retry after {wait}", {"retry_after": wait}
                )
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
        except _Declined as declined:  # refused by Telegram, through no fault of the bot
            return self._error(400, f"Bad Request: {declined.description}")
        except _Refused as refusal:
            if refusal.blameless:
                self.refusals.append(f"{name}: {refusal.description}")
            else:
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
    def _text(self, params: dict[str, Any], key: str) -> tuple[str, str]:
        """A text or caption judged by Telegram's rules: (what the reader sees, as sent).

        Its entities are kept in ``last_entities`` for the message being stored."""
        try:
            judged = rules.formatted(
                params.get(key), params.get("parse_mode"), caption=key != "text"
            )
        except rules.Refusal as refusal:
            raise _Refused(refusal.description) from None
        self.last_entities = judged.entities
        limit = rules.MAX_TEXT if key == "text" else rules.MAX_CAPTION
        if rules.utf16_len(judged.text) > limit:
            # Telegram takes it (it counts characters); our own rule is stricter.
            self.overruns.append(f"{key} of {rules.utf16_len(judged.text)} UTF-16 units")
        return judged.text, judged.raw

    def _buttons(self, params: dict[str, Any]) -> tuple[list[list[tuple[str, str]]], Any]:
        """The inline keyboard's (label, data) rows, or a reply keyboard, as Telegram reads them."""
        try:
            markup = rules.reply_markup(params.get("reply_markup"))
        except rules.Refusal as refusal:
            raise _Refused(refusal.description) from None
        if markup is None:
            return [], None
        if "inline_keyboard" in markup:
            rows = [
                [(b["text"], str(b.get("callback_data", ""))) for b in row]
                for row in markup["inline_keyboard"]
            ]
            return rows, None
        return [], markup.get("keyboard")

    def _message(self, chat_id: int, sent: Sent) -> dict[str, Any]:
        return {
            "message_id": sent.message_id,
            "date": 0,
            "chat": {"id": chat_id, "type": self.chat_types.get(chat_id, "private")},
            "from": {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "xiaoan",
                "username": BOT_USERNAME,
            },
            "text": (sent.raw and sent.text) or None,
            "entities": sent.entities if sent.raw and sent.kind == "text" else None,
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
        where = self._menu_key(params)
        commands = _menu_rule(checked, _json(params["commands"]))
        if commands:
            self.commands[where] = commands
        else:  # an empty list removes the menu, as deleteMyCommands does
            self.commands.pop(where, None)
        return True

    def api_getMyCommands(self, params: dict[str, Any]) -> list[dict[str, str]]:
        return self.commands.get(self._menu_key(params), [])

    def api_deleteMyCommands(self, params: dict[str, Any]) -> bool:
        self.commands.pop(self._menu_key(params), None)
        return True

    def _menu_key(self, params: dict[str, Any]) -> tuple[str, str]:
        scope = _menu_rule(scope_key, _json(params.get("scope")))
        if scope.startswith("chat") and int(scope.split(":")[1]) not in self.chats:
            raise _Refused("chat not found")  # Telegram knows a private chat once it wrote
        return scope, _menu_rule(language_key, params.get("language_code"))

    def menu(self, chat_id: int, language: str | None) -> list[str]:
        """The commands a person's menu shows, as Telegram picks it for their private chat."""
        return [c["command"] for c in private_chat_menu(self.commands, chat_id, language)]

    def api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        return True

    def api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        plain, raw = self._text(params, "text")
        buttons, keyboard = self._buttons(params)
        chat_id = int(params["chat_id"])
        sent = Sent(chat_id, next(self._ids), plain, raw, buttons, keyboard)
        sent.entities = self.last_entities
        self.messages[(chat_id, sent.message_id)] = sent
        return self._message(chat_id, sent)

    def _file_message(self, params: dict[str, Any], kind: str) -> Sent:
        plain, raw = self._text(params, "caption")
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
        for item in media:  # each picture's caption is judged as a caption
            self._text(item, "caption")
        sent = self._file_message(params, "album")
        return [self._message(sent.chat_id, sent) for _ in media]

    def api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        old = self.messages.get((chat_id, message_id))
        if old is None:
            raise _Refused("message to edit not found")
        plain, raw = self._text(params, "text")
        buttons, _ = self._buttons(params)
        if (plain, self.last_entities, buttons) == (old.text, old.entities, old.buttons):
            raise _Refused(NOT_MODIFIED)  # compared as read, as Telegram does
        old.text, old.raw, old.buttons = plain, raw, buttons
        old.edits += 1
        old.entities = self.last_entities
        return self._message(chat_id, old)

    def api_deleteMessage(self, params: dict[str, Any]) -> bool:
        if self.messages.pop((int(params["chat_id"]), int(params["message_id"])), None) is None:
            raise _Refused("message to delete not found")
        return True

    def api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        old = self.messages.get((chat_id, message_id))
        if old is None:
            raise _Refused("message to edit not found")
        buttons, _ = self._buttons(params)
        if buttons == old.buttons:
            raise _Refused("message is not modified")
        old.buttons = buttons
        old.edits += 1
        return self._message(chat_id, old)

    def tapped(self, query_id: str) -> None:
        """A person tapped a button: Telegram takes one answer to it, for a short while."""
        self.queries[query_id] = self.now() if self.now else None

    def expire(self, query_id: str) -> None:
        """The tap waited too long in Telegram (the bot was down): its answer is refused."""
        self.expired.add(query_id)

    def api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        try:
            text = rules.alert_text(params.get("text"))
        except rules.Refusal as refusal:
            raise _Refused(refusal.description) from None
        query_id = str(params["callback_query_id"])
        if query_id in self.answered:
            raise _Refused(QUERY_TOO_OLD + " (answered twice)")
        if query_id not in self.queries:
            raise _Refused(QUERY_TOO_OLD, blameless=True)
        tapped = self.queries[query_id]
        late = tapped is not None and self.now is not None and self.now() - tapped > QUERY_TIMEOUT
        if late or query_id in self.expired:
            raise _Refused(QUERY_TOO_OLD, blameless=True)
        self.answered.add(query_id)
        self.alerts.append((query_id, text))
        return True

    def api_getFile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params["file_id"])
        if file_id not in self.files:
            raise _Refused("wrong file_id or the file is temporarily unavailable")
        size = self.sizes.get(file_id, len(self.files[file_id]))
        if size > DOWNLOAD_LIMIT:
            raise _Declined("file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": size,
            "file_path": file_id,
        }


class _LateWrites(logging.Handler):
    """Collects "writes after answering": such a write is lost by a crash before it."""

    def __init__(self, found: list[str]) -> None:
        super().__init__(logging.ERROR)
        self.found = found

    def emit(self, record: logging.LogRecord) -> None:
        if "writes after answering" in record.getMessage():
            self.found.append(record.getMessage())


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _json(value: Any) -> Any:
    """A complex parameter, JSON-encoded in the request as PTB sends it."""
    return json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value


def _menu_rule(rule: Callable[[Any], T], value: Any) -> T:
    """A command-menu rule of Telegram's (shared with the local chat), as a refusal here."""
    try:
        return rule(value)
    except rules.Refusal as refusal:
        raise _Refused(refusal.description) from None


@dataclass
class _Failure:
    method: str
    chat_id: int | None
    code: int | None
    description: str
    retry_after: int | None


class _Declined(Exception):
    """Telegram's refusal of a request the bot could not know to be refused."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class _Refused(Exception):
    def __init__(self, description: str, blameless: bool = False) -> None:
        super().__init__(description)
        self.description = description
        self.blameless = blameless  # Telegram's doing (time passed), not a wrong request


class Simulator:
    """The bot on a database in a folder; people are ``chat()``s."""

    def __init__(self, folder: Path, clock: FakeClock, settings: str = "") -> None:
        self.folder = folder
        self.clock = clock
        self.api = FakeBotAPI(clock.now)
        self.config_path = folder / "config.toml"
        self.config_path.write_text(
            f'[bot]\nusername = "{BOT_USERNAME}"\n'
            f'[storage]\ndatabase = "{folder / "xiaoan.sqlite3"}"\nphotos = "{folder / "photos"}"\n'
            # Heavy work in a thread, unless a test asks for worker processes: a process
            # pool per simulated bot would cost each test a second of start-up.
            + ("" if "[workers]" in settings else "[workers]\nprocesses = 0\n")
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
        # Each sender's pace (ledger.throttle) is off unless a test turns it on,
        # on the same fake monotonic time: tests drive far faster than people.
        self.throttled = False
        # Live: updates go through the Application's update processor (per-person
        # lanes) as its update fetcher hands them over; off: process_update alone.
        self.live = True
        self.rate_limiter: BaseRateLimiter[Any] = ChatRateLimiter(
            overall_per_second=0, group_per_minute=0, max_retries=0, chat_per_second=0
        )
        self.update_processor: BaseUpdateProcessor | None = None  # the Application's own

    async def start(self, check: bool = True) -> Simulator:
        """Build and initialise the Application as ``xiaoan run`` would (``check=False``:
        refusals of the updates fed again are left in ``api.violations`` for the test)."""
        self.app = build_application(
            self.config,
            self.clock,
            request=self.api,
            updates_request=self.api,
            # The fake answers at once: pacing to Telegram's 30 a second would only slow
            # tests; and a refusal reaches the code under test, without the limiter's
            # retries (which sleep for real), unless a test sets its own limiter.
            rate_limiter=self.rate_limiter,
            update_processor=self.update_processor,
        )
        paces = None if self.throttled else dict.fromkeys(Lane)
        self.guard = Guard(Throttle() if paces is None else Throttle(paces), lambda: self.seconds)
        self.app.bot_data["guard"] = self.guard
        self.errors: list[BaseException] = []

        async def record(update: object, context: Any) -> None:
            self.errors.append(context.error)

        self.app.add_error_handler(record)
        self.late_writes: list[str] = []
        late = _LateWrites(self.late_writes)
        logging.getLogger("handlers.base").addHandler(late)
        self._late = late
        await self.app.initialize()
        await self.app.post_init(self.app)
        sender = self.app.bot_data["sender"]
        sender.sleep, sender.monotonic = self._pause, lambda: self.seconds
        await resume_journeys(self.app)  # the start-up job, run at once
        await self.drain(check)
        return self

    async def _pause(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.seconds += seconds

    async def stop(self) -> None:
        logging.getLogger("handlers.base").removeHandler(self._late)
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
        for content in raw.values():
            chat = content.get("chat") if isinstance(content, dict) else None
            if isinstance(chat, dict):
                self.api.chats.add(int(chat["id"]))
        await inbox.receive(self.db, [raw])
        await self.handle(raw)
        if self.auto_send:
            await self.send_outbox()
        self.assert_clean()

    async def handle(self, raw: dict[str, Any]) -> None:
        """The Application handles a stored update: one at a time, or, live, through
        its update processor (each person's lane) as its update fetcher does."""
        update = Update.de_json(raw, self.app.bot)
        if self.live:
            await self.app.update_processor.process_update(update, self.app.process_update(update))
        else:
            await self.app.process_update(update)

    async def send_outbox(self) -> int:
        """One pass of the sending job."""
        sent: int = await self.app.bot_data["sender"].send_due()
        return sent

    async def plan(self) -> int:
        """One pass of the planning job (reminders into the outbox)."""
        added: int = await self.app.bot_data["reminders"].run()
        return added

    async def drain(self, check: bool = True) -> None:
        """Handle what start-up put on the update queue (updates fed again)."""
        while not self.app.update_queue.empty():
            update = await self.app.update_queue.get()
            await self.app.process_update(update)
        if check:
            self.assert_clean()

    def assert_clean(self) -> None:
        problems, self.api.violations = self.api.violations, []
        assert not problems, f"the bot broke Telegram's rules: {problems}"
        overruns, self.api.overruns = self.api.overruns, []
        assert not overruns, f"the bot built texts over its UTF-16 budget: {overruns}"
        errors, self.errors = self.errors, []
        assert not errors, f"a handler failed: {errors!r}"
        late, self.late_writes[:] = list(self.late_writes), []
        assert not late, f"a handler wrote after answering: {late}"


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
        self._edits: dict[int, int] = {}  # message id -> edits seen by ``new``

    # --- what the bot said --------------------------------------------------------
    @property
    def messages(self) -> list[Sent]:
        return [m for (chat, _), m in sorted(self.sim.api.messages.items()) if chat == self.user_id]

    @property
    def last(self) -> Sent:
        return self.messages[-1]

    def new(self) -> list[Sent]:
        """Messages sent since the last time this was asked (message ids only grow), and
        older ones edited into a new question since (a walk's step turns the question
        tapped into the next one): in the chat's order."""
        fresh = [
            m
            for m in self.messages
            if m.message_id > self._seen
            or (m.edits > self._edits.get(m.message_id, 0) and m.buttons)
        ]
        if fresh:
            self._seen = max(self._seen, fresh[-1].message_id)
        self._edits = {m.message_id: m.edits for m in self.messages if m.edits}
        return fresh

    def menu(self) -> list[str]:
        """The commands this person's menu (the ☰ button) shows now."""
        return self.sim.api.menu(self.user_id, self.user.get("language_code"))

    @property
    def alerts(self) -> list[str]:
        return [text for _, text in self.sim.api.alerts if text]

    # --- what the person does -------------------------------------------------------
    def _message(self, group: Group | None = None, **content: Any) -> dict[str, Any]:
        chat = group.chat if group else {"id": self.user_id, "type": "private"}
        return {
            "update_id": self.sim.next_update_id(),
            "message": {
                "message_id": next(self.sim.api._ids),
                "date": int(self.sim.clock.now().timestamp()),
                "chat": chat,
                "from": self.user,
                **content,
            },
        }

    def text_update(self, text: str, group: Group | None = None) -> dict[str, Any]:
        """The update Telegram sends for this typed text (a command gets its entity)."""
        entities = []
        if text.startswith("/"):
            entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return self._message(group, text=text, entities=entities)

    async def send(self, text: str, group: Group | None = None) -> list[Sent]:
        """Type a text in the private chat, or in ``group``."""
        await self.sim.deliver(self.text_update(text, group))
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

    async def press(self, label: str) -> list[Sent]:
        """Press a key of the newest reply keyboard: Telegram sends its text as typed."""
        for message in reversed(self.messages):
            if message.reply_keyboard is not None:
                keys = [key.get("text") for row in message.reply_keyboard for key in row]
                assert label in keys, f"no key {label!r} on the keyboard: {keys}"
                return await self.send(label)
        raise AssertionError("no reply keyboard in the chat")

    async def tap(self, label: str) -> list[Sent]:
        """Tap the newest button whose label contains ``label``."""
        message, data = self._button(label)
        return await self.tap_data(data, message)

    async def tap_data(self, data: str, message: Sent | None = None) -> list[Sent]:
        """Tap a button with this callback data (crafted, or on an old message)."""
        await self.sim.deliver(self.tap_update(data, message))
        return self.new()

    def tap_update(self, data: str, message: Sent | None = None) -> dict[str, Any]:
        """The update Telegram sends for a tap (not delivered: a test may hold it back)."""
        message = message or self.last
        query_id = str(next(self.sim.api._ids))
        self.sim.api.tapped(query_id)
        chat_type = self.sim.api.chat_types.get(message.chat_id, "private")
        return {
            "update_id": self.sim.next_update_id(),
            "callback_query": {
                "id": query_id,
                "from": self.user,
                "chat_instance": "ci",
                "data": data,
                "message": {
                    "message_id": message.message_id,
                    "date": 0,
                    "chat": {"id": message.chat_id, "type": chat_type},
                    "from": {"id": BOT_ID, "is_bot": True, "first_name": "xiaoan"},
                    "text": message.text,
                    "entities": message.entities,
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

    async def photo(
        self,
        data: bytes,
        *,
        as_document: bool = False,
        mime: str = "image/jpeg",
        file_size: int | None = None,
        real_size: int | None = None,
        size_sent: bool = True,
    ) -> list[Sent]:
        """``file_size`` is what the message says; ``real_size`` what Telegram holds
        (getFile refuses past 20 MB); ``size_sent=False``: the message says no size."""
        file_id = f"f{next(self.sim.api._ids)}"
        if not as_document:
            data = _as_telegram_photo(data)
        self.sim.api.files[file_id] = data
        if real_size is not None:
            self.sim.api.sizes[file_id] = real_size
        size = (len(data) if real_size is None else real_size) if file_size is None else file_size
        if as_document:
            content: dict[str, Any] = {
                "document": {
                    "file_id": file_id,
                    "file_unique_id": f"u{file_id}",
                    "file_name": "photo.jpg",
                    "mime_type": mime,
                    **({"file_size": size} if size_sent else {}),
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
                        **({"file_size": size} if size_sent else {}),
                    },
                ]
            }
        await self.sim.deliver(self._message(**content))
        return self.new()

    async def document(
        self,
        data: bytes,
        name: str,
        mime: str,
        *,
        real_size: int | None = None,
        size_sent: bool = True,
    ) -> list[Sent]:
        if mime.startswith("image/"):
            return await self.photo(
                data, as_document=True, mime=mime, real_size=real_size, size_sent=size_sent
            )
        file_id = f"f{next(self.sim.api._ids)}"
        self.sim.api.files[file_id] = data
        if real_size is not None:
            self.sim.api.sizes[file_id] = real_size
        size = len(data) if real_size is None else real_size
        await self.sim.deliver(
            self._message(
                document={
                    "file_id": file_id,
                    "file_unique_id": f"u{file_id}",
                    "file_name": name,
                    "mime_type": mime,
                    **({"file_size": size} if size_sent else {}),
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


# What Telegram adds to a chat member of these statuses.
RIGHTS: dict[str, dict[str, Any]] = {
    "kicked": {"until_date": 0},
    "administrator": {
        "can_be_edited": False,
        "is_anonymous": False,
        **dict.fromkeys(
            (
                "can_manage_chat",
                "can_delete_messages",
                "can_manage_video_chats",
                "can_restrict_members",
                "can_promote_members",
                "can_change_info",
                "can_invite_users",
                "can_post_stories",
                "can_edit_stories",
                "can_delete_stories",
                "can_post_messages",
            ),
            True,
        ),
    },
}


class Group:
    """A group (or supergroup, or channel) the bot was added to; people write in it."""

    def __init__(self, sim: Simulator, chat_id: int, kind: str = "supergroup") -> None:
        self.sim = sim
        self.chat = {"id": chat_id, "type": kind, "title": "安全工作群"}
        sim.api.chat_types[chat_id] = kind

    @property
    def messages(self) -> list[Sent]:
        """What the bot said in the group."""
        messages = sorted(self.sim.api.messages.items())
        return [m for (chat, _), m in messages if chat == self.chat["id"]]

    async def added_by(self, chat: Chat, status: str = "member") -> list[Sent]:
        """``chat`` adds the bot to the group (Telegram sends my_chat_member)."""
        bot = {"id": BOT_ID, "is_bot": True, "first_name": "xiaoan", "username": BOT_USERNAME}
        await self.sim.deliver(
            {
                "update_id": self.sim.next_update_id(),
                "my_chat_member": {
                    "chat": self.chat,
                    "from": chat.user,
                    "date": 0,
                    "old_chat_member": {"status": "left", "user": bot},
                    "new_chat_member": {"status": status, "user": bot, **RIGHTS.get(status, {})},
                },
            }
        )
        return self.messages


def texts(messages: list[Sent]) -> str:
    """All a person sees of some messages (text and button labels), for ``in`` assertions."""
    return "\n".join(
        "\n".join([m.text, *(label for row in m.buttons for label, _ in row)]) for m in messages
    )
