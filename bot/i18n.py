"""Languages: gettext catalogues (Babel), the member's locale, dates and numbers."""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware
from babel.dates import format_date as babel_format_date
from babel.dates import format_time as babel_format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from knowledge.text import LANGUAGES
from storage.models import Member

LOCALES = LANGUAGES
LOCALES_DIR = Path(__file__).resolve().parent.parent / "knowledge" / "locales"
DOMAIN = "civicbot"

# How each language calls itself, for the language buttons.
LANGUAGE_NAMES = {"lt": "Lietuvių", "lv": "Latviešu", "en": "English"}


def compile_catalogue(po_path: Path) -> bytes:
    """The .mo bytes for a .po file."""
    with po_path.open("rb") as po_file:
        catalogue = read_po(po_file, locale=po_path.parent.parent.name)
    buffer = io.BytesIO()
    write_mo(buffer, catalogue)
    return buffer.getvalue()


class Translations(I18n):
    """aiogram's I18n, reading compiled .mo files, or compiling a .po in memory when stale."""

    def __init__(self, *, default_locale: str, path: Path = LOCALES_DIR) -> None:
        super().__init__(path=path, default_locale=default_locale, domain=DOMAIN)

    @contextmanager
    def context(self) -> Iterator[I18n]:
        """Make this the catalogue that aiogram's `gettext` uses (registered as an I18n)."""
        token = I18n.set_current(self)
        try:
            yield self
        finally:
            I18n.reset_current(token)

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        """Load every language's catalogue."""
        translations: dict[str, gettext.GNUTranslations] = {}
        for locale in LOCALES:
            po_path = self.path / locale / "LC_MESSAGES" / f"{self.domain}.po"
            mo_path = po_path.with_suffix(".mo")
            if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                data = mo_path.read_bytes()
            else:
                data = compile_catalogue(po_path)
            translations[locale] = gettext.GNUTranslations(io.BytesIO(data))
        return translations


def pick_locale(chosen: str | None, telegram_code: str | None, default: str) -> str:
    """The member's choice, else Telegram's language (lt/lv/en), else the default."""
    if chosen in LOCALES:
        return chosen
    base = (telegram_code or "").split("-")[0].lower()
    return base if base in LOCALES else default


class LocaleMiddleware(I18nMiddleware):
    """Sets the language of each update and exposes it to handlers as `locale`."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        """The language to answer this update in."""
        member: Member | None = data.get("member")
        user: User | None = data.get("event_from_user")
        locale = pick_locale(
            member.language if member else None,
            user.language_code if user else None,
            self.i18n.default_locale,
        )
        data["locale"] = locale
        return locale


def format_date(value: date, locale: str) -> str:
    """A date as people of LOCALE write it."""
    return babel_format_date(value, format="long", locale=locale)


def format_datetime(value: datetime, locale: str, tz: tzinfo | None = None) -> str:
    """A moment as people of LOCALE write it (long date, short time), in time zone TZ."""
    local = value.astimezone(tz) if tz else value
    time = babel_format_time(local, format="short", locale=locale)
    return f"{babel_format_date(local.date(), format='long', locale=locale)}, {time}"


def format_number(value: float, locale: str) -> str:
    """A number with LOCALE's separators."""
    return format_decimal(value, locale=locale)
