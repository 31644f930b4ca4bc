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
import json
import logging
import mimetypes
import secrets
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import BodyPartReader, web

from ledger.clock import Clock
from localchat.channel import ApiError, Channel, Params, Upload, Uploads
from localchat.limits import FloodLimits
from localchat.store import Store

log = logging.getLogger(__name__)

COOKIE = "xiaoan_chat"
# Telegram lets bots upload up to 50 MB.
BOT_UPLOAD_LIMIT = 50 * 1024 * 1024
KEEPALIVE_SECONDS = 15.0
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


SETTINGS_KEY = web.AppKey("settings", LocalSettings)


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
    except (ValueError, KeyError, TypeError) as error:
        log.info("bad request to %s: %s", request.match_info["method"], type(error).__name__)
        return telegram_error(ApiError(400, "Bad Request: invalid parameters"))
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


@web.middleware
async def secure_headers(request: web.Request, handler: Any) -> web.StreamResponse:
    """Every answer of the page side: no framing, no sniffing, no referrer, no foreign script."""
    try:
        response: web.StreamResponse = await handler(request)
    except web.HTTPRequestEntityTooLarge:
        response = _too_large(request)
    if not response.prepared:
        response.headers.update(SECURITY_HEADERS)
    return response


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


async def person(request: web.Request) -> Any:
    """The person of this browser's session cookie, or 401."""
    token = request.cookies.get(COOKIE, "")
    found = await request.app[CHANNEL_KEY].store.person_of_session(token) if token else None
    if found is None:
        raise web.HTTPUnauthorized(text='{"error":"no_session"}', content_type="application/json")
    return found


async def _json_body(request: web.Request) -> dict[str, Any]:
    """JSON only: a form on another site cannot post it without the browser asking first."""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType()
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text='{"error":"bad_json"}') from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text='{"error":"bad_json"}')
    return body


def _language(value: Any) -> str:
    """The browser's language, as Telegram reports a client's ('en' for any English)."""
    text = str(value or "zh")[:16]
    return "en" if text.lower().startswith("en") else text


async def join(request: web.Request) -> web.Response:
    """A name and an invitation code: a new chat, its cookie, and ``/start <code>`` sent."""
    body = await _json_body(request)
    name = " ".join(str(body.get("name") or "").split())[:64]
    code = "".join(str(body.get("code") or "").split())[:64]
    if not name:
        return web.json_response({"error": "name_needed"}, status=400)
    channel = request.app[CHANNEL_KEY]
    user_id, token = await channel.join(name, _language(body.get("language")), code)
    response = web.json_response({"user_id": user_id, "name": name})
    response.set_cookie(
        COOKIE,
        token,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="Lax",
        secure=request.app[SETTINGS_KEY].public_url.startswith("https://"),
    )
    return response


async def me(request: web.Request) -> web.Response:
    """Who this browser is, or 401 (then the page shows the join form)."""
    found = await person(request)
    return web.json_response(
        {"user_id": found["user_id"], "name": found["name"], "language": found["language"]}
    )


async def messages(request: web.Request) -> web.Response:
    """This person's chat, changed since ``since`` (a version; 0 for all of it)."""
    found = await person(request)
    try:
        since = int(request.query.get("since", "0"))
    except ValueError:
        since = 0
    channel = request.app[CHANNEL_KEY]
    listed = await channel.page_messages(found["user_id"], since, _site(request))
    return web.json_response({"messages": listed}, dumps=_dumps)


def _site(request: web.Request) -> str:
    """This page's own address, for rewritten invitation links."""
    public = request.app[SETTINGS_KEY].public_url
    return public.rstrip("/") if public else f"{request.scheme}://{request.host}"


async def send(request: web.Request) -> web.Response:
    """A typed text (a command when it starts with '/')."""
    found = await person(request)
    body = await _json_body(request)
    text = str(body.get("text") or "").strip()
    if not text or len(text) > 4096:
        return web.json_response({"error": "bad_text"}, status=400)
    await request.app[CHANNEL_KEY].say(found["user_id"], text)
    return web.json_response({"ok": True})


