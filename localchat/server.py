"""The local channel's two HTTP sides, on separate ports.

The Bot API side (loopback by default) answers the bot as Telegram does:
``/bot<token>/<method>`` and ``/file/bot<token>/<path>``. The people side
serves the chat page and its small JSON API; it has no route to the Bot
API and never learns the token. Access logs are off on both: a Bot API
path contains the token.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import json
import logging
import mimetypes
import resource
import secrets
import time
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from aiohttp import BodyPartReader, web

from ledger.clock import Clock
from localchat.channel import ApiError, Channel, Params, RawJSON, Upload, Uploads
from localchat.limits import FloodLimits, PageLimits
from localchat.quiet import QuietRepeats
from localchat.store import Store

log = logging.getLogger(__name__)

COOKIE = "xiaoan_chat"
# Telegram lets bots upload up to 50 MB.
BOT_UPLOAD_LIMIT = 50 * 1024 * 1024
KEEPALIVE_SECONDS = 15.0
# How long the quiet error handler stays after stop (asyncio retries accept() after 1 s).
QUIET_LINGER = 2.0
# What a refused event stream is told to wait; the page tries again after it.
STREAM_RETRY_SECONDS = 10
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self';"
        " connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the page URL may carry an invitation code
}
CHANNEL_KEY = web.AppKey("channel", Channel)


@dataclass(frozen=True)
class LocalSettings:
    """Where the two sides listen, where things are kept, and the shared token."""

    token: str
    username: str
    host: str
    port: int
    api_host: str
    api_port: int
    public_url: str
    database: Path
    files: Path
    max_upload_bytes: int
    # Each has a ``local.*`` setting of the same name (bot/config.py says what it does).
    session_days: int = 30
    max_streams: int = 200
    max_streams_per_session: int = 4
    session_requests_per_second: int = 10
    session_requests_burst: int = 100
    address_requests_per_second: int = 30
    address_requests_burst: int = 300
    joins_per_hour: int = 30
    joins_burst: int = 10
    client_ip_header: str = ""


# Who a local person is in the bot's eyes: lines like "校长 · 演示小学", in their language.
Directory = Callable[[int, str], Awaitable[list[str]]]

SETTINGS_KEY = web.AppKey("settings", LocalSettings)
DIRECTORY_KEY: web.AppKey[Directory | None] = web.AppKey("directory")
PAGE_LIMITS_KEY = web.AppKey("page_limits", PageLimits)


def telegram_error(error: ApiError) -> web.Response:
    """Telegram's error body, with the HTTP status it comes with."""
    body: dict[str, Any] = {
        "ok": False,
        "error_code": error.code,
        "description": error.description,
    }
    if error.parameters:
        body["parameters"] = error.parameters
    return web.json_response(body, status=error.code)


# --- the Bot API side -----------------------------------------------------------------


async def _bot_params(request: web.Request) -> tuple[Params, Uploads]:
    """Parameters from the query, a JSON body, a form or multipart (files kept apart)."""
    params: Params = dict(request.query)
    uploads: Uploads = {}
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
        return params, uploads
    if request.can_read_body:
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                uploads[key] = Upload(value.file.read(), value.filename, value.content_type)
            else:
                params[key] = value
    return params, uploads


def _authorised(request: web.Request) -> bool:
    """The token in the path is the one this server was given (constant-time compare)."""
    channel = request.app[CHANNEL_KEY]
    return secrets.compare_digest(request.match_info["token"].encode(), channel.token.encode())


async def bot_method(request: web.Request) -> web.Response:
    """``/bot<token>/<method>``: Telegram's answer or Telegram's error."""
    if not _authorised(request):
        return telegram_error(ApiError(401, "Unauthorized"))
    channel = request.app[CHANNEL_KEY]
    method = channel.method(request.match_info["method"])
    if method is None:
        return telegram_error(ApiError(404, "Not Found"))
    try:
        params, uploads = await _bot_params(request)
        result = await method(params, uploads)
    except ApiError as error:
        return telegram_error(error)
    except (ValueError, KeyError, TypeError, OverflowError, RecursionError) as error:
        log.info("bad request to %s: %s", request.match_info["method"], type(error).__name__)
        return telegram_error(ApiError(400, "Bad Request: invalid parameters"))
    if isinstance(result, RawJSON):
        return web.Response(
            text=f'{{"ok":true,"result":{result}}}', content_type="application/json"
        )
    return web.json_response({"ok": True, "result": result}, dumps=_dumps)


