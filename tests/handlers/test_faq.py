"""Questions, /calls, /reload, /newcall and group questions, fed through the real dispatcher."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.methods import AnswerCallbackQuery, SendMessage
from aiogram.types import Chat, Message, MessageEntity, User

from bot.app import App, open_app
from bot.i18n import Translations
from bot.local_session import BOT_USER
from bot.sender import quote
from bot.settings import Settings
from handlers.faq import answer_keyboard
from knowledge.municipalities import MunicipalityDirectory
from knowledge.service import PACK_DIR, Answer, KnowledgeBase, Suggestion
from knowledge.text import Lang
from storage import calls
from tests.handlers.old_messages import press_on_old_message
from tests.support import Chatter, FixedClock, buttons, make_user

GROUP = Chat(id=-100777, type="supergroup", title="Bendruomenė")
PILOT_QUESTION = "What is the community pilot?"


@pytest.fixture
def pack_folder(tmp_path: Path) -> Path:
    """A copy of the knowledge pack that a test may break."""
    return Path(shutil.copytree(PACK_DIR, tmp_path / "pack"))


@pytest.fixture
async def app(
    settings: Settings,
    bot: Bot,
    pack_folder: Path,
    shared_knowledge: KnowledgeBase,
    clock: FixedClock,
) -> AsyncIterator[App]:
    """The whole application, reading the pack copy."""
    knowledge = shared_knowledge.copy(folder=pack_folder)
    async with open_app(settings, bot=bot, knowledge=knowledge, clock=clock) as opened:
        yield opened


def as_person(chatter: Chatter, user_id: int = 7, language_code: str = "en") -> Chatter:
    """Switch to another person's private chat (English-speaking by default)."""
    chatter.user = make_user(user_id, language_code)
    chatter.chat = Chat(id=user_id, type="private")
    return chatter


def as_coordinator(chatter: Chatter) -> Chatter:
    return as_person(chatter, 42)


def alerts(chatter: Chatter, since: int) -> list[AnswerCallbackQuery]:
    return [r for r in chatter.requests_since(since) if isinstance(r, AnswerCallbackQuery)]


def entry_answer(app: App, entry_id: str, lang: Lang) -> str:
    return quote(app.knowledge.pack.entry(entry_id).answer[lang])


# --- questions in a private chat ----------------------------------------------------------------


async def test_confident_answer(chatter: Chatter, app: App) -> None:
    as_person(chatter)
    [reply] = await chatter.send(PILOT_QUESTION)
    assert reply.text == entry_answer(app, "pilot-about", "en")
    assert buttons(reply) == []


async def test_text_before_start_is_a_question(chatter: Chatter, app: App) -> None:
    as_person(chatter, 8, "lv")
    [reply] = await chatter.send("Kas ir LPA?")
    assert reply.text == entry_answer(app, "lpa-organisation", "lv")


async def test_unsure_answer_offers_questions_and_a_coordinator(chatter: Chatter, app: App) -> None:
    as_person(chatter)
    [reply] = await chatter.send("community pilot pizza")
    assert reply.text.startswith("I am not sure")
    offered = buttons(reply)
    assert 2 <= len(offered) <= 4
    assert offered[-1] == "Ask a coordinator"
    data = str(reply.reply_markup.inline_keyboard[0][0].callback_data)  # type: ignore[union-attr]
    prefix, kind, entry_id = data.split(":")
    assert (prefix, kind) == ("faq", "e")
    assert entry_id.startswith("pilot-")
    [answer] = await chatter.press(reply, offered[0])
    assert answer.text == entry_answer(app, entry_id, "en")

    [contact] = await chatter.press(reply, "Ask a coordinator")
    assert "cannot pass questions to a coordinator yet" in contact.text
    assert "bendruomenes@nisc.lt" in contact.text


async def test_out_of_scope_question_is_not_answered(chatter: Chatter) -> None:
    as_person(chatter)
    [reply] = await chatter.send("What is the capital of France?")
    assert reply.text.startswith("I am not sure I can answer that")
    assert buttons(reply) == ["Ask a coordinator"]
    [contact] = await chatter.press(reply, "Ask a coordinator")
    assert "no contact for this topic" in contact.text


async def test_suggestion_of_a_removed_entry_is_answered_politely(chatter: Chatter) -> None:
    as_person(chatter)
    before = len(chatter.session.requests)
    assert await chatter.press_data("faq:e:no-longer-there") == []
    [alert] = alerts(chatter, before)
    assert alert.show_alert and alert.text == (
        "I no longer have this question. Please ask again in your own words."
    )


