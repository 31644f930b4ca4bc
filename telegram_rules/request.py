"""What the Bot API accepts in a message: text, caption, reply markup, a tap's answer.

Each rule is Telegram's, read in its Bot API server (``telegram-bot-api``,
``Client.cpp``) and TDLib (``td/telegram``): a refusal raises ``Refusal``
with Telegram's description (what follows "Bad Request: ").

Lengths. TDLib refuses a bot's text longer than 4096 and a caption longer
than 1024 *characters* (``utf8_length``: Unicode code points) of the text
after its HTML is parsed, cleaned and trimmed (MessageContent.cpp). The bot
itself budgets in UTF-16 code units (``utf16_len``), never fewer than code
points, so what it builds fits whichever way a client counts.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from telegram_rules.html import Entity, HtmlRefused, parse_html

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64  # bytes
MAX_ALERT = 200  # characters of a callback query's answer
MAX_RAW = 1 << 15  # bytes of a text or caption as sent, before parsing
ROW_BUTTONS = 12  # TDLib keeps the first 12 buttons of a row...
ALL_BUTTONS = 300  # ...and the first 300 of a keyboard
_INLINE_KINDS = (
    "callback_game",
    "pay",
    "switch_inline_query",
    "switch_inline_query_chosen_chat",
    "switch_inline_query_current_chat",
    "login_url",
    "web_app",
    "copy_text",
)
# clean_input_string: control characters become spaces, '\r' and these go.
_DROPPED = frozenset({"\r", *map(chr, range(0x2028, 0x202F)), "\u0333", "\u033f", "\u030a"})
_DROPPING = re.compile("[" + re.escape("".join(sorted(_DROPPED))) + "]")
_CONTROLS = {n: " " for n in range(32) if n != ord("\n")}  # "\r" is dropped before


class Refusal(Exception):
    """Telegram's 400, its description as the Bot API words it after "Bad Request: "."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


def utf16_len(text: str) -> int:
    """UTF-16 code units: how entity offsets count, and how the bot budgets."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def telegram_len(text: str) -> int:
    """What Telegram's length limits count: Unicode characters (code points)."""
    return len(text)


@dataclass(frozen=True)
class Formatted:
    """A text or caption Telegram accepted: as sent, and as the reader sees it."""

    raw: str
    parse_mode: str | None
    text: str  # after parsing, cleaning and trimming
    entities: list[Entity] = field(default_factory=list)


def formatted(raw: Any, parse_mode: Any = None, *, caption: bool = False) -> Formatted:
    """A message text (``caption=False``) or a caption, judged as Telegram does."""
    source = "" if raw is None else str(raw)
    mode = (str(parse_mode) if parse_mode else "").lower() or None
    if mode == "none":
        mode = None
    if not caption and not source:
        raise Refusal("message text is empty")
    if len(source.encode("utf-8", "surrogatepass")) > MAX_RAW:
        raise Refusal("text is too long")
    if mode in ("markdown", "markdownv2"):
        raise Refusal("Markdown is not modelled here: the bot sends HTML")
    if mode not in (None, "html"):
        raise Refusal("unsupported parse_mode")
    try:
        plain, entities = as_shown(source, mode)
    except HtmlRefused as refused:
        raise Refusal(f"can't parse entities: {refused}") from None
    if not plain and not caption:
        raise Refusal("text must be non-empty")
    limit = MAX_CAPTION if caption else MAX_TEXT
    if telegram_len(plain) > limit:
        raise Refusal("message caption is too long" if caption else "message is too long")
    return Formatted(source, "HTML" if mode == "html" else None, plain, entities)


def as_shown(raw: str, parse_mode: str | None) -> tuple[str, list[Entity]]:
    """The text a reader sees and its entities (``HtmlRefused`` for HTML Telegram refuses)."""
    if (parse_mode or "").lower() == "html" and raw:
        return _clean(*parse_html(raw))
    return _clean(raw, [])


