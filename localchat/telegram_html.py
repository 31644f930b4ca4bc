"""Telegram's HTML shown safely on the chat page.

What Telegram accepts, and the text and entities it keeps, are judged by
``telegram_rules`` (the one source of Telegram's rules); this module only
turns an accepted message into page HTML where every character outside
Telegram's tags is escaped.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

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
