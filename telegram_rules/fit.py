"""Making what the bot builds fit Telegram's limits by construction, counted in UTF-16 units.

Every message built from people's text (names, descriptions, notes) goes
through here: a typed value is ``clip``ped before it is put into a text, a
list takes the lines that ``fit`` and counts the rest, a long list is cut
into ``pages``. Lengths are those of what the reader sees (HTML parsed), in
UTF-16 code units (``utf16_len``), which is never less than what Telegram
counts, so a message measured here is never refused as too long.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from telegram_rules.html import parse_html
from telegram_rules.request import MAX_ALERT, MAX_TEXT, utf16_len

ELLIPSIS = "…"


def html_units(html: str) -> int:
    """UTF-16 units a reader sees of the bot's HTML (an upper bound: before trimming)."""
    if "<" not in html and "&" not in html:
        return utf16_len(html)  # nothing to parse: the text is what is seen
    return utf16_len(parse_html(html)[0])


def clip(text: str, limit: int) -> str:
    """Plain text cut to at most ``limit`` UTF-16 units, ending in "…" when cut."""
    if utf16_len(text) <= limit:
        return text
    room = limit - utf16_len(ELLIPSIS)
    kept: list[str] = []
    used = 0
    for char in text:
        width = 2 if ord(char) > 0xFFFF else 1
        if used + width > room:
            break
        kept.append(char)
        used += width
    return "".join(kept).rstrip() + ELLIPSIS


def fit(lines: Sequence[str], room: int, more: Callable[[int], str], sep: str = "\n") -> list[str]:
    """The first lines (HTML) that fit in ``room`` units when joined, then ``more(n)`` for
    the ``n`` left out; all lines when they all fit."""
    gap = utf16_len(sep)
    if sum(map(utf16_len, lines)) + gap * max(len(lines) - 1, 0) <= room:
        return list(lines)  # even as sent (tags and all) they fit: no need to parse
    sizes = [html_units(line) for line in lines]
    if sum(sizes) + gap * max(len(lines) - 1, 0) <= room:
        return list(lines)
    kept: list[str] = []
    used = 0
    for count, (line, size) in enumerate(zip(lines, sizes, strict=True)):
        tail = html_units(more(len(lines) - count)) + gap
        if used + size + gap + tail > room:
            return [*kept, more(len(lines) - count)]
        kept.append(line)
        used += size + gap
    return kept


def pages(lines: Sequence[str], room: int, most: int, sep: str = "\n") -> list[range]:
    """Consecutive lines grouped into pages of at most ``most`` lines whose joined text
    fits in ``room`` units; each line must fit alone (clip its values first)."""
    gap = utf16_len(sep)
    found: list[range] = []
    start, used = 0, 0
    for index, line in enumerate(lines):
        size = html_units(line)
        if size > room:
            raise ValueError(f"line {index} alone is {size} units, over the room of {room}")
        if index > start and (index - start >= most or used + gap + size > room):
            found.append(range(start, index))
            start, used = index, 0
        used += size + (gap if index > start else 0)
    found.append(range(start, len(lines)))
    return found


def room_for(template: str, budget: int = MAX_TEXT) -> int:
    """Units left for a list inside ``template`` (the message with its list empty)."""
    return budget - html_units(template)


def alert(html: str) -> str:
    """What a tapped button's alert shows of the bot's HTML: plain, within its limit."""
    try:
        plain = parse_html(html)[0]
    except ValueError:
        plain = html
    return plain if len(plain) <= MAX_ALERT else plain[: MAX_ALERT - 1] + ELLIPSIS


def share(texts: Mapping[str, str], room: int) -> dict[str, str]:
    """Typed texts that must share ``room`` UTF-16 units in one message: each kept whole
    when it can be, and the longest cut to an equal share of what the others leave."""
    left = max(room, 0)
    order = sorted(texts, key=lambda key: utf16_len(texts[key]))
    shared: dict[str, str] = {}
    for index, key in enumerate(order):
        most = left // (len(order) - index)
        text = texts[key]
        shared[key] = text if utf16_len(text) <= most else (clip(text, most) if most > 0 else "")
        left -= utf16_len(shared[key])
    return shared
