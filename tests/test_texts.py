"""The texts: both languages say the same things, with the same blanks to fill."""

from __future__ import annotations

import string

import pytest

from texts import LANGUAGES, catalogue, language_of, t


def blanks(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_language_has_the_same_keys() -> None:
    zh, en = (set(catalogue(lang)) for lang in LANGUAGES)
    assert zh - en == set()
    assert en - zh == set()


@pytest.mark.parametrize("key", sorted(catalogue("zh")))
def test_both_languages_fill_the_same_blanks(key: str) -> None:
    assert blanks(catalogue("zh")[key]) == blanks(catalogue("en")[key])


@pytest.mark.parametrize(
    ("code", "lang"), [(None, "zh"), ("zh-hans", "zh"), ("en", "en"), ("en-GB", "en"), ("fr", "zh")]
)
def test_language_of_client(code: str | None, lang: str) -> None:
    assert language_of(code) == lang


def test_values_are_escaped() -> None:
    assert "&lt;b&gt;" in t("en", "whoami.role", where="<b>", role="x")
