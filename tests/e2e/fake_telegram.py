"""A fake Telegram Bot API server for end-to-end tests.

It runs on 127.0.0.1 inside the test's event loop and speaks the HTTP protocol of
api.telegram.org, so the real aiogram client (and the real ``civicbot run`` process, pointed to it
by TELEGRAM_API_URL) polls updates from it and sends its requests to it. Tests queue updates as
simulated members (``send_text``, ``press``, ...), watch what the bot sent (``wait_for``,
``sent_messages``) and inject the failures Telegram produces (429, 403, 5xx, slow answers).

State belongs to the server, not to a connection: when the bot process restarts, updates it has
not confirmed with ``offset`` are delivered again, exactly as Telegram does.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import web

JSON = dict[str, Any]
Spans = tuple[tuple[str, str, int, int], ...]  # (tag, attributes, start, end) of HTML markup
Visible = tuple[str, Spans]  # what a member sees: plain text and its formatting

BOT_USERNAME = "civicbot_test_bot"
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
HTML_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre"}
    | {"tg-spoiler", "span", "blockquote"}
)
# Update types Telegram leaves out unless the bot asks for them in allowed_updates.
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
# Form fields that are plain strings; any other string value holds JSON (aiogram sends strings
# raw and JSON-encodes everything else, so "123" is a text here but a number in chat_id).
STRING_FIELDS = frozenset(
    {"text", "caption", "parse_mode", "callback_query_id", "inline_message_id", "url"}
    | {"language_code", "action", "description", "title", "secret_token", "emoji", "name"}
    | {"document", "photo", "sticker", "voice", "audio", "video", "animation", "thumbnail"}
)
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are"
    " exactly the same as a current content and reply markup of the message"
)
ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_send_welcome_messages",
)
MEMBER_STATUSES = frozenset({"creator", "administrator", "member", "left", "kicked"})


class ApiError(Exception):
    """An error answer of the Bot API: HTTP status, description, optional retry_after."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


# --- faults -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """What the server does instead of answering normally: an error, or a delay first."""

    status: int = 0
    description: str = ""
    retry_after: int | None = None
    delay: float = 0.0


def retry_after(seconds: int) -> Fault:
    """Flood control: 429 with parameters.retry_after."""
    return Fault(429, f"Too Many Requests: retry after {seconds}", retry_after=seconds)


def forbidden(description: str = "Forbidden: bot was blocked by the user") -> Fault:
    """403, by default a member who blocked the bot."""
    return Fault(403, description)


def unauthorized() -> Fault:
    """401: the token is not (or no longer) a bot's."""
    return Fault(401, "Unauthorized")


def chat_not_found() -> Fault:
    """400 for a chat Telegram does not know."""
    return Fault(400, "Bad Request: chat not found")


def bad_request(description: str) -> Fault:
    """400 with the given description ("Bad Request: " is added when missing)."""
    prefix = "" if description.startswith("Bad Request") else "Bad Request: "
    return Fault(400, prefix + description)


def server_error(code: int = 500) -> Fault:
    """A 5xx answer, e.g. 500 Internal Server Error or 502 Bad Gateway."""
    reasons = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
    return Fault(code, reasons.get(code, "Internal Server Error"))


def timeout(seconds: float) -> Fault:
    """Answer only after `seconds`, then carry the request out anyway, as Telegram does."""
    return Fault(delay=seconds)


@dataclass
class _Injection:
    method: str  # lower case
    fault: Fault
    remaining: int | None
    chat_id: int | str | None


# --- simulated people and chats -----------------------------------------------------------------


@dataclass(frozen=True)
class FakeChat:
    """A chat as Telegram describes it; groups have negative ids."""

    id: int
    type: str = "supergroup"
    title: str | None = None
    first_name: str | None = None
    username: str | None = None
    is_forum: bool = False

    def as_dict(self) -> JSON:
        """Telegram's Chat object."""
        chat: JSON = {"id": self.id, "type": self.type}
        for name in ("title", "first_name", "username"):
            if (value := getattr(self, name)) is not None:
                chat[name] = value
        if self.is_forum:
            chat["is_forum"] = True
        return chat


@dataclass(frozen=True)
class FakeUser:
    """A simulated Telegram user (a member talking to the bot)."""

    id: int
    first_name: str = "Ona"
    language_code: str | None = "lt"
    last_name: str | None = None
    username: str | None = None

    def as_dict(self) -> JSON:
        """Telegram's User object."""
        user: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for name in ("last_name", "username", "language_code"):
            if (value := getattr(self, name)) is not None:
                user[name] = value
        return user

    @property
    def chat(self) -> FakeChat:
        """The private chat between this user and the bot."""
        return FakeChat(self.id, "private", first_name=self.first_name, username=self.username)


@dataclass(frozen=True)
class QueuedUpdate:
    """An update waiting for getUpdates, with the ids a test needs (message_id 0: none)."""

    update_id: int
    chat_id: int
    message_id: int
    payload: JSON
    callback_query_id: str | None = None


# --- what the bot did ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class StoredFile:
    """A file the bot sent: uploaded bytes, or only a file_id it referred to."""

    file_id: str
    file_unique_id: str
    kind: str  # "document" or "photo"
    filename: str | None = None
    content: bytes | None = None
    content_type: str | None = None