def _dumps(value: Any) -> str:
    """JSON with Chinese kept readable."""
    return json.dumps(value, ensure_ascii=False)


async def bot_file(request: web.Request) -> web.Response:
    """``/file/bot<token>/<path>``: a file's bytes after getFile."""
    if not _authorised(request):
        return telegram_error(ApiError(401, "Unauthorized"))
    try:
        data = await request.app[CHANNEL_KEY].download(request.match_info["path"])
    except ApiError as error:
        return telegram_error(error)
    return web.Response(body=data, content_type="application/octet-stream")


async def not_found(request: web.Request) -> web.Response:
    """Any other path on the Bot API side: Telegram's 404."""
    return telegram_error(ApiError(404, "Not Found"))


def bot_api_app(channel: Channel) -> web.Application:
    """The Bot API side's routes."""
    app = web.Application(client_max_size=BOT_UPLOAD_LIMIT)
    app[CHANNEL_KEY] = channel
    app.router.add_route("*", "/bot{token}/{method}", bot_method)
    app.router.add_get("/file/bot{token}/{path:.+}", bot_file)
    app.router.add_route("*", "/{tail:.*}", not_found)
    return app


# --- the people side --------------------------------------------------------------------


def _static(name: str) -> bytes:
    """A file of the page, shipped as package data."""
    return resources.files("localchat").joinpath("static", name).read_bytes()


# Pictures are served as one of these; any other type (SVG, say) never reaches the page as such.
PICTURE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
STATIC_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
CSRF_HEADER = "X-CSRF-Token"
# Short reasons for the statuses aiohttp raises itself (unknown path, wrong method...).
REASONS = {
    400: "bad_request",
    401: "no_session",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "json_only",
}
# The largest id SQLite stores; a larger message_id or since is refused, not a 500.
MAX_ID = 2**63 - 1


ERRORS: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest,
    401: web.HTTPUnauthorized,
    403: web.HTTPForbidden,
    404: web.HTTPNotFound,
    415: web.HTTPUnsupportedMediaType,
}


def refusal(status: int, error: str) -> web.HTTPException:
    """An HTTP error whose body is ``{"error": ...}``, the short reason the page shows."""
    return ERRORS[status](text=json.dumps({"error": error}), content_type="application/json")


def _answer(status: int, error: str, **details: Any) -> web.Response:
    """A JSON refusal as a response (for middlewares, which return rather than raise)."""
    return web.json_response({"error": error, **details}, status=status)


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Every answer of the page side, errors included: no framing, sniffing, referrer."""
    response.headers.update(SECURITY_HEADERS)


@web.middleware
async def short_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Every refusal as ``{"error": reason}``; anything unforeseen a logged 500, never a trace."""
    try:
        response: web.StreamResponse = await handler(request)
    except web.HTTPRequestEntityTooLarge:
        return _too_large(request)
    except web.HTTPException as error:
        if error.content_type == "application/json" or error.status < 400:
            raise
        return _answer(error.status, REASONS.get(error.status, "refused"))
    except Exception:
        log.exception("local chat page: %s %s failed", request.method, request.path)
        return _answer(500, "internal")
    return response


@web.middleware
async def rate_limits(request: web.Request, handler: Any) -> web.StreamResponse:
    """Per address for every request; per session too for the page's API and files.

    The page itself and its script are left out of the session's count, so a
    person told to slow down can still reload a working page.
    """
    limits = request.app[PAGE_LIMITS_KEY]
    wait = limits.address.retry_after(client_address(request))
    token = request.cookies.get(COOKIE, "")
    if not wait and token and request.path.startswith(("/api/", "/files/")):
        wait = limits.session.retry_after(token)
    if wait:
        return _slow_down("rate_limited", wait)
    response: web.StreamResponse = await handler(request)
    return response


def _slow_down(error: str, wait: int) -> web.Response:
    """429 with the wait in the body (the page shows it) and in Retry-After."""
    response = _answer(429, error, retry_after=wait)
    response.headers["Retry-After"] = str(wait)
    return response