def test_buttons_of_an_unsure_answer_fit_in_callback_data_even_for_long_ids() -> None:
    long_id = "an-entry-whose-id-is-much-longer-than-a-button-can-carry-at-all"
    answer = Answer(
        lang="en",
        text="I am not sure.",
        score=0.2,
        suggestions=(
            Suggestion("entry", long_id, "A question about a long id?"),
            Suggestion("entry", "pilot-about", PILOT_QUESTION),
        ),
        guess=("entry", long_id),
    )
    with Translations(default_locale="en").context():
        markup = answer_keyboard(answer)
    assert markup is not None
    pressed = [button for row in markup.inline_keyboard for button in row]
    assert [button.text for button in pressed] == [PILOT_QUESTION, "Ask a coordinator"]
    assert [button.callback_data for button in pressed] == ["faq:e:pilot-about", "faq-contact::"]


async def test_help_says_questions_can_be_typed(chatter: Chatter) -> None:
    as_person(chatter)
    [reply] = await chatter.send("/help")
    assert "type a question" in reply.text
    assert "/calls" in reply.text and "/newcall" not in reply.text


# --- /calls and /reload -------------------------------------------------------------------------


async def test_calls_without_open_ones_shows_the_latest_closed(chatter: Chatter) -> None:
    as_person(chatter)
    [reply] = await chatter.send("/calls")
    assert reply.text.startswith("No call is open or upcoming right now.")
    assert "measure 1.1.4" in reply.text
    assert "Closed: applications were accepted from August 17, 2021" in reply.text


async def test_reload_for_coordinators_only(chatter: Chatter, app: App) -> None:
    as_person(chatter)
    [refused] = await chatter.send("/reload")
    assert refused.text == "Only coordinators may do this."
    as_coordinator(chatter)
    [done] = await chatter.send("/reload")
    count = len(app.knowledge.pack.entries)
    assert done.text == f"The knowledge pack is reloaded: {count} entries and 1 call."


async def test_broken_pack_is_refused_and_the_old_one_stays(
    chatter: Chatter, app: App, pack_folder: Path
) -> None:
    as_coordinator(chatter)
    broken = pack_folder / "community-pilot.yaml"
    broken.write_text("entries:\n  - id: Broken Id\n", encoding="utf-8")
    [refused] = await chatter.send("/reload")
    assert "was not reloaded" in refused.text
    assert "pack/community-pilot.yaml:2: entry 'Broken Id': bad id" in refused.text
    [reply] = await chatter.send(PILOT_QUESTION)
    assert reply.text == entry_answer(app, "pilot-about", "en")


async def test_removed_entry_after_reload(chatter: Chatter, pack_folder: Path) -> None:
    as_coordinator(chatter)
    [reply] = await chatter.send("Kas ir LPA?")
    (pack_folder / "latvian-civic-alliance.yaml").unlink()
    await chatter.send("/reload")
    before = len(chatter.session.requests)
    await chatter.press_data("faq:e:lpa-organisation")
    [alert] = alerts(chatter, before)
    assert alert.show_alert and "no longer have this question" in (alert.text or "")
    assert reply.text  # it was answered before the reload


# --- /newcall -----------------------------------------------------------------------------------


async def test_new_call_wizard_end_to_end(chatter: Chatter, app: App) -> None:
    as_coordinator(chatter)
    today = app.dispatcher["clock"]().astimezone(app.settings.tz).date()
    opens, closes = today + timedelta(days=10), today + timedelta(days=40)
    [ask_title] = await chatter.send("/newcall")
    assert "step 1 of 9" in ask_title.text
    await chatter.send("Grants for beekeeping clubs")
    await chatter.send("Rural Bees")
    [ask_opens] = await chatter.send("Ogre municipality")
    assert "Europe/Vilnius" in ask_opens.text
    [bad] = await chatter.send("next Tuesday")
    assert bad.text.startswith("I could not read this date")
    await chatter.send(opens.isoformat())
    [too_early] = await chatter.send(f"{today:%d.%m.%Y} 18:00")
    assert too_early.text.startswith("The call must close after it opens")
    await chatter.send(f"{closes:%d.%m.%Y} 18:00")
    [ask_places] = await chatter.send("Beekeeping clubs and their members")
    assert buttons(ask_places) == ["All municipalities"]
    [choices] = await chatter.send("Ogre")
    assert buttons(choices)[0] == "Ogre municipality"
    [chosen] = await chatter.press(choices, "Ogre municipality")
    assert chosen.text.startswith("Chosen: Ogre municipality.")
    [ask_contact] = await chatter.press(chosen, "Done")
    assert ask_contact.text.startswith("Step 8 of 9")
    await chatter.send("bees@example.org")
    [bad_link] = await chatter.send("not a link")
    assert bad_link.text.startswith("This does not look like a link")
    [preview] = await chatter.send("www.example.org/bees")
    [press_please] = await chatter.send("looks good")
    assert press_please.text == "Please press Save or Cancel under the preview."
    assert preview.text.startswith("This is how members will see the call:")
    assert "Not open yet" in preview.text and "Ogre municipality" in preview.text
    assert "https://www.example.org/bees" in preview.text
    [saved] = await chatter.press(preview, "Save")
    assert saved.text.startswith("Saved.")

    async with app.sessionmaker() as session:
        [row] = await calls.list_calls(session)
    assert row.id == "grants-for-beekeeping-clubs"
    assert (row.language, row.municipalities, row.created_by) == ("en", ["ogre-municipality"], 42)
    assert row.closes == datetime(
        closes.year, closes.month, closes.day, 18, 0, tzinfo=app.settings.tz
    )

    as_person(chatter, 9)
    [answer] = await chatter.send("When do the beekeeping club grants close?")
    assert answer.text.startswith("Grants for beekeeping clubs\nNot open yet")
    assert "bees@example.org" in answer.text
    [listed] = await chatter.send("/calls")
    assert listed.text.startswith("Open and upcoming calls:")
    assert "Grants for beekeeping clubs" in listed.text