@dataclass
class SentMessage:
    """A message the bot sent, in its current state (edits applied)."""

    chat_id: int
    message_id: int
    method: str
    date: int
    text: str | None = None  # as the bot sent it, HTML included
    caption: str | None = None
    parse_mode: str | None = None
    reply_markup: JSON | None = None
    file: StoredFile | None = None
    visible: Visible = ("", ())
    edit_date: int | None = None
    deleted: bool = False
    thread_id: int | None = None  # the forum topic it was sent to
    reply_to: int | None = None  # the message it replies to

    @property
    def plain_text(self) -> str:
        """The text or caption as the member sees it (tags removed, entities decoded)."""
        return self.visible[0]

    @property
    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """Keyboard rows as (text, callback_data); callback_data is None for other buttons."""
        markup = self.reply_markup or {}
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        return [[(b["text"], b.get("callback_data")) for b in row] for row in rows]

    def callback_data(self, text: str) -> str:
        """The callback_data of the button labelled `text`."""
        for row in self.buttons:
            for label, data in row:
                if label == text and data is not None:
                    return data
        raise KeyError(f"no callback button {text!r} in {self.buttons}")


@dataclass
class ApiRequest:
    """One request the bot made, in arrival order, and how it was answered."""

    method: str
    params: JSON
    files: dict[str, Upload] = field(default_factory=dict)
    status: int | None = None  # HTTP status once answered
    result: Any = None
    description: str | None = None
    message: SentMessage | None = None  # set by the methods that send a message
    at: float = field(default_factory=time.monotonic)  # when it arrived

    @property
    def chat_id(self) -> Any:
        """The chat_id parameter, if any."""
        return self.params.get("chat_id")


# --- HTML as Telegram parses it -----------------------------------------------------------------

_ENTITY_RE = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")


def parse_html(text: str) -> Visible:
    """Return the visible text and the (tag, attributes, start, end) spans of an HTML message.

    Raises ValueError with Telegram's wording. Stricter than Telegram in one point, on purpose:
    a bare '&' is an error here (Telegram keeps it literally), so unescaped member text shows.
    """
    plain: list[str] = []
    size = 0  # len("".join(plain))
    spans: list[tuple[str, str, int, int]] = []
    open_tags: list[tuple[str, str, int]] = []
    i = 0

    def byte_offset(pos: int) -> int:
        return len(text[:pos].encode())

    while i < len(text):
        char = text[i]
        if char == "&":
            match = _ENTITY_RE.match(text, i)
            if match is None:
                raise ValueError(f'Character "&" must be escaped at byte offset {byte_offset(i)}')
            plain.append(html.unescape(match.group()))
            size += 1
            i = match.end()
            continue
        if char != "<":
            plain.append(char)
            size += 1
            i += 1
            continue
        start, closing = i, text.startswith("</", i)
        name_end = start + 1 + closing
        while name_end < len(text) and text[name_end] != ">" and not text[name_end].isspace():
            name_end += 1
        name = text[start + 1 + closing : name_end].lower()
        end = _tag_end(text, name_end)
        if not closing and name not in HTML_TAGS and name_end < len(text):
            raise ValueError(f'Unsupported start tag "{name}" at byte offset {byte_offset(start)}')
        if end < 0:
            kind = "end" if closing else "start"
            raise ValueError(f"Unclosed {kind} tag at byte offset {byte_offset(start)}")
        i = end + 1
        if not closing:
            open_tags.append((name, text[name_end:end].strip(), size))
            continue
        if not open_tags:
            raise ValueError(f"Unexpected end tag at byte offset {byte_offset(start)}")
        expected, attributes, opened_at = open_tags.pop()
        if name != expected:
            raise ValueError(
                f'Unmatched end tag at byte offset {byte_offset(start)}, expected "</{expected}>",'
                f' found "</{name}>"'
            )
        spans.append((name, attributes, opened_at, size))
    if open_tags:
        raise ValueError(f'Can\'t find end tag corresponding to start tag "{open_tags[-1][0]}"')
    return "".join(plain), tuple(sorted(spans, key=lambda span: (span[2], -span[3])))


def _tag_end(text: str, start: int) -> int:
    """Index of the first '>' from `start` on that is not inside a quoted attribute value."""
    quote = ""
    for pos in range(start, len(text)):
        char = text[pos]
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == ">":
            return pos
    return -1


_COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@\w+)?")
_MENTION_RE = re.compile(r"(?<!\w)@[A-Za-z]\w{3,31}")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def incoming_entities(text: str) -> list[JSON]:
    """bot_command and mention entities Telegram attaches to a member's text (UTF-16 offsets)."""
    found = [("bot_command", m) for m in _COMMAND_RE.finditer(text)]
    found += [("mention", m) for m in _MENTION_RE.finditer(text)]
    found.sort(key=lambda item: item[1].start())
    return [
        {
            "type": kind,
            "offset": _utf16_len(text[: match.start()]),
            "length": _utf16_len(match.group()),
        }
        for kind, match in found
    ]


