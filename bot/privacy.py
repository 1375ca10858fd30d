"""Members' data rights in the running bot: the daily retention run, the warning before an
untouched questionnaire draft is deleted, and the /mydata document.

Retention runs once a day in the process holding the outbox lease (`Drainer.every`): drafts
untouched for RETENTION_DRAFT_DAYS are deleted (the member is told once, seven days before,
through the outbox), bookkeeping older than 30 days is deleted, help requests closed more than
RETENTION_REQUEST_DAYS ago are anonymised.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import pick_lang
from bot.outbox import Delivery, Render, Skip
from bot.sender import quote
from bot.settings import Settings
from knowledge.i18n import format_date, translator
from knowledge.municipalities import MunicipalityDirectory
from knowledge.questionnaire import Questionnaire
from knowledge.text import Lang
from storage import members, privacy
from storage.db import SessionMaker
from storage.models import OutboxMessage, SurveyDraft
from storage.types import Clock

log = logging.getLogger(__name__)

RETENTION_SECONDS: Final = 24 * 3600.0


class Privacy:
    """Retention, and the words of what it tells members."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessionmaker: SessionMaker,
        questionnaires: Mapping[str, Questionnaire],
        clock: Clock,
    ) -> None:
        self.settings = settings
        self._sessionmaker = sessionmaker
        self._questionnaires = questionnaires
        self._clock = clock

    @property
    def rules(self) -> privacy.Retention:
        """How long drafts and closed help requests are kept."""
        return privacy.Retention(
            draft_days=self.settings.retention_draft_days,
            request_days=self.settings.retention_request_days,
        )

    def renderers(self) -> dict[str, Render]:
        """The outbox renderer of the draft warning."""
        return {privacy.WARNING_PURPOSE: self.render}

    async def sweep(self) -> privacy.Swept:
        """One retention run (daily)."""
        async with self._sessionmaker() as session:
            swept = await privacy.sweep(session, now=self._clock(), rules=self.rules)
            await session.commit()
        if any(vars(swept).values()):
            log.info(
                "retention: %d drafts deleted, %d members warned, %d help requests anonymised, "
                "%d bookkeeping rows deleted",
                swept.drafts_deleted,
                swept.drafts_warned,
                swept.requests_anonymised,
                swept.bookkeeping_deleted,
            )
        return swept

    async def render(
        self, session: AsyncSession, row: OutboxMessage, now: datetime
    ) -> Delivery | Skip:
        """The warning, unless the draft was touched or deleted since."""
        questionnaire_id = str(row.payload.get("questionnaire"))
        draft = await session.get(SurveyDraft, (row.chat_id, questionnaire_id))
        if draft is None or draft.updated_at.isoformat() != row.payload.get("touched"):
            return Skip("the draft was continued or deleted")
        member = await members.get_member(session, member_id=row.chat_id)
        if member is None or not member.reachable:
            return Skip("the member is gone or unreachable")
        lang = pick_lang(member.language, member.telegram_language, self.settings.default_locale)
        questionnaire = self._questionnaires.get(questionnaire_id)
        title = questionnaire.title[lang] if questionnaire else questionnaire_id
        deleted_on = datetime.fromisoformat(str(row.payload["deleted_on"]))
        _ = translator(lang).gettext
        text = _(
            "Your unfinished questionnaire “{title}” has not been touched for a long time: it "
            "will be deleted on {day}. Send /survey to continue it, and it is kept."
        ).format(
            title=quote(title),
            day=format_date(deleted_on.astimezone(self.settings.tz).date(), lang),
        )
        return Delivery(text)


def data_document(
    found: Mapping[str, list[dict[str, Any]]], member_id: int, now: datetime
) -> bytes:
    """The /mydata JSON document: every table's rows about the member."""
    document = {"member_id": member_id, "made_at": now.isoformat(), "tables": found}
    return json.dumps(document, ensure_ascii=False, indent=2, default=str).encode("utf-8")


def summary_lines(
    found: Mapping[str, list[dict[str, Any]]], lang: Lang, municipalities: MunicipalityDirectory
) -> list[str]:
    """A readable summary of what is stored, in LANG."""
    _ = translator(lang).gettext
    count = {name: len(rows) for name, rows in found.items()}
    member = (found.get("member") or [{}])[0]
    place = municipalities.get(str(member.get("municipality") or ""))
    lines = [
        _("Name and username from Telegram: {name}").format(
            name=quote(str(member.get("name") or "—"))
        ),
        _("Municipality: {municipality}").format(
            municipality=quote(place.names[lang] if place is not None else "—")
        ),
        _("Consents recorded: {count}").format(
            count=count.get("consent", 0) + (1 if member.get("consent_at") else 0)
        ),
        _("Questionnaire answers: {submissions}; drafts: {drafts}").format(
            submissions=count.get("survey_submission", 0), drafts=count.get("survey_draft", 0)
        ),
        _("Reminder subscriptions: {count}").format(count=count.get("subscription", 0)),
        _("Help requests: {count}").format(
            count=sum(
                1 for row in found.get("help_request", []) if row.get("member_id") is not None
            )
        ),
        _("Messages the bot sent or will send you on its own: {count}").format(
            count=count.get("outbox", 0)
        ),
    ]
    return lines


async def run_member_export(settings: Settings, *, member_id: int, output: str) -> int:
    """`civicbot member export ID -o FILE`: the member's /mydata document ('-': stdout)."""
    from bot.app import open_database
    from storage.db import create_sessionmaker
    from storage.types import utcnow

    engine = await open_database(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            found = await privacy.collect(session, member_id)
    finally:
        await engine.dispose()
    if not found:
        print(f"civicbot: nothing is stored about {member_id}", file=sys.stderr)
        return 1
    document = data_document(found, member_id, utcnow())
    if output == "-":
        sys.stdout.write(document.decode("utf-8") + "\n")
    else:
        await asyncio.to_thread(Path(output).write_bytes, document)
        rows = sum(len(table) for table in found.values())
        print(f"{output}: {_count(rows, 'row')} about {member_id}")
    return 0


async def run_member_forget(settings: Settings, *, member_id: int, confirmed: bool) -> int:
    """`civicbot member forget ID --yes`: delete everything about the member (as /forget)."""
    if not confirmed:
        print(
            f"civicbot: this deletes everything stored about {member_id}; add --yes to do it",
            file=sys.stderr,
        )
        return 2
    from bot.app import open_database
    from storage.db import create_sessionmaker

    engine = await open_database(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            forgotten = await privacy.forget(session, member_id)
            await session.commit()
    finally:
        await engine.dispose()
    rows, requests = sum(forgotten.deleted.values()), forgotten.anonymised_requests
    print(
        f"{member_id}: {_count(rows, 'row')} deleted, {_count(requests, 'help request')} "
        "anonymised (a running bot on SQLite drops its cached copy within 5 minutes; "
        "restart it to be sure at once)"
    )
    return 0


def _count(number: int, noun: str) -> str:
    """ "1 row", "2 rows" (the command line speaks English)."""
    return f"{number} {noun}{'' if number == 1 else 's'}"
