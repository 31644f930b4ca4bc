"""Building the python-telegram-bot Application: the one place handlers are wired.

Updates pass three stages: ``InboxRequest`` stores every received update
before polling confirms it; the guard at group -1 (``handlers.guard``) drops
an update already applied, one from a group and one past its sender's pace;
then exactly one handler of group 0 answers it. Updates of different people
run concurrently, each person's in order (``bot.lanes``); a flood limit in
one chat holds up only that chat (``bot.limiter``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from typing import Any

from telegram import Bot, Update
from telegram.error import BadRequest, NetworkError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest, HTTPXRequest

from bot.config import Config
from bot.lanes import PersonLanes
from bot.limiter import ChatRateLimiter
from bot.local import local_page_of
from bot.loop import collect_less
from bot.updates import Arrivals, PollingBot, rewrite, sort_batch
from handlers import (  # each module with buttons registers them as it is imported
    admin,
    buttons,
    common,
    draw,
    inspect,
    join,
    menu,
    reminders,
    reports,
    router,
    supervise,
    tasks,
)
from handlers.base import Ctx, Services
from handlers.guard import Guard, guard
from handlers.resume import resume_job
from ledger.checklist import DEFAULT_PATH, load_checklist
from ledger.clock import Clock
from scheduler.jobs import Reminders
from scheduler.sender import IDEMPOTENCY_FEATURE, Sender
from storage import chain, evidence, inbox, journeys, schedule
from storage.campus import ensure_checklist
from storage.db import Database
from storage.photos import PhotoLimits, PhotoStore
from storage.workers import Workers

log = logging.getLogger(__name__)

# Applied updates are kept this long (to see what came in), then pruned;
# failures (``xiaoan errors``) longer.
INBOX_KEEP = timedelta(days=7)
ERRORS_KEEP = timedelta(days=90)
# The outbox is looked at this often; a change that writes to it wakes it at once.
OUTBOX_EVERY = timedelta(seconds=3)

# A batch of nothing but unconfirmable updates: wait this long before polling again.
UNCONFIRMABLE_PAUSE = 1.0

# The updates the bot asks Telegram for: what people send and tap, and their
# blocking or unblocking the bot.
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]


class Inbox(BaseRequest):
    """Polling's request: stores updates in the inbox as they arrive (a mixin, before the
    request class that makes the calls).

    PTB confirms an update by asking for the next offset, which can happen
    before its handler has run; storing first means a crash loses nothing.
    ``db`` and ``bot`` are set once the database is open (before polling starts);
    the updates parsed on arrival wait in ``arrivals`` for polling (``bot.updates``).
    """

    db: Database | None = None
    bot: Bot | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.arrivals = Arrivals()

    async def do_request(
        self, url: str, method: str, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        # The request class after this one in the method order makes the call.
        code, payload = await super().do_request(url, method, *args, **kwargs)  # type: ignore[safe-super]
        if code == 200 and url.endswith("/getUpdates"):
            assert self.db is not None, "polling started before the database was opened"
            assert self.bot is not None, "polling started before the bot was known"
            payload = await receive_raw(self.db, payload, self.bot, self.arrivals)
        return code, payload


class InboxRequest(Inbox, HTTPXRequest):
    """Polling Telegram (python-telegram-bot's own client), the inbox first."""


def inbox_request(request: BaseRequest | None) -> BaseRequest:
    """Polling's request, made with the client the bot's other calls use: towards the local
    chat aiohttp's (``bot.local_request``, a fraction of httpx's cost a call), else httpx."""
    from bot.local_request import LocalChatRequest

    if isinstance(request, LocalChatRequest):

        class LocalInboxRequest(Inbox, LocalChatRequest):
            """Polling the local chat, the inbox first."""

        return LocalInboxRequest(connections=2, read_timeout=40, connect_timeout=10)
    return InboxRequest(read_timeout=40, connect_timeout=10)


async def receive_raw(db: Database, payload: bytes, bot: Bot, arrivals: Arrivals) -> bytes:
    """Store the updates of a getUpdates answer in the inbox; returns what polling reads.

    Polling reads a bare stand-in for each update and takes it parsed from
    ``arrivals`` (see ``bot.updates``). A malformed update is stored already
    done, with the reason, and its stand-in stays bare: one bad update no
    longer fails the batch.
    """
    body = json.loads(payload)
    if not body.get("ok"):
        return payload
    batch = sort_batch(body.get("result"), bot)
    await inbox.receive(db, batch.passed + [raw for raw, _ in batch.malformed])
    for raw, why in batch.malformed:
        log.warning("update %d: %s", raw["update_id"], why)
        await inbox.mark_done(db, raw["update_id"], error=why)
    if batch.unconfirmable:
        log.warning("getUpdates: %d update(s) without an update_id left out", batch.unconfirmable)
        if not batch.passed and not batch.malformed:
            await asyncio.sleep(UNCONFIRMABLE_PAUSE)  # polling would ask again at once
    arrivals.hand(batch.parsed)
    return rewrite(body, batch)


async def open_services(config: Config, clock: Clock) -> Services:
    """Open the database (migrating it), and load the campaign and checklist."""
    # The checklist first: a wrong file must not leave a database connection open.
    checklist = load_checklist(config.checklist or DEFAULT_PATH)
    db = await Database(config.database, clock).open()
    async with db.write() as tx:
        campaign_id = await schedule.campaign_in_force(
            tx,
            config.campaign_name,
            config.self_inspection_due,
            config.rectification_due,
            config.supervision_due,
        )
        version_id = await ensure_checklist(tx, checklist)
    photos = PhotoStore(
        config.photos, PhotoLimits(config.max_bytes, config.max_pixels, config.max_side)
    )
    # Photos stored before fingerprints existed get theirs (where the file is present).
    await evidence.backfill(db, db.write, photos)
    return Services(
        db=db,
        clock=clock,
        photos=photos,
        campaign_id=campaign_id,
        checklist_version_id=version_id,
        bot_username=config.username or None,
        takeover_after_minutes=config.takeover_after_minutes,
        fix_at_once_days=config.fix_at_once_days,
        ask_again=router.ask_current,
        workers=Workers(config.workers),
        local_page=local_page_of(config),
        evidence=config.evidence,
    )


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure and keep it for the operator (``xiaoan errors``), mark the
    update done (so it is not fed again), and tell the person.

    The failure is kept even when the update was applied before it (a reply
    that failed after the commit): the operator sees every one.
    """
    error = context.error
    if unreachable(error):
        # The Bot API out of reach (Telegram down, or the local chat's process gone, which
        # bot.local_process says in its own line): one line, the cause named, no traceback,
        # which would say nothing more than where the request was when the network failed.
        log.warning(
            "%s: the Bot API did not answer (%s)",
            "polling" if update is None else "update failed",
            _scrub(f"{type(error).__name__}: {error}", context.bot.token)[:200],
        )
    else:
        log.error("update failed: %s", type(error).__name__, exc_info=error)
    if not isinstance(update, Update):
        return
    services: Services = context.bot_data["services"]
    user = update.effective_user
    kind = next((k for k in ALLOWED_UPDATES if getattr(update, k, None) is not None), "other")
    await inbox.record_error(
        services.db,
        update.update_id,
        tg_user_id=user.id if user else None,
        kind=kind,
        error=_scrub(repr(context.error), context.bot.token)[:500],
    )
    if update.effective_chat is not None and update.effective_chat.type == "private":
        try:
            await Ctx(update, context).reply("error.internal")
        except Exception as error:  # Telegram may be what failed: it is logged
            log.warning("could not tell of the failure: %s", type(error).__name__)


class NetworkErrorsInOneLine(logging.Filter):
    """python-telegram-bot's own reports of a network failure (its polling, its last
    ``getUpdates`` while stopping, a polling call left behind as it stops) in one line:
    the message and the cause, no traceback.

    A Bot API out of reach is a state, not a bug: the traceback only shows where the
    request was, and several of them buried the one line that says what happened.
    Other errors keep their tracebacks.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if unreachable(error):
            cause = f"{type(error).__name__}: {error}"
            # The first line: asyncio adds the task's whole repr on the next ones.
            said = record.getMessage().splitlines()[0]
            record.msg, record.args = f"{said} ({cause})", None
            record.exc_info, record.exc_text = None, None
        return True


