"""What a `sunaba` command prints for the admin, in the site's language (`site.language`).

Each message is written where it is used, in both languages: `say(config, ja=..., en=...)`.
A text made before the language is known (a step result, an error raised deep in a renderer)
is a `Text` or a `BilingualError`, turned into the admin's language where it is printed. Logs
stay English: `str()` of either is the English text. Without a readable config, Japanese (the
default language of a site) is spoken.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LANGUAGES = ("ja", "en")
DEFAULT_LANGUAGE = "ja"


def language(where: Any) -> str:
    """`where` is a loaded config, a language code, or None (config not readable)."""
    if where is None:
        return DEFAULT_LANGUAGE
    if isinstance(where, str):
        if where not in LANGUAGES:
            raise ValueError(f"unknown language {where!r}: use one of {LANGUAGES}")
        return where
    return where.site.language


def say(where: Any, *, ja: str, en: str) -> str:
    """The text in the language of `where` (a config, "ja"/"en", or None for Japanese)."""
    return en if language(where) == "en" else ja


@dataclass(frozen=True)
class Text:
    """A text for a person in both languages; `str()` gives the English one, for logs."""

    ja: str
    en: str

    def __str__(self) -> str:
        return self.en

    def to(self, where: Any) -> str:
        return say(where, ja=self.ja, en=self.en)


def localized(where: Any, value: str | Text) -> str:
    """A `Text` in the language of `where`; a plain string (a path, a name) as it is."""
    return value.to(where) if isinstance(value, Text) else str(value)


class BilingualError(Exception):
    """An error whose message is printed for the admin: `to(where)` picks the language,
    `str()` is English (tracebacks and logs)."""

    def __init__(self, *, ja: str, en: str):
        super().__init__(en)
        self.text = Text(ja, en)

    def to(self, where: Any) -> str:
        return self.text.to(where)


def error_text(where: Any, exc: BaseException) -> str:
    """An exception's message for the admin: bilingual ones in the site's language."""
    return exc.to(where) if isinstance(exc, BilingualError) else str(exc)
