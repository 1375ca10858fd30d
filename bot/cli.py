"""The `civicbot` command line: run, console, db upgrade, export, ask, calls, knowledge."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.settings import Settings, SettingsError, StartupError, load_settings
from knowledge.pack import PackError
from knowledge.text import LANGUAGES

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
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="civicbot", description="Telegram assistant for civic community groups."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the bot (long polling, or a webhook if WEBHOOK_URL)")
    console = commands.add_parser("console", help="talk to the bot in the terminal")
    console.add_argument("--lang", choices=LANGUAGES, help="your Telegram language")
    console.add_argument("--user-id", type=int, default=1, help="your user id (default 1)")
    db = commands.add_parser("db", help="database tasks")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply migrations")
    export = commands.add_parser("export", help="write a questionnaire's answers (CSV or XLSX)")
    export.add_argument("questionnaire", help="questionnaire id, e.g. civic-organisations")
    export.add_argument("--format", choices=["csv", "xlsx"], default="csv", dest="fmt")
    export.add_argument("-o", "--output", required=True, help="file to write ('-': stdout)")
    export.add_argument("--lang", choices=LANGUAGES, help="language of the texts")
    export.add_argument("--personal", action="store_true", help="include contact details")
    ask = commands.add_parser("ask", help="one answer from the knowledge base")
    ask.add_argument("question", help="the question, in free words")
    ask.add_argument("--lang", choices=LANGUAGES, help="its language (else guessed)")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--pack", type=Path, help="the knowledge pack folder (knowledge/pack)")
    calls = commands.add_parser("calls", help="funding call tasks")
    calls_commands = calls.add_subparsers(dest="calls_command", required=True)
    ics = calls_commands.add_parser("ics", help="calendar file of a call's deadline (.ics)")
    ics.add_argument("call_id", nargs="?", help="the call (default: every open and upcoming one)")
    ics.add_argument("-o", "--output", required=True, help="file to write ('-': stdout)")
    ics.add_argument("--lang", choices=LANGUAGES, help="language of the texts")
    member = commands.add_parser("member", help="a member's data (requests by e-mail)")
    member_commands = member.add_subparsers(dest="member_command", required=True)
    member_export = member_commands.add_parser("export", help="everything stored, as JSON")
    member_export.add_argument("member_id", type=int, help="the member's Telegram id")
    member_export.add_argument("-o", "--output", required=True, help="file to write ('-': stdout)")
    member_forget = member_commands.add_parser("forget", help="delete everything stored")
    member_forget.add_argument("member_id", type=int, help="the member's Telegram id")
    member_forget.add_argument("--yes", action="store_true", help="really delete it")
    knowledge = commands.add_parser("knowledge", help="knowledge pack tasks")
    knowledge_commands = knowledge.add_subparsers(dest="knowledge_command", required=True)
    check = knowledge_commands.add_parser("check", help="validate the pack and questionnaires")
    check.add_argument("--pack", type=Path, help="the knowledge pack folder (knowledge/pack)")
    check.add_argument(
        "--questionnaires", type=Path, help="the questionnaires folder (knowledge/questionnaires)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `civicbot` command."""
    args = _parser().parse_args(argv)
    if args.command == "knowledge":  # needs no settings but KNOWLEDGE_DIR, if it is readable
        from bot.knowledge_cli import run_check

        try:
            pack = args.pack or load_settings().knowledge_dir
        except SettingsError:
            pack = args.pack
        return run_check(pack, args.questionnaires)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"civicbot: bad setting: {error}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    try:
        return asyncio.run(_dispatch(args, settings))
    except KeyboardInterrupt:
        return 0
    except StartupError as error:
        print(f"civicbot: {error}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    except PackError as error:
        where = f" (KNOWLEDGE_DIR={settings.knowledge_dir})" if settings.knowledge_dir else ""
        print(f"civicbot: the knowledge pack{where} has problems:", file=sys.stderr)
        print(error, file=sys.stderr)
        return 1


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
        from bot.app import open_database

        engine = await open_database(settings)
        await engine.dispose()
        print("database is up to date")
        return 0
    if args.command == "export":
        setup_logging(settings, quiet=True)
        from bot.exports import run_export

        return await run_export(
            settings,
            questionnaire_id=args.questionnaire,
            fmt=args.fmt,
            output=args.output,
            lang=args.lang,
            include_personal=args.personal,
        )
    if args.command == "ask":
        from bot.knowledge_cli import run_ask

        return await run_ask(
            settings,
            question=args.question,
            lang=args.lang,
            as_json=args.json,
            pack_folder=args.pack or settings.knowledge_dir,
        )
    if args.command == "calls" and args.calls_command == "ics":
        from bot.knowledge_cli import run_calls_ics

        return await run_calls_ics(
            settings, call_id=args.call_id, output=args.output, lang=args.lang
        )
    if args.command == "member":
        setup_logging(settings, quiet=True)
        from bot.privacy import run_member_export, run_member_forget

        if args.member_command == "export":
            return await run_member_export(settings, member_id=args.member_id, output=args.output)
        return await run_member_forget(settings, member_id=args.member_id, confirmed=args.yes)
    raise AssertionError(f"unhandled command {args}")


async def _console(settings: Settings, *, language: str | None, user_id: int) -> int:
    setup_logging(settings, quiet=True)
    from bot.console import run_console

    await run_console(settings, language_code=language, user_id=user_id)
    return 0