async def to_places_step(chatter: Chatter, app: App) -> SendMessage:
    """A coordinator's /newcall up to the question where applicants may come from."""
    as_coordinator(chatter)
    today = app.dispatcher["clock"]().astimezone(app.settings.tz).date()
    for text in ("/newcall", "Small grants", "Fund", "Funder", f"{today:%Y-%m-%d}"):
        await chatter.send(text)
    await chatter.send((today + timedelta(days=3)).isoformat())
    [ask_places] = await chatter.send("Everyone")
    return ask_places


async def test_new_call_for_all_municipalities_without_link(chatter: Chatter, app: App) -> None:
    ask_places = await to_places_step(chatter, app)
    [ask_contact] = await chatter.press(ask_places, "All municipalities")
    [ask_link] = await chatter.send("+370 600 00000")
    [preview] = await chatter.press(ask_link, "No link")
    assert "Municipalities: all municipalities" in preview.text
    assert "More information" not in preview.text
    assert "closes in 3 days" in preview.text
    await chatter.press(preview, "Save")
    [listed] = await chatter.send("/calls")
    assert "Small grants" in listed.text
    assert ask_contact.text.startswith("Step 8 of 9")


async def test_new_call_wizard_survives_a_restart(
    chatter: Chatter, settings: Settings, pack_folder: Path, shared_knowledge: KnowledgeBase
) -> None:
    as_coordinator(chatter)
    await chatter.send("/newcall")
    await chatter.send("Restart grants")
    knowledge = shared_knowledge.copy(folder=pack_folder)
    async with open_app(settings, bot=chatter.bot, knowledge=knowledge) as restarted:
        again = Chatter(
            restarted.dispatcher, chatter.bot, chatter.session, chatter.user, chatter.chat
        )
        [reply] = await again.send("Community Fund")
        assert reply.text == "Step 3 of 9: who funds it?"


@pytest.mark.parametrize(
    ("action", "reply", "stored"),
    [
        (
            "save",
            "Saved. /calls lists the call and members' questions find it now.",
            ["Small grants"],
        ),
        ("cancel", "Cancelled: the call was not saved.", []),
    ],
)
async def test_the_preview_buttons_end_the_wizard_also_on_a_message_too_old_to_edit(
    chatter: Chatter, app: App, action: str, reply: str, stored: list[str]
) -> None:
    await chatter.press(await to_places_step(chatter, app), "All municipalities")
    [ask_link] = await chatter.send("+370 600 00000")
    await chatter.press(ask_link, "No link")
    [done] = await press_on_old_message(chatter, f"co-nca:{action}")
    assert done.text == reply
    # The wizard is over: Save cannot store the call (again).
    before = len(chatter.session.requests)
    assert await chatter.press_data("co-nca:save") == []
    [alert] = alerts(chatter, before)
    assert alert.text == "This button is no longer active."
    async with app.sessionmaker() as session:
        assert [row.title for row in await calls.list_calls(session)] == stored


async def test_chosen_municipalities_are_escaped(chatter: Chatter, app: App) -> None:
    renamed = MunicipalityDirectory(
        replace(m, short={**m.short, "en": "Ogre & <Co>"}) if m.id == "ogre-municipality" else m
        for m in app.municipalities
    )
    app.dispatcher["municipalities"] = renamed
    await to_places_step(chatter, app)
    [choices] = await chatter.send("Ogre")
    [chosen] = await chatter.press(choices, "Ogre & <Co>")
    assert chosen.text.startswith("Chosen: Ogre &amp; &lt;Co&gt;.")


async def test_cancelled_new_call_is_not_saved(chatter: Chatter, app: App) -> None:
    as_coordinator(chatter)
    await chatter.send("/newcall")
    [cancelled] = await chatter.send("/cancel")
    assert cancelled.text.startswith("Cancelled")
    async with app.sessionmaker() as session:
        assert await calls.list_calls(session) == []


