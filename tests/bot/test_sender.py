"""Tests for the outbound sender: splitting, escaping, pacing, flood control and errors."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections import defaultdict, deque
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import CopyMessage, SendMessage, SendPhoto, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import (
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageId,
    Update,
    User,
)
from aiolimiter import AsyncLimiter

from bot.sender import (
    CAPTION_LIMIT,
    FloodGate,
    FloodGateMiddleware,
    Outcome,
    Sender,
    SendResult,
    quote,
    split_text,
)

ErrorFactory = Callable[[TelegramMethod[Any]], BaseException]

TAG = re.compile(r"<[^<>]*>")


# --- a Bot API session that records requests and plays a script of errors ---------------------


@dataclass
class Request:
    """One request the bot made, with the loop time at which it was made."""

    at: float
    method: TelegramMethod[Any]


class ScriptedSession(BaseSession):
    """Records every request; raises the errors scripted for a chat, then succeeds."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[Request] = []
        self.errors: defaultdict[int, deque[ErrorFactory | None]] = defaultdict(deque)
        self._next_id = 100
        self.requested = asyncio.Event()

    def fail(self, chat_id: int, *errors: ErrorFactory | None) -> None:
        """Make the next requests to `chat_id` raise these errors in order (None: succeed)."""
        self.errors[chat_id].extend(errors)

    def to(self, chat_id: int) -> list[Request]:
        """The requests made to one chat."""
        return [r for r in self.requests if getattr(r.method, "chat_id", None) == chat_id]

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,
    ) -> TelegramType:
        self.requests.append(Request(asyncio.get_running_loop().time(), method))
        self.requested.set()
        chat_id = cast(int, getattr(method, "chat_id", 0))
        error = self.errors[chat_id].popleft() if self.errors[chat_id] else None
        if error is not None:
            raise error(method)
        self._next_id += 1
        if isinstance(method, CopyMessage):
            return cast(TelegramType, MessageId(message_id=self._next_id))
        chat = Chat(id=chat_id, type="private" if chat_id > 0 else "group")
        text = getattr(method, "text", None)
        message = Message(message_id=self._next_id, date=datetime.now(UTC), chat=chat, text=text)
        return cast(TelegramType, message)

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        yield b""

    async def close(self) -> None:
        pass


def retry_after(seconds: int = 1) -> ErrorFactory:
    return lambda m: TelegramRetryAfter(method=m, message="Too Many Requests", retry_after=seconds)


def forbidden(text: str = "Forbidden: bot was blocked by the user") -> ErrorFactory:
    return lambda m: TelegramForbiddenError(method=m, message=text)


def bad_request(text: str) -> ErrorFactory:
    return lambda m: TelegramBadRequest(method=m, message=text)


def server_error() -> ErrorFactory:
    return lambda m: TelegramServerError(method=m, message="Internal Server Error")


def network_error() -> ErrorFactory:
    return lambda m: TelegramNetworkError(method=m, message="ClientConnectorError: refused")


def timeout_error() -> ErrorFactory:
    return lambda m: TimeoutError()


@dataclass
class Calls:
    """What the sender reported through its callbacks."""

    unreachable: list[int] = field(default_factory=list)
    failures: list[tuple[int, str]] = field(default_factory=list)

    async def on_unreachable(self, chat_id: int) -> None:
        self.unreachable.append(chat_id)

    async def on_failure(self, chat_id: int, reason: str) -> None:
        self.failures.append((chat_id, reason))


@dataclass
class Harness:
    session: ScriptedSession
    bot: Bot
    calls: Calls

    def sender(self, **options: Any) -> Sender:
        options.setdefault("messages_per_second", 1000)
        options.setdefault("private_chat_per_second", 1000)
        options.setdefault("group_chat_per_minute", 60_000)
        options.setdefault("base_delay", 0.01)
        options.setdefault("max_delay", 0.02)
        return Sender(
            self.bot,
            on_unreachable=self.calls.on_unreachable,
            on_failure=self.calls.on_failure,
            **options,
        )


@pytest.fixture
def harness() -> Harness:
    session = ScriptedSession()
    return Harness(session, Bot("42:TEST", session=session), Calls())


def now() -> float:
    return asyncio.get_running_loop().time()