def client_address(request: web.Request) -> str:
    """The person's address: the peer's, or the proxy's header when the proxy is on loopback."""
    peer = request.remote or ""
    header = request.app[SETTINGS_KEY].client_ip_header
    if header and _loopback(peer):
        forwarded = request.headers.get(header, "").split(",")[-1].strip()
        if forwarded:
            return forwarded  # the last entry: the one our own proxy added
    elif not header and _loopback(peer) and not request.app[WARNED_KEY]:
        proxied = [h for h in PROXY_HEADERS if h in request.headers]
        if proxied:
            request.app[WARNED_KEY].add("proxy")
            log.warning(
                "local chat: requests come through a proxy (%s) but local.client_ip_header is"
                " not set: every phone counts as the proxy's one address in the rate limits",
                proxied[0],
            )
    return peer


# Headers a proxy adds with the client's address; seen while unused, they are worth a warning.
PROXY_HEADERS = ("X-Real-IP", "X-Forwarded-For")
WARNED_KEY = web.AppKey("warned", set[str])  # what this site warned of already (once each)


def _loopback(address: str) -> bool:
    """Whether an address is this machine's."""
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _too_large(request: web.Request) -> web.Response:
    """413 with a short answer the page turns into words."""
    limit = request.app[SETTINGS_KEY].max_upload_bytes
    return web.json_response(
        {"error": "too_large", "limit_mb": round(limit / (1024 * 1024), 1)}, status=413
    )


async def page(request: web.Request) -> web.Response:
    """The chat page."""
    return web.Response(body=_static("index.html"), content_type="text/html", charset="utf-8")


async def static(request: web.Request) -> web.Response:
    """The page's script and style; nothing else is served from the package."""
    name = request.match_info["name"]
    suffix = Path(name).suffix
    if suffix not in STATIC_TYPES or "/" in name or name.startswith("."):
        raise web.HTTPNotFound()
    try:
        body = _static(name)
    except FileNotFoundError:
        raise web.HTTPNotFound() from None
    return web.Response(body=body, content_type=STATIC_TYPES[suffix], charset="utf-8")


def csrf_of(token: str) -> str:
    """The per-session token the page sends with every change (derived, never stored)."""
    return hashlib.sha256(f"csrf:{token}".encode()).hexdigest()[:32]


async def person(request: web.Request) -> Any:
    """The person of this browser's session cookie, or 401 (why: none, or ended)."""
    token = request.cookies.get(COOKIE, "")
    if not token:
        raise refusal(401, "no_session")
    channel = request.app[CHANNEL_KEY]
    lasts = timedelta(days=request.app[SETTINGS_KEY].session_days)
    found = await channel.store.person_of_session(token, channel.clock.now(), lasts)
    if found is None:
        raise refusal(401, "session_ended")
    return found


def _same_origin(request: web.Request) -> bool:
    """No Origin (not a browser's cross-site request) or this page's own, public_url included."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    own = {f"{request.scheme}://{request.host}".lower()}
    public = request.app[SETTINGS_KEY].public_url
    if public:
        parts = urlsplit(public)
        own.add(f"{parts.scheme}://{parts.netloc}".lower())
    return origin.lower() in own


def _check_origin(request: web.Request) -> None:
    """403 for a change asked by a page of another origin (another port included)."""
    if not _same_origin(request):
        raise refusal(403, "cross_origin")


async def acting(request: web.Request) -> Any:
    """The person behind a change: their cookie, this page's origin and their CSRF token."""
    _check_origin(request)
    found = await person(request)
    sent = request.headers.get(CSRF_HEADER, "")
    if not secrets.compare_digest(sent.encode(), csrf_of(request.cookies[COOKIE]).encode()):
        raise refusal(403, "csrf")
    return found


async def _json_body(request: web.Request) -> dict[str, Any]:
    """JSON only: a form on another site cannot post it without the browser asking first."""
    if request.content_type != "application/json":
        raise refusal(415, "json_only")
    try:
        body = await request.json()
    except (ValueError, RecursionError):  # RecursionError: nested thousands deep
        raise refusal(400, "bad_json") from None
    if not isinstance(body, dict):
        raise refusal(400, "bad_json")
    return body


