"""Downloading what a person sent, within a limit.

A message usually says how big its file is, but not always (a photo may come
without ``file_size``); Telegram then refuses ``getFile`` for a file over the 20
MB a bot may download ("Bad Request: file is too big"). Both mean the same to
the person: the file is too large.
"""

from __future__ import annotations

from telegram import Document, PhotoSize
from telegram.error import BadRequest

TOO_BIG = "file is too big"  # Telegram's getFile refusal (telegram-bot-api, Client.cpp)


async def download(attachment: PhotoSize | Document, limit: int) -> bytes | None:
    """The file's bytes; None when it is over ``limit`` bytes, whoever tells."""
    if attachment.file_size and attachment.file_size > limit:
        return None
    try:
        file = await attachment.get_file()
    except BadRequest as refused:
        if TOO_BIG in refused.message.lower():
            return None
        raise
    if file.file_size and file.file_size > limit:
        return None
    data = bytes(await file.download_as_bytearray())
    return None if len(data) > limit else data
