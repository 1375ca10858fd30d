"""The outbound sender: everything the bot sends on its own initiative goes through here.

Reminders, announcements and help-request relays are paced, retried and classified in one
place, so that a broadcast to thousands of members stays within Telegram's limits and ends
with a clear outcome per chat: sent, blocked (the chat is unreachable) or failed.

Pacing uses aiolimiter's leaky buckets, one for the whole bot and one per chat (private chats
and group chats have different limits). Every bucket holds a single token, so messages are
spaced evenly and never burst. A per-chat bucket that has fully drained is indistinguishable
from a new one, so idle buckets are dropped and the table only holds chats that were written
to within the last few seconds or that have a message waiting.

Flood control (HTTP 429) pauses everything, not just one chat. A shared `FloodGate` holds the
moment at which sending may resume; the `Sender` and the `FloodGateMiddleware` (installed on
the bot's session, so ordinary handler replies respect the gate too) both wait for it and
both close it on a 429. Exactly one of them retries a given request: the middleware retries
requests made by handlers (at most `max_retries` times, then re-raises), while requests made
by the `Sender` are marked with a context variable, so the middleware only closes the gate
and re-raises, and the `Sender`'s own retry loop, which knows about outcomes and callbacks,
decides. The `Sender` works the same way whether or not the middleware is installed.

Text is HTML (parse mode HTML). User text inserted into it must go through `quote`. Text and
captions over Telegram's limits are split by `split_text` so that each piece is valid HTML
on its own: open tags are closed at the end of a piece and reopened at the start of the next.
Lengths are counted on the HTML source, which is never shorter than what Telegram counts.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import random
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import CopyMessage, GetUpdates, SendDocument, SendMessage, SendPhoto
from aiogram.types import (
    ForceReply,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    MessageId,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
)
from aiogram.utils.text_decorations import html_decoration
from aiolimiter import AsyncLimiter

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import Response, TelegramMethod
    from aiogram.methods.base import TelegramType

__all__ = [
    "CAPTION_LIMIT",
    "TEXT_LIMIT",
    "FloodGate",
    "FloodGateMiddleware",
    "Outcome",
    "SendResult",
    "Sender",
    "quote",
    "split_text",
]

logger = logging.getLogger(__name__)

TEXT_LIMIT: Final = 4096
CAPTION_LIMIT: Final = 1024

ReplyMarkup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply
UnreachableCallback = Callable[[int], Awaitable[None]]
FailureCallback = Callable[[int, str], Awaitable[None]]

# Descriptions (lower case) of a 400 that means the chat will never take our messages.
_UNREACHABLE_MARKERS: Final = (
    "chat not found",
    "user is deactivated",
    "bot was kicked",
    "bot was blocked",
    "have no rights to send",
    "not enough rights to send",
)

# Set while the Sender makes a request: the middleware then leaves retrying to the Sender.
_sender_retries: ContextVar[bool] = ContextVar("civicbot_sender_retries", default=False)


def quote(text: str) -> str:
    """Escape user text for insertion into an HTML message (same as aiogram's html quote)."""
    return html_decoration.quote(text)


# --- splitting -------------------------------------------------------------------------------

_MARKUP = re.compile(r"<[^<>]*>|&#?\w+;")
_TAG_NAME = re.compile(r"</?\s*([A-Za-z][\w-]*)")
_SEPARATORS: Final = ("\n\n", "\n", " ")

_OpenTags = tuple[tuple[str, str], ...]  # (name, opening tag as written), outermost first


class _Markup:
    """Where the tags and entities of an HTML text start before `stop`, and which are open."""

    def __init__(self, text: str, stop: int) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.stack_ends: list[int] = []
        self.stacks: list[_OpenTags] = []
        # The smallest cut that leaves some visible text in the head.
        self.first_visible_end = _first_visible_end(text)
        stack: _OpenTags = ()
        for match in _MARKUP.finditer(text):
            if match.start() >= stop:
                break
            self.starts.append(match.start())
            self.ends.append(match.end())
            token = match.group()
            name_match = _TAG_NAME.match(token)
            if name_match is None:
                continue
            name = name_match.group(1).lower()
            if token.startswith("</"):
                names = [open_name for open_name, _ in stack]
                if name in names:
                    stack = stack[: len(names) - 1 - names[::-1].index(name)]
            elif not token.endswith("/>"):
                stack = (*stack, (name, token))
            self.stack_ends.append(match.end())
            self.stacks.append(stack)

    def is_safe(self, position: int) -> bool:
        """Whether a cut at `position` falls outside every tag and entity."""
        index = bisect.bisect_left(self.starts, position) - 1
        return index < 0 or self.ends[index] <= position

    def open_at(self, position: int) -> _OpenTags:
        """The tags open at `position`."""
        index = bisect.bisect_right(self.stack_ends, position) - 1
        return self.stacks[index] if index >= 0 else ()


def _first_visible_end(text: str) -> int:
    """Just after the first visible character (text or entity), or past the end if none."""
    position = 0
    for match in _MARKUP.finditer(text):
        if text[position : match.start()].strip():
            break
        if match.group().startswith("&"):
            return match.end()
        position = match.end()
    for index in range(position, len(text)):
        if not text[index].isspace():
            return index + 1
    return len(text) + 1


def _has_visible(text: str) -> bool:
    return _first_visible_end(text) <= len(text)


def _closing(tags: _OpenTags) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(tags))


