"""The local channel's core: Telegram's side of every Bot API method, and people's actions.

Bot API methods take the parameters as they arrive (form fields, JSON
inside them, uploaded files) and answer Telegram's ``result`` or raise
``ApiError`` with Telegram's code and description. People's actions become
updates the bot fetches with getUpdates. Open pages learn of changes
through the ``Hub``.
"""

from __future__ import annotations

import asyncio
import io
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from PIL import Image, UnidentifiedImageError

import telegram_rules as rules
from ledger.clock import Clock
from localchat.limits import FloodLimits
from localchat.store import Message, Store, StoredFile
from localchat.telegram_html import safe_html
from telegram_rules.commands import checked, language_key, private_chat_menu, scope_key

MAX_TEXT = rules.MAX_TEXT
MAX_CAPTION = rules.MAX_CAPTION
MAX_CALLBACK_DATA = rules.MAX_CALLBACK_DATA
MAX_ALERT = rules.MAX_ALERT
MAX_DOWNLOAD = 20 * 1024 * 1024  # the largest file Telegram lets a bot download
BOT_ID_DEFAULT = 1
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly"
    " the same as a current content and reply markup of the message"
)


class ApiError(Exception):
    """A refusal the way Telegram words it: HTTP status, description, parameters."""

    def __init__(self, code: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


# Our extension of the Bot API: a send carrying this parameter is made once per
# key and chat (a repeat returns the first result); getMe says so with the field.
IDEMPOTENCY_PARAMETER = "xiaoan_idempotency_key"
IDEMPOTENCY_FEATURE = "xiaoan_idempotency_keys"
IDEMPOTENCY_KEY_MAX = 128


def idempotency_key(params: Params) -> str | None:
    """The request's idempotency key, if it has one (a bad one is a 400)."""
    value = params.get(IDEMPOTENCY_PARAMETER)
    if value is None or value == "":
        return None
    key = str(value)
    if len(key) > IDEMPOTENCY_KEY_MAX:
        raise bad_request("idempotency key is too long")
    return key


def bad_request(what: str) -> ApiError:
    """Telegram's 400, its description starting with 'Bad Request: '."""
    return ApiError(400, f"Bad Request: {what}")


@dataclass(frozen=True)
class Upload:
    """A file that came in a request (multipart), before it is stored."""

    data: bytes
    name: str | None
    mime: str | None


Params = dict[str, Any]
Uploads = dict[str, Upload]


class RawJSON(str):
    """A result that is JSON already (stored updates): sent as it is, not parsed and
    encoded again on every getUpdates."""


@lru_cache(maxsize=1024)
def _as_shown(raw: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's reading of a text, kept for the texts seen lately: every edit compares the
    old text with the new and answers with the new one read, and a walk's questions are
    the same for many people. Callers must not change what it returns."""
    return rules.as_shown(raw, parse_mode)


class Hub:
    """Tells open pages that their chat changed, and long polls that updates arrived."""

    def __init__(self) -> None:
        self._pages: dict[int, set[asyncio.Queue[dict[str, Any]]]] = {}
        self._arrived = asyncio.Event()

    def subscribe(self, chat_id: int) -> asyncio.Queue[dict[str, Any]]:
        """An open page of this chat starts listening."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=100)
        self._pages.setdefault(chat_id, set()).add(queue)
        return queue

    def unsubscribe(self, chat_id: int, queue: asyncio.Queue[dict[str, Any]]) -> None:
        """The page went away."""
        self._pages.get(chat_id, set()).discard(queue)

    def publish(self, chat_id: int, event: dict[str, Any]) -> None:
        """Tell every open page of this chat (a page that stopped reading is skipped)."""
        for queue in list(self._pages.get(chat_id, ())):
            if queue.full():  # a page that stopped reading: it resynchronises on reconnect
                continue
            queue.put_nowait(event)

    def close(self) -> None:
        """The server stops: open pages end their stream, long polls return."""
        for chat_id in list(self._pages):
            self.publish(chat_id, {"type": "bye"})
        self.updates_arrived()

    def updates_arrived(self) -> None:
        """Wake the long polls waiting in getUpdates."""
        self._arrived.set()
        self._arrived = asyncio.Event()

    @property
    def arrival(self) -> asyncio.Event:
        """The event the next update sets; taken before reading, so nothing slips between."""
        return self._arrived


def _json(value: Any) -> Any:
    """Complex parameters arrive JSON-encoded inside form fields, or as JSON already."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):  # nested too deep: not a 500 either
            raise bad_request("can't parse JSON object") from None
    return value


def _int(params: Params, key: str) -> int:
    """A whole-number parameter, or Telegram's 400 naming it."""
    value = params.get(key)
    if value is None or value == "":
        raise bad_request(f"{key} is empty" if key != "chat_id" else "chat_id is empty")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise bad_request(f"invalid {key} specified") from None
    if not -(2**63) <= number < 2**63:  # past what Telegram (and SQLite) keep: no such thing
        raise bad_request("chat not found" if key == "chat_id" else f"invalid {key} specified")
    return number


def formatted(params: Params, key: str) -> tuple[str, str | None]:
    """A ``text`` or ``caption`` judged by Telegram's rules; returns it raw with its parse mode."""
    try:
        judged = rules.formatted(params.get(key), params.get("parse_mode"), caption=key != "text")
    except rules.Refusal as refusal:
        raise bad_request(refusal.description) from None
    return judged.raw, judged.parse_mode


def reply_markup(params: Params) -> dict[str, Any] | None:
    """The reply_markup parameter as Telegram reads it: None when it shows no keyboard."""
    try:
        return rules.reply_markup(params.get("reply_markup"))
    except rules.Refusal as refusal:
        raise bad_request(refusal.description) from None


def _shown(body: dict[str, Any]) -> tuple[Any, ...]:
    """What Telegram compares when an edit comes: the text or caption as read, its
    entities, the file and the keyboard."""
    text = body.get("text") if body["kind"] == "text" else body.get("caption")
    return (
        body["kind"],
        body.get("file_id"),
        _as_shown(text or "", body.get("parse_mode")),
        body.get("reply_markup"),
    )


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of an image, or None when the bytes are not one."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None


@dataclass
class Channel:
    """Telegram's side towards one bot, and the people chatting with it."""

    store: Store
    clock: Clock
    token: str
    username: str
    # Telegram's flood limits, imposed only when asked (``local.flood_limits``): the
    # local chat is our own server, with no reason to hold the bot back.
    limits: FloodLimits | None
    hub: Hub = field(default_factory=Hub)

    # --- helpers ------------------------------------------------------------------
    @property
    def bot_id(self) -> int:
        """The bot's user id: the token's number before the colon, as on Telegram."""
        head = self.token.split(":", 1)[0]
        return int(head) if head.isdigit() else BOT_ID_DEFAULT

    def bot_user(self) -> dict[str, Any]:
        """The bot as a Telegram ``User``."""
        return {"id": self.bot_id, "is_bot": True, "first_name": "小安", "username": self.username}

    def now(self) -> int:
        """Unix time from the channel's clock, for message dates."""
        return int(self.clock.now().timestamp())

    async def chat(self, params: Params) -> int:
        """The chat a method is for; Telegram's chats here are people's private chats."""
        chat_id = _int(params, "chat_id")
        if await self.store.person(chat_id) is None:
            raise bad_request("chat not found")
        return chat_id

    async def own_message(self, params: Params) -> tuple[int, Message]:
        """The bot's message to edit in a chat, or Telegram's 'message to edit not found'."""
        if params.get("inline_message_id"):
            raise bad_request("message to edit not found")
        chat_id = await self.chat(params)
        message = await self.store.message(chat_id, _int(params, "message_id"))
        if message is None or not message.from_bot:
            raise bad_request("message to edit not found")
        return chat_id, message

    def flood(self, chat_id: int) -> None:
        """429 with retry_after when this chat (or all chats) got too many messages."""
        if self.limits is None:
            return
        wait = self.limits.retry_after(chat_id)
        if wait:
            raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)

    async def post(self, chat_id: int, body: dict[str, Any], key: str | None = None) -> Any:
        """Store a message from the bot, tell the chat's pages, return it as Telegram does."""
        if key is not None:
            return (await self.post_once(chat_id, [body], key))[0]
        message = await self.store.add_message(chat_id, True, self.now(), body)
        self.hub.publish(chat_id, {"type": "changed"})
        return await self.telegram_message(message)

    async def post_once(
        self, chat_id: int, bodies: list[dict[str, Any]], key: str
    ) -> list[dict[str, Any]]:
        """Messages sent under an idempotency key: a repeated key gets the first ones back."""
        made, new = await self.store.add_messages_once(chat_id, self.now(), bodies, key)
        if new:
            self.hub.publish(chat_id, {"type": "changed"})
        return [await self.telegram_message(m) for m in made]

    async def earlier(self, params: Params) -> list[dict[str, Any]] | None:
        """What a send with this request's idempotency key already made, or None.

        Our own extension of the Bot API (Telegram has no such thing): the bot
        passes a key with each send from its outbox, and a send repeated after
        a crash returns the first result and stores nothing new.
        """
        key = idempotency_key(params)
        if key is None:
            return None
        found = await self.store.sent_under(await self.chat(params), key)
        return None if found is None else [await self.telegram_message(m) for m in found]

    async def changed(self, message: Message, body: dict[str, Any]) -> dict[str, Any]:
        """Store an edit and tell the chat's pages; return the message as Telegram does."""
        edited = await self.store.replace_body(message, body)
        self.hub.publish(message.chat_id, {"type": "changed"})
        return await self.telegram_message(edited)

    # --- the message as Telegram shows it to bots -------------------------------------
    async def telegram_message(self, message: Message) -> dict[str, Any]:
        """A stored message as Telegram's ``Message`` (entities, files, inline keyboard)."""
        body = message.body
        person = await self.store.person(message.chat_id)
        chat = {
            "id": message.chat_id,
            "type": "private",
            "first_name": person["name"] if person else "",
        }
        out: dict[str, Any] = {"message_id": message.id, "date": message.date, "chat": chat}
        if not message.from_bot:
            out["from"] = self.user_of(person) if person else {}
            return {**out, **body["tg"]}
        out["from"] = self.bot_user()
        if body.get("edited"):
            out["edit_date"] = body["edited"]
        kind = body["kind"]
        if kind == "text":
            out["text"], out["entities"] = self._plain(body["text"], body.get("parse_mode"))
        else:
            stored = await self.store.file(body["file_id"])
            assert stored is not None
            out.update(self.file_object(kind, stored))
            if body.get("caption"):
                caption, entities = self._plain(body["caption"], body.get("parse_mode"))
                out["caption"], out["caption_entities"] = caption, entities
            if body.get("media_group_id"):
                out["media_group_id"] = body["media_group_id"]
        markup = body.get("reply_markup")
        if markup and "inline_keyboard" in markup:
            out["reply_markup"] = markup
        return out

    @staticmethod
    def _plain(raw: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
        """Text and entities from what the bot sent, as Telegram keeps them."""
        text, entities = _as_shown(raw, parse_mode)
        return text, [dict(entity) for entity in entities]  # the cached ones stay as they are

    @staticmethod
    def file_object(kind: str, stored: StoredFile) -> dict[str, Any]:
        """``photo`` (one size: the original) or ``document``, as in a Telegram message."""
        common = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_size": stored.size,
        }
        if kind == "photo":
            return {"photo": [{**common, "width": stored.width, "height": stored.height}]}
        return {
            "document": {
                **common,
                "file_name": stored.name or "file",
                "mime_type": stored.mime or "application/octet-stream",
            }
        }

    @staticmethod
    def user_of(person: Any) -> dict[str, Any]:
        """A local person as a Telegram ``User`` (their private chat has the same id)."""
        return {
            "id": person["user_id"],
            "is_bot": False,
            "first_name": person["name"],
            "language_code": person["language"],
        }

    # --- Bot API methods ----------------------------------------------------------------
    async def api_getMe(self, params: Params, uploads: Uploads) -> Any:
        """The bot itself; and that sends here honour idempotency keys."""
        return {
            **self.bot_user(),
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            IDEMPOTENCY_FEATURE: True,
        }

    async def api_deleteWebhook(self, params: Params, uploads: Uploads) -> Any:
        """There is no webhook here; dropping pending updates forgets them."""
        if str(params.get("drop_pending_updates", "")).lower() in ("true", "1"):
            await self.store.drop_updates()
        return True

    async def api_getUpdates(self, params: Params, uploads: Uploads) -> Any:
        """Long polling: wait up to ``timeout`` seconds for an update at or after ``offset``."""
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = min(max(float(params.get("timeout") or 0), 0.0), 50.0)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            arrival = self.hub.arrival  # taken before reading, so nothing slips between
            found = await self.store.updates_json(offset, limit)
            remaining = deadline - loop.time()
            if found or remaining <= 0:
                return RawJSON(f"[{','.join(found)}]")
            try:
                await asyncio.wait_for(arrival.wait(), remaining)
            except TimeoutError:
                return RawJSON("[]")

    async def _menu_key(self, params: Params) -> tuple[str, str]:
        """The scope and language a menu call names, checked as Telegram checks them."""
        try:
            scope = scope_key(_json(params.get("scope") or None))
            language = language_key(params.get("language_code"))
        except rules.Refusal as refusal:
            raise bad_request(refusal.description) from None
        if scope.startswith("chat") and await self.store.person(int(scope.split(":")[1])) is None:
            raise bad_request("chat not found")
        return scope, language

    async def api_setMyCommands(self, params: Params, uploads: Uploads) -> Any:
        """The command menu of a scope and language (an empty list removes it)."""
        scope, language = await self._menu_key(params)
        try:
            commands = checked(_json(params.get("commands") or "[]"))
        except rules.Refusal as refusal:
            raise bad_request(refusal.description) from None
        if commands:
            await self.store.set_commands(scope, language, commands)
        else:
            await self.store.delete_commands(scope, language)
        return True

    async def api_getMyCommands(self, params: Params, uploads: Uploads) -> Any:
        """The command menu set for exactly this scope and language."""
        return await self.store.commands(*await self._menu_key(params))

    async def api_deleteMyCommands(self, params: Params, uploads: Uploads) -> Any:
        """Remove a scope's menu: people see the next one in Telegram's order."""
        await self.store.delete_commands(*await self._menu_key(params))
        return True

    async def menu_of(self, user_id: int, language: str) -> list[dict[str, str]]:
        """The menu a person sees in their chat, as Telegram picks it."""
        return private_chat_menu(await self.store.menus_for_chat(user_id), user_id, language)

    async def api_sendMessage(self, params: Params, uploads: Uploads) -> Any:
        """A text with an optional keyboard; checked, counted against the flood limits."""
        if (earlier := await self.earlier(params)) is not None:
            return earlier[0] if earlier else True
        chat_id = await self.chat(params)
        text, parse_mode = formatted(params, "text")
        markup = reply_markup(params)
        self.flood(chat_id)
        body = {"kind": "text", "text": text, "parse_mode": parse_mode, "reply_markup": markup}
        return await self.post(chat_id, body, idempotency_key(params))

    async def api_editMessageText(self, params: Params, uploads: Uploads) -> Any:
        """New text (and keyboard) for one of the bot's text messages."""
        _, message = await self.own_message(params)
        if message.body["kind"] != "text":
            raise bad_request("there is no text in the message to edit")
        text, parse_mode = formatted(params, "text")
        markup = reply_markup(params)
        body = {**message.body, "text": text, "parse_mode": parse_mode, "reply_markup": markup}
        return await self._edit(message, body)

    async def _edit(self, message: Message, body: dict[str, Any]) -> Any:
        """Refuse an edit that changes nothing the reader sees, as Telegram does (``<b>`` and
        ``<strong>`` are the same bold); else store it."""
        if _shown(body) == _shown(message.body):
            raise bad_request(NOT_MODIFIED)
        return await self.changed(message, {**body, "edited": self.now()})

    async def api_editMessageReplyMarkup(self, params: Params, uploads: Uploads) -> Any:
        """New (or no) inline keyboard for one of the bot's messages."""
        _, message = await self.own_message(params)
        return await self._edit(message, {**message.body, "reply_markup": reply_markup(params)})

    async def api_editMessageCaption(self, params: Params, uploads: Uploads) -> Any:
        """A new caption for one of the bot's photos or documents."""
        _, message = await self.own_message(params)
        if message.body["kind"] == "text":
            raise bad_request("there is no caption in the message to edit")
        caption, parse_mode = formatted(params, "caption")
        body = {
            **message.body,
            "caption": caption,
            "parse_mode": parse_mode,
            "reply_markup": reply_markup(params),
        }
        return await self._edit(message, body)

    async def api_deleteMessage(self, params: Params, uploads: Uploads) -> Any:
        """Remove a message from the chat (and from its open pages)."""
        chat_id = await self.chat(params)
        message = await self.store.message(chat_id, _int(params, "message_id"))
        if message is None:
            raise bad_request("message to delete not found")
        await self.store.delete_message(message)
        self.hub.publish(chat_id, {"type": "changed"})
        return True

    async def api_answerCallbackQuery(self, params: Params, uploads: Uploads) -> Any:
        """The answer to a tap: a notice or an alert on the page."""
        chat_id = await self.store.callback_chat(str(params.get("callback_query_id") or ""))
        if chat_id is None:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        try:
            text = rules.alert_text(params.get("text"))
        except rules.Refusal as refusal:
            raise bad_request(refusal.description) from None
        if text:
            alert = str(params.get("show_alert", "")).lower() in ("true", "1")
            self.hub.publish(chat_id, {"type": "alert", "text": text, "show_alert": alert})
        return True

    async def api_sendChatAction(self, params: Params, uploads: Uploads) -> Any:
        """'typing…' on the chat's open pages."""
        chat_id = await self.chat(params)
        self.hub.publish(chat_id, {"type": "action", "action": str(params.get("action") or "")})
        return True

    async def api_getFile(self, params: Params, uploads: Uploads) -> Any:
        """A file's path for the download URL; over 20 MB refused, as on Telegram."""
        stored = await self.store.file(str(params.get("file_id") or ""))
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.size > MAX_DOWNLOAD:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_size": stored.size,
            "file_path": f"{stored.file_id}/{stored.sha256}",
        }

    async def download(self, file_path: str) -> bytes:
        """The bytes behind a getFile path (``/file/bot<token>/<path>``)."""
        file_id, _, sha = file_path.partition("/")
        stored = await self.store.file(file_id)
        if stored is None or stored.sha256 != sha:
            raise ApiError(404, "Not Found")
        return await asyncio.to_thread(self.store.path_of(sha).read_bytes)

    async def input_file(self, value: Any, uploads: Uploads, kind: str, chat_id: int) -> StoredFile:
        """A file parameter: a file_id sent before, or an upload (``attach://`` or by field)."""
        if isinstance(value, str) and value.startswith("attach://"):
            value = uploads.get(value.removeprefix("attach://"))
        if isinstance(value, Upload):
            size = image_size(value.data) if kind == "photo" else None
            if kind == "photo" and size is None:
                raise bad_request("IMAGE_PROCESS_FAILED")
            return await self.store.add_file(
                value.data, name=value.name, mime=value.mime, size=size, chat_id=chat_id
            )
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")
        stored = await self.store.file(str(value or ""))
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return stored

    async def _send_file(self, params: Params, uploads: Uploads, kind: str) -> Any:
        """sendPhoto and sendDocument: an upload or a known file id, with a caption."""
        if (earlier := await self.earlier(params)) is not None:
            return earlier[0] if earlier else True
        chat_id = await self.chat(params)
        caption, parse_mode = formatted(params, "caption")
        markup = reply_markup(params)
        value = uploads.get(kind) or params.get(kind)
        stored = await self.input_file(value, uploads, kind, chat_id)
        self.flood(chat_id)
        body = {
            "kind": kind,
            "file_id": stored.file_id,
            "file_name": stored.name,  # the page shows a document by its name
            "caption": caption,
            "parse_mode": parse_mode,
            "reply_markup": markup,
        }
        return await self.post(chat_id, body, idempotency_key(params))

    async def api_sendPhoto(self, params: Params, uploads: Uploads) -> Any:
        """A picture (checked to be one), with an optional caption and keyboard."""
        return await self._send_file(params, uploads, "photo")

    async def api_sendDocument(self, params: Params, uploads: Uploads) -> Any:
        """Any file, offered for download on the page."""
        return await self._send_file(params, uploads, "document")

    async def api_sendMediaGroup(self, params: Params, uploads: Uploads) -> Any:
        """2–10 photos or documents shown together; one message each, one group id."""
        if (earlier := await self.earlier(params)) is not None:
            return earlier
        chat_id = await self.chat(params)
        media = _json(params.get("media") or "[]")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise bad_request("media must include 2-10 items")
        group = secrets.token_hex(8)
        items = []
        for item in media:
            kind = item.get("type")
            if kind not in ("photo", "document"):
                raise bad_request(f"unsupported media type {kind}")
            caption, parse_mode = formatted(item, "caption")
            stored = await self.input_file(item.get("media"), uploads, kind, chat_id)
            items.append((kind, stored, caption, parse_mode))
        self.flood(chat_id)
        bodies = [
            {
                "kind": kind,
                "file_id": stored.file_id,
                "file_name": stored.name,
                "caption": caption,
                "parse_mode": parse_mode,
                "media_group_id": group,
            }
            for kind, stored, caption, parse_mode in items
        ]
        key = idempotency_key(params)
        if key is not None:
            return await self.post_once(chat_id, bodies, key)
        return [await self.post(chat_id, body) for body in bodies]

    def method(self, name: str) -> Callable[[Params, Uploads], Awaitable[Any]] | None:
        """The Bot API method by its name, or None (Telegram answers 404)."""
        found = getattr(self, f"api_{name}", None)
        return found if callable(found) else None

    # --- people's side -------------------------------------------------------------------
    async def join(self, name: str, language: str, code: str) -> tuple[int, str]:
        """A new person; their first words are ``/start <code>`` (as a deep link sends)."""
        user_id, token = await self.store.add_person(
            name, language, self.clock.now().isoformat(timespec="seconds")
        )
        await self.say(user_id, f"/start {code}".strip())
        return user_id, token

    async def _from_person(self, user_id: int, tg: dict[str, Any]) -> Message:
        """Store what a person sent and queue it for the bot as a ``message`` update."""
        message = await self.store.add_message(user_id, False, self.now(), {"tg": tg})
        await self.store.add_update({"message": await self.telegram_message(message)})
        self.hub.updates_arrived()
        self.hub.publish(user_id, {"type": "changed"})
        return message

    async def say(self, user_id: int, text: str) -> Message:
        """A typed text; a leading ``/command`` gets its bot_command entity, as Telegram adds."""
        tg: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            tg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return await self._from_person(user_id, tg)

    async def contact(self, user_id: int, phone: str) -> Message:
        """The phone shared with the keyboard's button: always the person's own contact."""
        person = await self.store.person(user_id)
        assert person is not None
        contact = {"phone_number": phone, "first_name": person["name"], "user_id": user_id}
        return await self._from_person(user_id, {"contact": contact})

    async def upload(self, user_id: int, upload: Upload) -> Message:
        """A picture becomes a photo message; anything else a document."""
        size = await asyncio.to_thread(image_size, upload.data)
        kind = "photo" if size else "document"
        stored = await self.store.add_file(
            upload.data, name=upload.name, mime=upload.mime, size=size, chat_id=user_id
        )
        return await self._from_person(user_id, self.file_object(kind, stored))

    async def tap(self, user_id: int, message_id: int, data: str) -> bool:
        """A button of a bot message in this chat; False when the message has no such button."""
        message = await self.store.message(user_id, message_id)
        if message is None or not message.from_bot:
            return False
        rows = (message.body.get("reply_markup") or {}).get("inline_keyboard") or []
        if not any(b.get("callback_data") == data for row in rows for b in row):
            return False
        person = await self.store.person(user_id)
        query_id = secrets.token_hex(8)
        query = {
            "id": query_id,
            "from": self.user_of(person),
            "chat_instance": str(user_id),
            "data": data,
            "message": await self.telegram_message(message),
        }
        await self.store.add_tap(query_id, user_id, message_id, query)
        self.hub.updates_arrived()
        return True

    async def may_see_file(self, user_id: int, file_id: str) -> bool:
        """Only files that appear in this person's own chat."""
        return await self.store.shows_file(user_id, file_id)

    async def page_messages(self, user_id: int, since: int, site: str) -> list[dict[str, Any]]:
        """The chat for the page, changed since a version: safe HTML, buttons, files."""
        rewrite = {f"https://t.me/{self.username}?start=": f"{site}/?start="}
        return [page_message(m, rewrite) for m in await self.store.chat_since(user_id, since)]


