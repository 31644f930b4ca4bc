"""Settings: named, typed, each with help text; read from a TOML file.

Every setting has a dotted name (``section.key``), a default and a line of
help; ``config.example.toml`` documents all of them (a test keeps it so).
A wrong value is reported in one line that names the key.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ledger.errors import ConfigError
from ledger.evidence import EvidenceRules
from scheduler.rules import ReminderRules

TOKEN_ENV = "XIAOAN_TELEGRAM_TOKEN"  # noqa: S105 - the name of a variable, not a secret


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str


SETTINGS = (
    Setting("bot.token", "", f"Telegram bot token from @BotFather; {TOKEN_ENV} overrides it"),
    Setting("bot.username", "", "the bot's username, for invitation links (t.me/<username>)"),
    Setting(
        "bot.api_base_url",
        "https://api.telegram.org/bot",
        "Bot API address; point it at a self-hosted Telegram Bot API server",
    ),
    Setting(
        "bot.api_file_url",
        "https://api.telegram.org/file/bot",
        "Bot API file download address (self-hosted server: its /file/bot path)",
    ),
    Setting("campaign.name", "校园消防安全专项整治“回头看”", "the campaign in force"),
    Setting("campaign.timezone", "Asia/Shanghai", "IANA time zone for dates and deadlines"),
    Setting("campaign.self_inspection_due", None, "self-inspection report due (YYYY-MM-DD)"),
    Setting("campaign.rectification_due", None, "rectification due (YYYY-MM-DD)"),
    Setting("campaign.supervision_due", None, "supervision due (YYYY-MM-DD)"),
    Setting("campaign.checklist", "", "a checklist TOML file; empty: the built-in checklist"),
    Setting("storage.database", "data/xiaoan.sqlite3", "the SQLite database file"),
    Setting("storage.photos", "data/photos", "folder where photos are kept by SHA-256"),
    Setting("photos.max_bytes", 20 * 1024 * 1024, "largest photo file accepted, in bytes"),
    Setting(
        "photos.max_pixels",
        50_000_000,
        "largest photo in pixels (width × height); larger is refused as a bomb",
    ),
    Setting("photos.max_side", 2048, "stored photos are scaled so the long side is at most this"),
    Setting(
        "evidence.match_distance",
        24,
        "perceptual-hash bits (of 64) within which a photo on record is compared to a new one",
    ),
    Setting(
        "evidence.match_similarity_percent",
        90,
        "a compared photo whose detail correlates this much (1..100) is a reused photo",
    ),
    Setting(
        "evidence.after_photo_max_age_days",
        3,
        "an after-photo taken more than this many days before the fix is reported is flagged",
    ),
    Setting(
        "workers.processes",
        2,
        "worker processes for exports and photos, so that taps never wait behind them"
        " (0: in a thread of the bot's own process)",
    ),
    Setting(
        "walk.takeover_after_minutes", 30, "a walk idle this long may be taken over by a colleague"
    ),
    Setting("walk.fix_at_once_days", 7, "deadline for a hazard fixed at once, in days"),
    Setting(
        "reminders.before_deadline_days",
        "3,1,0",
        "days before a hazard's deadline when its responsible person is reminded (0: the day)",
    ),
    Setting(
        "reminders.overdue_every_days", 1, "while overdue, remind the responsible person this often"
    ),
    Setting(
        "reminders.escalate_leader_days", 1, "days overdue before the school's leaders are told"
    ),
    Setting("reminders.escalate_principal_days", 3, "days overdue before the principal is told"),
    Setting("reminders.escalate_taskforce_days", 7, "days overdue before the task force is told"),
    Setting(
        "reminders.verify_after_days",
        2,
        "days a fix may wait for verification before leaders are nudged",
    ),
    Setting(
        "reminders.phase_days_before",
        "7,1",
        "days before a phase deadline when lagging schools are nudged",
    ),
    Setting("reminders.digest_weekday", 1, "weekday of the weekly digest (1 Monday .. 7 Sunday)"),
    Setting("reminders.digest_hour", 9, "hour of the weekly digest"),
    Setting("reminders.send_hour", 9, "hour reminders go out, unless a person chose another one"),
    Setting("reminders.quiet_start", 21, "quiet hours start: nothing is sent from this hour"),
    Setting("reminders.quiet_end", 8, "quiet hours end: what waited is sent from this hour"),
    Setting("reminders.plan_every_minutes", 5, "how often reminders are planned, in minutes"),
    Setting(
        "local.host",
        "127.0.0.1",
        "local chat (run without a token): address the chat page listens on; 0.0.0.0 for all",
    ),
    Setting("local.port", 8080, "local chat: port of the chat page"),
    Setting(
        "local.api_host", "127.0.0.1", "local chat: address of its Bot API side (keep loopback)"
    ),
    Setting("local.api_port", 8081, "local chat: port of its Bot API side, for the bot only"),
    Setting(
        "local.public_url",
        "",
        "local chat: the page's address as people reach it (behind a proxy); empty: host:port",
    ),
    Setting(
        "local.database",
        "",
        "local chat: its SQLite file (people, messages); empty: localchat.sqlite3 beside the bot's",
    ),
    Setting(
        "local.files", "", "local chat: folder of files sent in chat; empty: localchat-files beside"
    ),
    Setting("local.max_upload_bytes", 20 * 1024 * 1024, "local chat: largest upload from a page"),
    Setting(
        "local.session_days",
        30,
        "local chat: a session ends after this many days without use (then: a new invitation)",
    ),
    Setting(
        "local.max_streams",
        200,
        "local chat: most open live-update streams in all; more are answered 429",
    ),
    Setting(
        "local.max_streams_per_session",
        4,
        "local chat: most open live-update streams of one browser session",
    ),
    Setting(
        "local.session_requests_per_second",
        10,
        "local chat: requests a session may make each second, after a burst",
    ),
    Setting(
        "local.session_requests_burst",
        100,
        "local chat: requests a session may make at once",
    ),
    Setting(
        "local.address_requests_per_second",
        30,
        "local chat: requests one address may make each second, after a burst",
    ),
    Setting(
        "local.address_requests_burst",
        300,
        "local chat: requests one address may make at once",
    ),
    Setting(
        "local.joins_per_hour",
        30,
        "local chat: joins (new chats) one address may make each hour, after a burst",
    ),
    Setting(
        "local.joins_burst",
        10,
        "local chat: joins one address may make at once",
    ),
    Setting(
        "local.flood_limits",
        False,
        "local chat: answer the bot 429 past Telegram's flood limits, as Telegram would (tests)",
    ),
    Setting(
        "local.client_ip_header",
        "",
        "local chat: behind a proxy on loopback, the header with the client's address (X-Real-IP)",
    ),
)
_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Config:
    token: str = field(repr=False)  # never printed
    username: str
    api_base_url: str
    api_file_url: str
    campaign_name: str
    timezone: ZoneInfo
    self_inspection_due: date | None
    rectification_due: date | None
    supervision_due: date | None
    checklist: Path | None
    database: Path
    photos: Path
    max_bytes: int
    max_pixels: int
    max_side: int
    takeover_after_minutes: int
    fix_at_once_days: int
    workers: int = 2
    reminders: ReminderRules = field(default_factory=ReminderRules)
    evidence: EvidenceRules = field(default_factory=EvidenceRules)
    local_host: str = "127.0.0.1"
    local_port: int = 8080
    local_api_host: str = "127.0.0.1"
    local_api_port: int = 8081
    local_public_url: str = ""
    local_database: Path = Path("data/localchat.sqlite3")
    local_files: Path = Path("data/localchat-files")
    local_max_upload_bytes: int = 20 * 1024 * 1024
    local_session_days: int = 30
    local_max_streams: int = 200
    local_max_streams_per_session: int = 4
    local_session_requests_per_second: int = 10
    local_session_requests_burst: int = 100
    local_address_requests_per_second: int = 30
    local_address_requests_burst: int = 300
    local_joins_per_hour: int = 30
    local_joins_burst: int = 10
    local_client_ip_header: str = ""
    local_flood_limits: bool = False


def _flatten(table: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for section, values in table.items():
        if not isinstance(values, dict):
            raise ConfigError(f"config: '{section}' must be a [section]")
        for key, value in values.items():
            flat[f"{section}.{key}"] = value
    return flat


def _int(name: str, value: Any, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"config: '{name}' must be a whole number ≥ {low}, not {value!r}")
    return value


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"config: '{name}' must be true or false")
    return value


def _str(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"config: '{name}' must be text, not {value!r}")
    return value


def _date(name: str, value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):  # a TOML date-time is a date too: refuse the time
        raise ConfigError(f"config: '{name}' must be a date YYYY-MM-DD without a time")
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"config: '{name}' must be a date YYYY-MM-DD, not {value!r}") from None


def _days(name: str, value: Any) -> tuple[int, ...]:
    """A list of day counts written "3,1,0" (largest first once read)."""
    try:
        days = sorted({int(part) for part in _str(name, value).split(",")}, reverse=True)
    except ValueError:
        days = [-1]
    if not days or days[-1] < 0:
        raise ConfigError(f"config: '{name}' must be day counts like \"3,1,0\", not {value!r}")
    return tuple(days)


def _hour(name: str, value: Any) -> int:
    hour = _int(name, value, low=0)
    if hour > 23:
        raise ConfigError(f"config: '{name}' must be an hour 0..23, not {value!r}")
    return hour


def _reminders(v: dict[str, Any]) -> ReminderRules:
    """The [reminders] section, checked as a whole (the send hour outside quiet hours)."""
    weekday = _int("reminders.digest_weekday", v["reminders.digest_weekday"])
    if weekday > 7:
        raise ConfigError(f"config: 'reminders.digest_weekday' must be 1..7, not {weekday!r}")
    rules = ReminderRules(
        before_deadline_days=_days(
            "reminders.before_deadline_days", v["reminders.before_deadline_days"]
        ),
        overdue_every_days=_int("reminders.overdue_every_days", v["reminders.overdue_every_days"]),
        escalate_leader_days=_int(
            "reminders.escalate_leader_days", v["reminders.escalate_leader_days"]
        ),
        escalate_principal_days=_int(
            "reminders.escalate_principal_days", v["reminders.escalate_principal_days"]
        ),
        escalate_taskforce_days=_int(
            "reminders.escalate_taskforce_days", v["reminders.escalate_taskforce_days"]
        ),
        verify_after_days=_int("reminders.verify_after_days", v["reminders.verify_after_days"]),
        phase_days_before=_days("reminders.phase_days_before", v["reminders.phase_days_before"]),
        digest_weekday=weekday,
        digest_hour=_hour("reminders.digest_hour", v["reminders.digest_hour"]),
        send_hour=_hour("reminders.send_hour", v["reminders.send_hour"]),
        quiet_start=_hour("reminders.quiet_start", v["reminders.quiet_start"]),
        quiet_end=_hour("reminders.quiet_end", v["reminders.quiet_end"]),
        plan_every_minutes=_int("reminders.plan_every_minutes", v["reminders.plan_every_minutes"]),
    )
    for name in ("send_hour", "digest_hour"):
        if getattr(rules, name) not in rules.allowed_hours():
            raise ConfigError(f"config: 'reminders.{name}' falls in the quiet hours")
    return rules


def load_config(path: Path | None, env: dict[str, str] | None = None) -> Config:
    """Read the file (or defaults only), then the token from the environment."""
    env = dict(os.environ) if env is None else env
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = _flatten(tomllib.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise ConfigError(f"config: file {path} not found") from None
        except UnicodeDecodeError:
            raise ConfigError(f"config: {path} is not UTF-8 text") from None
        except OSError as exc:
            raise ConfigError(f"config: cannot read {path}: {exc.strerror or exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config: {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(raw) - set(_BY_NAME))
    if unknown:
        raise ConfigError(f"config: unknown setting '{unknown[0]}'")
    v = {name: raw.get(name, s.default) for name, s in _BY_NAME.items()}
    try:
        tz = ZoneInfo(_str("campaign.timezone", v["campaign.timezone"]))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"config: 'campaign.timezone' is not a known time zone: {v['campaign.timezone']!r}"
        ) from None
    checklist = _str("campaign.checklist", v["campaign.checklist"])
    token = env.get(TOKEN_ENV) or _str("bot.token", v["bot.token"])
    return Config(
        token=token.strip(),
        username=_str("bot.username", v["bot.username"]).lstrip("@"),
        api_base_url=_str("bot.api_base_url", v["bot.api_base_url"]),
        api_file_url=_str("bot.api_file_url", v["bot.api_file_url"]),
        campaign_name=_str("campaign.name", v["campaign.name"]),
        timezone=tz,
        self_inspection_due=_date(
            "campaign.self_inspection_due", v["campaign.self_inspection_due"]
        ),
        rectification_due=_date("campaign.rectification_due", v["campaign.rectification_due"]),
        supervision_due=_date("campaign.supervision_due", v["campaign.supervision_due"]),
        checklist=Path(checklist) if checklist else None,
        database=Path(_str("storage.database", v["storage.database"])),
        photos=Path(_str("storage.photos", v["storage.photos"])),
        max_bytes=_int("photos.max_bytes", v["photos.max_bytes"]),
        max_pixels=_int("photos.max_pixels", v["photos.max_pixels"]),
        max_side=_int("photos.max_side", v["photos.max_side"], low=64),
        takeover_after_minutes=_int(
            "walk.takeover_after_minutes", v["walk.takeover_after_minutes"]
        ),
        fix_at_once_days=_int("walk.fix_at_once_days", v["walk.fix_at_once_days"]),
        workers=_int("workers.processes", v["workers.processes"], low=0),
        reminders=_reminders(v),
        evidence=_evidence(v),
        **_local(v),
    )


def _evidence(v: dict[str, Any]) -> EvidenceRules:
    similarity = _int("evidence.match_similarity_percent", v["evidence.match_similarity_percent"])
    if similarity > 100:
        raise ConfigError(
            f"config: 'evidence.match_similarity_percent' must be 1..100, not {similarity!r}"
        )
    distance = _int("evidence.match_distance", v["evidence.match_distance"], low=0)
    if distance > 64:
        raise ConfigError(f"config: 'evidence.match_distance' must be 0..64, not {distance!r}")
    return EvidenceRules(
        match_distance=distance,
        match_similarity_percent=similarity,
        after_photo_max_age_days=_int(
            "evidence.after_photo_max_age_days", v["evidence.after_photo_max_age_days"], low=0
        ),
    )


def _local(v: dict[str, Any]) -> dict[str, Any]:
    """The local chat's settings; its files sit beside the bot's database unless named."""
    beside = Path(_str("storage.database", v["storage.database"])).parent
    database = _str("local.database", v["local.database"])
    files = _str("local.files", v["local.files"])
    return {
        "local_host": _str("local.host", v["local.host"]),
        "local_port": _int("local.port", v["local.port"], low=0),
        "local_api_host": _str("local.api_host", v["local.api_host"]),
        "local_api_port": _int("local.api_port", v["local.api_port"], low=0),
        "local_public_url": _str("local.public_url", v["local.public_url"]).rstrip("/"),
        "local_database": Path(database) if database else beside / "localchat.sqlite3",
        "local_files": Path(files) if files else beside / "localchat-files",
        "local_max_upload_bytes": _int("local.max_upload_bytes", v["local.max_upload_bytes"]),
        "local_session_days": _int("local.session_days", v["local.session_days"]),
        "local_max_streams": _int("local.max_streams", v["local.max_streams"]),
        "local_max_streams_per_session": _int(
            "local.max_streams_per_session", v["local.max_streams_per_session"]
        ),
        "local_session_requests_per_second": _int(
            "local.session_requests_per_second", v["local.session_requests_per_second"]
        ),
        "local_session_requests_burst": _int(
            "local.session_requests_burst", v["local.session_requests_burst"]
        ),
        "local_address_requests_per_second": _int(
            "local.address_requests_per_second", v["local.address_requests_per_second"]
        ),
        "local_address_requests_burst": _int(
            "local.address_requests_burst", v["local.address_requests_burst"]
        ),
        "local_joins_per_hour": _int("local.joins_per_hour", v["local.joins_per_hour"]),
        "local_joins_burst": _int("local.joins_burst", v["local.joins_burst"]),
        "local_client_ip_header": _str("local.client_ip_header", v["local.client_ip_header"]),
        "local_flood_limits": _bool("local.flood_limits", v["local.flood_limits"]),
    }
