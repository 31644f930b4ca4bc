"""Telegram's request rules (``telegram_rules``), the one judge of both fakes, and the
helpers the bot builds its messages with so that they fit."""

from __future__ import annotations

import pytest

from telegram_rules import (
    MAX_TEXT,
    Refusal,
    alert_text,
    as_shown,
    formatted,
    reply_markup,
    utf16_len,
)
from telegram_rules.fit import clip, fit, html_units, pages


@pytest.mark.parametrize(
    "markup",
    [
        "",
        None,
        "{}",
        {},  # an object with no known field: no keyboard, as the Bot API server reads it
        {"inline_keyboard": []},
        {"inline_keyboard": [[]]},
        {"inline_keyboard": [[{"text": "", "callback_data": "x"}]]},  # TDLib drops it
        {"keyboard": [[{"text": ""}]]},
        {"remove_keyboard": False},
        {"selective": True},
    ],
)
def test_no_keyboard_at_all(markup: object) -> None:
    assert reply_markup(markup) is None


@pytest.mark.parametrize(
    ("markup", "description"),
    [
        ("{", "can't parse reply keyboard markup JSON object"),
        ("[]", "object expected as reply markup"),
        ({"inline_keyboard": {}}, 'field "inline_keyboard" must be of type Array'),
        (
            {"inline_keyboard": [{"text": "a"}]},
            'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays',
        ),
        (
            {"inline_keyboard": [["a"]]},
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object",
        ),
        (
            {"inline_keyboard": [[{"text": "a"}]]},
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
        ),
        (
            {"inline_keyboard": [[{"text": "a", "callback_data": ""}]]},
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
        ),
        ({"inline_keyboard": [[{"text": "a", "callback_data": "x" * 65}]]}, "BUTTON_DATA_INVALID"),
        ({"inline_keyboard": [[{"text": "a", "callback_data": "字" * 22}]]}, "BUTTON_DATA_INVALID"),
    ],
)
def test_markup_telegram_refuses(markup: object, description: str) -> None:
    with pytest.raises(Refusal) as refused:
        reply_markup(markup)
    assert refused.value.description == description


def test_markup_telegram_keeps() -> None:
    data = "x" * 64  # 64 bytes is the most
    assert reply_markup({"inline_keyboard": [[{"text": "a", "callback_data": data}]]}) == {
        "inline_keyboard": [[{"text": "a", "callback_data": data}]]
    }
    assert reply_markup('{"remove_keyboard": true}') == {"remove_keyboard": True}
    many = {"inline_keyboard": [[{"text": str(n), "callback_data": str(n)} for n in range(20)]]}
    assert len(reply_markup(many)["inline_keyboard"][0]) == 12  # the rest of the row dropped


def test_lengths_count_what_the_reader_sees() -> None:
    assert formatted("字" * MAX_TEXT).text == "字" * MAX_TEXT
    with pytest.raises(Refusal, match="message is too long"):
        formatted("字" * (MAX_TEXT + 1))
    # After parsing: 4096 characters written as &lt; are 4096, not 16384.
    assert len(formatted("&lt;" * MAX_TEXT, "HTML").text) == MAX_TEXT
    # Trimmed before counting, as TDLib does.
    assert formatted("\n" + "字" * MAX_TEXT + "  \n", "HTML").text == "字" * MAX_TEXT
    # TDLib counts characters (utf8_length), not UTF-16 units: 4096 emoji are accepted.
    assert utf16_len(formatted("😀" * MAX_TEXT).text) == 2 * MAX_TEXT
    with pytest.raises(Refusal, match="message caption is too long"):
        formatted("字" * 1025, caption=True)
    assert formatted("", caption=True).text == ""


@pytest.mark.parametrize(
    ("text", "description"),
    [("", "message text is empty"), (" \n ", "text must be non-empty"), ("<b> </b>", None)],
)
def test_empty_texts(text: str, description: str | None) -> None:
    with pytest.raises(Refusal) as refused:
        formatted(text, "HTML")
    assert refused.value.description == (description or "text must be non-empty")


def test_entities_follow_the_trimmed_text() -> None:
    assert as_shown("\n\n<b>粗</b> 🔒<i>x</i>\n", "HTML") == (
        "粗 🔒x",
        [
            {"type": "bold", "offset": 0, "length": 1},
            {"type": "italic", "offset": 4, "length": 1},
        ],
    )


def test_alerts() -> None:
    assert alert_text("字" * 200) == "字" * 200
    with pytest.raises(Refusal, match="MESSAGE_TOO_LONG"):
        alert_text("字" * 201)


def test_clip_counts_utf16_units_and_never_splits_a_character() -> None:
    assert clip("短", 10) == "短"
    cut = clip("😀" * 10, 7)
    assert cut == "😀😀😀…" and utf16_len(cut) == 7
    assert clip("ab😀", 3) == "ab…"


def test_fit_keeps_what_fits_and_counts_the_rest() -> None:
    lines = [f"<b>{n}</b> " + "字" * 95 for n in range(60)]  # about 100 units each

    def more(count: int) -> str:
        return f"…{count} more"

    kept = fit(lines, 1000, more)
    assert html_units("\n".join(kept)) <= 1000
    assert kept[-1] == more(60 - (len(kept) - 1))
    assert fit(lines[:3], 1000, more) == lines[:3]


def test_pages_fit_and_hold_at_most_so_many() -> None:
    lines = ["字" * 300 + "😀" * 100] * 20  # 500 units each
    found = pages(lines, MAX_TEXT, 8)
    assert [len(p) for p in found] == [8, 8, 4]
    found = pages(lines, 2000, 8)
    assert all(len(p) <= 3 for p in found) and sum(len(p) for p in found) == 20
    with pytest.raises(ValueError):
        pages(["字" * 3000], 2000, 8)