def _reopening(tags: _OpenTags) -> str:
    return "".join(raw for _, raw in tags)


def _take(text: str, limit: int) -> tuple[str, str]:
    """Cut one piece of at most `limit` characters off `text`; return it and the rest."""
    markup = _Markup(text, stop=limit + 1)

    def head_if_fits(position: int) -> str | None:
        if position < markup.first_visible_end or not markup.is_safe(position):
            return None
        end = position
        while text[end - 1].isspace():
            end -= 1
        closing = _closing(markup.open_at(position))
        return text[:end] + closing if end + len(closing) <= limit else None

    window = min(limit, len(text))
    for separator in _SEPARATORS:
        position = text.rfind(separator, 0, window + len(separator))
        while position > 0:
            head = head_if_fits(position)
            if head is not None:
                rest = _reopening(markup.open_at(position)) + text[position + len(separator) :]
                return head, rest
            position = text.rfind(separator, 0, position + len(separator) - 1)
    for position in range(window, 0, -1):
        head = head_if_fits(position)
        if head is not None:
            return head, _reopening(markup.open_at(position)) + text[position:]
    msg = f"cannot split this text into pieces of {limit} characters without breaking its HTML"
    raise ValueError(msg)


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split HTML text into pieces of at most `limit` characters, each valid HTML on its own."""
    if limit < 1:
        msg = "limit must be positive"
        raise ValueError(msg)
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    # Telegram drops a message's leading whitespace anyway; here it would only fill pieces.
    rest = text.lstrip()
    # Every piece takes some visible text, so this ends even if reopened tags add length.
    while len(rest) > limit and _has_visible(rest):
        head, rest = _take(rest, limit)
        pieces.append(head)
        rest = rest.lstrip()
    if _has_visible(rest):
        pieces.append(rest)
    return pieces


def _split_caption(caption: str | None) -> tuple[str | None, list[str]]:
    """The caption that fits under a photo or document, and the overflow as messages."""
    if caption is None or len(caption) <= CAPTION_LIMIT:
        return caption, []
    caption = caption.lstrip()
    if len(caption) <= CAPTION_LIMIT:
        return caption, []
    head, rest = _take(caption, CAPTION_LIMIT)
    return head, split_text(rest) if _has_visible(rest) else []


# --- flood control ---------------------------------------------------------------------------


class FloodGate:
    """Closed while Telegram's flood control is in force; every sender waits for it."""

    def __init__(self) -> None:
        self._opens_at = 0.0  # time.monotonic(), the clock of asyncio's default loop

    @property
    def is_open(self) -> bool:
        """Whether sending may go ahead now."""
        return time.monotonic() >= self._opens_at

    async def wait(self) -> None:
        """Return once the gate is open (at once if it is)."""
        # Not polling: each sleep lasts until the known reopening, which a new pause may move.
        while (delay := self._opens_at - time.monotonic()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)

    def pause(self, seconds: float) -> None:
        """Close the gate for `seconds` from now (never shortens a pause already in force)."""
        opens_at = time.monotonic() + seconds
        if opens_at > self._opens_at:
            logger.warning("Telegram flood control: pausing all sending for %.1f s", seconds)
            self._opens_at = opens_at


