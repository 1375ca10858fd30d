"""Requests for expert help with the real `civicbot run` process, in a forum coordinators' chat
and in an ordinary group: asking with a photo, the card, a race to take it, refusals, replies
both ways as copies, a SIGKILL in the middle, closing, /requests, and escalation."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.e2e.conftest import BotProcess, data, said, text_of
from tests.e2e.fake_telegram import FakeTelegram, FakeUser, SentMessage

COORDINATORS_CHAT = -1007770001


async def answered(telegram: FakeTelegram, query_id: str | None) -> str:
    request = await telegram.wait_for(
        "answerCallbackQuery", predicate=lambda r: r.params.get("callback_query_id") == query_id
    )
    return str(request.params.get("text") or "")


async def file_request(telegram: FakeTelegram, leader: FakeUser, description: str) -> SentMessage:
    """LEADER files an urgent legal request for Trakai with a photo; the confirmation."""
    telegram.send_text(leader, "/expert")
    step = await said(telegram, leader.id, "Ar sutinkate?")
    telegram.press(leader, step, data(step, "Sutinku"))
    step = await said(telegram, leader.id, "Kokios pagalbos")
    telegram.press(leader, step, data(step, "Teisinė"))
    step = await said(telegram, leader.id, "Kiek tai skubu?")
    telegram.press(leader, step, data(step, "Skubu"))
    await said(telegram, leader.id, "Kurios savivaldybės")
    telegram.send_text(leader, "Trakai")
    step = await said(telegram, leader.id, "Pasirinkite savivaldybę")
    telegram.press(leader, step, data(step, "Trakų"))
    step = await said(telegram, leader.id, "Kokios organizacijos")
    telegram.press(leader, step, data(step, "Praleisti"))
    await said(telegram, leader.id, "Vienoje žinutėje aprašykite")
    telegram.send_text(leader, description)
    step = await said(telegram, leader.id, "Jei padėtų nuotraukos")
    telegram.send_photo(leader, caption="Raštas iš savivaldybės")
    await said(telegram, leader.id, "Pridėta (1)")
    telegram.press(leader, step, data(step, "Tęsti"))
    step = await said(telegram, leader.id, "Patikrinkite savo prašymą")
    telegram.press(leader, step, data(step, "Siųsti"))
    return await said(telegram, leader.id, "išsiųstas")


@pytest.mark.parametrize("forum", [True, False], ids=["forum", "group"])
async def test_a_request_from_asking_to_closing(
    telegram: FakeTelegram, bot_env: dict[str, str], tmp_path: Path, forum: bool
) -> None:
    chat = telegram.group(COORDINATORS_CHAT, "Koordinatoriai", forum=forum)
    rasa = telegram.user(42, "Rasa", username="rasa_k")
    tomas = telegram.user(43, "Tomas", username="tomas_v")
    stranger = telegram.user(60, "Petras")
    ona = telegram.user(7, "Ona")
    jonas = telegram.user(8, "Jonas")
    bot_env |= {
        "COORDINATOR_CHAT_ID": str(COORDINATORS_CHAT),
        "COORDINATOR_IDS": "42,43",
        "ESCALATE_AFTER": "urgent=25s,week=25s,later=25s",
    }
    process = BotProcess(bot_env, tmp_path, telegram)
    await process.start()
    try:
        # Jonas's request nobody takes: it is escalated after 25 s (checked at the end).
        assert "#1" in (await file_request(telegram, jonas, "Reikia teisininko.")).plain_text
        await said(telegram, COORDINATORS_CHAT, "Prašymas #1")
        confirmation = await file_request(telegram, ona, "Savivaldybė grasina bauda.")
        assert "#2" in confirmation.plain_text

        card = await said(telegram, COORDINATORS_CHAT, "Prašymas #2")
        assert "Teisinė" in card.plain_text and "Trakų" in card.plain_text
        assert "Savivaldybė grasina bauda." in card.plain_text
        assert "rasa" not in card.plain_text and "@" not in card.plain_text
        photo = await telegram.wait_for(
            "copyMessage",
            chat_id=COORDINATORS_CHAT,
            predicate=lambda r: r.params.get("from_chat_id") == ona.id,
        )
        if forum:
            assert card.thread_id is not None
            assert "#2" in chat_topic(telegram, card.thread_id)
            assert photo.message is not None and photo.message.thread_id == card.thread_id
        else:
            assert card.thread_id is None
            assert photo.message is not None and photo.message.reply_to == card.message_id

        # Two coordinators press Take at once: exactly one gets it, the other is told who.
        first = telegram.press(rasa, card, data(card, "Paimti"))
        second = telegram.press(tomas, card, data(card, "Paimti"))
        answers = [
            await answered(telegram, first.callback_query_id),
            await answered(telegram, second.callback_query_id),
        ]
        assert answers == ["Prašymas #2 jūsų.", "Prašymą #2 jau paėmė Rasa."]
        told = await said(telegram, ona.id, "nagrinėja koordinatorius Rasa")
        assert "rasa_k" not in told.plain_text and "42" not in told.plain_text
        # Someone who is no coordinator presses Close: refused, nothing changes.
        # (the card now shows Close and Release: it is redrawn in place)
        refused = telegram.press(stranger, card, data(card, "Užbaigti"))
        assert (
            await answered(telegram, refused.callback_query_id)
            == "Tai gali daryti tik koordinatoriai."
        )

        # The coordinator answers in the thread: the leader gets a copy, no account shown.
        where = {"thread_id": card.thread_id} if forum else {"reply_to_message_id": card.message_id}
        telegram.send_text(rasa, "Pateikite skundą per 14 dienų.", chat=chat, **where)
        answer = await said(telegram, ona.id, "Pateikite skundą")
        assert answer.plain_text.startswith("#2 · Rasa")
        await asyncio.sleep(0.5)  # the leader reads it (and the bot notes where it went)
        assert telegram.calls("forwardMessage") == []
        # The leader replies to it: it reaches the thread.
        telegram.send_text(ona, "Ačiū! O kur pateikti?", reply_to_message_id=answer.message_id)
        relayed = await said(telegram, COORDINATORS_CHAT, "O kur pateikti?")
        assert relayed.plain_text.startswith("#2 · prašymo autorius")
        if forum:
            assert relayed.thread_id == card.thread_id

        # Killed; meanwhile both write; after the restart both messages go through, once.
        await process.kill()
        telegram.send_text(ona, "Ar gavote mano laišką?", reply_to_message_id=answer.message_id)
        telegram.send_text(rasa, "Savivaldybės raštinėje.", chat=chat, **where)
        await process.start()
        await said(telegram, COORDINATORS_CHAT, "Ar gavote mano laišką?")
        await said(telegram, ona.id, "Savivaldybės raštinėje.")

        # Closing: an outcome line, the leader told, /requests shows it closed.
        close = telegram.press(rasa, card, data(card, "Užbaigti"))
        await answered(telegram, close.callback_query_id)
        await said(telegram, COORDINATORS_CHAT, "Užbaigiamas prašymas #2")
        telegram.send_text(rasa, "Skundas pateiktas, bauda panaikinta.", chat=chat, **where)
        closed = await said(telegram, ona.id, "užbaigtas. Rezultatas: Skundas pateiktas")
        assert "#2" in closed.plain_text
        telegram.send_text(ona, "/requests")
        listing = await said(telegram, ona.id, "Jūsų prašymai")
        assert "#2 · Teisinė · užbaigtas · nagrinėja Rasa" in listing.plain_text
        if forum:
            assert card.thread_id is not None
            assert telegram.topics[COORDINATORS_CHAT][card.thread_id]["closed"] is True

        # Jonas's request, untaken: escalated once, in the chat and to each coordinator.
        await said(telegram, COORDINATORS_CHAT, "Prašymo #1 niekas nepaėmė", timeout=40)
        await said(telegram, 42, "Prašymo #1 niekas nepaėmė")
        await said(telegram, 43, "Prašymo #1 niekas nepaėmė")
        await asyncio.sleep(2)
    finally:
        await process.stop()

    def count(chat_id: int, text: str) -> int:
        return sum(
            1
            for r in telegram.requests
            if r.status == 200 and str(r.chat_id) == str(chat_id) and text in text_of(r)
        )

    assert count(COORDINATORS_CHAT, "Prašymo #1 niekas nepaėmė") == 1
    assert count(42, "Prašymo #1 niekas nepaėmė") == 1
    assert count(COORDINATORS_CHAT, "Ar gavote mano laišką?") == 1
    assert count(ona.id, "Savivaldybės raštinėje.") == 1
    assert count(ona.id, "Pateikite skundą") == 1
    # Nothing sent to the leader names the coordinator's account.
    to_ona = " ".join(text_of(r) for r in telegram.requests if str(r.chat_id) == str(ona.id))
    assert "rasa_k" not in to_ona and "tomas_v" not in to_ona


def chat_topic(telegram: FakeTelegram, thread_id: int) -> str:
    return str(telegram.topics[COORDINATORS_CHAT][thread_id]["name"])
