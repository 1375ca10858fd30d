"""Words, dates and numbers in the reader's language: gettext catalogues and Babel, nothing else.

The catalogues live in `knowledge/locales/<lang>/LC_MESSAGES/civicbot.po`. A compiled `.mo` is
used when it is newer than its `.po`; otherwise the `.po` is compiled in memory, so a fresh
clone (where no `.mo` exists) and an edited `.po` are both served correctly.

Code that builds text for a reader asks for `translator(lang)` and calls its `gettext` and
`ngettext` (bound to `_` and `ngettext` so that `make i18n` finds the messages). Text whose
language is not known yet (a validation message made before it is shown) is a `LazyText`,
made with `lazy_gettext` or `lazy_ngettext` and rendered later with `render(lang)`.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Final

from babel.dates import format_date as babel_format_date
from babel.dates import format_time as babel_format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from knowledge.text import LANGUAGES, Lang

LOCALES_DIR: Final = Path(__file__).with_name("locales")
DOMAIN: Final = "civicbot"


def N_(message: str) -> str:
    """Mark MESSAGE for translation without translating it yet."""
    return message


def compile_catalogue(po_path: Path) -> bytes:
    """The .mo bytes for a .po file."""
    with po_path.open("rb") as po_file:
        catalogue = read_po(po_file, locale=po_path.parent.parent.name)
    buffer = io.BytesIO()
    write_mo(buffer, catalogue)
    return buffer.getvalue()


def load_catalogue(lang: str, folder: Path = LOCALES_DIR) -> gettext.GNUTranslations:
    """The catalogue of LANG in FOLDER: its .mo, or its .po compiled when the .mo is stale."""
    po_path = folder / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    mo_path = po_path.with_suffix(".mo")
    if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
        data = mo_path.read_bytes()
    else:
        data = compile_catalogue(po_path)
    return gettext.GNUTranslations(io.BytesIO(data))


@cache
def translator(lang: Lang) -> gettext.GNUTranslations:
    """The bundled catalogue of LANG (read once per process)."""
    return load_catalogue(lang)


def catalogues(folder: Path = LOCALES_DIR) -> dict[Lang, gettext.GNUTranslations]:
    """Every language's catalogue (the bundled ones unless FOLDER says otherwise)."""
    if folder == LOCALES_DIR:
        return {lang: translator(lang) for lang in LANGUAGES}
    return {lang: load_catalogue(lang, folder) for lang in LANGUAGES}


@dataclass(frozen=True)
class LazyText:
    """A message to translate once the reader's language is known, with its placeholders.

    PLURAL and COUNT make it a plural message (`ngettext`); numbers among PARAMS are written
    with the reader's separators.
    """

    message: str
    plural: str | None = None
    count: int = 1
    params: Mapping[str, object] = field(default_factory=dict)

    def render(self, lang: Lang) -> str:
        """The message in LANG with its placeholders filled in."""
        words = translator(lang)
        if self.plural is None:
            text = words.gettext(self.message)
        else:
            text = words.ngettext(self.message, self.plural, self.count)
        shown = {name: _shown(value, lang) for name, value in self.params.items()}
        return text.format(**shown) if shown else text


def lazy_gettext(message: str, **params: object) -> LazyText:
    """MESSAGE, translated when it is rendered (PARAMS fill its placeholders)."""
    return LazyText(message, params=params)


def lazy_ngettext(singular: str, plural: str, count: int, **params: object) -> LazyText:
    """The singular or plural form for COUNT, translated when it is rendered."""
    return LazyText(singular, plural, count, params)


class TranslatedText(Mapping[Lang, str]):
    """A message id that reads as a mapping from language to its translation (like pack texts)."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __getitem__(self, lang: Lang) -> str:
        return translator(lang).gettext(self.message)

    def __iter__(self) -> Iterator[Lang]:
        return iter(LANGUAGES)

    def __len__(self) -> int:
        return len(LANGUAGES)

    def __repr__(self) -> str:
        return f"TranslatedText({self.message!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TranslatedText):
            return other.message == self.message
        return super().__eq__(other)

    def __hash__(self) -> int:
        return hash(self.message)


def _shown(value: object, lang: Lang) -> object:
    """A placeholder's value as a reader of LANG sees it: numbers localised, texts translated."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return format_number(value, lang)
    if isinstance(value, LazyText):
        return value.render(lang)
    if isinstance(value, Mapping):
        return value[lang]
    return value


def format_date(value: date, lang: str) -> str:
    """A date as people of LANG write it."""
    return babel_format_date(value, format="long", locale=lang)


def format_datetime(value: datetime, lang: str, tz: tzinfo | None = None) -> str:
    """A moment as people of LANG write it (long date, short time), in time zone TZ."""
    local = value.astimezone(tz) if tz else value
    time = babel_format_time(local, format="short", locale=lang)
    return f"{babel_format_date(local.date(), format='long', locale=lang)}, {time}"


def format_number(value: float | Decimal, lang: str) -> str:
    """A number with LANG's separators."""
    return format_decimal(value, locale=lang)