def _clean(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """TDLib's clean-up of a parsed text: control characters, then trimming spaces and
    new lines (on the left only up to the first entity); entities follow the text."""
    if _DROPPING.search(text) is None:
        # Nothing dropped (most texts): every offset stays, control characters turn to spaces.
        cleaned = text.translate(_CONTROLS)
        moved = [{**entity} for entity in entities if entity["length"] > 0]
    else:
        cleaned, moved = _dropped(text, entities)
    right = cleaned.rstrip(" \n")
    end = utf16_len(right)
    moved = [
        {**e, "length": min(e["offset"] + e["length"], end) - e["offset"]}
        for e in moved
        if e["offset"] < end
    ]
    first = min((e["offset"] for e in moved), default=end)
    left = 0
    while left < len(right) and right[left] in " \n" and left < first:
        left += 1  # spaces and new lines are one code unit each
    moved = [{**e, "offset": e["offset"] - left} for e in moved]
    return right[left:], moved


def _dropped(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """The text without the characters TDLib drops, control characters as spaces; the
    entities moved with it."""
    kept: list[str] = []
    at: list[int] = []  # new UTF-16 offset of each old UTF-16 offset
    offset = 0
    for char in text:
        width = 2 if ord(char) > 0xFFFF else 1
        at.extend([offset] * width)
        if char in _DROPPED:
            continue
        kept.append(" " if ord(char) < 32 and char != "\n" else char)
        offset += width
    at.append(offset)
    moved = []
    for entity in entities:
        start, end = at[entity["offset"]], at[entity["offset"] + entity["length"]]
        if end > start:
            moved.append({**entity, "offset": start, "length": end - start})
    return "".join(kept), moved


def reply_markup(raw: Any) -> dict[str, Any] | None:
    """The ``reply_markup`` parameter as Telegram reads it; None when there is no keyboard.

    As in the Bot API server: an object with no known field (``{}``), an empty
    ``inline_keyboard`` and a keyboard whose buttons all have empty texts are
    no keyboard at all, not an error; buttons past 12 a row or 300 in all are dropped.
    """
    if raw is None or raw == "":
        return None
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):  # nested thousands deep: refused the same way
            raise Refusal("can't parse reply keyboard markup JSON object") from None
    if not isinstance(value, dict):
        raise Refusal("object expected as reply markup")
    keyboard = _rows(value, "keyboard", _keyboard_button, "must be an Array of Arrays")
    inline = _rows(
        value,
        "inline_keyboard",
        _inline_button,
        "of the InlineKeyboardMarkup must be an Array of Arrays",
    )
    if keyboard:
        shown = {
            k: bool(value[k])
            for k in ("resize_keyboard", "one_time_keyboard", "is_persistent")
            if k in value
        }
        return {"keyboard": keyboard, **shown}
    if inline:
        return {"inline_keyboard": inline}
    if value.get("remove_keyboard") or value.get("hide_keyboard"):
        return {"remove_keyboard": True}
    if value.get("force_reply") or value.get("force_reply_keyboard"):
        return {"force_reply": True}
    return None


def _rows(markup: dict[str, Any], name: str, button: Any, shape: str) -> list[list[dict[str, Any]]]:
    """A keyboard's rows, checked; empty-text buttons and empty rows dropped, as TDLib does."""
    rows = markup.get(name)
    if rows is None:
        return []
    if not isinstance(rows, list):
        raise Refusal(f'field "{name}" must be of type Array')
    kept: list[list[dict[str, Any]]] = []
    total = 0
    for row in rows:
        if not isinstance(row, list):
            raise Refusal(f'field "{name}" {shape}')
        parsed = [button(b) for b in row]
        shown = [b for b in parsed if b["text"]][:ROW_BUTTONS][: ALL_BUTTONS - total]
        total += len(shown)
        if shown:
            kept.append(shown)
    for row in kept:
        for b in row:
            data = b.get("callback_data")
            if data is not None and len(data.encode("utf-8", "surrogatepass")) > MAX_CALLBACK_DATA:
                raise Refusal("BUTTON_DATA_INVALID")
    return kept


def _text_of(button: dict[str, Any], what: str) -> str:
    text = button.get("text")
    if text is None:
        raise Refusal(f"can't parse {what}: Can't find field \"text\"")
    if not isinstance(text, str):
        raise Refusal(f'can\'t parse {what}: Field "text" must be of type String')
    return text


def _keyboard_button(button: Any) -> dict[str, Any]:
    if isinstance(button, str):
        return {"text": button}
    if not isinstance(button, dict):
        raise Refusal("can't parse keyboard button: KeyboardButton must be a String or an Object")
    return {**button, "text": _text_of(button, "keyboard button")}


def _inline_button(button: Any) -> dict[str, Any]:
    what = "inline keyboard button"
    if not isinstance(button, dict):
        raise Refusal(f"can't parse {what}: InlineKeyboardButton must be an Object")
    text = _text_of(button, what)
    for key in ("url", "callback_data"):
        if key in button and not isinstance(button[key], str):
            raise Refusal(f'can\'t parse {what}: Field "{key}" must be of type String')
        if button.get(key):
            return {"text": text, key: button[key]}
    for key in _INLINE_KINDS:
        if key in button:
            return {"text": text, key: button[key]}
    raise Refusal(f"can't parse {what}: Text buttons are unallowed in the inline keyboard")


def alert_text(raw: Any) -> str:
    """The text of a callback query's answer (plain), refused past 200 characters."""
    text = "" if raw is None else str(raw)
    if telegram_len(text) > MAX_ALERT:
        raise Refusal("MESSAGE_TOO_LONG")
    return text