def _decode(name: str, value: Any) -> Any:
    """Turn a form value back into the JSON value the client meant."""
    if not isinstance(value, str) or name in STRING_FIELDS or value.startswith("attach://"):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _check_markup(markup: Any) -> JSON | None:
    """Validate reply_markup as Telegram does and return it."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and len(str(data).encode()) > MAX_CALLBACK_DATA_BYTES:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    return markup


def _check_text(text: Any, parse_mode: Any, *, caption: bool = False) -> Visible:
    """Validate a message text (or caption) and return what the member will see."""
    raw = "" if text is None else str(text)
    visible: Visible = (raw, ())
    if str(parse_mode or "").lower() == "html":
        try:
            visible = parse_html(raw)
        except ValueError as error:
            raise ApiError(400, f"Bad Request: can't parse entities: {error}") from None
    if caption:
        if len(visible[0]) > MAX_CAPTION_LENGTH:
            raise ApiError(400, "Bad Request: message caption is too long")
    elif not visible[0].strip():
        raise ApiError(400, "Bad Request: message text is empty")
    elif len(visible[0]) > MAX_TEXT_LENGTH:
        raise ApiError(400, "Bad Request: message is too long")
    return visible


def _int_param(params: JSON, name: str) -> int:
    value = params.get(name)
    if value is None or value == "":
        raise ApiError(400, f"Bad Request: {name} is empty")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Bad Request: invalid {name} specified") from None


# --- the server ---------------------------------------------------------------------------------


class FakeTelegram:
    """The fake Bot API: an aiohttp app plus the state Telegram would keep for one bot."""

    def __init__(self, *, bot_id: int = 123) -> None:
        self.bot_id = bot_id  # replaced by the id in the token of every request
        self.requests: list[ApiRequest] = []
        self.commands: dict[tuple[str, str], list[JSON]] = {}  # (scope JSON, language_code)
        self.webhook_url: str | None = None
        self._updates: list[JSON] = []
        self._update_ids = itertools.count(10_001)
        self._allowed_updates: frozenset[str] | None = None  # None: Telegram's default
        self._poll_generation = 0
        self._sent: list[SentMessage] = []
        self._member_messages: dict[tuple[int, int], JSON] = {}
        self._last_message_id: dict[int, int] = {}
        self._chats: dict[int, FakeChat] = {}
        self._users: dict[int, FakeUser] = {}
        self._member_status: dict[tuple[int, int], str] = {}
        self.topics: dict[int, dict[int, JSON]] = {}  # chat id -> thread id -> name, closed
        self._callback_queries: set[str] = set()
        self._injections: list[_Injection] = []
        self._claimed: set[int] = set()  # indexes of requests already returned by wait_for
        self._serial = itertools.count(1)
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._handlers: dict[str, Callable[[ApiRequest], Any]] = {
            "getMe": lambda _: self._bot_user() | {"can_join_groups": True},
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendDocument": lambda req: self._send_file(req, "document"),
            "sendPhoto": lambda req: self._send_file(req, "photo"),
            "copyMessage": self._copy_message,
            "setMyCommands": self._set_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getMyCommands": lambda req: self.commands.get(self._commands_key(req.params), []),
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getChatMember": self._get_chat_member,
            "getChat": self._get_chat,
            "createForumTopic": self._create_forum_topic,
            "editForumTopic": lambda req: (
                self._topic(req.params).update(
                    name=req.params.get("name") or self._topic(req.params)["name"]
                )
                is None
            ),
            "closeForumTopic": lambda req: self._topic(req.params).update(closed=True) is None,
            "reopenForumTopic": lambda req: self._topic(req.params).update(closed=False) is None,
            "sendChatAction": lambda req: bool(self._chat_id(req.params)),
            "close": lambda _: True,
            "logOut": lambda _: True,
        }
        names = [*self._handlers, "getUpdates"]
        self._method_names = {name.lower(): name for name in names}

    # lifecycle

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        """Answer pending long polls and delays at once, then shut down."""
        self._closing = True
        self._wake()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """Base URL for TelegramAPIServer.from_base / TELEGRAM_API_URL."""
        return f"http://127.0.0.1:{self._port}"

    # simulated members

    def user(
        self, id: int, first_name: str = "Ona", language_code: str | None = "lt", **extra: Any
    ) -> FakeUser:
        """A simulated user (extra: last_name, username)."""
        user = FakeUser(id, first_name, language_code, **extra)
        self._users[id] = user
        return user

    def group(
        self,
        id: int = -1001234567890,
        title: str = "Kaimynai",
        kind: str = "supergroup",
        *,
        forum: bool = False,
    ) -> FakeChat:
        """A group chat (kind "group" or "supergroup"; a FORUM has topics)."""
        chat = FakeChat(id, kind, title=title, is_forum=forum)
        self._chats[id] = chat
        if forum:
            self.topics.setdefault(id, {})
        return chat

    def delete_topic(self, chat: FakeChat, thread_id: int) -> None:
        """Someone deletes a forum topic by hand."""
        self.topics.get(chat.id, {}).pop(thread_id, None)

    def send_text(
        self,
        user: FakeUser,
        text: str,
        chat: FakeChat | None = None,
        reply_to_message_id: int | None = None,
        thread_id: int | None = None,
        formatting: list[JSON] | None = None,
    ) -> QueuedUpdate:
        """The user writes `text` (private chat unless `chat` is given; in a forum topic with
        THREAD_ID; FORMATTING: entities such as bold the user applied)."""
        content: JSON = {"text": text}
        if thread_id is not None:
            content |= {"message_thread_id": thread_id, "is_topic_message": True}
        if entities := incoming_entities(text) + list(formatting or ()):
            content["entities"] = sorted(entities, key=lambda entity: entity["offset"])
        if reply_to_message_id is not None:
            chat_id = (chat or user.chat).id
            content["reply_to_message"] = self._message_snapshot(chat_id, reply_to_message_id)
        return self._queue_message(user, chat, content)

    def send_sticker(
        self, user: FakeUser, emoji: str = "👍", chat: FakeChat | None = None
    ) -> QueuedUpdate:
        """The user sends a sticker."""
        file_id, unique_id = self._file_ids("sticker")
        sticker: JSON = {"file_id": file_id, "file_unique_id": unique_id, "type": "regular"}
        sticker |= {"width": 512, "height": 512, "is_animated": False, "is_video": False}
        return self._queue_message(user, chat, {"sticker": sticker | {"emoji": emoji}})

    def send_photo(
        self, user: FakeUser, caption: str | None = None, chat: FakeChat | None = None
    ) -> QueuedUpdate:
        """The user sends a photo (two sizes, like Telegram)."""
        sizes: list[JSON] = []
        for width, height in ((90, 68), (1280, 960)):
            file_id, unique_id = self._file_ids("photo")
            sizes.append({"file_id": file_id, "file_unique_id": unique_id})
            sizes[-1] |= {"width": width, "height": height, "file_size": width * height // 8}
        content: JSON = {"photo": sizes}
        if caption is not None:
            content["caption"] = caption
        return self._queue_message(user, chat, content)

    def send_location(
        self,
        user: FakeUser,
        latitude: float = 54.6872,
        longitude: float = 25.2797,
        chat: FakeChat | None = None,
    ) -> QueuedUpdate:
        """The user shares a location (Vilnius by default)."""
        location = {"latitude": latitude, "longitude": longitude}
        return self._queue_message(user, chat, {"location": location})

    def send_voice(
        self, user: FakeUser, duration: int = 3, chat: FakeChat | None = None
    ) -> QueuedUpdate:
        """The user sends a voice message."""
        file_id, unique_id = self._file_ids("voice")
        voice: JSON = {"file_id": file_id, "file_unique_id": unique_id, "duration": duration}
        return self._queue_message(user, chat, {"voice": voice | {"mime_type": "audio/ogg"}})

    def edit_text(
        self, user: FakeUser, message: QueuedUpdate | int, text: str, chat: FakeChat | None = None
    ) -> QueuedUpdate:
        """The user edits one of their earlier text messages (an edited_message update)."""
        chat_id = message.chat_id if isinstance(message, QueuedUpdate) else (chat or user.chat).id
        message_id = message.message_id if isinstance(message, QueuedUpdate) else message
        original = self._member_messages.get((chat_id, message_id))
        if original is None or original["from"]["id"] != user.id:
            raise ValueError(f"user {user.id} wrote no message {message_id} in chat {chat_id}")
        original.update(text=text, edit_date=int(time.time()))
        original.pop("entities", None)
        if entities := incoming_entities(text):
            original["entities"] = entities
        update_id = self._queue("edited_message", dict(original))
        return QueuedUpdate(update_id, chat_id, message_id, self._updates[-1])

    def press(
        self,
        user: FakeUser,
        message: SentMessage | int,
        callback_data: str,
        chat: FakeChat | None = None,
    ) -> QueuedUpdate:
        """The user presses an inline button of a bot message (or of an old message id)."""
        if isinstance(message, SentMessage):
            if message.deleted:
                raise ValueError(f"message {message.message_id} was deleted")
            if callback_data not in {data for row in message.buttons for _, data in row}:
                raise ValueError(f"message has no button with {callback_data!r}: {message.buttons}")
            chat_id, message_id = message.chat_id, message.message_id
            message_dict = self._message_dict(message)
        else:
            chat_id, message_id = (chat or user.chat).id, message
            keyboard = [[{"text": "…", "callback_data": callback_data}]]
            message_dict = {
                "message_id": message_id,
                "date": int(time.time()) - 86_400,
                "chat": self._chat_dict(chat_id),
                "from": self._bot_user(),
                "text": "…",
                "reply_markup": {"inline_keyboard": keyboard},
            }
        self._users[user.id] = user
        query_id = str(4_000_000_000 + next(self._serial))
        self._callback_queries.add(query_id)
        query = {"id": query_id, "from": user.as_dict(), "message": message_dict}
        query |= {"chat_instance": str(abs(chat_id) * 7919), "data": callback_data}
        update_id = self._queue("callback_query", query)
        return QueuedUpdate(update_id, chat_id, message_id, self._updates[-1], query_id)

    def member_joined(self, group: FakeChat, user: FakeUser) -> QueuedUpdate:
        """The user joins the group (a message with new_chat_members)."""
        self._member_status[(group.id, user.id)] = "member"
        return self._queue_message(user, group, {"new_chat_members": [user.as_dict()]})

    def bot_added_to_group(self, group: FakeChat, by_user: FakeUser) -> QueuedUpdate:
        """by_user adds the bot: my_chat_member (returned) plus the new_chat_members message."""
        self._chats[group.id] = group
        self._member_status[(group.id, self.bot_id)] = "member"
        change = {"chat": group.as_dict(), "from": by_user.as_dict(), "date": int(time.time())}
        change["old_chat_member"] = {"status": "left", "user": self._bot_user()}
        change["new_chat_member"] = {"status": "member", "user": self._bot_user()}
        update_id = self._queue("my_chat_member", change)
        queued = QueuedUpdate(update_id, group.id, 0, self._updates[-1])
        self._queue_message(by_user, group, {"new_chat_members": [self._bot_user()]})
        return queued

    def set_member_status(self, chat: FakeChat, user: FakeUser, status: str) -> None:
        """What getChatMember answers for this user (creator, administrator, member, ...)."""
        if status not in MEMBER_STATUSES:
            raise ValueError(f"unsupported status {status!r}")
        self._chats[chat.id], self._users[user.id] = chat, user
        self._member_status[(chat.id, user.id)] = status

    # observation

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by the bot."""
        return list(self._updates)

    def sent_messages(self, chat_id: int | None = None) -> list[SentMessage]:
        """Messages the bot sent (current state, deleted ones flagged), oldest first."""
        return [m for m in self._sent if chat_id is None or m.chat_id == chat_id]

    def calls(self, method: str) -> list[ApiRequest]:
        """All requests of one method, in order."""
        return [r for r in self.requests if r.method.lower() == method.lower()]

    def commands_for(
        self, language_code: str = "", scope: JSON | None = None
    ) -> list[tuple[str, str]]:
        """The (command, description) pairs set for a scope and language."""
        key = (json.dumps(scope or {"type": "default"}, sort_keys=True), language_code)
        return [(c["command"], c["description"]) for c in self.commands.get(key, [])]

    async def wait_for(
        self,
        method: str | None = "sendMessage",
        chat_id: int | None = None,
        predicate: Callable[[ApiRequest], bool] | None = None,
        timeout: float = 10.0,
    ) -> ApiRequest:
        """The earliest matching request no earlier wait_for returned, waiting for it to come."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for index, request in enumerate(self.requests):
                if index in self._claimed or request.status is None:
                    continue
                if method is not None and request.method.lower() != method.lower():
                    continue
                if chat_id is not None and str(request.chat_id) != str(chat_id):
                    continue
                if predicate is None or predicate(request):
                    self._claimed.add(index)
                    return request
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                recent = [(r.method, r.chat_id, r.status) for r in self.requests[-10:]]
                raise AssertionError(f"no new {method} for chat {chat_id} in {timeout}s; {recent}")
            await self._wait_change(remaining)

    # fault injection

    def inject(
        self, method: str, fault: Fault, *, times: int | None = 1, chat_id: int | str | None = None
    ) -> None:
        """Answer the next `times` calls of `method` (None: all) with `fault`, optionally only
        for one chat."""
        self._injections.append(_Injection(method.lower(), fault, times, chat_id))

    def clear_faults(self) -> None:
        """Forget all injected faults."""
        self._injections.clear()

    # HTTP

    async def _handle(self, http_request: web.Request) -> web.Response:
        try:
            params, files = await self._read_params(http_request)
        except ValueError:
            return _error_response(ApiError(400, "Bad Request: can't parse JSON"))
        name = http_request.match_info["method"]
        request = ApiRequest(self._method_names.get(name.lower(), name), params, files)
        self.requests.append(request)
        self._wake()
        try:
            request.result = await self._answer(request, http_request.match_info["token"])
            request.status = 200
            response = web.json_response({"ok": True, "result": request.result})
        except ApiError as error:
            request.status, request.description = error.status, error.description
            response = _error_response(error)
        self._wake()
        return response

    async def _answer(self, request: ApiRequest, token: str) -> Any:
        """The result of one request, or ApiError."""
        if not re.fullmatch(r"\d+:[\w-]+", token):
            raise ApiError(401, "Unauthorized")
        self.bot_id = int(token.partition(":")[0])
        if request.method.lower() not in self._method_names:
            raise ApiError(404, "Not Found: method not found")
        fault = self._take_fault(request)
        if fault is not None and fault.delay:
            await self._wait_change(fault.delay, until=lambda: self._closing)
        elif fault is not None:
            raise ApiError(fault.status, fault.description, fault.retry_after)
        if self._closing:
            raise ApiError(502, "Bad Gateway")
        try:
            if request.method == "getUpdates":
                return await self._get_updates(request.params)
            return self._handlers[request.method](request)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            # Malformed parameters: Telegram answers 400, never 500.
            raise ApiError(400, f"Bad Request: malformed parameters ({error!r})") from None

    @staticmethod
    async def _read_params(http_request: web.Request) -> tuple[JSON, dict[str, Upload]]:
        raw: JSON = dict(http_request.query)
        files: dict[str, Upload] = {}
        if http_request.body_exists and http_request.content_type == "application/json":
            body = await http_request.json()
            if not isinstance(body, dict):
                raise ValueError("JSON body is not an object")
            raw.update(body)
        elif http_request.body_exists:
            for name, value in (await http_request.post()).items():
                if isinstance(value, web.FileField):
                    content = value.file.read()
                    files[name] = Upload(value.filename, value.content_type, content)
                else:
                    raw[name] = value.decode() if isinstance(value, bytes | bytearray) else value
        return {name: _decode(name, value) for name, value in raw.items()}, files

    def _take_fault(self, request: ApiRequest) -> Fault | None:
        for injection in self._injections:
            if injection.method != request.method.lower():
                continue
            if injection.chat_id is not None and str(injection.chat_id) != str(request.chat_id):
                continue
            if injection.remaining is not None:
                injection.remaining -= 1
                if injection.remaining <= 0:
                    self._injections.remove(injection)
            return injection.fault
        return None

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_change(self, seconds: float, until: Callable[[], bool] | None = None) -> None:
        """Sleep until something changes (or, with `until`, until it holds), at most `seconds`."""
        deadline = asyncio.get_running_loop().time() + seconds
        while (remaining := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                return
            if until is None or until():
                return

    # updates

    def queue_raw(self, kind: str, payload: JSON) -> int:
        """Queue an update as given (also one a client cannot read); its update_id."""
        return self._queue(kind, payload)

    def _queue(self, kind: str, payload: JSON) -> int:
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, kind: payload})
        self._wake()
        return update_id

    def _queue_message(self, user: FakeUser, chat: FakeChat | None, content: JSON) -> QueuedUpdate:
        chat = chat or user.chat
        self._users[user.id] = user
        self._chats[chat.id] = chat
        message_id = self._next_message_id(chat.id)
        message: JSON = {"message_id": message_id, "date": int(time.time())}
        message |= {"chat": chat.as_dict(), "from": user.as_dict(), **content}
        self._member_messages[(chat.id, message_id)] = message
        update_id = self._queue("message", dict(message))
        return QueuedUpdate(update_id, chat.id, message_id, self._updates[-1])

    async def _get_updates(self, params: JSON) -> list[JSON]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active;"
                " use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        wait = max(float(params.get("timeout") or 0), 0.0)
        if "allowed_updates" in params:
            self._allowed_updates = frozenset(params["allowed_updates"] or ()) or None
        if offset < 0:
            self._updates = self._updates[offset:]
        elif offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake()  # an older long poll learns it has been replaced
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request;"
                    " make sure that only one bot instance is running",
                )
            # Telegram never stores updates of a type the bot did not ask for.
            self._updates = [u for u in self._updates if self._wanted(u)]
            remaining = deadline - asyncio.get_running_loop().time()
            if self._updates or self._closing or remaining <= 0:
                return self._updates[:limit]
            await self._wait_change(remaining)

    def _wanted(self, update: JSON) -> bool:
        kind = next(key for key in update if key != "update_id")
        if self._allowed_updates is None:
            return kind not in OPT_IN_UPDATES
        return kind in self._allowed_updates

    # methods

    def _send_message(self, request: ApiRequest) -> JSON:
        params = request.params
        chat_id = self._chat_id(params)
        visible = _check_text(params.get("text"), params.get("parse_mode"))
        markup = _check_markup(params.get("reply_markup"))
        sent = self._store_sent(request, chat_id, text=str(params["text"]), visible=visible)
        sent.parse_mode, sent.reply_markup = params.get("parse_mode"), markup
        return self._message_dict(sent)

    def _edit_message_text(self, request: ApiRequest) -> JSON | bool:
        params = request.params
        visible = _check_text(params.get("text"), params.get("parse_mode"))
        markup = _check_markup(params.get("reply_markup"))
        if params.get("inline_message_id"):
            return True
        sent = self._editable(params)
        if sent.text is None:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        # Leaving reply_markup out removes the keyboard, so it is part of the comparison.
        if (sent.visible, sent.reply_markup) == (visible, markup):
            raise ApiError(400, NOT_MODIFIED)
        sent.text, sent.visible = str(params["text"]), visible
        sent.parse_mode, sent.reply_markup = params.get("parse_mode"), markup
        sent.edit_date = int(time.time())
        return self._message_dict(sent)

    def _edit_message_reply_markup(self, request: ApiRequest) -> JSON | bool:
        markup = _check_markup(request.params.get("reply_markup"))
        if request.params.get("inline_message_id"):
            return True
        sent = self._editable(request.params)
        if sent.reply_markup == markup:
            raise ApiError(400, NOT_MODIFIED)
        sent.reply_markup, sent.edit_date = markup, int(time.time())
        return self._message_dict(sent)

    def _delete_message(self, request: ApiRequest) -> bool:
        key = (self._chat_id(request.params), _int_param(request.params, "message_id"))
        sent = self._find_sent(*key)
        if sent is not None:
            sent.deleted = True
        elif self._member_messages.pop(key, None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        return True

    def _answer_callback_query(self, request: ApiRequest) -> bool:
        if str(request.params.get("callback_query_id")) not in self._callback_queries:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        return True

    def _send_file(self, request: ApiRequest, kind: str) -> JSON:
        params = request.params
        chat_id = self._chat_id(params)
        visible = _check_text(params.get("caption"), params.get("parse_mode"), caption=True)
        markup = _check_markup(params.get("reply_markup"))
        value = params.get(kind)
        upload = (
            request.files.get(value.removeprefix("attach://")) if isinstance(value, str) else None
        )
        if upload is None and not value and kind in request.files:
            upload = request.files[kind]  # a client that names the file part directly
        if upload is not None:
            file_id, unique_id = self._file_ids(kind)
            stored = StoredFile(
                file_id, unique_id, kind, upload.filename, upload.content, upload.content_type
            )
        elif isinstance(value, str) and value and not value.startswith("attach://"):
            stored = StoredFile(value, f"U{value[-12:]}", kind)  # an existing file_id or a URL
        else:
            raise ApiError(400, f"Bad Request: there is no {kind} in the request")
        sent = self._store_sent(request, chat_id, caption=params.get("caption"), visible=visible)
        sent.parse_mode, sent.reply_markup, sent.file = params.get("parse_mode"), markup, stored
        return self._message_dict(sent)

    def _copy_message(self, request: ApiRequest) -> JSON:
        params = request.params
        chat_id = self._chat_id(params)
        key = (self._chat_id(params, "from_chat_id"), _int_param(params, "message_id"))
        markup = _check_markup(params.get("reply_markup"))
        if (source := self._find_sent(*key)) is not None:
            text, caption, file = source.text, source.caption, source.file
            parse_mode, visible = source.parse_mode, source.visible
        elif (original := self._member_messages.get(key)) is not None:
            text, caption, file = original.get("text"), original.get("caption"), None
            parse_mode, visible = None, (text or caption or "", ())
        else:
            raise ApiError(400, "Bad Request: message to copy not found")
        if "caption" in params:
            caption, parse_mode = params["caption"], params.get("parse_mode")
            visible = _check_text(caption, parse_mode, caption=True)
        sent = self._store_sent(request, chat_id, text=text, caption=caption, visible=visible)
        sent.parse_mode, sent.reply_markup, sent.file = parse_mode, markup, file
        return {"message_id": sent.message_id}

    def _set_my_commands(self, request: ApiRequest) -> bool:
        commands = request.params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: command description is empty or too long")
        scope = request.params.get("scope") or {}
        chat_id = scope.get("chat_id") if isinstance(scope, dict) else None
        if chat_id is not None and int(chat_id) not in self._users | self._chats:
            raise ApiError(400, "Bad Request: chat not found")  # the bot never saw that chat
        self.commands[self._commands_key(request.params)] = commands
        return True

    def _delete_my_commands(self, request: ApiRequest) -> bool:
        self.commands.pop(self._commands_key(request.params), None)
        return True

    def _delete_webhook(self, request: ApiRequest) -> bool:
        self.webhook_url = None
        if request.params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _set_webhook(self, request: ApiRequest) -> bool:
        self.webhook_url = str(request.params.get("url") or "") or None
        return True

    def _get_chat_member(self, request: ApiRequest) -> JSON:
        chat_id = self._chat_id(request.params)
        user_id = _int_param(request.params, "user_id")
        if user_id == self.bot_id:
            user = self._bot_user()
        elif user_id in self._users:
            user = self._users[user_id].as_dict()
        else:
            user = {"id": user_id, "is_bot": False, "first_name": "Nežinomas"}
        known = user_id in self._users or user_id == self.bot_id
        default = "member" if chat_id == user_id or known else "left"
        status = self._member_status.get((chat_id, user_id), default)
        member: JSON = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member |= dict.fromkeys(ADMIN_RIGHTS, True) | {"can_be_edited": False}
            member["is_anonymous"] = False
        elif status == "kicked":
            member["until_date"] = 0
        return member

    def _get_chat(self, request: ApiRequest) -> JSON:
        gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription")
        full = self._chat_dict(self._chat_id(request.params))
        full |= {"accent_color_id": 0, "max_reaction_count": 11}
        full["accepted_gift_types"] = dict.fromkeys((*gifts, "gifts_from_channels"), False)
        return full

    # helpers

    def _bot_user(self) -> JSON:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Civicbot",
            "username": BOT_USERNAME,
        }

    def _chat_id(self, params: JSON, name: str = "chat_id") -> int:
        value = params.get(name)
        if isinstance(value, str) and value.startswith("@"):
            for chat in self._chats.values():
                if chat.username and f"@{chat.username}".lower() == value.lower():
                    return chat.id
            raise ApiError(400, "Bad Request: chat not found")
        return _int_param(params, name)

    def _chat_dict(self, chat_id: int) -> JSON:
        if chat_id in self._chats:
            return self._chats[chat_id].as_dict()
        if chat_id in self._users:
            return self._users[chat_id].chat.as_dict()
        return {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}

    def _next_message_id(self, chat_id: int) -> int:
        self._last_message_id[chat_id] = self._last_message_id.get(chat_id, 0) + 1
        return self._last_message_id[chat_id]

    def _file_ids(self, kind: str) -> tuple[str, str]:
        serial = next(self._serial)
        return f"FAKE-{kind}-{serial:06d}", f"U{serial:06d}"

    def _store_sent(self, request: ApiRequest, chat_id: int, **fields: Any) -> SentMessage:
        thread_id, reply_to = self._placement(request.params, chat_id)
        message_id = self._next_message_id(chat_id)
        sent = SentMessage(chat_id, message_id, request.method, int(time.time()), **fields)
        sent.thread_id, sent.reply_to = thread_id, reply_to
        self._sent.append(sent)
        request.message = sent
        return sent

    def _placement(self, params: JSON, chat_id: int) -> tuple[int | None, int | None]:
        """The forum topic (which must exist) and the replied message of a message to send."""
        thread = params.get("message_thread_id")
        thread_id = int(thread) if thread not in (None, "") else None
        if thread_id is not None and thread_id not in self.topics.get(chat_id, {thread_id: {}}):
            raise ApiError(400, "Bad Request: message thread not found")
        reply = params.get("reply_parameters") or {}
        reply_to = reply.get("message_id") if isinstance(reply, dict) else None
        if reply_to is None and params.get("reply_to_message_id") not in (None, ""):
            reply_to = params["reply_to_message_id"]
        return thread_id, int(reply_to) if reply_to is not None else None

    def _topic(self, params: JSON) -> JSON:
        chat_id = self._chat_id(params)
        thread_id = _int_param(params, "message_thread_id")
        topic = self.topics.get(chat_id, {}).get(thread_id)
        if topic is None:
            raise ApiError(400, "Bad Request: message thread not found")
        return topic

    def _create_forum_topic(self, request: ApiRequest) -> JSON:
        chat_id = self._chat_id(request.params)
        if chat_id not in self.topics:
            raise ApiError(400, "Bad Request: the chat is not a forum")
        name = str(request.params.get("name") or "")
        if not 1 <= len(name) <= 128:
            raise ApiError(
                400,
                "Bad Request: TOPIC_TITLE_EMPTY"
                if not name
                else "Bad Request: TOPIC_TITLE_INVALID",
            )
        thread_id = self._next_message_id(chat_id)  # a topic's id is its first message's
        self.topics[chat_id][thread_id] = {"name": name, "closed": False}
        return {"message_thread_id": thread_id, "name": name, "icon_color": 7322096}

    def _find_sent(self, chat_id: int, message_id: int) -> SentMessage | None:
        for sent in self._sent:
            if (sent.chat_id, sent.message_id) == (chat_id, message_id) and not sent.deleted:
                return sent
        return None

    def _editable(self, params: JSON) -> SentMessage:
        key = (self._chat_id(params), _int_param(params, "message_id"))
        sent = self._find_sent(*key)
        if sent is None and key in self._member_messages:
            raise ApiError(400, "Bad Request: message can't be edited")
        if sent is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return sent

    def _commands_key(self, params: JSON) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _message_snapshot(self, chat_id: int, message_id: int) -> JSON:
        """A replied-to message as Telegram embeds it (one level deep)."""
        if (sent := self._find_sent(chat_id, message_id)) is not None:
            return self._message_dict(sent)
        if (original := self._member_messages.get((chat_id, message_id))) is not None:
            return {k: v for k, v in original.items() if k != "reply_to_message"}
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat_dict(chat_id),
        }

    def _message_dict(self, sent: SentMessage) -> JSON:
        """Telegram's Message object for a message the bot sent."""
        message: JSON = {"message_id": sent.message_id, "date": sent.date}
        message |= {"chat": self._chat_dict(sent.chat_id), "from": self._bot_user()}
        if sent.thread_id is not None:
            message |= {"message_thread_id": sent.thread_id, "is_topic_message": True}
        if sent.reply_to is not None:
            replied = self._message_snapshot(sent.chat_id, sent.reply_to)
            message["reply_to_message"] = {
                key: value for key, value in replied.items() if key != "reply_to_message"
            }
        if sent.text is not None:
            message["text"] = sent.plain_text
        elif sent.caption is not None:
            message["caption"] = sent.plain_text
        if (file := sent.file) is not None:
            ids = {"file_id": file.file_id, "file_unique_id": file.file_unique_id}
            size = len(file.content) if file.content is not None else 0
            if file.kind == "photo":
                message["photo"] = [ids | {"width": 1280, "height": 960, "file_size": size}]
            else:
                message["document"] = ids | {
                    "file_name": file.filename or "file",
                    "file_size": size,
                }
                if file.content_type:
                    message["document"]["mime_type"] = file.content_type
        if sent.reply_markup and "inline_keyboard" in sent.reply_markup:
            message["reply_markup"] = sent.reply_markup
        if sent.edit_date is not None:
            message["edit_date"] = sent.edit_date
        return message


def _error_response(error: ApiError) -> web.Response:
    body: JSON = {"ok": False, "error_code": error.status, "description": error.description}
    if error.retry_after is not None:
        body["parameters"] = {"retry_after": error.retry_after}
    return web.json_response(body, status=error.status)
