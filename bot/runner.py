"""`civicbot run`: long polling (or a webhook) until SIGTERM/SIGINT, then a graceful stop."""

from __future__ import annotations

import asyncio
import logging
import signal
from urllib.parse import urlsplit

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.app import App, create_bot, open_app
from bot.commands import publish_commands
from bot.settings import Settings

log = logging.getLogger(__name__)

# How long a stop waits for updates that are being handled.
STOP_GRACE_SECONDS = 20.0
WEBHOOK_HOST, WEBHOOK_PORT = "0.0.0.0", 8080  # behind a reverse proxy


async def _on_startup(app: App, bot: Bot) -> None:
    try:
        await publish_commands(bot, app.settings, app.translations)
    except TelegramAPIError as error:  # the menu is a convenience; the bot works without it
        log.warning("could not set the command menu: %s", error)


async def _on_shutdown(app: App, bot: Bot) -> None:
    if not await app.in_flight.wait_idle(STOP_GRACE_SECONDS):
        log.warning("stopped with updates still being handled")
    if app.in_flight.last_update_id is not None:
        # Confirm what was handled, so Telegram does not deliver it again after the restart.
        try:
            await bot.get_updates(offset=app.in_flight.last_update_id + 1, limit=1, timeout=0)
        except TelegramAPIError as error:
            log.warning("could not confirm the last updates: %s", error)


async def run(settings: Settings) -> None:
    """Run the bot until a signal stops it."""
    bot = create_bot(settings)
    async with open_app(settings, bot=bot, deduplicate=True) as app:
        dispatcher = app.dispatcher

        async def on_startup() -> None:
            await _on_startup(app, bot)

        async def on_shutdown() -> None:
            await _on_shutdown(app, bot)

        dispatcher.startup.register(on_startup)
        if settings.webhook_url:
            await _serve_webhook(app, bot)
            return
        dispatcher.shutdown.register(on_shutdown)
        await bot.delete_webhook()
        # One update after another: Telegram learns an update was received only when the next
        # getUpdates asks past it, so handling before asking means a crash never loses one
        # (and one that is delivered again is skipped when its changes were committed).
        await dispatcher.start_polling(
            bot,
            allowed_updates=dispatcher.resolve_used_update_types(),
            handle_as_tasks=False,
            handle_signals=True,
            close_bot_session=True,
        )


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


async def _serve_webhook(app: App, bot: Bot) -> None:
    settings = app.settings
    assert settings.webhook_url is not None
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None

    async def register_webhook() -> None:
        await bot.set_webhook(
            settings.webhook_url or "",
            secret_token=secret,
            allowed_updates=app.dispatcher.resolve_used_update_types(),
        )

    app.dispatcher.startup.register(register_webhook)
    runner = web.AppRunner(create_webhook_app(app, bot), handle_signals=True)
    await runner.setup()
    site = web.TCPSite(runner, WEBHOOK_HOST, WEBHOOK_PORT)
    await site.start()
    log.info("webhook listening on %s:%s", WEBHOOK_HOST, WEBHOOK_PORT)
    try:
        await _wait_for_signal()
    finally:
        await runner.cleanup()  # lets the requests being handled finish


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
