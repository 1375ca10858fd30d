"""The bot's commands: what /help lists and what Telegram's command menu shows."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault

from bot.i18n import Translations
from bot.settings import Settings
from knowledge.i18n import N_
from knowledge.text import LANGUAGES, Lang

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CommandInfo:
    """A command, its one-line description (a message id), who may use it, and where.

    A command that does not work in groups (GROUPS false) is answered there with a link that
    opens the private chat at it (`/start <name>`).
    """

    name: str
    description: str
    coordinator: bool = False
    groups: bool = False


COMMANDS: tuple[CommandInfo, ...] = (
    CommandInfo("start", N_("Start over: language, municipality, consent")),
    CommandInfo("help", N_("What I can do"), groups=True),
    CommandInfo("language", N_("Change the language")),
    CommandInfo("cancel", N_("Leave the current step"), groups=True),
    CommandInfo("survey", N_("Fill in a questionnaire, or continue one")),
    CommandInfo("orgs", N_("Civic organisations of a municipality")),
    CommandInfo("calls", N_("Funding calls: open, upcoming and recently closed"), groups=True),
    CommandInfo("remind", N_("Deadline reminders: what you get and when"), groups=True),
    CommandInfo("expert", N_("Ask the coordinators for legal or expert help")),
    CommandInfo("requests", N_("My help requests and where they stand")),
    CommandInfo("privacy", N_("Your consents, each with a switch")),
    CommandInfo("mydata", N_("Everything stored about you")),
    CommandInfo("forget", N_("Delete everything stored about you")),
    CommandInfo("ask", N_("Ask a question (in a group: /ask and your question)"), groups=True),
    CommandInfo(
        "tickets",
        N_("Open help requests: unclaimed and urgent first"),
        coordinator=True,
        groups=True,
    ),
    CommandInfo("export", N_("Questionnaire answers as CSV and XLSX"), coordinator=True),
    CommandInfo("stats", N_("Questionnaire counts per municipality"), coordinator=True),
    CommandInfo("newcall", N_("Add a funding call"), coordinator=True),
    CommandInfo("broadcast", N_("Send an announcement to members and groups"), coordinator=True),
    CommandInfo(
        "reload", N_("Reload the knowledge pack without a restart"), coordinator=True, groups=True
    ),
)


def commands_for(*, coordinator: bool) -> list[CommandInfo]:
    """The commands a member (or a coordinator) may use."""
    return [info for info in COMMANDS if coordinator or not info.coordinator]


def private_only_commands() -> list[CommandInfo]:
    """The commands that work in a private chat only (not /start, which greets a group)."""
    return [info for info in COMMANDS if not info.groups and info.name != "start"]


def coordinator_command_names() -> list[str]:
    """Names of the commands only coordinators may use."""
    return [info.name for info in COMMANDS if info.coordinator]


async def publish_commands(bot: Bot, settings: Settings, translations: Translations) -> None:
    """Set Telegram's command menu in every language, with the extra commands for coordinators."""

    def menu(lang: Lang, *, coordinator: bool) -> list[BotCommand]:
        return [
            BotCommand(
                command=info.name,
                description=translations.gettext(info.description, locale=lang),
            )
            for info in commands_for(coordinator=coordinator)
        ]

    default_menu = menu(settings.default_locale, coordinator=False)
    await bot.set_my_commands(default_menu, scope=BotCommandScopeDefault())
    for lang in LANGUAGES:
        await bot.set_my_commands(
            menu(lang, coordinator=False), scope=BotCommandScopeDefault(), language_code=lang
        )
    if not coordinator_command_names():
        return
    for user_id in sorted(settings.coordinator_ids):
        scope = BotCommandScopeChat(chat_id=user_id)
        try:
            await bot.set_my_commands(menu(settings.default_locale, coordinator=True), scope=scope)
            for lang in LANGUAGES:
                await bot.set_my_commands(
                    menu(lang, coordinator=True), scope=scope, language_code=lang
                )
        except TelegramBadRequest as error:  # e.g. a coordinator who never opened the bot
            log.warning("no coordinator menu for %s: %s", user_id, error.message)