def _language(value: Any) -> str:
    """The browser's language, as Telegram reports a client's ('en' for any English)."""
    text = str(value or "zh")[:16]
    return "en" if text.lower().startswith("en") else text


def _set_session(request: web.Request, response: web.Response, token: str) -> None:
    """The session cookie, lasting as long as the session does without use."""
    settings = request.app[SETTINGS_KEY]
    response.set_cookie(
        COOKIE,
        token,
        max_age=settings.session_days * 24 * 3600,
        httponly=True,
        samesite="Lax",
        secure=settings.public_url.startswith("https://"),
    )


async def join(request: web.Request) -> web.Response:
    """A name and an invitation code: a new chat, its cookie, and ``/start <code>`` sent."""
    _check_origin(request)
    wait = request.app[PAGE_LIMITS_KEY].joins.retry_after(client_address(request))
    if wait:
        return _slow_down("too_many_joins", wait)
    body = await _json_body(request)
    name = " ".join(_printable(str(body.get("name") or "")).split())[:64]
    code = "".join(str(body.get("code") or "").split())[:64]
    if not name:
        return web.json_response({"error": "name_needed"}, status=400)
    channel = request.app[CHANNEL_KEY]
    user_id, token = await channel.join(name, _language(body.get("language")), code)
    response = web.json_response({"user_id": user_id, "name": name, "csrf": csrf_of(token)})
    _set_session(request, response, token)
    return response


async def me(request: web.Request) -> web.Response:
    """Who this browser is (name, roles and schools when the bot knows them), or 401."""
    found = await person(request)
    directory = request.app[DIRECTORY_KEY]
    roles = await directory(found["user_id"], found["language"]) if directory else []
    response = web.json_response(
        {
            "user_id": found["user_id"],
            "name": found["name"],
            "language": found["language"],
            "roles": roles,
            "csrf": csrf_of(request.cookies[COOKIE]),
        },
        dumps=_dumps,
    )
    _set_session(request, response, request.cookies[COOKIE])  # its expiry moves on with use
    return response


async def logout(request: web.Request) -> web.Response:
    """End this browser's session: the cookie is cleared and its open streams close."""
    await acting(request)
    token = request.cookies[COOKIE]
    await request.app[CHANNEL_KEY].store.end_session(token)
    request.app[STREAMS_KEY].end(token)
    response = web.json_response({"ok": True})
    response.del_cookie(COOKIE)
    return response


def _whole(value: Any, name: str) -> int:
    """A non-negative id SQLite can hold, or 400 naming it."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise refusal(400, f"bad_{name}") from None
    if not 0 <= number <= MAX_ID:
        raise refusal(400, f"bad_{name}")
    return number


async def messages(request: web.Request) -> web.Response:
    """This person's chat, changed since ``since`` (a version; 0 for all of it)."""
    found = await person(request)
    since = _whole(request.query.get("since", "0"), "since")
    channel = request.app[CHANNEL_KEY]
    listed = await channel.page_messages(found["user_id"], since, _site(request))
    return web.json_response({"messages": listed}, dumps=_dumps)


def _site(request: web.Request) -> str:
    """This page's own address, for rewritten invitation links."""
    public = request.app[SETTINGS_KEY].public_url
    return public.rstrip("/") if public else f"{request.scheme}://{request.host}"


async def send(request: web.Request) -> web.Response:
    """A typed text (a command when it starts with '/')."""
    found = await acting(request)
    body = await _json_body(request)
    text = str(body.get("text") or "").strip()
    if not text or len(text) > 4096:
        return web.json_response({"error": "bad_text"}, status=400)
    await request.app[CHANNEL_KEY].say(found["user_id"], text)
    return web.json_response({"ok": True})


async def tap(request: web.Request) -> web.Response:
    """A button of a bot message in one's own chat; old messages' buttons included."""
    found = await acting(request)
    body = await _json_body(request)
    message_id = _whole(body.get("message_id") or 0, "message_id")
    data = str(body.get("data") or "")
    if not await request.app[CHANNEL_KEY].tap(found["user_id"], message_id, data):
        return web.json_response({"error": "no_such_button"}, status=400)
    return web.json_response({"ok": True})


