"""Telegram's HTML in the local chat: the check, the entities bots get back, the safe page."""

from __future__ import annotations

import pytest

from localchat.telegram_html import linkify, safe_html
from telegram_rules import Refusal, as_shown, formatted


@pytest.mark.parametrize(
    ("text", "plain", "entities"),
    [
        ("<b>粗</b>体", "粗体", [{"type": "bold", "offset": 0, "length": 1}]),
        # Offsets count UTF-16 code units: an emoji outside the BMP counts two.
        ("⚠️ <i>x</i>", "⚠️ x", [{"type": "italic", "offset": 3, "length": 1}]),
        ("🔒<u>y</u>", "🔒y", [{"type": "underline", "offset": 2, "length": 1}]),
        (
            "<b>a<i>b</i></b>",
            "ab",
            [
                {"type": "bold", "offset": 0, "length": 2},
                {"type": "italic", "offset": 1, "length": 1},
            ],
        ),
        (
            '<a href="https://e.cn">链接</a>',
            "链接",
            [{"type": "text_link", "offset": 0, "length": 2, "url": "https://e.cn"}],
        ),
        ("<code>1 &lt; 2</code>", "1 < 2", [{"type": "code", "offset": 0, "length": 5}]),
        ('<span class="tg-spoiler">s</span>', "s", [{"type": "spoiler", "offset": 0, "length": 1}]),
        ("<tg-spoiler>s</tg-spoiler>", "s", [{"type": "spoiler", "offset": 0, "length": 1}]),
        ("<b></b>x", "x", []),
    ],
)
def test_entities_as_telegram_keeps_them(text: str, plain: str, entities: list) -> None:
    assert formatted(text, "HTML").text == plain
    assert as_shown(text, "HTML") == (plain, entities)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("小李<3", "Unclosed start tag at byte offset 6"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)
def test_what_telegram_refuses(text: str, problem: str) -> None:
    with pytest.raises(Refusal) as refused:
        formatted(text, "HTML")
    assert refused.value.description == f"can't parse entities: {problem}"


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("a &copy; b", "a &copy; b"),  # an unknown reference stays as typed
        ("R&D ‹东> 楼", "R&D ‹东> 楼"),  # a bare & and > are text
        ("&lt;&gt;&amp;&quot;&#33;&#x41;", '<>&"!A'),
        ("&amp", "&"),  # the semicolon may be left out
    ],
)
def test_what_telegram_accepts_as_text(text: str, plain: str) -> None:
    assert formatted(text, "HTML").text == plain


@pytest.mark.parametrize(
    ("text", "page"),
    [
        (
            "见 https://e.cn/a?b=1&c=2 。",
            '见 <a href="https://e.cn/a?b=1&amp;c=2" rel="noopener noreferrer">'
            "https://e.cn/a?b=1&amp;c=2</a> 。",
        ),
        ('"><script>', "&quot;&gt;&lt;script&gt;"),
        ("javascript:alert(1)", "javascript:alert(1)"),
    ],
)
def test_plain_text_is_escaped_and_links_made(text: str, page: str) -> None:
    assert linkify(text) == page


@pytest.mark.parametrize(
    ("text", "page"),
    [
        ("<pre>x</pre><blockquote>q</blockquote>", "<pre>x</pre><blockquote>q</blockquote>"),
        (
            "<strong>a</strong><em>b</em><ins>c</ins><del>d</del>",
            "<b>a</b><i>b</i><u>c</u><s>d</s>",
        ),
        (
            '<a href="tg://user?id=1">u</a>',
            '<a href="tg://user?id=1" rel="noopener noreferrer">u</a>',
        ),
        ('<a href=" javascript:x">u</a>', "<a>u</a>"),
        ('<tg-emoji emoji-id="5">👍</tg-emoji>', "<span>👍</span>"),
        ('<b style="x" onmouseover="y">b</b>', "<b>b</b>"),
    ],
)
def test_the_page_gets_harmless_tags_only(text: str, page: str) -> None:
    assert safe_html(text, "HTML") == page


def test_deep_links_to_the_bot_open_this_page() -> None:
    rewrite = {"https://t.me/xa_bot?start=": "http://127.0.0.1:8080/?start="}
    text = "邀请：https://t.me/xa_bot?start=AbC23456789\n邀请码：<code>AbC23456789</code>"
    page = safe_html(text, "HTML", rewrite)
    assert '<a href="http://127.0.0.1:8080/?start=AbC23456789"' in page
    assert "t.me" not in page
