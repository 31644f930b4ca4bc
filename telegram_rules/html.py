"""Telegram's HTML (``parse_mode=HTML``): the text a reader sees and its entities, or why not.

Written after TDLib's ``parse_html`` (td/telegram/MessageEntity.cpp), which
the Bot API server runs on every HTML text. Its rules are narrower and
looser than a browser's, and both matter:

- a ``<`` always opens a tag: ``小李<3`` is "Unclosed start tag", ``a <3 b``
  is "Unsupported start tag"; only Telegram's own tags are known;
- a ``&`` that does not start ``&lt;``, ``&gt;``, ``&amp;``, ``&quot;`` or a
  numeric reference is kept as it is: ``R&D`` is accepted and shows ``R&D``;
- ``>`` needs no escaping; tags must be closed in order (``</>`` closes the
  last one); ``<span>`` needs ``class="tg-spoiler"``.

Offsets and lengths of entities count UTF-16 code units, as in the Bot API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

Entity = dict[str, Any]  # a Bot API MessageEntity

TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "tg-time",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",  # only <span class="tg-spoiler"> gets this far
}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACE = " \t\r\n\v\0"  # TDLib's is_space; the end of the text reads as "\0"
_HEX = "0123456789abcdefABCDEF"
_DIGITS = "0123456789"
_MARKUP = re.compile("[<&]")


class HtmlRefused(ValueError):
    """Telegram's reason, as it words it after "can't parse entities: "."""


def units(char: str) -> int:
    """UTF-16 code units of one character."""
    return 2 if ord(char) > 0xFFFF else 1


@dataclass
class _Open:
    tag: str
    argument: str
    offset: int  # UTF-16 offset in the plain text where the tag opened
    start: int  # index in the plain text (characters)
    date: int = 0


