"""The local channel's own SQLite file: people, sessions, messages, updates, files.

It plays Telegram's memory: what was said in each chat (so a reload shows
the chat again), the updates the bot has not confirmed yet (so getUpdates
after a restart hands them out again), and the files by SHA-256 on disk.

Every statement here takes microseconds (small rows, by key), so they run
on the event loop itself through plain ``sqlite3``: a trip to a database
thread and back would cost more than the statement. Commits are in WAL mode
with ``synchronous = NORMAL``: what was committed survives the local chat's
process being killed (the WAL is in the operating system's hands at once);
a power cut may lose the last moments of the chat's history and of updates
not yet fetched, which the bot's own database does not depend on (what the
bot received it keeps in its inbox, with every fsync, before confirming).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS people (
    user_id     INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    language    TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES people(user_id),
    created_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id     INTEGER NOT NULL,
    from_bot    INTEGER NOT NULL,
    date        INTEGER NOT NULL,
    body        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS messages_by_chat ON messages (chat_id, version);
CREATE TABLE IF NOT EXISTS updates (
    update_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    body        TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    file_id     TEXT PRIMARY KEY,
    sha256      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    name        TEXT,
    mime        TEXT,
    width       INTEGER,
    height      INTEGER,
    chat_id     INTEGER
);
CREATE TABLE IF NOT EXISTS callbacks (
    id          TEXT PRIMARY KEY,
    chat_id     INTEGER NOT NULL,
    message_id  INTEGER NOT NULL
);
-- Command menus by scope (default, chat:<id>, ...) and language ('' for any).
DROP TABLE IF EXISTS commands;
CREATE TABLE IF NOT EXISTS command_menus (
    scope       TEXT NOT NULL,
    language    TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (scope, language)
);
"""

# Upgrades of a file made by an older version, in order; ``PRAGMA user_version``
# counts those applied. SCHEMA above is the first version and stays as it was.
UPGRADES: tuple[str, ...] = (
    # 1: a message's file as a column (a file is served only where it appears),
    # versions indexed (each write reads the highest), sessions that end.
    """
    ALTER TABLE messages ADD COLUMN file_id TEXT;
    UPDATE messages SET file_id = CASE
        WHEN from_bot = 1 THEN json_extract(body, '$.file_id')
        ELSE COALESCE(json_extract(body, '$.tg.photo[#-1].file_id'),
                      json_extract(body, '$.tg.document.file_id'))
    END;
    CREATE INDEX IF NOT EXISTS messages_by_file ON messages (chat_id, file_id);
    CREATE INDEX IF NOT EXISTS messages_by_version ON messages (version);
    ALTER TABLE sessions ADD COLUMN last_seen TEXT;
    UPDATE sessions SET last_seen = created_at;
    """,
    # 2: the bot's sends under an idempotency key: the messages the first one made.
    """
    CREATE TABLE IF NOT EXISTS sent_keys (
        chat_id     INTEGER NOT NULL,
        key         TEXT NOT NULL,
        message_ids TEXT NOT NULL,
        PRIMARY KEY (chat_id, key)
    );
    """,
)

log = logging.getLogger(__name__)

# How often the WAL is copied back into the database file (in a thread).
CHECKPOINT_SECONDS = 1.0

# A session's last use is written at most this often.
SEEN_EVERY = timedelta(hours=1)
# People remembered at most (a few hundred bytes each).
REMEMBERED = 20_000

# Private chat ids of local people start here, far from small numbers people might guess.
FIRST_USER_ID = 700_000_001


@dataclass(frozen=True)
class StoredFile:
    """A file kept by the channel: what Telegram's File object tells, plus where it is."""

    file_id: str
    sha256: str
    size: int
    name: str | None
    mime: str | None
    width: int | None
    height: int | None
    chat_id: int | None

    @property
    def unique_id(self) -> str:
        """Telegram's file_unique_id: the same for the same content."""
        return self.sha256[:16]


@dataclass(frozen=True)
class Message:
    """One message of a chat: who sent it, its Telegram-like body, its version."""

    id: int
    chat_id: int
    from_bot: bool
    date: int
    body: dict[str, Any]
    version: int
    deleted: bool


