"""Commands in groups: those that work only in a private chat answer with a link that opens it
there, and the link opens the command; /help in a group lists what works there."""

from __future__ import annotations

import pytest
from aiogram.types import Chat, InlineKeyboardMarkup

from tests.support import Chatter, make_user

GROUP = Chat(id=-100555, type="supergroup", title="Bendruomenė")


def in_group(chatter: Chatter, user_id: int = 8) -> Chatter:
    chatter.user = make_user(user_id, "en")
    chatter.chat = GROUP
    return chatter


def in_private(chatter: Chatter, user_id: int = 8) -> Chatter:
    chatter.user = make_user(user_id, "en")
    chatter.chat = Chat(id=user_id, type="private")
    return chatter


def link_of(markup: object) -> str | None:
    assert isinstance(markup, InlineKeyboardMarkup)
    [[button]] = markup.inline_keyboard
    return button.url


@pytest.mark.parametrize("command", ["survey", "orgs", "language"])
async def test_private_commands_in_a_group_link_to_the_private_chat(
    chatter: Chatter, command: str
) -> None:
    [reply] = await in_group(chatter).send(f"/{command}")
    assert reply.chat_id == GROUP.id
    assert reply.text == (
        f"/{command} works in a private chat with me, so that what you tell me stays between us."
    )
    assert link_of(reply.reply_markup) == f"https://t.me/civicbot?start={command}"


async def test_coordinator_commands_in_a_group(chatter: Chatter) -> None:
    [refused] = await in_group(chatter, 8).send("/export")
    assert refused.text == "Only coordinators may do this."
    [linked] = await in_group(chatter, 42).send("/export@civicbot")
    assert link_of(linked.reply_markup) == "https://t.me/civicbot?start=export"


async def test_help_in_a_group_lists_what_works_there(chatter: Chatter) -> None:
    [reply] = await in_group(chatter).send("/help")
    assert reply.text.startswith("In this group I answer these commands:")
    for works in ("/ask", "/calls", "/help"):
        assert f"\n{works} — " in reply.text
    assert "/survey" not in reply.text and "/orgs" not in reply.text


async def test_the_link_opens_the_command_in_the_private_chat(chatter: Chatter) -> None:
    [ask] = await in_private(chatter).send("/start orgs")
    assert ask.text.startswith("In which municipality should I look?")
    await chatter.send("/cancel")
    [consent] = await chatter.send("/start survey")
    assert "Survey of civic organisations" in consent.text
    assert "Do you agree to this and want to begin?" in consent.text
    [refused] = await chatter.send("/start export")
    assert refused.text == "Only coordinators may do this."
    [greeting] = await chatter.send("/start")
    assert greeting.text.startswith("Hello, Ona!")
