"""Onboarding, /language, /help, /cancel and the fallback, fed through the real dispatcher."""

from __future__ import annotations

import pytest
from aiogram.methods import AnswerCallbackQuery, SendMessage
from aiogram.types import Chat, Sticker

from bot.app import App
from storage import members
from storage.models import Member
from tests.handlers.old_messages import press_on_old_message
from tests.support import Chatter, buttons, make_user


async def member_row(app: App, member_id: int = 7) -> Member | None:
    async with app.sessionmaker() as session:
        return await members.get_member(session, member_id=member_id)


def texts(replies: list[SendMessage]) -> str:
    return "\n".join(reply.text for reply in replies)


async def test_start_asks_language_in_telegram_language(chatter: Chatter) -> None:
    [reply] = await chatter.send("/start")
    assert "Sveiki, Ona!" in reply.text
    assert buttons(reply) == ["Lietuvių", "Latviešu", "English"]


async def test_full_onboarding_in_english_stores_profile_with_consent(
    chatter: Chatter, app: App
) -> None:
    [welcome] = await chatter.send("/start")
    [ask_municipality] = await chatter.press(welcome, "English")
    assert "Which municipality" in ask_municipality.text
    [choices] = await chatter.send("trak")
    assert buttons(choices)[0] == "Trakai district"
    [consent] = await chatter.press(choices, "Trakai district")
    assert "May I store your municipality" in consent.text
    [done] = await chatter.press(consent, "Yes, store it")
    assert "your profile is saved" in done.text
    assert "/language" in done.text

    member = await member_row(app)
    assert member is not None
    assert member.language == "en"
    assert member.municipality == "trakai-district"
    assert member.consent_version == "profile-2"
    assert member.consent_at is not None and member.consent_at.tzinfo is not None


async def test_declining_consent_keeps_no_municipality(chatter: Chatter, app: App) -> None:
    [welcome] = await chatter.send("/start")
    await chatter.press(welcome, "English")
    [choices] = await chatter.send("Kaunas")
    [consent] = await chatter.press(choices, buttons(choices)[0])
    [done] = await chatter.press(consent, "No, thanks")
    assert "only your name and language" in done.text
    member = await member_row(app)
    assert member is not None
    assert (member.language, member.municipality, member.consent_at) == ("en", None, None)


async def test_municipality_can_be_skipped_and_nonsense_is_answered(chatter: Chatter) -> None:
    [welcome] = await chatter.send("/start")
    [ask] = await chatter.press(welcome, "Latviešu")
    assert ask.text.startswith("Kurā pašvaldībā")
    [nothing] = await chatter.send("xyzzy")
    assert "xyzzy" in nothing.text
    assert len(buttons(nothing)) == 1  # just Skip
    [consent] = await chatter.press(nothing, buttons(nothing)[0])
    assert len(buttons(consent)) == 2


async def test_sticker_during_onboarding_keeps_the_step(chatter: Chatter) -> None:
    [welcome] = await chatter.send("/start")
    await chatter.press(welcome, "English")
    sticker = Sticker(
        file_id="s",
        file_unique_id="s",
        type="regular",
        width=1,
        height=1,
        is_animated=False,
        is_video=False,
    )
    [reply] = await chatter.send(sticker=sticker)
    assert "type the name of your municipality" in reply.text
    [choices] = await chatter.send("Ogre")
    assert buttons(choices)[0] == "Ogre municipality"


async def test_language_command_switches_language(chatter: Chatter, app: App) -> None:
    [offer] = await chatter.send("/language")
    await chatter.press(offer, "Latviešu")
    [reply] = await chatter.send("/help")
    assert reply.text.startswith("Lūk, ko es varu")
    member = await member_row(app)
    assert member is not None and member.language == "lv"


async def test_unknown_telegram_language_falls_back_to_default(chatter: Chatter) -> None:
    chatter.user = make_user(language_code="de")
    [reply] = await chatter.send("/help")
    assert reply.text.startswith("Štai ką galiu")


async def test_help_lists_coordinator_commands_only_for_coordinators(chatter: Chatter) -> None:
    [member_help] = await chatter.send("/help")
    chatter.user = make_user(user_id=42)
    chatter.chat = Chat(id=42, type="private")
    [coordinator_help] = await chatter.send("/help")
    assert "/start" in member_help.text and "/start" in coordinator_help.text
    assert len(coordinator_help.text) >= len(member_help.text)


async def test_cancel_leaves_onboarding(chatter: Chatter) -> None:
    [welcome] = await chatter.send("/start")
    await chatter.press(welcome, "English")
    [cancelled] = await chatter.send("/cancel")
    assert "Cancelled" in cancelled.text
    [again] = await chatter.send("/cancel")
    assert "nothing to cancel" in again.text


async def test_old_button_is_answered_politely(chatter: Chatter) -> None:
    await chatter.send("/start")
    before = len(chatter.session.requests)
    await chatter.press_data("muni:trakai-district")  # not at the municipality step
    [answer] = [r for r in chatter.requests_since(before) if isinstance(r, AnswerCallbackQuery)]
    assert answer.show_alert and answer.text


async def test_member_row_written_once_when_nothing_changed(chatter: Chatter, app: App) -> None:
    await chatter.send("/help")
    first = await member_row(app)
    await chatter.send("/help")
    second = await member_row(app)
    assert first is not None and second is not None
    assert first.updated_at == second.updated_at
    chatter.user = make_user(name="Onutė")
    await chatter.send("/help")
    third = await member_row(app)
    assert third is not None and third.name == "Onutė" and third.updated_at > first.updated_at


async def test_text_before_start_is_not_refused(chatter: Chatter) -> None:
    replies = await chatter.send("labas")
    assert replies, "the bot must answer"
    assert "/start" not in replies[0].text


async def test_onboarding_buttons_work_under_a_message_too_old_to_edit(
    chatter: Chatter, app: App
) -> None:
    [welcome] = await chatter.send("/start")
    data = welcome.reply_markup.inline_keyboard[0][2].callback_data  # type: ignore[union-attr]
    [ask] = await press_on_old_message(chatter, str(data))  # English
    assert "Which municipality" in ask.text
    [consent] = await press_on_old_message(chatter, "onb:skip")
    assert "May I store your municipality" in consent.text
    [done] = await press_on_old_message(chatter, "onb:agree")
    assert "your profile is saved" in done.text
    member = await member_row(app)
    assert member is not None and member.consent_version == "profile-2"


async def test_language_button_under_a_message_too_old_to_edit(chatter: Chatter) -> None:
    [confirmation] = await press_on_old_message(chatter, "lang:lv")
    assert confirmation.text == "Runāšu ar jums latviski."


@pytest.mark.parametrize(
    ("code", "sentence"),
    [
        ("lt", "Kalbėsiu su jumis lietuviškai."),
        ("lv", "Runāšu ar jums latviski."),
        ("en", "I will speak English with you."),
    ],
)
async def test_the_language_confirmation_is_a_natural_sentence(
    chatter: Chatter, code: str, sentence: str
) -> None:
    [confirmation] = await press_on_old_message(chatter, f"lang:{code}")
    assert confirmation.text == sentence