async def test_member_cannot_start_or_replay_new_call(chatter: Chatter, app: App) -> None:
    as_person(chatter)
    [refused] = await chatter.send("/newcall")
    assert refused.text == "Only coordinators may do this."
    for data in ("co-nca:save", "co-ncm:ogre-municipality"):
        before = len(chatter.session.requests)
        await chatter.press_data(data)
        [alert] = alerts(chatter, before)
        assert alert.show_alert and alert.text == "Only coordinators may do this."
    async with app.sessionmaker() as session:
        assert await calls.list_calls(session) == []


async def test_coordinator_old_wizard_button_is_inactive(chatter: Chatter) -> None:
    as_coordinator(chatter)
    before = len(chatter.session.requests)
    await chatter.press_data("co-nca:save")
    [alert] = alerts(chatter, before)
    assert alert.show_alert and alert.text == "This button is no longer active."


# --- groups -------------------------------------------------------------------------------------


def bot_message() -> Message:
    """A message the bot sent earlier in the group."""
    return Message(
        message_id=500,
        date=datetime.now(UTC),
        chat=GROUP,
        from_user=User.model_validate(BOT_USER),
        text="Hello!",
    )


async def replies_in_group(chatter: Chatter, text: str, **fields: object) -> list[SendMessage]:
    chatter.user = make_user(11, "en")
    return await chatter.send(text, chat=GROUP, **fields)


async def test_group_ask_command(chatter: Chatter, app: App) -> None:
    [reply] = await replies_in_group(chatter, f"/ask {PILOT_QUESTION}")
    assert reply.chat_id == GROUP.id
    assert reply.text == entry_answer(app, "pilot-about", "en")
    [hint] = await replies_in_group(chatter, "/ask")
    assert hint.text.startswith("Type your question after the command")


async def test_group_mention(chatter: Chatter, app: App) -> None:
    text = f"@civicbot {PILOT_QUESTION}"
    mention = MessageEntity(type="mention", offset=0, length=len("@civicbot"))
    [reply] = await replies_in_group(chatter, text, entities=[mention])
    assert reply.text == entry_answer(app, "pilot-about", "en")
    assert reply.reply_parameters is not None


async def test_group_reply_to_the_bot(chatter: Chatter, app: App) -> None:
    [reply] = await replies_in_group(chatter, PILOT_QUESTION, reply_to_message=bot_message())
    assert reply.text == entry_answer(app, "pilot-about", "en")


async def test_group_unaddressed_message_is_ignored(chatter: Chatter) -> None:
    assert await replies_in_group(chatter, PILOT_QUESTION) == []
    other = MessageEntity(type="mention", offset=0, length=len("@someone"))
    assert await replies_in_group(chatter, f"@someone {PILOT_QUESTION}", entities=[other]) == []
    reply_to_person = Message(
        message_id=501, date=datetime.now(UTC), chat=GROUP, from_user=make_user(12), text="hi"
    )
    assert await replies_in_group(chatter, PILOT_QUESTION, reply_to_message=reply_to_person) == []


async def test_a_question_is_answered_in_the_language_it_is_written_in(
    chatter: Chatter, app: App
) -> None:
    # Telegram in Russian: the member's language is the default, Lithuanian.
    chatter.user = make_user(31, "ru")
    chatter.chat = Chat(id=31, type="private")
    [english] = await chatter.send("Who funds Local-y-mpact?")
    assert english.text == entry_answer(app, "lympact-funding", "en")
    [latvian] = await chatter.send("Kas ir Geri norai?")
    assert latvian.text == entry_answer(app, "lympact-organiser", "lv")
    # Unclear (a name alone): the member's own language.
    [unclear] = await chatter.send("Local-y-mpact")
    assert unclear.text == entry_answer(app, "lympact-about", "lt")
    # Everything else stays in the member's language.
    [help_text] = await chatter.send("/help")
    assert help_text.text.startswith("Štai ką galiu:")


async def test_new_call_contact_must_be_an_email_phone_or_web_address(
    chatter: Chatter, app: App
) -> None:
    ask_places = await to_places_step(chatter, app)
    [ask_contact] = await chatter.press(ask_places, "All municipalities")
    assert "e-mail address, a phone number or a web address" in ask_contact.text
    for wrong in ("call Ona", "ona@", "12", "javascript:alert(1)"):
        [refused] = await chatter.send(wrong)
        assert refused.text.startswith(
            "This is not an e-mail address, a phone number or a web address."
        ), wrong
    [ask_link] = await chatter.send("8 612 34567")
    assert ask_link.text.startswith("Step 9 of 9")
    [preview] = await chatter.press(ask_link, "No link")
    assert "Contact: +37061234567" in preview.text  # stored as the validators normalise it
