"""`civicbot run`: the bot against Telegram until SIGTERM or SIGINT, then a graceful stop.

Start-up never ends in a traceback. A setting that cannot work (a token Telegram rejects, a
database that cannot be opened) stops the bot with one line naming the setting (exit code 2,
see `StartupError`); a Bot API that cannot be reached yet (the network, or Telegram, down for a
while) is tried again with a capped backoff and one log line per attempt, so a process manager
never has to restart the bot for it. A signal at any moment, also while waiting, stops cleanly.

Updates are received by long polling (`bot.polling.Poller`: chats at the same time, each chat
in order), or by a webhook when WEBHOOK_URL is set. An update is confirmed to Telegram only
after it was handled, so a crash loses none; one delivered again after a crash is skipped when
its changes were committed (see `StorageMiddleware`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import TelegramMethod
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.app import App, create_bot, open_app
from bot.commands import publish_commands
from bot.polling import Poller, get_updates_until_stopped
from bot.settings import Settings, StartupError

log = logging.getLogger(__name__)

WEBHOOK_HOST = "0.0.0.0"  # behind a reverse proxy, on WEBHOOK_PORT
# Retrying a Bot API that cannot be reached: the first wait, doubled each time up to the cap.
RETRY_FIRST_SECONDS, RETRY_MAX_SECONDS = 1.0, 60.0
# Errors that mean "not now" rather than "never": the network, Telegram's servers, timeouts.
TRANSIENT_ERRORS = (
    TelegramNetworkError,
    TelegramServerError,
    ClientDecodeError,
    TimeoutError,
    OSError,
)

_T = TypeVar("_T")


async def run(settings: Settings) -> None:
    """Run the bot until a signal stops it; StartupError for a setting that cannot work."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    bot = create_bot(settings)
    try:
        async with open_app(settings, bot=bot, deduplicate=True) as app:
            # Everything built at start (aiogram's models, the knowledge base) lives as long as
            # the process: out of the garbage collector's way, its full collections stay short.
            gc.freeze()
            # Reminders and everything else the bot sends on its own: in whichever process
            # holds the outbox lease (see bot/outbox.py).
            drainer = asyncio.create_task(app.drainer.run(stop), name="outbox")
            try:
                if settings.webhook_url:
                    await _serve_webhook(app, bot, stop)
                else:
                    await _poll(app, bot, stop)
            finally:
                stop.set()
                await drainer
    finally:
        await bot.session.close()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


async def until_reachable(
    call: Callable[[], Awaitable[_T]], settings: Settings, stop: asyncio.Event, what: str
) -> _T | None:
    """CALL's result once the Bot API answers it; None if a stop came first.

    A rejected token or a server that is no Bot API raises StartupError; the network and
    Telegram's own failures are waited out with a capped backoff, one log line per attempt.
    """
    delay = RETRY_FIRST_SECONDS
    while not stop.is_set():
        try:
            return await call()
        except TelegramUnauthorizedError:
            raise StartupError(
                "BOT_TOKEN",
                "Telegram rejected the token (401 Unauthorized): copy it again from @BotFather",
            ) from None
        except TelegramNotFound:
            raise StartupError(
                "TELEGRAM_API_URL",
                f"{settings.telegram_api_url} answered 404 Not Found: is it a Bot API server?",
            ) from None
        except TelegramRetryAfter as error:
            wait = float(error.retry_after)
            reason = f"flood control, retry after {error.retry_after} s"
        except TRANSIENT_ERRORS as error:
            wait, reason = delay, _describe(error)
            delay = min(delay * 2, RETRY_MAX_SECONDS)
        log.warning(
            "%s: the Bot API at %s is not reachable (%s); trying again in %.0f s",
            what,
            settings.telegram_api_url,
            reason,
            wait,
        )
        if await _stopped_within(stop, wait):
            return None
    return None


async def _stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    """Wait SECONDS; True as soon as STOP is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()


def _describe(error: BaseException) -> str:
    if isinstance(error, TelegramAPIError):
        return error.message
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


async def _publish_commands(app: App, bot: Bot) -> None:
    try:
        await publish_commands(bot, app.settings, app.translations)
    except (TelegramAPIError, *TRANSIENT_ERRORS) as error:  # a convenience; the bot works without
        log.warning("could not set the command menu: %s", _describe(error))


# --- long polling -------------------------------------------------------------------------------


async def _poll(app: App, bot: Bot, stop: asyncio.Event) -> None:
    settings = app.settings

    async def delete_webhook() -> bool:
        return await bot.delete_webhook()

    if await until_reachable(delete_webhook, settings, stop, "start") is None:
        return
    await _publish_commands(app, bot)

    async def fetch(method: TelegramMethod[list[dict[str, Any]]]) -> list[dict[str, Any]] | None:
        return await until_reachable(
            lambda: get_updates_until_stopped(bot, method, stop), settings, stop, "getUpdates"
        )

    concurrent = settings.max_concurrent_updates
    log.info("polling %s, up to %d updates at once", settings.telegram_api_url, concurrent)
    await Poller(app.dispatcher, bot, stop, fetch=fetch, max_concurrent=concurrent).run()


# --- webhook ------------------------------------------------------------------------------------


def create_webhook_app(app: App, bot: Bot) -> web.Application:
    """The aiohttp application that takes Telegram's updates at WEBHOOK_URL's path.

    Each update is answered only after it has been handled, so Telegram sends it again if the
    bot died meanwhile (and a redelivered one is skipped when its changes were committed).
    """
    settings = app.settings
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    path = urlsplit(settings.webhook_url or "/").path or "/"
    web_app = web.Application()
    SimpleRequestHandler(
        dispatcher=app.dispatcher, bot=bot, secret_token=secret, handle_in_background=False
    ).register(web_app, path=path)
    setup_application(web_app, app.dispatcher, bot=bot)
    return web_app


async def _serve_webhook(app: App, bot: Bot, stop: asyncio.Event) -> None:
    settings = app.settings
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None

    async def register_webhook() -> bool:
        return await bot.set_webhook(
            settings.webhook_url or "",
            secret_token=secret,
            allowed_updates=app.dispatcher.resolve_used_update_types(),
        )

    runner = web.AppRunner(create_webhook_app(app, bot), handle_signals=False)
    await runner.setup()
    port = settings.webhook_port
    site = web.TCPSite(runner, WEBHOOK_HOST, port)
    try:
        await site.start()
    except OSError as error:
        await runner.cleanup()
        raise StartupError(
            "WEBHOOK_PORT", f"cannot listen on port {port}: {error.strerror or error}"
        ) from None
    log.info("webhook listening on %s:%s", WEBHOOK_HOST, port)
    try:
        if await until_reachable(register_webhook, settings, stop, "start") is not None:
            await _publish_commands(app, bot)
            await stop.wait()
    finally:
        await runner.cleanup()  # lets the requests being handled finish