class CountingLimiter(AsyncLimiter):
    """aiolimiter's limiter that records the period of every limiter a message had to wait for."""

    waited: ClassVar[list[float]] = []

    async def acquire(self, amount: float = 1) -> None:
        if not self.has_capacity(amount):
            CountingLimiter.waited.append(self.time_period)
        await super().acquire(amount)


@pytest.fixture
def limiter_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The periods of the limiters that made a message wait (senders made after this fixture)."""
    monkeypatch.setattr("bot.sender.AsyncLimiter", CountingLimiter)
    CountingLimiter.waited = []
    return CountingLimiter.waited


# --- split_text and quote -----------------------------------------------------------------------


def visible(text: str) -> str:
    """The text without tags and whitespace: what must survive splitting."""
    return re.sub(r"\s+", "", TAG.sub("", text))


def assert_well_formed(piece: str) -> None:
    """No cut tag or entity, and every tag opened in the piece is closed in it."""
    text = TAG.sub("", piece)
    assert "<" not in text, piece
    assert ">" not in text, piece
    for ampersand in re.finditer("&", piece):
        assert re.match(r"&#?\w+;", piece[ampersand.start() :]), piece
    stack: list[str] = []
    for tag in TAG.findall(piece):
        name = re.match(r"</?(\w[\w-]*)", tag)
        assert name is not None
        if tag.startswith("</"):
            assert stack.pop() == name.group(1), piece
        else:
            stack.append(name.group(1))
    assert stack == [], piece


def test_short_text_is_one_piece() -> None:
    assert split_text("Sveiki, <b>bendruomene</b>!") == ["Sveiki, <b>bendruomene</b>!"]


def test_split_prefers_paragraphs() -> None:
    first = "Pirma pastraipa apie programą.\nAntra eilutė."
    second = "Antra pastraipa."
    assert split_text(f"{first}\n\n{second}", limit=len(first) + 5) == [first, second]


def test_split_falls_back_to_lines_then_spaces_then_hard() -> None:
    assert split_text("aaaa bbbb\ncccc dddd", limit=12) == ["aaaa bbbb", "cccc dddd"]
    assert split_text("aaaa bbbb cccc dddd", limit=12) == ["aaaa bbbb", "cccc dddd"]
    assert split_text("x" * 25, limit=10) == ["x" * 10, "x" * 10, "x" * 5]


def test_split_never_cuts_tags_or_entities_and_keeps_html_valid() -> None:
    link = '<a href="https://example.org/kvietimas?id=1 2">'
    text = (
        f"<b>Kvietimas</b> &amp; {link}paraiškų teikimas baigiasi</a> "
        "<i>labai <u>greitai</u> &lt;svarbu&gt;</i>\n\n"
    ) * 40
    for limit in (60, 97, 150, 4096):
        pieces = split_text(text, limit=limit)
        assert all(len(piece) <= limit for piece in pieces)
        for piece in pieces:
            assert_well_formed(piece)
        assert visible("".join(pieces)) == visible(text)


def test_split_hard_inside_formatting_reopens_the_tag() -> None:
    pieces = split_text("<b>" + "z" * 30 + "</b>", limit=12)
    assert all(piece.startswith("<b>") and piece.endswith("</b>") for piece in pieces)
    assert all(len(piece) <= 12 for piece in pieces)
    assert "".join(TAG.sub("", piece) for piece in pieces) == "z" * 30


def test_split_code_block_keeps_indentation() -> None:
    code = "\n".join(f"    eilutė {number}" for number in range(300))
    pieces = split_text(f"<pre>{code}</pre>", limit=500)
    assert len(pieces) > 1
    for piece in pieces:
        assert len(piece) <= 500
        assert piece.startswith("<pre>    eilutė ")
        assert piece.endswith("</pre>")
    assert "\n".join(TAG.sub("", piece) for piece in pieces) == code


def test_split_a_long_real_text() -> None:
    paragraph = "Atsparios visuomenės programa stiprina bendruomenes. " * 30
    text = "\n\n".join(f"{number}. {paragraph}" for number in range(10))
    pieces = split_text(text)
    assert len(pieces) > 1
    assert all(len(piece) <= 4096 for piece in pieces)
    assert visible("".join(pieces)) == visible(text)
    # Paragraph boundaries were used: every piece starts a numbered paragraph.
    assert all(re.match(r"\d\. ", piece) for piece in pieces)


def test_split_rejects_markup_that_cannot_fit() -> None:
    with pytest.raises(ValueError, match="HTML"):
        split_text('<a href="' + "u" * 50 + '">x</a> more', limit=20)


def test_quote_matches_aiogram() -> None:
    assert quote('<b>Tom & "Jerry"</b>') == '&lt;b&gt;Tom &amp; "Jerry"&lt;/b&gt;'
    assert quote("paraiškų") == "paraiškų"


# --- sending ------------------------------------------------------------------------------------


async def test_send_message_sends_html(harness: Harness) -> None:
    result = await harness.sender().send_message(7, "<b>Labas</b>", disable_notification=True)
    assert result == SendResult(chat_id=7, outcome=Outcome.SENT, message_ids=(101,))
    method = harness.session.requests[0].method
    assert isinstance(method, SendMessage)
    assert (method.text, method.parse_mode, method.disable_notification) == (
        "<b>Labas</b>",
        "HTML",
        True,
    )


async def test_long_message_is_split_and_markup_goes_last(harness: Harness) -> None:
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="OK", callback_data="ok")]]
    )
    text = "\n\n".join(["a" * 3000, "b" * 3000, "c" * 3000])
    result = await harness.sender().send_message(7, text, reply_markup=markup)
    assert result.outcome is Outcome.SENT
    methods = [cast(SendMessage, r.method) for r in harness.session.requests]
    assert [m.text for m in methods] == ["a" * 3000, "b" * 3000, "c" * 3000]
    assert [m.reply_markup for m in methods] == [None, None, markup]
    assert result.message_ids == (101, 102, 103)


async def test_long_caption_overflows_into_a_message(harness: Harness) -> None:
    caption = "Nuotrauka iš susitikimo. " * 60
    result = await harness.sender().send_photo(-5, "PHOTO_FILE_ID", caption=caption)
    assert result.outcome is Outcome.SENT
    photo, rest = (r.method for r in harness.session.requests)
    assert isinstance(photo, SendPhoto)
    assert isinstance(rest, SendMessage)
    assert photo.caption is not None
    assert len(photo.caption) <= CAPTION_LIMIT
    assert visible(photo.caption + rest.text) == visible(caption)
    assert len(result.message_ids) == 2


async def test_document_and_copy(harness: Harness) -> None:
    sender = harness.sender()
    document = await sender.send_document(7, "DOC_FILE_ID", caption="<i>Ataskaita</i>")
    copy = await sender.copy_message(7, from_chat_id=-100, message_id=55)
    assert document.outcome is copy.outcome is Outcome.SENT
    copied = harness.session.requests[1].method
    assert isinstance(copied, CopyMessage)
    assert (copied.from_chat_id, copied.message_id) == (-100, 55)
    assert copy.message_ids == (102,)


# --- errors -------------------------------------------------------------------------------------


async def test_forbidden_marks_the_chat_unreachable(harness: Harness) -> None:
    harness.session.fail(7, forbidden())
    result = await harness.sender().send_message(7, "Priminimas")
    assert result.outcome is Outcome.BLOCKED
    assert result.error == "Forbidden: bot was blocked by the user"
    assert harness.calls.unreachable == [7]
    assert harness.calls.failures == []
    assert len(harness.session.requests) == 1


@pytest.mark.parametrize(
    "description",
    [
        "Bad Request: chat not found",
        "Bad Request: user is deactivated",
        "Bad Request: have no rights to send a message",
    ],
)
async def test_bad_request_for_a_gone_chat_is_unreachable(
    harness: Harness, description: str
) -> None:
    harness.session.fail(-9, bad_request(description))
    result = await harness.sender().send_message(-9, "Priminimas")
    assert result.outcome is Outcome.BLOCKED
    assert harness.calls.unreachable == [-9]
    assert len(harness.session.requests) == 1


async def test_other_bad_request_fails_without_retry(harness: Harness) -> None:
    harness.session.fail(7, bad_request("Bad Request: can't parse entities"))
    result = await harness.sender().send_message(7, "<b>broken")
    assert result.outcome is Outcome.FAILED
    assert result.error == "Bad Request: can't parse entities"
    assert harness.calls.failures == [(7, "Bad Request: can't parse entities")]
    assert harness.calls.unreachable == []
    assert len(harness.session.requests) == 1


async def test_transient_errors_are_retried_until_sent(harness: Harness) -> None:
    harness.session.fail(7, server_error(), network_error(), timeout_error())
    result = await harness.sender(max_attempts=4).send_message(7, "Priminimas")
    assert result.outcome is Outcome.SENT
    assert len(harness.session.requests) == 4
    assert harness.calls.failures == []


async def test_retries_stop_at_the_cap_and_report_failure(harness: Harness) -> None:
    harness.session.fail(7, *[server_error()] * 5)
    result = await harness.sender(max_attempts=3).send_message(7, "Priminimas")
    assert result.outcome is Outcome.FAILED
    assert len(harness.session.requests) == 3
    assert harness.calls.failures == [(7, "Internal Server Error")]


async def test_backoff_grows_and_is_capped(harness: Harness) -> None:
    harness.session.fail(7, *[network_error()] * 3)
    sender = harness.sender(max_attempts=4, base_delay=0.05, max_delay=0.12)
    await sender.send_message(7, "Priminimas")
    times = [r.at for r in harness.session.requests]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert gaps[0] >= 0.045  # base delay, plus jitter
    assert gaps[1] >= 0.095  # doubled
    assert gaps[2] <= 0.2  # capped (0.2 would be 4 * base without the cap)


async def test_partly_sent_long_message_reports_what_went_out(harness: Harness) -> None:
    harness.session.fail(7, None, bad_request("Bad Request: message is too long"))
    result = await harness.sender().send_message(7, "a" * 5000)
    assert result.outcome is Outcome.FAILED
    assert result.message_ids == (101,)
    assert len(harness.session.requests) == 2


# --- flood control ------------------------------------------------------------------------------


@pytest.mark.parametrize("with_middleware", [False, True])
async def test_flood_control_pauses_other_chats_and_retries(
    harness: Harness, with_middleware: bool
) -> None:
    gate = FloodGate()
    if with_middleware:
        harness.bot.session.middleware(FloodGateMiddleware(gate))
    sender = harness.sender(gate=gate)
    harness.session.fail(1, retry_after(1))

    first = asyncio.create_task(sender.send_message(1, "Skelbimas"))
    await harness.session.requested.wait()
    flooded_at = harness.session.requests[0].at
    second = await sender.send_message(2, "Skelbimas")

    assert second.outcome is Outcome.SENT
    assert harness.session.to(2)[0].at >= flooded_at + 0.99
    assert (await first).outcome is Outcome.SENT
    # Exactly one retry, whichever layer could have retried.
    assert len(harness.session.to(1)) == 2
    assert harness.session.to(1)[1].at >= flooded_at + 0.99


async def test_middleware_retries_a_handler_reply(harness: Harness) -> None:
    gate = FloodGate()
    harness.bot.session.middleware(FloodGateMiddleware(gate, max_retries=2))
    router = Router()

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer("Ačiū!")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    harness.session.fail(7, retry_after(1))
    chat = Chat(id=7, type="private")
    user = User(id=7, is_bot=False, first_name="Rūta")
    update = Update(
        update_id=1,
        message=Message(
            message_id=1, date=datetime.now(UTC), chat=chat, from_user=user, text="labas"
        ),
    )
    started = now()
    await dispatcher.feed_update(harness.bot, update)

    replies = harness.session.to(7)
    assert len(replies) == 2
    assert cast(SendMessage, replies[1].method).text == "Ačiū!"
    assert replies[1].at >= started + 0.99


async def test_middleware_gives_up_after_its_retries(harness: Harness) -> None:
    gate = FloodGate()
    harness.bot.session.middleware(FloodGateMiddleware(gate, max_retries=0))
    harness.session.fail(7, retry_after(30))
    with pytest.raises(TelegramRetryAfter):
        await harness.bot.send_message(7, "Ačiū!")
    assert len(harness.session.requests) == 1
    assert not gate.is_open


@pytest.mark.parametrize("with_middleware", [False, True])
async def test_flood_waits_are_bounded_and_retried_by_the_sender_alone(
    harness: Harness, with_middleware: bool
) -> None:
    gate = FloodGate()
    if with_middleware:
        harness.bot.session.middleware(FloodGateMiddleware(gate, max_retries=3))
    harness.session.fail(7, retry_after(1))
    sender = harness.sender(gate=gate, max_flood_waits=0)
    result = await sender.send_message(7, "Skelbimas")
    assert result.outcome is Outcome.FAILED
    # The middleware left the sender's request to the sender: no hidden retry.
    assert len(harness.session.requests) == 1
    assert [chat_id for chat_id, _ in harness.calls.failures] == [7]
    assert not gate.is_open


async def test_cancellation_propagates(harness: Harness) -> None:
    gate = FloodGate()
    gate.pause(30)
    task = asyncio.create_task(harness.sender(gate=gate).send_message(7, "Skelbimas"))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert harness.session.requests == []
    assert harness.calls.failures == []


async def test_cancellation_during_backoff_propagates(harness: Harness) -> None:
    harness.session.fail(7, server_error())
    sender = harness.sender(base_delay=30, max_delay=30)
    task = asyncio.create_task(sender.send_message(7, "Skelbimas"))
    await harness.session.requested.wait()
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert harness.calls.failures == []


# --- pacing -------------------------------------------------------------------------------------


async def test_private_chat_pacing_with_default_limits(
    harness: Harness, limiter_waits: list[float]
) -> None:
    sender = Sender(harness.bot, on_unreachable=harness.calls.on_unreachable)

    await asyncio.gather(*(sender.send_message(chat, "Labas") for chat in (1, 2, 3)))
    # Three chats, one message each: no chat waited for its own limit (1 s); only the overall
    # one (1/25 s) spaces them.
    assert 1.0 not in limiter_waits
    assert set(limiter_waits) <= {1 / 25}

    started = now()
    await asyncio.gather(*(sender.send_message(4, "Labas") for _ in range(2)))
    assert now() - started >= 0.95  # one private chat: one message per second


async def test_private_chat_pacing_three_messages(
    harness: Harness, limiter_waits: list[float]
) -> None:
    sender = harness.sender(private_chat_per_second=5)
    started = now()
    await asyncio.gather(*(sender.send_message(4, "Labas") for _ in range(3)))
    assert now() - started >= 0.38  # 3 messages at 5/s: two gaps of 0.2 s
    assert limiter_waits.count(0.2) == 2
    limiter_waits.clear()
    await asyncio.gather(*(sender.send_message(chat, "Labas") for chat in (5, 6, 7)))
    assert 0.2 not in limiter_waits  # other chats do not wait for each other


async def test_group_chat_pacing(harness: Harness, limiter_waits: list[float]) -> None:
    sender = harness.sender(private_chat_per_second=1000, group_chat_per_minute=600)
    started = now()
    await asyncio.gather(*(sender.send_message(-20, "Sveiki") for _ in range(3)))
    assert now() - started >= 0.19  # 600/min: a message every 0.1 s
    assert limiter_waits.count(0.1) == 2
    limiter_waits.clear()
    await asyncio.gather(*(sender.send_message(20, "Sveiki") for _ in range(3)))
    assert 0.1 not in limiter_waits  # a private chat has no group's limit


async def test_overall_pacing(harness: Harness) -> None:
    sender = harness.sender(messages_per_second=20)
    started = now()
    await asyncio.gather(*(sender.send_message(chat, "Labas") for chat in range(1, 6)))
    assert now() - started >= 0.19  # 5 messages at 20/s: four gaps of 0.05 s


async def test_idle_chat_limiters_are_dropped(harness: Harness) -> None:
    sender = harness.sender(
        messages_per_second=100_000, private_chat_per_second=10, group_chat_per_minute=600
    )
    chats = [*range(1, 26), *range(-25, 0)]
    await asyncio.gather(*(sender.send_message(chat, "Labas") for chat in chats))
    assert sender.tracked_chats == 50
    await asyncio.sleep(0.12)  # longer than both periods: every limiter has drained
    await sender.send_message(1000, "Labas")
    assert sender.tracked_chats == 1
