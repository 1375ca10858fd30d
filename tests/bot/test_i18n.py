"""Catalogues: every message translated in lt, lv and en, nothing stale; the language chosen."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n import Translations, pick_lang
from knowledge.i18n import (
    DOMAIN,
    LOCALES_DIR,
    compile_catalogue,
    format_date,
    format_datetime,
    format_number,
)
from knowledge.text import LANGUAGES

ROOT = Path(__file__).resolve().parents[2]


def catalogue(lang: str):  # type: ignore[no-untyped-def]
    with (LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po_file:
        return read_po(po_file, locale=lang)


def extracted_ids(tmp_path: Path) -> set[str]:
    """Message ids found in the source code right now."""
    pot = tmp_path / "fresh.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"),
            "-q",
            "extract",
            "--mapping",
            "babel.cfg",
            "--keywords",
            "_ __ N_ ngettext:1,2 lazy_gettext lazy_ngettext:1,2",
            "--no-location",
            "--omit-header",
            "--output-file",
            str(pot),
            "bot",
            "handlers",
            "knowledge",
            "storage",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as pot_file:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(pot_file) if m.id}


def test_catalogues_know_every_message_in_the_code(tmp_path: Path) -> None:
    in_code = extracted_ids(tmp_path)
    assert in_code, "extraction found nothing"
    for lang in LANGUAGES:
        known = {m.id if isinstance(m.id, str) else m.id[0] for m in catalogue(lang) if m.id}
        missing = sorted(in_code - known)
        assert not missing, f"{lang} lacks {missing}: run `make i18n` and translate"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_translated(lang: str) -> None:
    untranslated = []
    for message in catalogue(lang):
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            untranslated.append(message.id)
    assert not untranslated, f"untranslated in {lang}: {untranslated}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_survive_translation(lang: str) -> None:
    import re

    for message in catalogue(lang):
        if not message.id or not message.string:
            continue
        source = message.id if isinstance(message.id, str) else message.id[0]
        target = message.string if isinstance(message.string, str) else message.string[0]
        assert set(re.findall(r"\{\w+\}", source)) == set(re.findall(r"\{\w+\}", target)), source


@pytest.mark.parametrize("lang", LANGUAGES)
def test_compiled_catalogue_is_not_stale(lang: str) -> None:
    """What the bot serves (a compiled .mo, or the .po compiled in memory) equals the .po."""
    served = Translations(default_locale="lt").locales[lang]
    for message in catalogue(lang):
        if not message.id:
            continue
        if isinstance(message.id, str):
            assert served.gettext(message.id) == message.string, f"stale: {message.id}"
        else:
            singular, plural = message.id
            for n, form in ((1, 0), (5, None)):
                got = served.ngettext(singular, plural, n)
                assert got in message.string, f"stale plural: {singular}"
                if form is not None:
                    assert got == message.string[form]


def test_stale_mo_file_is_not_served(tmp_path: Path) -> None:
    for lang in LANGUAGES:
        folder = tmp_path / lang / "LC_MESSAGES"
        folder.mkdir(parents=True)
        po_path = LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        (folder / po_path.name).write_bytes(po_path.read_bytes())
    mo_path = tmp_path / "lt" / "LC_MESSAGES" / f"{DOMAIN}.mo"
    mo_path.write_bytes(compile_catalogue(tmp_path / "lt" / "LC_MESSAGES" / f"{DOMAIN}.po"))
    po_path = mo_path.with_suffix(".po")
    po_path.write_text(
        po_path.read_text(encoding="utf-8").replace('msgstr "Praleisti"', 'msgstr "Praleiskite"'),
        encoding="utf-8",
    )
    import os

    os.utime(mo_path, (1, 1))  # the .mo is older than the edited .po
    served = Translations(default_locale="lt", path=tmp_path).locales["lt"]
    assert served.gettext("Skip") == "Praleiskite"


def test_in_memory_compilation_matches_source() -> None:
    translations = Translations(default_locale="lt")
    assert set(translations.available_locales) == set(LANGUAGES)
    assert translations.gettext("Skip", locale="lt") == "Praleisti"
    assert translations.gettext("Skip", locale="lv") == "Izlaist"
    assert translations.gettext("Skip", locale="en") == "Skip"
    assert compile_catalogue(LOCALES_DIR / "lt" / "LC_MESSAGES" / f"{DOMAIN}.po")


@pytest.mark.parametrize(
    ("chosen", "telegram", "expected"),
    [
        ("lv", "en", "lv"),
        (None, "en-GB", "en"),
        (None, "LT", "lt"),
        (None, "de", "lt"),
        (None, None, "lt"),
        ("xx", "lv", "lv"),
    ],
)
def test_pick_lang(chosen: str | None, telegram: str | None, expected: str) -> None:
    assert pick_lang(chosen, telegram, "lt") == expected


def test_dates_and_numbers_in_each_lang() -> None:
    day = date(2021, 8, 27)
    assert format_date(day, "lt") == "2021 m. rugpjūčio 27 d."
    assert format_date(day, "lv") == "2021. gada 27. augusts"
    assert format_date(day, "en") == "August 27, 2021"
    moment = datetime(2021, 8, 27, 20, 59, tzinfo=UTC)
    from zoneinfo import ZoneInfo

    assert format_datetime(moment, "lt", ZoneInfo("Europe/Vilnius")).endswith("23:59")
    assert format_number(1234.5, "lt") == "1\xa0234,5"
    assert format_number(1234.5, "en") == "1,234.5"