class FloodGateMiddleware(BaseRequestMiddleware):
    """Session middleware: requests wait for the gate; a 429 closes it and is retried."""

    def __init__(self, gate: FloodGate, max_retries: int = 3) -> None:
        self.gate = gate
        self.max_retries = max_retries

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        """Make the request once the gate is open, retrying after flood control."""
        # Receiving updates is not subject to flood control; polling must not stall.
        if method.__api_method__ == GetUpdates.__api_method__:
            return await make_request(bot, method)
        retries = 0
        while True:
            await self.gate.wait()
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                self.gate.pause(error.retry_after)
                if _sender_retries.get() or retries >= self.max_retries:
                    raise
                retries += 1


# --- the sender ------------------------------------------------------------------------------


class Outcome(StrEnum):
    """How a delivery to one chat ended."""

    SENT = "sent"
    BLOCKED = "blocked"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class SendResult:
    """The outcome of sending one message (possibly in several pieces) to one chat."""

    chat_id: int
    outcome: Outcome
    message_ids: tuple[int, ...] = ()
    error: str | None = None


class _Undelivered(Exception):
    """Internal: a piece could not be delivered; carries the outcome and the reason."""

    def __init__(self, outcome: Outcome, reason: str) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


@dataclass(slots=True)
class _ChatPace:
    limiter: AsyncLimiter
    touched_at: float
    waiting: int = 0


class _ChatPacer:
    """One single-token limiter per chat, dropped once it has fully drained."""

    def __init__(self, *, private_period: float, group_period: float) -> None:
        self._private_period = private_period
        self._group_period = group_period
        self._idle_after = max(private_period, group_period)
        # Ordered by last touch, oldest first, so the idle ones are found at the front.
        self._chats: OrderedDict[int, _ChatPace] = OrderedDict()

    def __len__(self) -> int:
        return len(self._chats)

    async def acquire(self, chat_id: int) -> None:
        """Wait until this chat may receive its next message."""
        now = time.monotonic()
        self._drop_idle(now)
        pace = self._chats.get(chat_id)
        if pace is None:
            period = self._group_period if chat_id < 0 else self._private_period
            pace = self._chats[chat_id] = _ChatPace(AsyncLimiter(1, period), now)
        self._touch(chat_id, pace)
        pace.waiting += 1
        try:
            await pace.limiter.acquire()
        finally:
            pace.waiting -= 1
            self._touch(chat_id, pace)

    def _touch(self, chat_id: int, pace: _ChatPace) -> None:
        pace.touched_at = time.monotonic()
        self._chats.move_to_end(chat_id)

    def _drop_idle(self, now: float) -> None:
        idle = []
        for chat_id, pace in self._chats.items():
            if now - pace.touched_at < self._idle_after:
                break  # everything after this was touched even later
            # A limiter untouched for a whole period has drained: a new one behaves the same.
            if pace.waiting == 0:
                idle.append(chat_id)
        for chat_id in idle:
            del self._chats[chat_id]


