"""`civicbot ask`, `civicbot calls ics` and `civicbot knowledge check`: the knowledge base from
the command line.

`ask` answers exactly as the bot does (the same `KnowledgeBase.answer`), from the YAML pack and
the calls coordinators stored in the database. It only reads the database, and only when it
exists, so it also works in a fresh clone before the bot ever ran.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.settings import Settings
from knowledge.calendar import calendar_file
from knowledge.calls import open_and_upcoming
from knowledge.municipalities import load_municipalities
from knowledge.pack import Call, PackError, check_pack, load_pack
from knowledge.questionnaire import QUESTIONNAIRES_DIR, check_questionnaires, load_questionnaires
from knowledge.service import PACK_DIR, KnowledgeBase
from knowledge.text import Lang
from storage.calls import stored_calls
from storage.db import create_engine, create_sessionmaker

# How long `ask` waits for a database server before answering without its calls.
CONNECT_TIMEOUT_SECONDS = 5


def run_check(pack_folder: Path | None, questionnaires_folder: Path | None) -> int:
    """Print every problem of the pack and the questionnaires as file:line: message."""
    pack_folder = pack_folder or PACK_DIR
    questionnaires_folder = questionnaires_folder or QUESTIONNAIRES_DIR
    municipalities = load_municipalities()
    problems = [
        *check_pack(pack_folder, municipalities=municipalities),
        *check_questionnaires(questionnaires_folder),
    ]
    for problem in problems:
        print(problem)
    if problems:
        print(f"{_count(len(problems), 'problem', 'problems')} found", file=sys.stderr)
        return 1
    pack = load_pack(pack_folder, municipalities=municipalities)
    questionnaires = load_questionnaires(questionnaires_folder)
    print(
        f"knowledge is fine: {_count(len(pack.entries), 'entry', 'entries')} and "
        f"{_count(len(pack.calls), 'call', 'calls')} in {pack_folder}, "
        f"{_count(len(questionnaires), 'questionnaire', 'questionnaires')} "
        f"in {questionnaires_folder}"
    )
    return 0


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


async def run_ask(
    settings: Settings,
    *,
    question: str,
    lang: Lang | None,
    as_json: bool,
    pack_folder: Path | None,
) -> int:
    """Print the answer to QUESTION (one JSON object with AS_JSON)."""
    try:
        knowledge = KnowledgeBase(load_municipalities(), pack_folder or PACK_DIR)
    except PackError as error:
        print("civicbot: the knowledge pack has problems:", file=sys.stderr)
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 1
    knowledge.add_calls(await read_stored_calls(settings.database_url))
    lang = lang or knowledge.language_of(question, settings.default_locale)
    answer = knowledge.answer(question, lang, datetime.now(UTC))
    if as_json:
        print(json.dumps(answer.as_json(), ensure_ascii=False))
        return 0
    print(answer.text)
    for suggestion in answer.suggestions:
        print(f"- {suggestion.question}")
    return 0


async def read_stored_calls(database_url: str) -> list[Call]:
    """The calls coordinators added, if the database exists; [] (with a note) if unreadable."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if not _sqlite_file_exists(url.database):
            return []
        engine = create_engine(database_url)
    else:
        engine = create_engine(database_url, connect_args={"timeout": CONNECT_TIMEOUT_SECONDS})
    try:
        async with create_sessionmaker(engine)() as session:
            return await stored_calls(session)
    except (SQLAlchemyError, OSError) as error:
        reason = error.__class__.__name__
        print(f"civicbot: answering without the calls in the database ({reason})", file=sys.stderr)
        return []
    finally:
        await engine.dispose()


def _sqlite_file_exists(database: str | None) -> bool:
    """Whether an SQLite database file is there (`ask` never creates one)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return False
    return Path(database).exists()


async def run_calls_ics(
    settings: Settings, *, call_id: str | None, output: str, lang: Lang | None
) -> int:
    """Write the calendar file of CALL_ID (or of every open and upcoming call) to OUTPUT."""
    try:
        knowledge = KnowledgeBase(load_municipalities(), settings.knowledge_dir or PACK_DIR)
    except PackError as error:
        print("civicbot: the knowledge pack has problems:", file=sys.stderr)
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 1
    knowledge.add_calls(await read_stored_calls(settings.database_url))
    now = datetime.now(UTC)
    if call_id is not None:
        try:
            chosen = [knowledge.pack.call(call_id)]
        except KeyError:
            print(f"civicbot: no call has the id {call_id!r}", file=sys.stderr)
            return 1
    else:
        chosen = open_and_upcoming(knowledge.pack.calls, now)
        if not chosen:
            print("civicbot: no call is open or upcoming", file=sys.stderr)
            return 1
    data = calendar_file(chosen, settings.offsets, lang or settings.default_locale, now=now)
    if output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        await asyncio.to_thread(Path(output).write_bytes, data)
        print(f"{len(chosen)} deadline(s) written to {output}", file=sys.stderr)
    return 0