async def contact(request: web.Request) -> web.Response:
    """The phone number shared with the keyboard's button, as one's own contact."""
    found = await acting(request)
    body = await _json_body(request)
    phone = "".join(ch for ch in str(body.get("phone") or "") if ch.isdigit() or ch in "+- ")
    if not 5 <= len(phone) <= 20:
        return web.json_response({"error": "bad_phone"}, status=400)
    await request.app[CHANNEL_KEY].contact(found["user_id"], phone.strip())
    return web.json_response({"ok": True})


def _printable(text: str) -> str:
    """Text without control or format characters (line breaks, bidi overrides) as spaces."""
    return "".join(" " if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in text)


def file_name(raw: str | None) -> str:
    """An uploaded file's name as kept and offered: one printable line, ≤ 100 characters."""
    name = " ".join(_printable(raw or "").split())[-100:].strip()
    return name or "file"


async def upload(request: web.Request) -> web.Response:
    """A photo or a file from the phone (multipart field ``file``), within the size cap."""
    found = await acting(request)
    limit = request.app[SETTINGS_KEY].max_upload_bytes
    if request.content_length is not None and request.content_length > limit + 64 * 1024:
        return _too_large(request)
    if not request.content_type.startswith("multipart/"):
        raise refusal(400, "multipart_only")
    try:
        reader = await request.multipart()
        part = await reader.next()
        while part is not None and (not isinstance(part, BodyPartReader) or part.name != "file"):
            part = await reader.next()
    except ValueError:  # a broken multipart body (aiohttp raises ValueError subclasses)
        raise refusal(400, "bad_upload") from None
    if part is None:
        return web.json_response({"error": "no_file"}, status=400)
    data = bytearray()
    while chunk := await part.read_chunk():
        data += chunk
        if len(data) > limit:
            return _too_large(request)
    if not data:
        return web.json_response({"error": "no_file"}, status=400)
    mime = part.headers.get("Content-Type")
    sent = Upload(bytes(data), file_name(part.filename), mime)
    await request.app[CHANNEL_KEY].upload(found["user_id"], sent)
    return web.json_response({"ok": True})


async def commands(request: web.Request) -> web.Response:
    """The command menu this person sees: their chat's own, or the general one, by language."""
    found = await person(request)
    listed = await request.app[CHANNEL_KEY].menu_of(found["user_id"], str(found["language"]))
    return web.json_response({"commands": listed}, dumps=_dumps)


async def file(request: web.Request) -> web.Response:
    """A file shown in this person's chat (pictures inline, the rest as downloads)."""
    found = await person(request)
    channel = request.app[CHANNEL_KEY]
    file_id = request.match_info["file_id"]
    stored = await channel.store.file(file_id)
    if stored is None or not await channel.may_see_file(found["user_id"], file_id):
        raise refusal(404, "not_found")
    data = await asyncio.to_thread(channel.store.path_of(stored.sha256).read_bytes)
    if stored.width is not None:  # a picture Pillow could read: shown, as a known image type
        mime = stored.mime if stored.mime in PICTURE_TYPES else "image/jpeg"
        return web.Response(body=data, content_type=mime)
    name = file_name(stored.name).replace('"', "")
    response = web.Response(body=data, content_type=download_type(stored.mime, name))
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{name.encode("ascii", "replace").decode()}"; '
        f"filename*=UTF-8''{_quote(name)}"
    )
    return response


# Documents keep their own type when it is one of these (always as a download, never
# shown inline): the forms, ledgers, QR sheets and templates the bot sends, and plain
# text. Any other type, HTML or SVG say, is served as octet-stream.
DOWNLOAD_TYPES = frozenset(
    {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/pdf",
        "application/zip",
        "text/csv",
        "text/plain",
    }
)


def download_type(mime: str | None, name: str) -> str:
    """A download's content type: as sent, or from its name, when it is a known safe one."""
    for candidate in ((mime or "").split(";")[0].strip().lower(), mimetypes.guess_type(name)[0]):
        if candidate in DOWNLOAD_TYPES:
            return candidate
    return "application/octet-stream"


def _quote(name: str) -> str:
    """A file name for Content-Disposition's UTF-8 form."""
    return quote(name, safe="")


