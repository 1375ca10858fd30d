"""Whatever the bot does not expect gets a short translated reply or is ignored on purpose."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram.methods import AnswerCallbackQuery
from aiogram.types import Chat, Location, Message, PhotoSize, Update, Voice

from handlers.shared import command_name
from tests.support import Chatter, make_user


async def test_photo_voice_location_get_a_text_only_reply(chatter: Chatter) -> None:
    photo = [PhotoSize(file_id="p", file_unique_id="p", width=1, height=1)]
    for fields in (
        {"photo": photo},
        {"voice": Voice(file_id="v", file_unique_id="v", duration=1)},
        {"location": Location(latitude=54.6, longitude=25.3)},
    ):
        [reply] = await chatter.send(**fields)
        assert "tekst" in reply.text  # "tekstą" in Lithuanian


async def test_edited_message_is_answered(chatter: Chatter) -> None:
    edited = Message(
        message_id=1,
        date=datetime.now(UTC),
        edit_date=1,
        chat=chatter.chat,
        from_user=chatter.user,
        text="pataisyta",
    )
    [reply] = await chatter.feed(Update(update_id=900, edited_message=edited))
    assert reply.chat_id == chatter.user.id


async def test_unknown_command(chatter: Chatter) -> None:
    [reply] = await chatter.send("/nonsense")
    assert "/help" in reply.text


async def test_group_chatter_and_joins_are_ignored(chatter: Chatter) -> None:
    group = Chat(id=-100123, type="supergroup", title="Bendruomenė")
    assert await chatter.send("labas visiems", chat=group) == []
    assert await chatter.send(new_chat_members=[make_user(8)], chat=group) == []


async def test_coordinator_button_replayed_by_member_is_refused(chatter: Chatter) -> None:
    before = len(chatter.session.requests)
    await chatter.press_data("co-export:all")
    [answer] = [r for r in chatter.requests_since(before) if isinstance(r, AnswerCallbackQuery)]
    assert answer.show_alert
    assert answer.text == "Tai gali daryti tik koordinatoriai."


def test_command_name_is_lower_case_without_the_bot_name() -> None:
    def message(text: str) -> Message:
        return Message(
            message_id=1, date=datetime.now(UTC), chat=Chat(id=7, type="private"), text=text
        )

    assert command_name(message("/Export@civic_bot now please")) == "export"
    assert command_name(message("/stats")) == "stats"
    assert command_name(message("/")) == ""
    assert command_name(message("export /stats")) is None
    assert (
        command_name(Message(message_id=2, date=datetime.now(UTC), chat=Chat(id=7, type="private")))
        is None
    )


async def test_coordinator_command_in_capitals_is_refused_to_a_member(chatter: Chatter) -> None:
    [reply] = await chatter.send("/STATS")
    assert reply.text == "Tai gali daryti tik koordinatoriai."
