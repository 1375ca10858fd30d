"""aiogram's side of the languages: the catalogues as aiogram's I18n, and each update's `lang`.

The catalogues themselves, and the formatting of dates and numbers, are in `knowledge.i18n`
(plain gettext and Babel); this module only hands them to aiogram's `gettext` and decides the
language of every update.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware

from knowledge.i18n import DOMAIN, LOCALES_DIR, catalogues
from knowledge.text import Lang, is_lang
from storage.models import Member

# How each language calls itself, for the language buttons.
LANGUAGE_NAMES: Final[dict[Lang, str]] = {"lt": "Lietuvių", "lv": "Latviešu", "en": "English"}


class Translations(I18n):
    """aiogram's I18n over the bundled catalogues (see `knowledge.i18n`)."""

    def __init__(self, *, default_locale: Lang, path: Path = LOCALES_DIR) -> None:
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
        """Every language's catalogue."""
        return {lang: catalogue for lang, catalogue in catalogues(self.path).items()}


def pick_lang(chosen: str | None, telegram_code: str | None, default: Lang) -> Lang:
    """The member's choice, else Telegram's language (lt/lv/en), else the default."""
    if is_lang(chosen):
        return chosen
    base = (telegram_code or "").split("-")[0].lower()
    return base if is_lang(base) else default


class LocaleMiddleware(I18nMiddleware):
    """Sets the language of each update and hands it to handlers as `lang`."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        """The language to answer this update in."""
        member: Member | None = data.get("member")
        user: User | None = data.get("event_from_user")
        default = self.i18n.default_locale
        lang = pick_lang(
            member.language if member else None,
            user.language_code if user else None,
            default if is_lang(default) else "lt",
        )
        data["lang"] = lang
        return lang