async def tap(request: web.Request) -> web.Response:
    """A button of a bot message in one's own chat; old messages' buttons included."""
    found = await person(request)
    body = await _json_body(request)
    try:
        message_id = int(body.get("message_id") or 0)
    except (TypeError, ValueError):
        message_id = 0
    data = str(body.get("data") or "")
    if not await request.app[CHANNEL_KEY].tap(found["user_id"], message_id, data):
        return web.json_response({"error": "no_such_button"}, status=400)
    return web.json_response({"ok": True})


async def contact(request: web.Request) -> web.Response:
    """The phone number shared with the keyboard's button, as one's own contact."""
    found = await person(request)
    body = await _json_body(request)
    phone = "".join(ch for ch in str(body.get("phone") or "") if ch.isdigit() or ch in "+- ")
    if not 5 <= len(phone) <= 20:
        return web.json_response({"error": "bad_phone"}, status=400)
    await request.app[CHANNEL_KEY].contact(found["user_id"], phone.strip())
    return web.json_response({"ok": True})


async def upload(request: web.Request) -> web.Response:
    """A photo or a file from the phone (multipart field ``file``), within the size cap."""
    found = await person(request)
    limit = request.app[SETTINGS_KEY].max_upload_bytes
    if request.content_length is not None and request.content_length > limit + 64 * 1024:
        return _too_large(request)
    reader = await request.multipart()
    part = await reader.next()
    while part is not None and (not isinstance(part, BodyPartReader) or part.name != "file"):
        part = await reader.next()
    if part is None:
        return web.json_response({"error": "no_file"}, status=400)
    data = bytearray()
    while chunk := await part.read_chunk():
        data += chunk
        if len(data) > limit:
            return _too_large(request)
    if not data:
        return web.json_response({"error": "no_file"}, status=400)
    name = (part.filename or "file")[-100:]
    mime = part.headers.get("Content-Type")
    await request.app[CHANNEL_KEY].upload(found["user_id"], Upload(bytes(data), name, mime))
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
        raise web.HTTPNotFound()
    data = await asyncio.to_thread(channel.store.path_of(stored.sha256).read_bytes)
    if stored.width is not None:  # a picture Pillow could read: shown, as a known image type
        mime = stored.mime if stored.mime in PICTURE_TYPES else "image/jpeg"
        return web.Response(body=data, content_type=mime)
    name = (stored.name or "file").replace('"', "")
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


async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: 'changed' (fetch messages again), alerts, chat actions."""
    found = await person(request)
    hub = request.app[CHANNEL_KEY].hub
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",  # nginx: pass events through at once
            **SECURITY_HEADERS,
        }
    )
    await response.prepare(request)
    queue = hub.subscribe(found["user_id"])
    try:
        await response.write(b'data: {"type":"changed"}\n\n')
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if event.get("type") == "bye":
                break
            await response.write(f"data: {_dumps(event)}\n\n".encode())
    except ConnectionResetError:
        pass  # the page went away
    finally:
        hub.unsubscribe(found["user_id"], queue)
    return response


def people_app(channel: Channel, settings: LocalSettings) -> web.Application:
    """The people side's routes; no Bot API route exists here."""
    # Room for the multipart wrapping around a file of the largest allowed size.
    app = web.Application(
        client_max_size=settings.max_upload_bytes + 64 * 1024, middlewares=[secure_headers]
    )
    app[CHANNEL_KEY] = channel
    app[SETTINGS_KEY] = settings
    app.router.add_get("/", page)
    app.router.add_get("/static/{name}", static)
    app.router.add_post("/api/join", join)
    app.router.add_get("/api/me", me)
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
        self, settings: LocalSettings, clock: Clock, limits: FloodLimits | None = None
    ) -> None:
        self.settings = settings
        self.store = Store(settings.database, settings.files)
        self.channel = Channel(
            self.store,
            clock,
            settings.token,
            settings.username,
            limits or FloodLimits(time.monotonic),
        )
        self._runners: list[web.AppRunner] = []
        self.people_port = settings.port
        self.api_port = settings.api_port

    async def start(self) -> LocalServer:
        """Open the store and listen on both sides."""
        await self.store.open()
        api = await self._serve(
            bot_api_app(self.channel), self.settings.api_host, self.settings.api_port
        )
        people = await self._serve(
            people_app(self.channel, self.settings), self.settings.host, self.settings.port
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


def printable_host(host: str) -> str:
    """An address to print for a bind address (all interfaces → this machine)."""
    if host in ("0.0.0.0", "", "::"):  # noqa: S104 - naming it, not binding it
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