class _Reader:
    """The text with TDLib's view of its end: a "\\0" past the last character."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.size = len(text)

    def at(self, i: int) -> str:
        return self.text[i] if i < self.size else "\0"

    def byte_offset(self, i: int) -> int:
        """Telegram names positions in UTF-8 bytes."""
        return len(self.text[:i].encode("utf-8", "surrogatepass"))

    def entity(self, pos: int) -> tuple[str, int] | None:
        """A character reference at ``pos`` (a ``&``): its character and where it ends."""
        end = pos + 1
        if self.at(end) == "#":
            end += 1
            value = 0
            if self.at(end) == "x":
                end += 1
                while self.at(end) in _HEX and self.at(end) != "\0":
                    value = value * 16 + int(self.at(end), 16)
                    end += 1
            else:
                while self.at(end) in _DIGITS and self.at(end) != "\0":
                    value = value * 10 + int(self.at(end))
                    end += 1
            if value == 0 or value >= 0x10FFFF or end - pos >= 10:
                return None
            char = chr(value)
        else:
            while self.at(end).isascii() and self.at(end).isalpha():
                end += 1
            found = _NAMED.get(self.text[pos + 1 : end])
            if found is None:
                return None
            char = found
        if self.at(end) == ";":
            end += 1
        return char, end


def parse_html(text: str) -> tuple[str, list[Entity]]:
    """The plain text and its entities, as Telegram parses ``text``; ``HtmlRefused`` if not."""
    reader = _Reader(text)
    plain: list[str] = []
    offset = 0
    opened: list[_Open] = []
    entities: list[Entity] = []
    i = 0
    while i < reader.size:
        char = text[i]
        if char == "&":
            found = reader.entity(i)
            if found is not None:
                if 0xD800 <= ord(found[0]) <= 0xDFFF:
                    raise HtmlRefused("Text must be encoded in UTF-8")
                plain.append(found[0])
                offset += units(found[0])
                i = found[1]
                continue
        if char != "<":
            # Up to the next tag or character reference, in one go (most of a text).
            markup = _MARKUP.search(text, i + 1)
            end = markup.start() if markup is not None else reader.size
            run = text[i:end]
            plain.extend(run)
            offset += len(run.encode("utf-16-le", "surrogatepass")) // 2
            i = end
            continue
        begin = i
        if reader.at(i + 1) != "/":
            i = _start_tag(reader, i + 1, begin, opened, offset, len(plain))
        else:
            i = _end_tag(reader, i + 1, begin, opened, offset, plain, entities)
        i += 1  # past the '>'
    if opened:
        raise HtmlRefused(f'Can\'t find end tag corresponding to start tag "{opened[-1].tag}"')
    for entity in entities:
        entity.pop("_language", None)  # a <code> language outside <pre> is not reported
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(plain), entities


def _start_tag(
    reader: _Reader, i: int, begin: int, opened: list[_Open], offset: int, start: int
) -> int:
    """Read ``<tag attr=...>`` from after its ``<``; returns the index of its ``>``."""
    at = reader.at
    name_start = i
    while at(i) not in _SPACE and at(i) != ">":
        i += 1
    if at(i) == "\0":
        raise HtmlRefused(f"Unclosed start tag at byte offset {reader.byte_offset(begin)}")
    tag = reader.text[name_start:i].lower()
    if tag not in TAGS:
        raise HtmlRefused(
            f'Unsupported start tag "{tag}" at byte offset {reader.byte_offset(begin)}'
        )
    argument, date = "", 0
    while at(i) != ">":
        while at(i) != "\0" and at(i) in _SPACE:
            i += 1
        if at(i) == ">":
            break
        attribute_start = i
        while at(i) not in _SPACE and at(i) not in "=>/\"'":
            i += 1
        attribute = reader.text[attribute_start:i]
        if not attribute:
            where = reader.byte_offset(begin)
            raise HtmlRefused(f'Empty attribute name in the tag "{tag}" at byte offset {where}')
        while at(i) != "\0" and at(i) in _SPACE:
            i += 1
        if at(i) != "=":
            if at(i) == "\0":
                raise HtmlRefused(
                    f'Unclosed start tag "{tag}" at byte offset {reader.byte_offset(begin)}'
                )
            if tag == "blockquote" and attribute == "expandable":
                argument = "1"
            continue
        i += 1
        while at(i) != "\0" and at(i) in _SPACE:
            i += 1
        if at(i) == "\0":
            raise HtmlRefused(
                f'Unclosed start tag "{tag}" at byte offset {reader.byte_offset(begin)}'
            )
        value, i = _attribute_value(reader, i)
        if at(i) == "\0":
            raise HtmlRefused(f"Unclosed start tag at byte offset {reader.byte_offset(begin)}")
        if tag == "a" and attribute == "href":
            argument = value
        elif tag == "code" and attribute == "class" and value.startswith("language-"):
            argument = value.removeprefix("language-")
        elif tag == "span" and attribute == "class" and value.startswith("tg-"):
            argument = value.removeprefix("tg-")
        elif (tag == "tg-emoji" and attribute == "emoji-id") or (
            tag == "tg-time" and attribute == "format"
        ):
            argument = value
        elif tag == "blockquote" and attribute == "expandable":
            argument = "1"
        elif tag == "tg-time" and attribute == "unix":
            date = int(value) if value.isascii() and value.isdigit() else 0
    if tag == "span" and argument != "spoiler":
        raise HtmlRefused(
            f'Tag "span" must have class "tg-spoiler" at byte offset {reader.byte_offset(begin)}'
        )
    opened.append(_Open(tag, argument, offset, start, date))
    return i


def _attribute_value(reader: _Reader, i: int) -> tuple[str, int]:
    """A name token (lower-cased) or a quoted string (references decoded)."""
    at = reader.at
    if at(i) not in "'\"":
        token_start = i
        while (at(i).isascii() and at(i).isalnum()) or at(i) in ".-":
            i += 1
        if at(i) not in _SPACE and at(i) != ">":
            raise HtmlRefused(
                f"Unexpected end of name token at byte offset {reader.byte_offset(token_start)}"
            )
        return reader.text[token_start:i].lower(), i
    quote = at(i)
    i += 1
    value: list[str] = []
    while at(i) != quote and at(i) != "\0":
        if at(i) == "&":
            found = reader.entity(i)
            if found is not None:
                value.append(found[0])
                i = found[1]
                continue
        value.append(at(i))
        i += 1
    if at(i) == quote:
        i += 1
    return "".join(value), i


def _end_tag(
    reader: _Reader,
    i: int,
    begin: int,
    opened: list[_Open],
    offset: int,
    plain: list[str],
    entities: list[Entity],
) -> int:
    """Read ``</tag>`` from its ``/``; returns the index of its ``>``."""
    at = reader.at
    if not opened:
        raise HtmlRefused(f"Unexpected end tag at byte offset {reader.byte_offset(begin)}")
    while at(i) not in _SPACE and at(i) != ">":
        i += 1
    name = reader.text[begin + 2 : i].lower()
    while at(i) != "\0" and at(i) in _SPACE:
        i += 1
    if at(i) != ">":
        raise HtmlRefused(f"Unclosed end tag at byte offset {reader.byte_offset(begin)}")
    last = opened[-1]
    if name and name != last.tag:
        raise HtmlRefused(
            f"Unmatched end tag at byte offset {reader.byte_offset(begin)},"
            f' expected "</{last.tag}>", found "</{name}>"'
        )
    if offset > last.offset:
        entity = _entity_of(last, offset, "".join(plain[last.start :]), entities)
        if entity is not None:
            entities.append(entity)
    opened.pop()
    return i


def _entity_of(opened: _Open, end: int, inside: str, entities: list[Entity]) -> Entity | None:
    """The entity a closed tag makes (None for one Telegram drops)."""
    span = {"offset": opened.offset, "length": end - opened.offset}
    tag = opened.tag
    if tag in _SIMPLE:
        return {"type": _SIMPLE[tag], **span}
    if tag == "tg-emoji":
        if not (opened.argument.isascii() and opened.argument.isdigit()) or not int(
            opened.argument
        ):
            raise HtmlRefused("Invalid custom emoji identifier specified")
        return {"type": "custom_emoji", **span, "custom_emoji_id": opened.argument}
    if tag == "tg-time":
        return {"type": "date_time", **span, "unix_time": opened.date} if opened.date else None
    if tag == "a":
        url = opened.argument or inside
        return {"type": "text_link", **span, "url": url} if url else None
    last = entities[-1] if entities else None
    same = last is not None and (last["offset"], last["length"]) == (span["offset"], span["length"])
    if tag == "pre":
        if same and last is not None and last["type"] == "code" and last.get("_language"):
            last["type"] = "pre"
            last["language"] = last.pop("_language")
            return None
        return {"type": "pre", **span}
    if tag == "code":
        if same and last is not None and last["type"] == "pre" and opened.argument:
            last["language"] = opened.argument
            return None
        entity = {"type": "code", **span}
        if opened.argument:
            entity["_language"] = opened.argument  # kept until a <pre> around it claims it
        return entity
    if tag == "blockquote":
        kind = "expandable_blockquote" if opened.argument else "blockquote"
        return {"type": kind, **span}
    return None