def unreachable(error: object) -> bool:
    """A network failure: not Telegram's refusal (python-telegram-bot's ``BadRequest`` is a
    ``NetworkError`` too, but says the call was wrong, which is a bug to trace)."""
    return isinstance(error, NetworkError) and not isinstance(error, BadRequest)


# Where python-telegram-bot logs failures of polling (its network loop logs as "telegram.ext");
# asyncio: a polling call that failed as polling stopped is "never retrieved" by it.
PTB_LOGGERS = ("telegram.ext", "telegram.ext.Updater", "telegram.ext.Application", "asyncio")


def network_errors_in_one_line() -> None:
    """Install ``NetworkErrorsInOneLine`` on python-telegram-bot's loggers (once)."""
    for name in PTB_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, NetworkErrorsInOneLine) for f in logger.filters):
            logger.addFilter(NetworkErrorsInOneLine())


def _scrub(text: str, token: str) -> str:
    """The token never lands in the database (a network error may quote a URL)."""
    return text.replace(token, "<token>") if token else text


async def send_outbox(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Job: send what the outbox holds and is due."""
    sent = await context.bot_data["sender"].send_due()
    if sent:
        log.info("outbox: sent %d message(s)", sent)


async def plan_reminders(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Job: plan the reminders due now into the outbox."""
    await context.bot_data["reminders"].run()


async def record_heads(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Daily: record every chain's head, so that ``xiaoan verify --since`` can prove
    nothing before it changed; the log keeps the digest outside the database too."""
    services: Services = context.bot_data["services"]
    async with services.db.write() as tx:
        digest = await chain.record_anchor(tx)
    log.info("chain heads recorded: %s", digest)


async def sync_menus(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Once after start: each person's menu set again where their roles or the texts changed."""
    changed = await menu.sync_all(context.bot, context.bot_data["services"].db)
    if changed:
        log.info("menus: set %d person(s)' command menu", changed)


async def replay_inbox(app: Application[Any, Any, Any, Any, Any, Any]) -> int:
    """Feed again the updates received but not applied before the bot stopped."""
    db = app.bot_data["services"].db
    pending = await inbox.undone(db)
    batch = sort_batch(pending, app.bot)
    for raw, why in batch.malformed:  # stored, then the bot stopped before marking it
        await inbox.mark_done(db, raw["update_id"], error=why)
    for update in batch.parsed:
        await app.update_queue.put(update)
    return len(batch.parsed)


async def prune_inbox(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Daily: forget updates applied more than ``INBOX_KEEP`` ago; they are never fed again."""
    services: Services = context.bot_data["services"]
    cutoff = services.clock.now() - INBOX_KEEP
    removed = await inbox.prune(
        services.db,
        cutoff.isoformat(timespec="seconds"),
        (services.clock.now() - ERRORS_KEEP).isoformat(timespec="seconds"),
    )
    if removed:
        log.info("inbox: forgot %d applied update(s)", removed)


def add_handlers(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Every handler, in one place."""
    app.add_handler(TypeHandler(Update, guard), group=-1)
    commands = {
        "start": join.start,
        "help": common.help_command,
        "whoami": common.whoami,
        "cancel": common.cancel,
        "inspect": inspect.inspect_command,
        "addschool": admin.add_school,
        "addbuilding": admin.add_building,
        "invite": admin.invite,
        "invitations": admin.list_invitations,
        "tasks": tasks.tasks_command,
        "hazard": tasks.hazard_command,
        "export": reports.export_command,
        "progress": reports.progress_command,
        "reminders": reminders.reminders_command,
        "supervise": supervise.supervise_command,
        "visits": supervise.visits_command,
        "draw": draw.draw_command,
    }
    for name, callback in commands.items():
        app.add_handler(CommandHandler(name, callback))
    # Every button kind registers itself (handlers.buttons); one handler unpacks them all,
    # answering old or unknown data as stale.
    app.add_handler(CallbackQueryHandler(buttons.on_tap))
    app.add_handler(ChatMemberHandler(common.chat_status, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(MessageHandler(filters.CONTACT, router.on_contact))
    app.add_handler(MessageHandler(filters.PHOTO | filters.Document.IMAGE, router.on_photo))
    app.add_handler(MessageHandler(filters.Document.ALL, router.on_document))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, router.on_text))
    app.add_handler(MessageHandler(filters.Regex(tasks.CARD_COMMAND), tasks.hazard_command))
    app.add_handler(MessageHandler(filters.COMMAND, common.unknown_command))
    app.add_handler(MessageHandler(filters.ALL, router.on_other))
    app.add_error_handler(on_error)


def build_application(
    config: Config,
    clock: Clock,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
    rate_limiter: BaseRateLimiter[Any] | None = None,
    update_processor: BaseUpdateProcessor | None = None,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """The Application; ``request`` objects, the pace and the lanes are replaced in tests."""
    if updates_request is None:
        updates_request = inbox_request(request)

    async def post_init(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        services = await open_services(config, clock)
        app.bot_data["services"] = services
        if isinstance(updates_request, Inbox):
            updates_request.db = services.db
            updates_request.bot = app.bot
        await menu.set_stranger_menu(app.bot)
        replayed = await replay_inbox(app)
        if replayed:
            log.info("fed again %d update(s) received before the last stop", replayed)
        reminders = Reminders(
            services.db,
            clock,
            config.reminders,
            services.campaign_id,
            wake=lambda: services.wake_sender(),
            workers=services.workers,
        )
        app.bot_data["reminders"] = reminders
        sender = Sender(
            app.bot,
            services.db,
            clock,
            services.photos,
            after_blocked=reminders.run,
            quiet=reminders.holding,
            # The local chat says in getMe that it deduplicates repeated sends.
            idempotent=bool(app.bot.bot.api_kwargs.get(IDEMPOTENCY_FEATURE)),
        )
        app.bot_data["sender"] = sender
        await sender.recover()  # before the first pass: what a crash left in flight
        if app.job_queue is not None:
            jobs = app.job_queue
            jobs.run_once(resume_job, when=0, name="resume")
            jobs.run_repeating(prune_inbox, interval=timedelta(days=1), first=60)
            jobs.run_repeating(
                record_heads, interval=timedelta(days=1), first=120, name="chain_heads"
            )
            jobs.run_once(sync_menus, when=2, name="menus")
            jobs.run_repeating(send_outbox, interval=OUTBOX_EVERY, first=1, name="outbox")
            jobs.run_repeating(
                plan_reminders,
                interval=timedelta(minutes=config.reminders.plan_every_minutes),
                first=5,
                name="reminders",
            )
            services.wake_sender = lambda: jobs.run_once(send_outbox, when=0)  # type: ignore[assignment]
            # A notice queued in a transaction wakes the sender once that commits.
            services.db.on_outbox = services.wake_sender
        app.bot_data["collect_as_before"] = collect_less()

    async def post_shutdown(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        app.bot_data.pop("collect_as_before", lambda: None)()
        services = app.bot_data.get("services")
        if services is not None:
            await app.bot_data["guard"].flush(services.db)
            await journeys.write_shown(services.db)  # questions shown, not yet written down
            await services.db.close()
            await asyncio.to_thread(services.workers.close)

    bot = PollingBot(
        config.token,
        base_url=config.api_base_url,
        base_file_url=config.api_file_url,
        request=request or HTTPXRequest(connection_pool_size=8),
        get_updates_request=updates_request,
        # The limiter paces requests within Telegram's flood limits and waits out a
        # RetryAfter (up to 3 times) in that chat alone, so a person tapping fast
        # through a walk loses no answer and holds up nobody else. The outbox's
        # sender paces itself per chat; what still fails after these retries it
        # keeps with its own retry time.
        rate_limiter=rate_limiter or ChatRateLimiter(max_retries=3),
        arrivals=updates_request.arrivals if isinstance(updates_request, Inbox) else None,
    )
    app = (
        ApplicationBuilder()
        .bot(bot)
        .concurrent_updates(update_processor or PersonLanes())
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build()
    )
    app.bot_data["guard"] = Guard()
    network_errors_in_one_line()
    add_handlers(app)
    return app
