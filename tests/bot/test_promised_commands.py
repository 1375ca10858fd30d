"""Texts members read name only commands the bot has (no promise of a command to come)."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from bot.commands import COMMANDS
from knowledge.i18n import DOMAIN, LOCALES_DIR
from knowledge.municipalities import load_municipalities
from knowledge.pack import load_pack
from knowledge.questionnaire import load_questionnaires
from knowledge.service import PACK_DIR
from knowledge.text import LANGUAGES

_COMMAND = re.compile(r"(?<![\w/<])/([a-z]+)\b")


def named_commands(text: str) -> set[str]:
    return set(_COMMAND.findall(text))


def texts_members_read() -> list[str]:
    texts: list[str] = []
    for questionnaire in load_questionnaires().values():
        for mapping in (questionnaire.intro, questionnaire.consent, questionnaire.closing):
            texts += mapping.values()
        for question in questionnaire.questions:
            texts += question.text.values()
            if question.help is not None:
                texts += question.help.values()
    pack = load_pack(PACK_DIR, municipalities=load_municipalities())
    texts += [entry.answer[lang] for entry in pack.entries for lang in LANGUAGES]
    for lang in LANGUAGES:
        with (LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po_file:
            for message in read_po(po_file):
                strings = message.string if isinstance(message.string, tuple) else (message.string,)
                texts += [str(text) for text in strings if text]
    return texts


def test_every_command_a_text_names_exists() -> None:
    known = {info.name for info in COMMANDS}
    named = set().union(*(named_commands(text) for text in texts_members_read()))
    assert named, "no command named anywhere: the pattern is broken"
    assert named - known == set()


def test_the_pattern_finds_commands_and_not_links() -> None:
    assert named_commands("Send /survey or /mydata, see https://example.org/forget") == {
        "survey",
        "mydata",
    }
