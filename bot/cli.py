"""The `civicbot` command line: run, console, db upgrade."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from bot.settings import Settings, SettingsError, load_settings

EXIT_BAD_SETTINGS = 2

NO_TOKEN_HINT = (
    "No BOT_TOKEN is set. To run on Telegram, create a bot with @BotFather "
    "(https://t.me/BotFather), then start with BOT_TOKEN=123456:ABC... civicbot run "
    "(or put BOT_TOKEN in a .env file). Starting the local console instead."
)


class RedactingFilter(logging.Filter):
    """Keeps a secret out of every log line, whatever logged it."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self._secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self._secret in message:
            record.msg, record.args = message.replace(self._secret, "***"), None
        return True


def setup_logging(settings: Settings, *, quiet: bool = False) -> None:
    """Log to stderr; the token never appears."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    if settings.bot_token is not None:
        handler.addFilter(RedactingFilter(settings.bot_token.get_secret_value()))
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, handlers=[handler])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="civicbot", description="Telegram assistant for civic community groups."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the bot (long polling, or a webhook if WEBHOOK_URL)")
    console = commands.add_parser("console", help="talk to the bot in the terminal")
    console.add_argument("--lang", choices=["lt", "lv", "en"], help="your Telegram language")
    console.add_argument("--user-id", type=int, default=1, help="your user id (default 1)")
    db = commands.add_parser("db", help="database tasks")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply migrations")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `civicbot` command."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"civicbot: bad setting: {error}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    try:
        return asyncio.run(_dispatch(args, settings))
    except KeyboardInterrupt:
        return 0


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "run":
        if settings.bot_token is None:
            print(NO_TOKEN_HINT, file=sys.stderr)
            return await _console(settings, language=None, user_id=1)
        setup_logging(settings)
        from bot.runner import run

        await run(settings)
        return 0
    if args.command == "console":
        return await _console(settings, language=args.lang, user_id=args.user_id)
    if args.command == "db" and args.db_command == "upgrade":
        setup_logging(settings)
        from storage.db import create_engine, upgrade

        engine = create_engine(settings.database_url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()
        print("database is up to date")
        return 0
    raise AssertionError(f"unhandled command {args}")


async def _console(settings: Settings, *, language: str | None, user_id: int) -> int:
    setup_logging(settings, quiet=True)
    from bot.console import run_console

    await run_console(settings, language_code=language, user_id=user_id)
    return 0