class Streams:
    """The open event streams, per session and in all, within their caps."""

    def __init__(self, per_session: int, overall: int) -> None:
        self.per_session = per_session
        self.overall = overall
        # session token -> each open stream's queue -> its request
        self._open: dict[str, dict[asyncio.Queue[dict[str, Any]], web.Request]] = {}

    def refusal(self, session: str) -> str | None:
        """Why another stream of this session may not open now, or None.

        Streams whose page went away (a reload, a closed tab) are not counted,
        though their handler notices only at the next keep-alive.
        """
        for token in list(self._open):
            self._open[token] = {q: r for q, r in self._open[token].items() if _alive(r)}
            if not self._open[token]:
                del self._open[token]
        if len(self._open.get(session, {})) >= self.per_session:
            return "too_many_streams"
        if len(self) >= self.overall:
            return "server_busy"
        return None

    def add(self, session: str, request: web.Request, queue: asyncio.Queue[Any]) -> None:
        """A stream opened."""
        self._open.setdefault(session, {})[queue] = request

    def remove(self, session: str, queue: asyncio.Queue[Any]) -> None:
        """A stream ended."""
        self._open.get(session, {}).pop(queue, None)

    def end(self, session: str) -> None:
        """Logout: this session's streams say goodbye."""
        for queue in self._open.get(session, {}):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait({"type": "bye"})

    def __len__(self) -> int:
        return sum(len(mine) for mine in self._open.values())


STREAMS_KEY = web.AppKey("streams", Streams)


def _alive(request: web.Request) -> bool:
    """Whether the page at the other end of a stream is still connected."""
    transport = request.transport
    return transport is not None and not transport.is_closing()


