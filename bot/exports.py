"""Questionnaire exports for coordinators: the same documents for /export and `civicbot export`."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Final, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from knowledge.export import export_csv, export_xlsx
from knowledge.municipalities import MunicipalityDirectory, load_municipalities
from knowledge.questionnaire import (
    MunicipalityNamer,
    Questionnaire,
    QuestionnaireError,
    load_questionnaires,
)
from knowledge.text import Lang
from storage import surveys
from storage.db import create_engine, create_sessionmaker, upgrade

Format = Literal["csv", "xlsx"]
FORMATS: Final[tuple[Format, ...]] = ("csv", "xlsx")
EXIT_FAILURE = 1


def municipality_namer(directory: MunicipalityDirectory) -> MunicipalityNamer:
    """A function giving a municipality's full name in a language (its id if unknown)."""

    def name(municipality_id: str, lang: Lang) -> str:
        found = directory.get(municipality_id)
        return found.names[lang] if found is not None else municipality_id

    return name


def file_name(questionnaire: Questionnaire, fmt: Format, moment: datetime) -> str:
    """The document's name: questionnaire id and the date of the export."""
    return f"{questionnaire.id}-{moment:%Y-%m-%d}.{fmt}"


async def export_questionnaire(
    session: AsyncSession,
    *,
    questionnaire: Questionnaire,
    fmt: Format,
    lang: Lang,
    timezone: str,
    municipality_name: MunicipalityNamer | None = None,
    include_personal: bool = False,
) -> tuple[bytes, int]:
    """The submissions in force as a CSV or XLSX document, and how many rows it has."""
    rows = await surveys.current_submissions(session, questionnaire_ids=[questionnaire.id])
    write: Callable[..., bytes] = export_csv if fmt == "csv" else export_xlsx
    document = write(
        questionnaire,
        [surveys.for_export(row) for row in rows],
        lang=lang,
        include_personal=include_personal,
        timezone=timezone,
        municipality_name=municipality_name,
    )
    return document, len(rows)


async def run_export(
    settings: Settings,
    *,
    questionnaire_id: str,
    fmt: Format,
    output: str,
    lang: Lang | None = None,
    include_personal: bool = False,
) -> int:
    """`civicbot export`: write one questionnaire's answers to OUTPUT ('-': standard output)."""
    try:
        questionnaires = load_questionnaires()
    except QuestionnaireError as error:
        print(f"civicbot: the questionnaires have problems:\n{error}", file=sys.stderr)
        return EXIT_FAILURE
    questionnaire = questionnaires.get(questionnaire_id)
    if questionnaire is None:
        known = ", ".join(sorted(questionnaires)) or "none"
        print(f"civicbot: no questionnaire {questionnaire_id!r} (known: {known})", file=sys.stderr)
        return EXIT_FAILURE
    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
        async with create_sessionmaker(engine)() as session:
            document, count = await export_questionnaire(
                session,
                questionnaire=questionnaire,
                fmt=fmt,
                lang=lang or settings.default_locale,
                timezone=settings.timezone,
                municipality_name=municipality_namer(load_municipalities()),
                include_personal=include_personal,
            )
    finally:
        await engine.dispose()
    if output == "-":
        sys.stdout.buffer.write(document)
        sys.stdout.buffer.flush()
    else:
        try:
            await asyncio.to_thread(Path(output).write_bytes, document)
        except OSError as error:
            print(f"civicbot: cannot write {output}: {error.strerror or error}", file=sys.stderr)
            return EXIT_FAILURE
        print(f"{count} submission(s) of {questionnaire.id} written to {output}", file=sys.stderr)
    return 0
