"""Telegram's HTML subset: check it as Telegram does, turn it into entities, show it safely.

The bot formats its messages with ``parse_mode=HTML``. Telegram accepts a
handful of tags, balanced, and four named entities; anything else is
refused with "can't parse entities". The local channel refuses the same,
keeps the text with its entities (as Telegram hands messages back to bots),
and shows people a page where every other character is escaped.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

ALLOWED_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    }
)

# Telegram's tag → (entity type, the tag shown on the page).
_ENTITY = {
    "b": ("bold", "b"),
    "strong": ("bold", "b"),
    "i": ("italic", "i"),
    "em": ("italic", "i"),
    "u": ("underline", "u"),
    "ins": ("underline", "u"),
    "s": ("strikethrough", "s"),
    "strike": ("strikethrough", "s"),
    "del": ("strikethrough", "s"),
    "tg-spoiler": ("spoiler", "span"),
    "span": ("spoiler", "span"),
    "code": ("code", "code"),
    "pre": ("pre", "pre"),
    "blockquote": ("blockquote", "blockquote"),
    "a": ("text_link", "a"),
    "tg-emoji": ("custom_emoji", "span"),
}
SAFE_SCHEMES = ("http://", "https://", "tg://", "mailto:")
_URL = re.compile(r"https?://[^\s<>\"']+")


class _TelegramHTML(HTMLParser):
    """Checks HTML the way Telegram parses it: known tags, balanced, entities."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.plain: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"unsupported start tag '{tag}'")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"unexpected end tag '{tag}'")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.plain.append(data)


def check_html(text: str) -> tuple[str, list[str]]:
    """The text as the user sees it, and what Telegram would refuse."""
    problems = []
    for entity in re.findall(r"&([^;\s]*);?", text):
        if entity not in ("lt", "gt", "amp", "quot") and not re.fullmatch(
            r"#x?[0-9a-fA-F]+", entity
        ):
            problems.append(f"unsupported entity '&{entity}'")
    if re.search(r"<(?![a-zA-Z/])", text):
        problems.append("a bare '<' (can't parse entities)")
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    problems += parser.problems
    if parser.stack:
        problems.append(f"unclosed tags {parser.stack}")
    return html.unescape("".join(parser.plain)), problems


def utf16_len(text: str) -> int:
    """Telegram measures entity offsets in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _Open:
    tag: str
    offset: int
    attrs: dict[str, str | None] = field(default_factory=dict)


class _Entities(HTMLParser):
    """Plain text and Telegram ``MessageEntity`` dicts of (already checked) HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.plain: list[str] = []
        self.length = 0
        self.open: list[_Open] = []
        self.entities: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open.append(_Open(tag, self.length, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.open:
            return
        started = self.open.pop()
        kind = _ENTITY.get(started.tag, ("", ""))[0]
        if started.tag == "span" and started.attrs.get("class") != "tg-spoiler":
            kind = ""
        length = self.length - started.offset
        if not kind or length == 0:
            return
        entity: dict[str, Any] = {"type": kind, "offset": started.offset, "length": length}
        if kind == "text_link":
            entity["url"] = started.attrs.get("href") or ""
        if kind == "pre" and started.attrs.get("language"):
            entity["language"] = started.attrs["language"]
        if kind == "custom_emoji":
            entity["custom_emoji_id"] = started.attrs.get("emoji-id") or ""
        self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        self.plain.append(data)
        self.length += utf16_len(data)


def to_entities(text: str) -> tuple[str, list[dict[str, Any]]]:
    """The plain text and its entities, as Telegram stores a message sent with HTML."""
    parser = _Entities()
    parser.feed(text)
    parser.close()
    return "".join(parser.plain), sorted(parser.entities, key=lambda e: (e["offset"], -e["length"]))


class _SafePage(HTMLParser):
    """Re-emits only Telegram's tags, as harmless page tags; escapes everything else."""

    def __init__(self, rewrite: dict[str, str]) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.stack: list[str] = []
        self.in_link = 0
        self.rewrite = rewrite

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        shown = _ENTITY.get(tag, ("", ""))[1]
        values = dict(attrs)
        if shown == "a":
            href = _rewrite(values.get("href") or "", self.rewrite)
            self.in_link += 1
            if href.startswith(SAFE_SCHEMES):
                self.out.append(f'<a href="{html.escape(href)}" rel="noopener noreferrer">')
            else:
                self.out.append("<a>")
        elif shown == "span":
            spoiler = tag == "tg-spoiler" or values.get("class") == "tg-spoiler"
            self.out.append('<span class="spoiler">' if spoiler else "<span>")
        elif shown:
            self.out.append(f"<{shown}>")
        self.stack.append(shown)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            return
        shown = self.stack.pop()
        if shown == "a":
            self.in_link -= 1
        if shown:
            self.out.append(f"</{shown}>")

    def handle_data(self, data: str) -> None:
        if self.in_link:
            self.out.append(html.escape(_rewrite(data, self.rewrite)))
        else:
            self.out.append(linkify(data, self.rewrite))

    def close(self) -> None:
        super().close()
        while self.stack:  # unbalanced input never reaches here, but a page must stay whole
            shown = self.stack.pop()
            if shown:
                self.out.append(f"</{shown}>")


def _rewrite(text: str, rewrite: dict[str, str]) -> str:
    for old, new in rewrite.items():
        text = text.replace(old, new)
    return text


def linkify(text: str, rewrite: dict[str, str] | None = None) -> str:
    """Plain text as page HTML: escaped, its web addresses made links (as Telegram apps do)."""
    text = _rewrite(text, rewrite or {})
    out: list[str] = []
    last = 0
    for match in _URL.finditer(text):
        out.append(html.escape(text[last : match.start()]))
        url = html.escape(match.group(0))
        out.append(f'<a href="{url}" rel="noopener noreferrer">{url}</a>')
        last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def safe_html(text: str, parse_mode: str | None, rewrite: dict[str, str] | None = None) -> str:
    """A message's text as page HTML that cannot run anything.

    ``rewrite`` replaces addresses (the bot's ``t.me`` deep links become this
    server's page, as a Telegram app opens them in the bot's chat).
    """
    if parse_mode != "HTML":
        return linkify(text, rewrite)
    page = _SafePage(rewrite or {})
    page.feed(text)
    page.close()
    return "".join(page.out)
