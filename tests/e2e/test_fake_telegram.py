"""Tests of the fake Bot API server, driven by the real aiogram client over HTTP."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from tests.e2e.fake_telegram import (
    NOT_MODIFIED,
    FakeTelegram,
    bad_request,
    chat_not_found,
    forbidden,
    parse_html,
    retry_after,
    server_error,
    timeout,
)


def make_bot(tg: FakeTelegram, request_timeout: float = 60.0) -> Bot:
    """A real aiogram bot talking to the fake server."""
    api = TelegramAPIServer.from_base(tg.url)
    return Bot(token="123:TEST", session=AiohttpSession(api=api, timeout=request_timeout))


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    """One row of callback buttons."""
    row = [InlineKeyboardButton(text=text, callback_data=data) for text, data in buttons]
    return InlineKeyboardMarkup(inline_keyboard=[row])


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    """A running fake Bot API server."""
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    """A real bot over HTTP (instead of the recording bot of tests/conftest.py)."""
    client = make_bot(tg)
    yield client
    await client.session.close()


async def test_long_poll_waits_for_an_update_or_times_out_empty(bot: Bot, tg: FakeTelegram) -> None:
    ona = tg.user(501, "Ona")
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    assert not poll.done()

    queued = tg.send_text(ona, "/start")
    updates = await asyncio.wait_for(poll, 2)

    assert [u.update_id for u in updates] == [queued.update_id]
    message = updates[0].message
    assert message is not None
    assert message.from_user is not None
    assert (message.text, message.chat.type, message.from_user.id) == ("/start", "private", 501)
    assert [(e.type, e.offset, e.length) for e in message.entities or []] == [("bot_command", 0, 6)]

    # Not confirmed yet, but of a type the bot no longer asks for: Telegram drops it.
    started = asyncio.get_running_loop().time()
    assert await bot.get_updates(timeout=1, allowed_updates=["callback_query"]) == []
    assert asyncio.get_running_loop().time() - started >= 0.9
    assert tg.pending_updates == []


async def test_offset_confirms_updates_and_unconfirmed_ones_come_again_after_restart(
    tg: FakeTelegram,
) -> None:
    ona = tg.user(501)
    first, second, third = (tg.send_text(ona, text) for text in ("a", "b", "c"))
    before_restart = make_bot(tg)
    try:
        assert len(await before_restart.get_updates()) == 3
        confirmed = await before_restart.get_updates(offset=first.update_id + 1)
        assert [u.update_id for u in confirmed] == [second.update_id, third.update_id]
    finally:
        await before_restart.session.close()

    after_restart = make_bot(tg)  # a new process polls without an offset
    try:
        again = await after_restart.get_updates(limit=1)
        assert [u.update_id for u in again] == [second.update_id]
        rest = await after_restart.get_updates(offset=third.update_id + 1, timeout=0)
        assert rest == []
    finally:
        await after_restart.session.close()


async def test_a_second_poller_terminates_the_first_with_conflict(tg: FakeTelegram) -> None:
    old, new = make_bot(tg), make_bot(tg)
    try:
        old_poll = asyncio.create_task(old.get_updates(timeout=5))
        await asyncio.sleep(0.05)
        new_poll = asyncio.create_task(new.get_updates(timeout=5))
        with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
            await asyncio.wait_for(old_poll, 2)
        queued = tg.send_text(tg.user(501), "labas")
        assert [u.update_id for u in await asyncio.wait_for(new_poll, 2)] == [queued.update_id]
    finally:
        await asyncio.gather(old.session.close(), new.session.close())


async def test_sent_message_with_keyboard_is_recorded_and_pressable(
    bot: Bot, tg: FakeTelegram
) -> None:
    ona = tg.user(501)
    markup = keyboard(("Taip", "vote:yes"), ("Ne", "vote:no"))

    reply = await bot.send_message(
        501, "Ar <b>dalyvausite</b>?", parse_mode="HTML", reply_markup=markup
    )
    request = await tg.wait_for(chat_id=501)

    sent = request.message
    assert sent is not None
    assert sent.buttons == [[("Taip", "vote:yes"), ("Ne", "vote:no")]]
    assert (sent.text, sent.plain_text, sent.parse_mode) == (
        "Ar <b>dalyvausite</b>?",
        "Ar dalyvausite?",
        "HTML",
    )
    assert tg.sent_messages(501) == [sent]
    assert (reply.message_id, reply.text) == (sent.message_id, "Ar dalyvausite?")
    assert reply.reply_markup is not None
    assert reply.reply_markup.model_dump(exclude_none=True) == sent.reply_markup

    pressed = tg.press(ona, sent, sent.callback_data("Ne"))
    [update] = await bot.get_updates()
    query = update.callback_query
    assert query is not None
    assert (query.id, query.data, query.from_user.id) == (pressed.callback_query_id, "vote:no", 501)
    assert query.message is not None
    assert query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(query.id, text="Ačiū")
    with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
        await bot.answer_callback_query("not-a-query")
    with pytest.raises(ValueError, match="no button"):
        tg.press(ona, sent, "vote:maybe")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<blink>x</blink>", 'Unsupported start tag "blink" at byte offset 0'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("Tom & Jerry", 'Character "&" must be escaped at byte offset 4'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("ą <a href='x'", "Unclosed start tag at byte offset 3"),
    ],
)
def test_bad_html_is_rejected_with_telegrams_reason(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(reason)}$"):
        parse_html(text)


def test_good_html_gives_visible_text_and_spans() -> None:
    text = '<b>Š <a href="https://e.lt?a=1&amp;b=2">&lt;3 &amp; &quot;x&quot; &#33;</a></b>'

    assert parse_html(text) == (
        'Š <3 & "x" !',
        (("b", "", 0, 12), ("a", 'href="https://e.lt?a=1&amp;b=2"', 2, 12)),
    )


async def test_sent_text_and_buttons_are_checked_like_telegram(bot: Bot, tg: FakeTelegram) -> None:
    html = "<i>Š</i> &lt;3 <tg-spoiler>s</tg-spoiler> <span class='tg-spoiler'>p</span>"
    reply = await bot.send_message(501, html, parse_mode="HTML")
    assert reply.text == "Š <3 s p"
    assert (await bot.send_message(501, "a < b & c")).text == "a < b & c"  # no parse mode
    assert (await bot.send_message(501, "ž" * 4096)).text == "ž" * 4096

    with pytest.raises(
        TelegramBadRequest, match=r"^Telegram server says - Bad Request: message text is empty$"
    ):
        await bot.send_message(501, "")  # aiogram leaves the empty text out of the request
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(501, "<b> </b>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="can't parse entities: Unsupported start tag"):
        await bot.send_message(501, "<br>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="Bad Request: message is too long"):
        await bot.send_message(501, "ž" * 4097)
    await bot.send_message(501, "ok", reply_markup=keyboard(("ą", "ą" * 32)))  # 64 bytes
    with pytest.raises(
        TelegramBadRequest, match=r"^Telegram server says - Bad Request: BUTTON_DATA_INVALID$"
    ):
        await bot.send_message(501, "too long", reply_markup=keyboard(("ą", "ą" * 32 + "a")))
    assert len(tg.sent_messages(501)) == 4


async def test_edits_follow_telegram_rules(bot: Bot, tg: FakeTelegram) -> None:
    markup = keyboard(("Taip", "yes"))
    sent = await bot.send_message(501, "<b>Klausimas</b>", parse_mode="HTML", reply_markup=markup)

    with pytest.raises(TelegramBadRequest) as caught:
        await bot.edit_message_text(
            text="<b>Klausimas</b>",
            chat_id=501,
            message_id=sent.message_id,
            parse_mode="HTML",
            reply_markup=markup,
        )
    assert caught.value.message == NOT_MODIFIED
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=501, message_id=sent.message_id, reply_markup=markup
        )
    with pytest.raises(TelegramBadRequest, match="Bad Request: message to edit not found"):
        await bot.edit_message_text(text="x", chat_id=501, message_id=999)

    # Leaving reply_markup out removes the keyboard: that is a change.
    edited = await bot.edit_message_text(
        text="<b>Klausimas</b>", chat_id=501, message_id=sent.message_id, parse_mode="HTML"
    )
    assert not isinstance(edited, bool)
    assert edited.reply_markup is None
    assert edited.edit_date is not None
    [stored] = tg.sent_messages(501)
    assert (stored.buttons, stored.plain_text) == ([], "Klausimas")


async def test_injected_faults_become_aiogram_exceptions(bot: Bot, tg: FakeTelegram) -> None:
    tg.inject("sendMessage", retry_after(3), times=2)
    tg.inject("sendmessage", forbidden())
    tg.inject("sendMessage", chat_not_found())
    tg.inject("sendMessage", bad_request("message thread not found"))
    tg.inject("sendMessage", server_error(502))

    for _ in range(2):
        with pytest.raises(TelegramRetryAfter) as flood:
            await bot.send_message(501, "labas")
        assert flood.value.retry_after == 3
        assert "Too Many Requests: retry after 3" in flood.value.message
    with pytest.raises(TelegramForbiddenError, match="Forbidden: bot was blocked by the user"):
        await bot.send_message(501, "labas")
    with pytest.raises(TelegramBadRequest, match="Bad Request: chat not found"):
        await bot.send_message(501, "labas")
    with pytest.raises(TelegramBadRequest, match="Bad Request: message thread not found"):
        await bot.send_message(501, "labas")
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await bot.send_message(501, "labas")
    await bot.send_message(501, "labas")

    assert [r.status for r in tg.calls("sendMessage")] == [429, 429, 403, 400, 400, 502, 200]
    assert len(tg.sent_messages()) == 1


async def test_faults_can_be_scoped_to_one_chat(bot: Bot, tg: FakeTelegram) -> None:
    tg.inject("sendMessage", forbidden(), times=None, chat_id=502)

    await bot.send_message(501, "tau")
    for _ in range(2):
        with pytest.raises(TelegramForbiddenError):
            await bot.send_message(502, "tau")
    await bot.send_document(502, "FILE-ID")  # other methods are not affected

    tg.clear_faults()
    await bot.send_message(502, "tau")
    assert [m.chat_id for m in tg.sent_messages()] == [501, 502, 502]


async def test_slow_answer_times_out_a_client_with_a_shorter_timeout(tg: FakeTelegram) -> None:
    impatient = make_bot(tg, request_timeout=0.3)
    tg.inject("sendMessage", timeout(0.6))
    try:
        with pytest.raises(TelegramNetworkError, match="Request timeout error"):
            await impatient.send_message(501, "lėtai")
        await impatient.send_message(501, "greitai")  # times=1: the next answer is immediate
    finally:
        await impatient.session.close()

    # Like Telegram, the server still carries out the request the client gave up on.
    late = await tg.wait_for(predicate=lambda r: r.params["text"] == "lėtai", timeout=2)
    assert late.status == 200
    assert [m.text for m in tg.sent_messages()] == ["greitai", "lėtai"]


async def test_uploaded_files_are_stored(bot: Bot, tg: FakeTelegram) -> None:
    upload = BufferedInputFile(b"name;municipality\n", filename="ataskaita.csv")

    reply = await bot.send_document(501, upload, caption="<i>Ataskaita</i>", parse_mode="HTML")
    assert reply.document is not None
    await bot.send_document(501, reply.document.file_id)
    photo = await bot.send_photo(501, BufferedInputFile(b"\x89PNG", filename="map.png"))

    first, again, picture = tg.sent_messages(501)
    assert first.file is not None
    assert first.file.content == b"name;municipality\n"
    assert (first.file.filename, first.plain_text) == ("ataskaita.csv", "Ataskaita")
    assert reply.document.file_name == "ataskaita.csv"
    assert again.file is not None
    assert (again.file.file_id, again.file.content) == (first.file.file_id, None)
    assert picture.file is not None
    assert picture.file.content == b"\x89PNG"
    assert photo.photo is not None
    assert photo.photo[-1].file_id == picture.file.file_id


async def test_commands_are_stored_per_scope_and_language(bot: Bot, tg: FakeTelegram) -> None:
    await bot.set_my_commands(
        [BotCommand(command="start", description="Pradėti")], language_code="lt"
    )
    await bot.set_my_commands(
        [BotCommand(command="start", description="Start")], language_code="en"
    )
    private = BotCommandScopeAllPrivateChats()
    await bot.set_my_commands([BotCommand(command="help", description="Help")], scope=private)

    assert tg.commands_for("lt") == [("start", "Pradėti")]
    assert tg.commands_for("en") == [("start", "Start")]
    assert tg.commands_for(scope={"type": "all_private_chats"}) == [("help", "Help")]
    assert [c.description for c in await bot.get_my_commands(language_code="lt")] == ["Pradėti"]
    await bot.delete_my_commands(language_code="lt")
    assert await bot.get_my_commands(language_code="lt") == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Start", description="x")])


async def test_simulated_updates_parse_as_aiogram_updates(bot: Bot, tg: FakeTelegram) -> None:
    ona, jonas = tg.user(501, "Ona"), tg.user(502, "Jonas", language_code="lv")
    kaimynai = tg.group(-1001, "Kaimynai")
    added = tg.bot_added_to_group(kaimynai, by_user=ona)
    command = tg.send_text(ona, "/start@civicbot_test_bot ką 🙂 @civicbot_test_bot", chat=kaimynai)
    tg.member_joined(kaimynai, jonas)
    tg.send_sticker(ona)
    tg.send_photo(ona, caption="Duobė")
    tg.send_location(ona)
    tg.send_voice(ona)
    said = tg.send_text(ona, "labas")
    tg.edit_text(ona, said, "labas vakaras")
    tg.send_text(ona, "atsakymas", reply_to_message_id=said.message_id)

    updates = await bot.get_updates()

    assert [u.event_type for u in updates] == [
        "my_chat_member", "message", "message", "message", "message", "message", "message",
        "message", "message", "edited_message", "message",
    ]  # fmt: skip
    change = updates[0].my_chat_member
    assert change is not None
    assert updates[0].update_id == added.update_id
    assert (change.chat.id, change.new_chat_member.status, change.new_chat_member.user.id) == (
        -1001,
        "member",
        123,
    )
    assert updates[1].message is not None
    assert updates[1].message.new_chat_members is not None
    group_message = updates[2].message
    assert group_message is not None
    assert group_message.message_id == command.message_id
    assert group_message.chat.type == "supergroup"
    entities = [
        (e.type, e.extract_from(group_message.text or "")) for e in group_message.entities or []
    ]
    assert entities == [
        ("bot_command", "/start@civicbot_test_bot"),
        ("mention", "@civicbot_test_bot"),
    ]
    sticker, photo, location, voice = (u.message for u in updates[4:8])
    assert sticker is not None
    assert sticker.sticker is not None
    assert photo is not None
    assert photo.photo is not None
    assert photo.caption == "Duobė"
    assert location is not None
    assert location.location is not None
    assert voice is not None
    assert voice.voice is not None
    assert updates[9].edited_message is not None
    assert updates[9].edited_message.text == "labas vakaras"
    reply = updates[10].message
    assert reply is not None
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.message_id == said.message_id


async def test_lookups_copies_and_webhooks(bot: Bot, tg: FakeTelegram) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123, True, "civicbot_test_bot")

    ona = tg.user(501)
    kaimynai = tg.group(-1001, "Kaimynai")
    tg.set_member_status(kaimynai, ona, "administrator")
    said = tg.send_text(ona, "Mano pasiūlymas")

    admin = await bot.get_chat_member(kaimynai.id, ona.id)
    assert admin.status == "administrator"
    assert (await bot.get_chat_member(kaimynai.id, 999)).status == "left"
    assert (await bot.get_chat(kaimynai.id)).title == "Kaimynai"
    assert await bot.send_chat_action(501, "typing")
    copied = await bot.copy_message(
        chat_id=kaimynai.id, from_chat_id=501, message_id=said.message_id
    )
    assert tg.sent_messages(kaimynai.id)[0].message_id == copied.message_id
    assert tg.sent_messages(kaimynai.id)[0].text == "Mano pasiūlymas"

    await bot.set_webhook("https://civicbot.example/hook")
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates() == []
    with pytest.raises(TelegramNotFound, match="method not found"):
        await bot.get_chat_administrators(kaimynai.id)


async def test_wait_for_returns_each_request_once_in_order(bot: Bot, tg: FakeTelegram) -> None:
    await bot.send_message(501, "pirmas")
    later = asyncio.create_task(bot.send_message(501, "antras"))

    first = await tg.wait_for(chat_id=501)
    second = await tg.wait_for(chat_id=501, timeout=2)
    await later

    assert (first.params["text"], second.params["text"]) == ("pirmas", "antras")
    with pytest.raises(AssertionError, match="no new sendMessage"):
        await tg.wait_for(chat_id=501, timeout=0.1)


async def test_raw_http_shapes_match_telegram(tg: FakeTelegram) -> None:
    tg.inject("getMe", retry_after(7))
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{tg.url}/bot123:TEST/sendmessage", json={"chat_id": 501, "text": "123"}
        ) as ok:
            assert ok.status == 200
            body = await ok.json()
        async with http.get(f"{tg.url}/bot123:TEST/getme") as flood:
            assert (flood.status, await flood.json()) == (
                429,
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 7",
                    "parameters": {"retry_after": 7},
                },
            )
        async with http.post(f"{tg.url}/bot123:TEST/fooBar") as missing:
            assert (missing.status, await missing.json()) == (
                404,
                {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
            )
    assert body["ok"] is True
    assert body["result"]["text"] == "123"
    assert body["result"]["from"]["is_bot"] is True
    assert tg.calls("sendMessage")[0].params == {"chat_id": 501, "text": "123"}


async def test_a_real_polling_dispatcher_talks_to_the_fake(tg: FakeTelegram) -> None:
    dp = Dispatcher()

    @dp.message()
    async def offer_help(message: Message) -> None:
        await message.answer("Ar padėti?", reply_markup=keyboard(("Taip", "help:yes")))

    @dp.callback_query(F.data == "help:yes")
    async def accept_help(query: CallbackQuery, bot: Bot) -> None:
        await query.answer()
        assert query.message is not None
        chat_id, message_id = query.message.chat.id, query.message.message_id
        await bot.edit_message_text("Padėsime!", chat_id=chat_id, message_id=message_id)

    tg_bot = make_bot(tg)
    polling = asyncio.create_task(
        dp.start_polling(tg_bot, polling_timeout=5, handle_signals=False, close_bot_session=True)
    )
    try:
        ona = tg.user(501)
        tg.send_text(ona, "labas")
        offer = (await tg.wait_for(chat_id=501, timeout=5)).message
        assert offer is not None
        tg.press(ona, offer, "help:yes")
        await tg.wait_for("editMessageText", chat_id=501, timeout=5)
    finally:
        await dp.stop_polling()
        await polling

    assert offer.plain_text == "Padėsime!"
    assert offer.buttons == []
    assert tg.calls("answerCallbackQuery")[0].status == 200
    assert len(tg.calls("sendMessage")) == 1  # each update was handled once