def page_message(message: Message, rewrite: dict[str, str]) -> dict[str, Any]:
    """One message as the page shows it; its HTML safe to insert as is."""
    out: dict[str, Any] = {
        "id": message.id,
        "version": message.version,
        "from_bot": message.from_bot,
        "date": message.date,
        "deleted": message.deleted,
    }
    if message.deleted:
        return out
    body = message.body
    if not message.from_bot:
        tg = body["tg"]
        out["html"] = safe_html(tg.get("text") or tg.get("caption") or "", None)
        if "photo" in tg:
            out["file"] = _page_file(tg["photo"][-1]["file_id"], "photo", None)
        if "document" in tg:
            document = tg["document"]
            out["file"] = _page_file(document["file_id"], "document", document.get("file_name"))
        if "contact" in tg:
            out["contact"] = tg["contact"]["phone_number"]
        return out
    parse_mode = body.get("parse_mode")
    out["html"] = safe_html(body.get("text") or body.get("caption") or "", parse_mode, rewrite)
    if body["kind"] != "text":
        out["file"] = _page_file(body["file_id"], body["kind"], body.get("file_name"))
    markup = body.get("reply_markup") or {}
    out["buttons"] = [
        [{"text": b["text"], "data": b.get("callback_data"), "url": b.get("url")} for b in row]
        for row in markup.get("inline_keyboard", [])
    ]
    if "keyboard" in markup:
        out["keyboard"] = {
            "rows": markup["keyboard"],
            "one_time": bool(markup.get("one_time_keyboard")),
        }
    if markup.get("remove_keyboard"):
        out["remove_keyboard"] = True
    return out


def _page_file(file_id: str, kind: str, name: str | None) -> dict[str, Any]:
    """Where the page fetches a file (only from its own chat), and how to show it."""
    return {"url": f"/files/{file_id}", "kind": kind, "name": name}