def _message(row: sqlite3.Row) -> Message:
    """A row of ``messages`` as a ``Message``."""
    return Message(
        id=row["id"],
        chat_id=row["chat_id"],
        from_bot=bool(row["from_bot"]),
        date=row["date"],
        body=json.loads(row["body"]),
        version=row["version"],
        deleted=bool(row["deleted"]),
    )


def _statements(script: str) -> list[str]:
    """An upgrade script's statements (none of them holds a ';' inside)."""
    return [part.strip() for part in script.split(";") if part.strip()]


def file_of(from_bot: bool, body: dict[str, Any]) -> str | None:
    """The file a message shows (the bot's photo or document, or a person's upload)."""
    if from_bot:
        return body.get("file_id") if body.get("kind") in ("photo", "document") else None
    tg = body.get("tg") or {}
    if tg.get("photo"):
        return str(tg["photo"][-1]["file_id"])
    if tg.get("document"):
        return str(tg["document"]["file_id"])
    return None


def _hash(token: str) -> str:
    """Sessions are kept as hashes: a copied database file opens no chat."""
    return hashlib.sha256(token.encode()).hexdigest()


class Store:
    """One connection, used on the event loop; a method's statements run without an
    ``await`` between them, so each write is whole (the lock covers the one that awaits)."""

    def __init__(self, path: Path, files: Path) -> None:
        self.path = path
        self.files = files
        self._db: sqlite3.Connection | None = None
        self._checkpoints: asyncio.Task[None] | None = None
        # Most Bot API calls name a chat, which is a person: remembered once read, as a
        # person never changes once joined. (Sessions are read each time: they end by
        # logout, expiry, or an operator's deleting them in the file.)
        self._people: dict[int, sqlite3.Row] = {}

    async def open(self) -> Store:
        """Open (creating the file, its folder and the schema when missing)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.files.mkdir(parents=True, exist_ok=True)
        # isolation_level None: transactions are ours (BEGIN … COMMIT), as aiosqlite's were not.
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=10)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        # A checkpoint writes the WAL back into the file and syncs both: on a busy disk that
        # takes long enough to stall every page, so it runs in a thread, not in a commit.
        self._db.execute("PRAGMA wal_autocheckpoint=0")
        self._db.executescript(SCHEMA)
        await self._upgrade()
        self._checkpoints = asyncio.create_task(self._checkpoint_every(CHECKPOINT_SECONDS))
        return self

    async def _checkpoint_every(self, seconds: float) -> None:
        """Copy the WAL back into the database file now and then, on a connection of its own
        in a worker thread (a passive checkpoint: writers never wait for it)."""
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        failed = False
        try:
            while True:
                await asyncio.sleep(seconds)
                try:
                    await asyncio.to_thread(conn.execute, "PRAGMA wal_checkpoint(PASSIVE)")
                    failed = False
                except (OSError, sqlite3.Error) as error:  # out of files, say: next time
                    if not failed:
                        log.warning("local chat: a checkpoint failed (%s); trying again", error)
                    failed = True
        finally:
            conn.close()

    async def _upgrade(self) -> None:
        """Bring a file of an older version up to date, each step whole or not at all."""
        row = await self._one("PRAGMA user_version")
        done = int(row[0]) if row else 0
        for number, script in enumerate(UPGRADES[done:], start=done + 1):
            # executescript would commit on its own; one transaction per step instead.
            with self._transaction():
                for statement in _statements(script):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {number}")

    async def close(self) -> None:
        """Close the connection (safe to call twice)."""
        if self._checkpoints is not None:
            self._checkpoints.cancel()
            with suppress(asyncio.CancelledError):
                await self._checkpoints
            self._checkpoints = None
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        """The open connection."""
        assert self._db is not None, "store used before open()"
        return self._db

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any error."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    async def _one(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        """One row or None."""
        row: sqlite3.Row | None = self.db.execute(sql, args).fetchone()
        return row

    async def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Every row."""
        return list(self.db.execute(sql, args).fetchall())

    async def _write(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        """One statement, committed (autocommit); returns the new row id."""
        return self.db.execute(sql, args).lastrowid or 0

    # --- people and sessions -----------------------------------------------------
    async def add_person(self, name: str, language: str, now: str) -> tuple[int, str]:
        """A new person with their own chat; returns the user id and a session token."""
        token = secrets.token_urlsafe(32)
        with self._transaction():
            top = await self._one("SELECT MAX(user_id) AS top FROM people")
            user_id = max(FIRST_USER_ID, (top["top"] or 0) + 1 if top else 0)
            self.db.execute(
                "INSERT INTO people (user_id, name, language, created_at) VALUES (?, ?, ?, ?)",
                (user_id, name, language, now),
            )
            self.db.execute(
                "INSERT INTO sessions (token_hash, user_id, created_at, last_seen)"
                " VALUES (?, ?, ?, ?)",
                (_hash(token), user_id, now, now),
            )
        return user_id, token

    async def person_of_session(
        self, token: str, now: datetime, lasts: timedelta
    ) -> sqlite3.Row | None:
        """The person whose browser holds this session token, or None (unknown or expired).

        A session lasts ``lasts`` after its last use; use is noted at most hourly,
        so reading a chat does not write on every request.
        """
        row = await self._one(
            "SELECT p.*, s.last_seen FROM sessions s JOIN people p ON p.user_id = s.user_id"
            " WHERE s.token_hash = ?",
            (_hash(token),),
        )
        if row is None:
            return None
        seen = datetime.fromisoformat(row["last_seen"])
        if now - seen >= lasts:
            await self.end_session(token)
            return None
        if now - seen >= SEEN_EVERY:
            await self._write(
                "UPDATE sessions SET last_seen = ? WHERE token_hash = ?",
                (now.isoformat(timespec="seconds"), _hash(token)),
            )
        return row

    async def end_session(self, token: str) -> None:
        """Logout (or expiry): the token opens nothing any more."""
        await self._write("DELETE FROM sessions WHERE token_hash = ?", (_hash(token),))

    async def person(self, user_id: int) -> sqlite3.Row | None:
        """A local person by user id (= their chat id), or None."""
        known = self._people.get(user_id)
        if known is None:
            known = await self._one("SELECT * FROM people WHERE user_id = ?", (user_id,))
            if known is not None and len(self._people) < REMEMBERED:
                self._people[user_id] = known
        return known

    # --- messages ------------------------------------------------------------------
    async def add_message(
        self, chat_id: int, from_bot: bool, date: int, body: dict[str, Any]
    ) -> Message:
        """Store a message with the next version; its id is the message id."""
        with self._transaction():
            version = self._next_version()
            cursor = self.db.execute(
                "INSERT INTO messages (chat_id, from_bot, date, body, version, file_id)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    chat_id,
                    int(from_bot),
                    date,
                    json.dumps(body, ensure_ascii=False),
                    version,
                    file_of(from_bot, body),
                ),
            )
            message_id = cursor.lastrowid or 0
        return Message(message_id, chat_id, from_bot, date, body, version, False)

    async def add_messages_once(
        self, chat_id: int, date: int, bodies: list[dict[str, Any]], key: str
    ) -> tuple[list[Message], bool]:
        """Store the bot's messages under an idempotency key, in one transaction.

        A key already used in this chat stores nothing and gives back the
        messages its first send made; the flag says whether they are new.
        """
        with self._transaction():
            earlier = await self._sent_under(chat_id, key)
            if earlier is not None:
                return earlier, False
            made = []
            for body in bodies:
                version = self._next_version()
                cursor = self.db.execute(
                    "INSERT INTO messages (chat_id, from_bot, date, body, version, file_id)"
                    " VALUES (?, 1, ?, ?, ?, ?)",
                    (
                        chat_id,
                        date,
                        json.dumps(body, ensure_ascii=False),
                        version,
                        file_of(True, body),
                    ),
                )
                message_id = cursor.lastrowid or 0
                made.append(Message(message_id, chat_id, True, date, body, version, False))
            self.db.execute(
                "INSERT INTO sent_keys (chat_id, key, message_ids) VALUES (?, ?, ?)",
                (chat_id, key, json.dumps([m.id for m in made])),
            )
        return made, True

    async def sent_under(self, chat_id: int, key: str) -> list[Message] | None:
        """The messages a send with this idempotency key made in this chat, or None."""
        return await self._sent_under(chat_id, key)

    async def _sent_under(self, chat_id: int, key: str) -> list[Message] | None:
        row = await self._one(
            "SELECT message_ids FROM sent_keys WHERE chat_id = ? AND key = ?", (chat_id, key)
        )
        if row is None:
            return None
        found = []
        for message_id in json.loads(row["message_ids"]):
            message = await self._one("SELECT * FROM messages WHERE id = ?", (message_id,))
            if message is not None:
                found.append(_message(message))
        return found

    def _next_version(self) -> int:
        """One more than any message's version (called in a write transaction; indexed)."""
        row = self.db.execute("SELECT COALESCE(MAX(version), 0) + 1 AS v FROM messages").fetchone()
        return int(row["v"])

    async def message(self, chat_id: int, message_id: int) -> Message | None:
        """A visible message of this chat, or None (another chat's id finds nothing)."""
        row = await self._one(
            "SELECT * FROM messages WHERE chat_id = ? AND id = ? AND deleted = 0",
            (chat_id, message_id),
        )
        return _message(row) if row else None

    async def replace_body(self, message: Message, body: dict[str, Any]) -> Message:
        """An edit: new body, new version (so open pages fetch it again)."""
        with self._transaction():
            version = self._next_version()
            self.db.execute(
                "UPDATE messages SET body = ?, version = ? WHERE id = ?",
                (json.dumps(body, ensure_ascii=False), version, message.id),
            )
        return Message(
            message.id, message.chat_id, message.from_bot, message.date, body, version, False
        )

    async def shows_file(self, chat_id: int, file_id: str) -> bool:
        """Whether a visible message of this chat carries this file (sent or uploaded)."""
        row = await self._one(
            "SELECT 1 FROM messages WHERE chat_id = ? AND file_id = ? AND deleted = 0",
            (chat_id, file_id),
        )
        return row is not None

    async def delete_message(self, message: Message) -> None:
        """Mark it deleted, with a new version so open pages remove it."""
        with self._transaction():
            version = self._next_version()
            self.db.execute(
                "UPDATE messages SET deleted = 1, version = ? WHERE id = ?", (version, message.id)
            )

    async def chat_since(self, chat_id: int, version: int) -> list[Message]:
        """A chat's messages changed after ``version`` (all of them for 0), deleted included."""
        rows = await self._all(
            "SELECT * FROM messages WHERE chat_id = ? AND version > ? ORDER BY id",
            (chat_id, version),
        )
        return [_message(r) for r in rows]

    # --- updates for the bot ----------------------------------------------------------
    async def add_update(self, content: dict[str, Any]) -> int:
        """Queue an update; its id is given here, increasing across restarts.

        One statement writes the row with its ``update_id`` inside: getUpdates,
        reading on the same connection, never sees an update without it.
        """
        with self._transaction():
            return self._insert_update(content)

    def _insert_update(self, content: dict[str, Any]) -> int:
        """``add_update``'s statement, inside the caller's transaction."""
        cursor = self.db.execute(
            "INSERT INTO updates (update_id, body)"
            " SELECT n, json_set(?, '$.update_id', n) FROM (SELECT 1 + MAX("
            "  COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'updates'), 0),"
            "  COALESCE((SELECT MAX(update_id) FROM updates), 0)) AS n)",
            (json.dumps(content, ensure_ascii=False),),
        )
        return cursor.lastrowid or 0

    async def updates(self, offset: int, limit: int) -> list[dict[str, Any]]:
        """As getUpdates: an offset confirms (forgets) every update before it.

        A negative offset keeps only that many of the newest, as Telegram does.
        """
        return [json.loads(body) for body in await self.updates_json(offset, limit)]

    async def updates_json(self, offset: int, limit: int) -> list[str]:
        """``updates``, each as the JSON it is stored as (getUpdates sends them on as they are)."""
        if offset < 0:
            row = await self._one(
                "SELECT update_id FROM updates ORDER BY update_id DESC LIMIT 1 OFFSET ?",
                (-offset - 1,),
            )
            offset = int(row["update_id"]) if row else 0
        if offset > 0:
            await self._write("DELETE FROM updates WHERE update_id < ?", (offset,))
        rows = await self._all(
            "SELECT body FROM updates WHERE update_id >= ? ORDER BY update_id LIMIT ?",
            (max(offset, 0), limit),
        )
        return [str(r["body"]) for r in rows]

    async def drop_updates(self) -> None:
        """Forget every pending update (deleteWebhook with drop_pending_updates)."""
        await self._write("DELETE FROM updates")

    # --- callbacks --------------------------------------------------------------------
    async def add_tap(
        self, query_id: str, chat_id: int, message_id: int, query: dict[str, Any]
    ) -> int:
        """A tap: its query id remembered (so answerCallbackQuery finds the chat) and its
        callback query queued for the bot, in one commit."""
        with self._transaction():
            self.db.execute(
                "INSERT INTO callbacks (id, chat_id, message_id) VALUES (?, ?, ?)",
                (query_id, chat_id, message_id),
            )
            return self._insert_update({"callback_query": query})

    async def callback_chat(self, query_id: str) -> int | None:
        """The chat a tap came from, or None for an unknown query id."""
        row = await self._one("SELECT chat_id FROM callbacks WHERE id = ?", (query_id,))
        return int(row["chat_id"]) if row else None

    # --- files ------------------------------------------------------------------------
    def path_of(self, sha256: str) -> Path:
        """Where bytes with this SHA-256 are kept."""
        return self.files / sha256[:2] / sha256

    async def add_file(
        self,
        data: bytes,
        *,
        name: str | None,
        mime: str | None,
        size: tuple[int, int] | None = None,
        chat_id: int | None,
    ) -> StoredFile:
        """Keep bytes on disk by their hash (once), and give them a new file id."""
        sha = hashlib.sha256(data).hexdigest()
        path = self.path_of(sha)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".part")
            await asyncio.to_thread(partial.write_bytes, data)
            partial.replace(path)  # whole or absent, even if the process dies mid-write
        width, height = size if size else (None, None)
        stored = StoredFile(
            f"L{secrets.token_urlsafe(18)}", sha, len(data), name, mime, width, height, chat_id
        )
        await self._write(
            "INSERT INTO files (file_id, sha256, size, name, mime, width, height, chat_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (stored.file_id, sha, len(data), name, mime, width, height, chat_id),
        )
        return stored

    async def file(self, file_id: str) -> StoredFile | None:
        """A stored file by id, or None."""
        row = await self._one("SELECT * FROM files WHERE file_id = ?", (file_id,))
        if row is None:
            return None
        return StoredFile(
            row["file_id"],
            row["sha256"],
            row["size"],
            row["name"],
            row["mime"],
            row["width"],
            row["height"],
            row["chat_id"],
        )

    # --- the command menu -------------------------------------------------------------
    async def set_commands(self, scope: str, language: str, commands: list[dict[str, str]]) -> None:
        """The command menu of a scope and language ('' for every language)."""
        await self._write(
            "INSERT INTO command_menus (scope, language, body) VALUES (?, ?, ?)"
            " ON CONFLICT (scope, language) DO UPDATE SET body = excluded.body",
            (scope, language, json.dumps(commands, ensure_ascii=False)),
        )

    async def delete_commands(self, scope: str, language: str) -> None:
        """No menu of its own for this scope and language: the next one in order applies."""
        await self._write(
            "DELETE FROM command_menus WHERE scope = ? AND language = ?", (scope, language)
        )

    async def commands(self, scope: str, language: str) -> list[dict[str, str]]:
        """The menu set for exactly this scope and language (none: [])."""
        row = await self._one(
            "SELECT body FROM command_menus WHERE scope = ? AND language = ?", (scope, language)
        )
        return json.loads(row["body"]) if row else []

    async def menus_for_chat(self, chat_id: int) -> dict[tuple[str, str], list[dict[str, str]]]:
        """The menus that may apply in a private chat: its own scope's and the general ones."""
        rows = await self._all(
            "SELECT scope, language, body FROM command_menus"
            " WHERE scope IN (?, 'all_private_chats', 'default')",
            (f"chat:{chat_id}",),
        )
        return {(r["scope"], r["language"]): json.loads(r["body"]) for r in rows}
