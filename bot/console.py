"""`civicbot console`: talk to the bot in a terminal, with the same handlers and database.

No token and no network: requests go to a local session that prints them. Buttons are shown
as #1, #2, ...; typing "#2" presses the second one, so that a plain number stays an answer.
Piped input works too, line by line, and is echoed ("> ...") so that the output reads like the
chat.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.types import CallbackQuery, Chat, InlineKeyboardMarkup, Message, Update, User

from bot.app import App, open_app
from bot.local_session import BOT_TOKEN, LocalSession
from bot.settings import Settings

CONSOLE_USER_ID = 1
CONSOLE_GREETING = (
    "civicbot console: type a message, #1 (#2, ...) to press a button, or Ctrl-D to leave. "
    "You are user {user_id}."
)
_PRESS = re.compile(r"#(\d+)")


def html_to_text(text: str) -> str:
    """What a person reads of an HTML message: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


class Console:
    """Feeds typed lines to the dispatcher as a private chat and prints the answers."""

    def __init__(self, *, out: TextIO, user: User) -> None:
        self._app: App | None = None
        self._out = out
        self._user = user
        self._chat = Chat(id=user.id, type="private", first_name=user.first_name)
        self._session = LocalSession(listener=self._show)
        self.bot = Bot(
            BOT_TOKEN,
            session=self._session,
            default=DefaultBotProperties(parse_mode=ParseMode.HTML),
        )
        self._ids = itertools.count(1)
        self._buttons: list[tuple[str, str, dict[str, Any]]] = []  # text, data, message

    def _show(self, method: TelegramMethod[Any], result: Any) -> None:
        if isinstance(method, SendMessage | EditMessageText):
            prefix = "(edited) " if isinstance(method, EditMessageText) else ""
            self._print(prefix + html_to_text(method.text or ""))
        elif isinstance(method, SendDocument | SendPhoto):
            kind = "document" if isinstance(method, SendDocument) else "photo"
            name = getattr(getattr(method, kind), "filename", None) or kind
            caption = html_to_text(method.caption) if isinstance(method.caption, str) else ""
            self._print(f"[{kind}: {name}] {caption}".rstrip())
        elif isinstance(method, AnswerCallbackQuery) and method.text:
            self._print(f"({method.text})")
        if isinstance(method, SendMessage | EditMessageText | EditMessageReplyMarkup) and (
            isinstance(result, dict)
        ):
            markup = method.reply_markup
            if isinstance(markup, InlineKeyboardMarkup):
                self._show_buttons(markup, result)
            elif isinstance(method, EditMessageReplyMarkup):
                self._buttons = []

    def _show_buttons(self, markup: InlineKeyboardMarkup, message: dict[str, Any]) -> None:
        self._buttons = [
            (button.text, button.callback_data, message)
            for row in markup.inline_keyboard
            for button in row
            if button.callback_data
        ]
        labels = [f"[#{number}] {text}" for number, (text, _, _) in enumerate(self._buttons, 1)]
        if labels:
            self._print("   ".join(labels))

    def _print(self, text: str) -> None:
        print(text, file=self._out, flush=True)

    def _update_for(self, line: str) -> Update | None:
        update_id = next(self._ids)
        now = datetime.now(UTC)
        press = _PRESS.fullmatch(line)
        if press is not None:
            number = int(press.group(1))
            if not 1 <= number <= len(self._buttons):
                self._print(f"(there is no button #{number})")
                return None
            _, data, message = self._buttons[number - 1]
            return Update(
                update_id=update_id,
                callback_query=CallbackQuery(
                    id=str(update_id),
                    from_user=self._user,
                    chat_instance="console",
                    message=Message.model_validate(message),
                    data=data,
                ),
            )
        return Update(
            update_id=update_id,
            message=Message(
                message_id=100000 + update_id,
                date=now,
                chat=self._chat,
                from_user=self._user,
                text=line,
            ),
        )

    def attach(self, app: App) -> None:
        """Talk to APP (built around this console's bot)."""
        self._app = app

    async def say(self, line: str, *, echo: bool = False) -> None:
        """Handle one typed line, as Telegram would deliver it (ECHO it first: piped input)."""
        assert self._app is not None, "attach the console to an app first"
        if echo:
            self._print(f"> {line}")
        update = self._update_for(line)
        if update is not None:
            await self._app.dispatcher.feed_update(self.bot, update)


async def _lines(stream: TextIO) -> Any:
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, stream.readline)
        if not line:
            return
        if line.strip():
            yield line.strip()


async def run_console(
    settings: Settings,
    *,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
    user_id: int = CONSOLE_USER_ID,
    language_code: str | None = None,
) -> None:
    """Chat with the bot in the terminal until end of input."""
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    interactive = stdin.isatty()
    user = User(id=user_id, is_bot=False, first_name="Console", language_code=language_code)
    console = Console(out=out, user=user)
    async with open_app(settings, bot=console.bot) as app:
        console.attach(app)
        # Reminders fall due here too, and are printed like any other message.
        stop = asyncio.Event()
        drainer = asyncio.create_task(app.drainer.run(stop), name="outbox")
        if interactive:
            print(CONSOLE_GREETING.format(user_id=user_id), file=out)
        try:
            async for line in _lines(stdin):
                await console.say(line, echo=not interactive)
            # Piped input ends here: first finish what it set going (an announcement due now,
            # a CSV being made), as a chat left open would.
            await app.drainer.drain_once()
            await app.broadcaster.report()
            await app.broadcaster.idle()
        finally:
            stop.set()
            await drainer
        await console.bot.session.close()