async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: 'changed', alerts, chat actions.

    A page that says which version of its chat it holds (``since``, or on the
    browser's own reconnect the ``Last-Event-ID`` of the last event it had) gets
    the messages changed since then in each 'changed' event, with the version
    as the event's id: it shows the next question without a fetch of its own.
    A page of an earlier version (no ``since``) gets a bare 'changed' and fetches
    ``/api/messages`` itself.
    """
    found = await person(request)
    resumed = request.headers.get("Last-Event-ID") or request.query.get("since")
    since = None if resumed is None else _whole(resumed, "since")
    token = request.cookies[COOKIE]
    streams = request.app[STREAMS_KEY]
    refused = streams.refusal(token)
    if refused:
        return _slow_down(refused, STREAM_RETRY_SECONDS)
    channel = request.app[CHANNEL_KEY]
    site = _site(request)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",  # nginx: pass events through at once
        }
    )

    async def changes(first: bool = False) -> None:
        """What changed since the version the page holds (the first event always goes:
        the page knows it is connected)."""
        nonlocal since
        if since is None:
            await response.write(b'data: {"type":"changed"}\n\n')
            return
        listed = await channel.page_messages(found["user_id"], since, site)
        if not listed and not first:
            return  # an earlier event already brought this change
        since = max([since, *(m["version"] for m in listed)])
        event = _dumps({"type": "changed", "messages": listed})
        await response.write(f"id: {since}\ndata: {event}\n\n".encode())

    queue = channel.hub.subscribe(found["user_id"])
    streams.add(token, request, queue)
    try:
        await response.prepare(request)
        await changes(first=True)
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if event.get("type") == "bye":
                break
            if event.get("type") == "changed":
                await changes()
            else:
                await response.write(f"data: {_dumps(event)}\n\n".encode())
    except ConnectionResetError:
        pass  # the page went away
    finally:
        streams.remove(token, queue)
        channel.hub.unsubscribe(found["user_id"], queue)
    return response


def people_app(
    channel: Channel,
    settings: LocalSettings,
    ticks: Callable[[], float] = time.monotonic,
    directory: Directory | None = None,
) -> web.Application:
    """The people side's routes; no Bot API route exists here."""
    # Room for the multipart wrapping around a file of the largest allowed size.
    app = web.Application(
        client_max_size=settings.max_upload_bytes + 64 * 1024,
        middlewares=[short_errors, rate_limits],
    )
    app.on_response_prepare.append(add_security_headers)
    app[CHANNEL_KEY] = channel
    app[SETTINGS_KEY] = settings
    app[DIRECTORY_KEY] = directory
    app[WARNED_KEY] = set()
    app[STREAMS_KEY] = Streams(settings.max_streams_per_session, settings.max_streams)
    app[PAGE_LIMITS_KEY] = PageLimits.of(
        ticks,
        session=(settings.session_requests_per_second, settings.session_requests_burst),
        address=(settings.address_requests_per_second, settings.address_requests_burst),
        joins_per_hour=(settings.joins_per_hour, settings.joins_burst),
    )
    app.router.add_get("/", page)
    app.router.add_get("/static/{name}", static)
    app.router.add_post("/api/join", join)
    app.router.add_get("/api/me", me)
    app.router.add_post("/api/logout", logout)
    app.router.add_get("/api/messages", messages)
    app.router.add_get("/api/events", events)
    app.router.add_get("/api/commands", commands)
    app.router.add_post("/api/send", send)
    app.router.add_post("/api/tap", tap)
    app.router.add_post("/api/contact", contact)
    app.router.add_post("/api/upload", upload)
    app.router.add_get("/files/{file_id}", file)
    return app


# --- both, running ------------------------------------------------------------------------


class LocalServer:
    """The channel with its two sites; ``start`` then ``stop``."""

    def __init__(
        self,
        settings: LocalSettings,
        clock: Clock,
        limits: FloodLimits | None = None,
        *,
        ticks: Callable[[], float] = time.monotonic,
        directory: Directory | None = None,
    ) -> None:
        self.settings = settings
        self.ticks = ticks
        self.directory = directory
        self._quiet: QuietRepeats | None = None
        self.store = Store(settings.database, settings.files)
        self.channel = Channel(
            self.store,
            clock,
            settings.token,
            settings.username,
            limits,
        )
        self._runners: list[web.AppRunner] = []
        self.people_port = settings.port
        self.api_port = settings.api_port

    async def start(self) -> LocalServer:
        """Open the store and listen on both sides."""
        # Out of sockets, asyncio logs each failed accept(), a hundred times a tick.
        self._quiet = QuietRepeats.install(asyncio.get_running_loop())
        room_for_streams(self.settings.max_streams)
        await self.store.open()
        api = await self._serve(
            bot_api_app(self.channel), self.settings.api_host, self.settings.api_port
        )
        people = await self._serve(
            people_app(self.channel, self.settings, self.ticks, self.directory),
            self.settings.host,
            self.settings.port,
        )
        self.api_port, self.people_port = api, people
        return self

    async def _serve(self, app: web.Application, host: str, port: int) -> int:
        """Listen; returns the port (useful when 0 asked the system for a free one)."""
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runners.append(runner)
        address = runner.addresses[0]
        return int(address[1])

    @property
    def people_url(self) -> str:
        """The page's address, as printed and used in rewritten links."""
        if self.settings.public_url:
            return self.settings.public_url.rstrip("/")
        return f"http://{printable_host(self.settings.host)}:{self.people_port}"

    @property
    def api_url(self) -> str:
        """The Bot API side's address (without /bot<token>)."""
        return f"http://{printable_host(self.settings.api_host)}:{self.api_port}"

    async def stop(self) -> None:
        """Close open pages and long polls first, so the sites stop at once."""
        self.channel.hub.close()
        for runner in reversed(self._runners):
            with contextlib.suppress(Exception):
                await runner.cleanup()
        self._runners.clear()
        await self.store.close()
        if self._quiet is not None:
            # asyncio retries a failed accept() a second later, on a closed socket too:
            # those late errors are kept quiet as well before the loop gets its handler back.
            self._quiet.flush()
            asyncio.get_running_loop().call_later(QUIET_LINGER, self._quiet.uninstall)
            self._quiet = None


def room_for_streams(streams: int) -> None:
    """Raise the open-files limit so the streams' cap, not the system, is what refuses."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * streams + 256  # a stream is a socket; the rest: files, the database, the bot
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    target = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
    if target > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < wanted:
        log.warning(
            "local chat: the open-files limit (%d) is low for local.max_streams = %d", hard, streams
        )


def printable_host(host: str) -> str:
    """An address to print for a bind address (all interfaces → this machine)."""
    if host in ("0.0.0.0", "", "::"):  # noqa: S104 - naming it, not binding it
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