class Sender:
    """Sends messages the bot initiates: paced, retried, and classified into outcomes."""

    def __init__(
        self,
        bot: Bot,
        *,
        on_unreachable: UnreachableCallback,
        on_failure: FailureCallback | None = None,
        gate: FloodGate | None = None,
        messages_per_second: float = 25,
        private_chat_per_second: float = 1,
        group_chat_per_minute: float = 18,
        max_attempts: int = 5,
        base_delay: float = 1.0,
        max_delay: float = 30.0,
        max_flood_waits: int = 10,
    ) -> None:
        if min(messages_per_second, private_chat_per_second, group_chat_per_minute) <= 0:
            msg = "rates must be positive"
            raise ValueError(msg)
        if max_attempts < 1:
            msg = "max_attempts must be at least 1"
            raise ValueError(msg)
        self._bot = bot
        self._on_unreachable = on_unreachable
        self._on_failure = on_failure
        self.gate = gate if gate is not None else FloodGate()
        self._overall = AsyncLimiter(1, 1 / messages_per_second)
        self._chats = _ChatPacer(
            private_period=1 / private_chat_per_second,
            group_period=60 / group_chat_per_minute,
        )
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._max_flood_waits = max_flood_waits

    @property
    def tracked_chats(self) -> int:
        """How many per-chat limiters are currently kept."""
        return len(self._chats)

    async def send_message(
        self,
        chat_id: int,
        text: str,
        *,
        reply_markup: ReplyMarkup | None = None,
        disable_notification: bool = False,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> SendResult:
        """Send HTML text, split into several messages if long; the markup goes with the last.

        REPLY_TO makes the first piece a reply (if that message is gone, it is sent anyway);
        THREAD_ID puts the pieces in a forum topic."""
        try:
            pieces = split_text(text)
        except ValueError as error:
            return await self._give_up(chat_id, (), Outcome.FAILED, str(error))
        methods = [
            SendMessage(
                chat_id=chat_id,
                text=piece,
                parse_mode=ParseMode.HTML,
                reply_markup=reply_markup if number == len(pieces) else None,
                disable_notification=disable_notification,
                message_thread_id=thread_id,
                reply_parameters=_reply(reply_to) if number == 1 else None,
            )
            for number, piece in enumerate(pieces, start=1)
        ]
        return await self._deliver(chat_id, methods)

    async def send_photo(
        self, chat_id: int, photo: str | InputFile, *, caption: str | None = None
    ) -> SendResult:
        """Send a photo (file_id or file) with an HTML caption; overflow follows as text."""
        try:
            head, overflow = _split_caption(caption)
        except ValueError as error:
            return await self._give_up(chat_id, (), Outcome.FAILED, str(error))
        first = SendPhoto(chat_id=chat_id, photo=photo, caption=head, parse_mode=ParseMode.HTML)
        return await self._deliver(chat_id, [first, *self._texts(chat_id, overflow)])

    async def send_document(
        self, chat_id: int, document: str | InputFile, *, caption: str | None = None
    ) -> SendResult:
        """Send a document (file_id or file) with an HTML caption; overflow follows as text."""
        try:
            head, overflow = _split_caption(caption)
        except ValueError as error:
            return await self._give_up(chat_id, (), Outcome.FAILED, str(error))
        first = SendDocument(
            chat_id=chat_id, document=document, caption=head, parse_mode=ParseMode.HTML
        )
        return await self._deliver(chat_id, [first, *self._texts(chat_id, overflow)])

    async def copy_message(
        self,
        chat_id: int,
        from_chat_id: int,
        message_id: int,
        *,
        caption: str | None = None,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> SendResult:
        """Copy a message (e.g. a leader's photo in a help request) into another chat, never
        forwarding it (a forward shows whose it was). CAPTION (HTML) replaces its caption."""
        head, overflow = _split_caption(caption)
        method = CopyMessage(
            chat_id=chat_id,
            from_chat_id=from_chat_id,
            message_id=message_id,
            caption=head,
            parse_mode=ParseMode.HTML if caption is not None else None,
            reply_parameters=_reply(reply_to),
            message_thread_id=thread_id,
        )
        return await self._deliver(chat_id, [method, *self._texts(chat_id, overflow, thread_id)])

    @staticmethod
    def _texts(
        chat_id: int, pieces: Sequence[str], thread_id: int | None = None
    ) -> list[SendMessage]:
        return [
            SendMessage(
                chat_id=chat_id, text=piece, parse_mode=ParseMode.HTML, message_thread_id=thread_id
            )
            for piece in pieces
        ]

    async def _deliver(self, chat_id: int, methods: Sequence[TelegramMethod[Any]]) -> SendResult:
        sent: list[int] = []
        for method in methods:
            try:
                sent.append(await self._send_one(chat_id, method))
            except _Undelivered as undelivered:
                return await self._give_up(
                    chat_id, tuple(sent), undelivered.outcome, undelivered.reason
                )
        return SendResult(chat_id=chat_id, outcome=Outcome.SENT, message_ids=tuple(sent))

    async def _give_up(
        self, chat_id: int, sent: tuple[int, ...], outcome: Outcome, reason: str
    ) -> SendResult:
        if outcome is Outcome.BLOCKED:
            logger.info("Chat %s is unreachable: %s", chat_id, reason)
            await self._on_unreachable(chat_id)
        else:
            logger.warning("Sending to chat %s failed: %s", chat_id, reason)
            if self._on_failure is not None:
                await self._on_failure(chat_id, reason)
        return SendResult(chat_id=chat_id, outcome=outcome, message_ids=sent, error=reason)

    async def _pace(self, chat_id: int) -> None:
        await self._chats.acquire(chat_id)
        while True:
            await self.gate.wait()
            await self._overall.acquire()
            # A pause may have begun while we queued; queue again so we don't burst after it.
            if self.gate.is_open:
                return

    async def _send_one(self, chat_id: int, method: TelegramMethod[Any]) -> int:
        """Send one request, retrying as the error allows; return the new message's id."""
        failed_attempts = 0
        flood_waits = 0  # flood control is not the message's fault: counted apart
        while True:
            await self._pace(chat_id)
            try:
                result = await self._call(method)
            except TelegramRetryAfter as error:
                self.gate.pause(error.retry_after)
                flood_waits += 1
                if flood_waits > self._max_flood_waits:
                    raise _Undelivered(Outcome.FAILED, error.message) from error
                continue
            except TelegramForbiddenError as error:
                raise _Undelivered(Outcome.BLOCKED, error.message) from error
            except TelegramBadRequest as error:
                description = error.message.lower()
                if any(marker in description for marker in _UNREACHABLE_MARKERS):
                    raise _Undelivered(Outcome.BLOCKED, error.message) from error
                raise _Undelivered(Outcome.FAILED, error.message) from error
            except TelegramEntityTooLarge as error:
                raise _Undelivered(Outcome.FAILED, error.message) from error
            except (
                TelegramNetworkError,
                TelegramServerError,
                ClientDecodeError,
                TimeoutError,
            ) as error:
                failed_attempts += 1
                reason = _describe(error)
                if failed_attempts >= self._max_attempts:
                    raise _Undelivered(Outcome.FAILED, reason) from error
                logger.info("Sending to chat %s: %s; retrying", chat_id, reason)
                await asyncio.sleep(self._backoff(failed_attempts))
                continue
            except TelegramAPIError as error:
                raise _Undelivered(Outcome.FAILED, error.message) from error
            if isinstance(result, Message | MessageId):
                return result.message_id
            msg = f"unexpected answer to {type(method).__name__}: {result!r}"
            raise TypeError(msg)

    async def _call(self, method: TelegramMethod[Any]) -> Any:
        """Make the request, marked as the Sender's so the middleware does not retry it."""
        owned = _sender_retries.set(True)
        try:
            return await self._bot(method)
        finally:
            _sender_retries.reset(owned)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter, capped at max_delay."""
        delay = self._base_delay * 2.0 ** (attempt - 1)
        return min(self._max_delay, delay + random.uniform(0, self._base_delay))


def _reply(message_id: int | None) -> ReplyParameters | None:
    """A reply to MESSAGE_ID that is still sent if that message is gone."""
    if message_id is None:
        return None
    return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)


def _describe(error: BaseException) -> str:
    if isinstance(error, TelegramAPIError):
        return error.message
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
