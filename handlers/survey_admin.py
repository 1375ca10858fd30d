"""Coordinators' side of the questionnaires: /export (CSV and XLSX documents) and /stats."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Final

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.exports import FORMATS, export_questionnaire, file_name, municipality_namer
from bot.roles import IsCoordinator
from bot.sender import quote
from bot.settings import Settings
from handlers.shared import answer_in_pieces, questionnaire_or_list, refuse_old_button
from knowledge.i18n import format_number
from knowledge.municipalities import MunicipalityDirectory
from knowledge.questionnaire import Questionnaire
from knowledge.text import Lang
from storage import surveys

# Exports hold members' answers: they are sent in private chats only, never in a group.


class ExportChoice(CallbackData, prefix="co-exp"):
    """Export questionnaire Q, with the contact details (personal data) or without."""

    q: str
    personal: bool = False


async def export_command(
    message: Message,
    session: AsyncSession,
    questionnaires: Mapping[str, Questionnaire],
    municipalities: MunicipalityDirectory,
    settings: Settings,
    lang: Lang,
) -> None:
    """Send the answers as CSV and XLSX; with several questionnaires, ask which one first."""
    questionnaire = await questionnaire_or_list(
        message,
        questionnaires,
        lang,
        question=_("Which questionnaire should I export?"),
        button=lambda questionnaire_id: ExportChoice(q=questionnaire_id),
    )
    if questionnaire is not None:
        await send_export(
            message, session, questionnaire, municipalities, settings, lang, personal=False
        )


async def export_chosen(
    query: CallbackQuery,
    message: Message,
    callback_data: ExportChoice,
    session: AsyncSession,
    questionnaires: Mapping[str, Questionnaire],
    municipalities: MunicipalityDirectory,
    settings: Settings,
    lang: Lang,
) -> None:
    """Export the questionnaire a coordinator chose (with contact details if asked)."""
    questionnaire = questionnaires.get(callback_data.q)
    if questionnaire is None:
        await refuse_old_button(query)
        return
    await query.answer()
    await send_export(
        message,
        session,
        questionnaire,
        municipalities,
        settings,
        lang,
        personal=callback_data.personal,
    )


def _personal_keyboard(questionnaire: Questionnaire) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("Export with contact details"),
        callback_data=ExportChoice(q=questionnaire.id, personal=True),
    )
    return builder.as_markup()


async def send_export(
    message: Message,
    session: AsyncSession,
    questionnaire: Questionnaire,
    municipalities: MunicipalityDirectory,
    settings: Settings,
    lang: Lang,
    *,
    personal: bool,
) -> None:
    """Both documents, then a line saying what they hold (and how to add contact details)."""
    now = datetime.now(settings.tz)
    count = 0
    for fmt in FORMATS:
        document, count = await export_questionnaire(
            session,
            questionnaire=questionnaire,
            fmt=fmt,
            lang=lang,
            timezone=settings.timezone,
            municipality_name=municipality_namer(municipalities),
            include_personal=personal,
        )
        await message.answer_document(
            BufferedInputFile(document, filename=file_name(questionnaire, fmt, now))
        )
    summary = ngettext(
        "{title}: {count} submission.",
        "{title}: {count} submissions.",
        count,
    ).format(title=quote(questionnaire.title[lang]), count=format_number(count, lang))
    if personal:
        note = _("Contact details are included: keep these files safe and do not pass them on.")
        await message.answer(f"{summary}\n{note}")
        return
    note = _("Contact details (personal data) are left out.")
    await message.answer(f"{summary}\n{note}", reply_markup=_personal_keyboard(questionnaire))


# /stats never shows a count of fewer people than this (one or two could be recognised).
SMALLEST_SHOWN: Final = 3


def cell(count: int, lang: Lang) -> str:
    """A count as /stats shows it: "<3" for one or two people."""
    if 0 < count < SMALLEST_SHOWN:
        return f"<{SMALLEST_SHOWN}"
    return format_number(count, lang)


async def stats_command(
    message: Message,
    session: AsyncSession,
    questionnaires: Mapping[str, Questionnaire],
    municipalities: MunicipalityDirectory,
    lang: Lang,
) -> None:
    """Counts per questionnaire: submitted, updated, in progress, and per municipality."""
    if not questionnaires:
        await message.answer(_("There are no questionnaires at the moment."))
        return
    name = municipality_namer(municipalities)
    blocks = []
    for questionnaire in questionnaires.values():
        counts = await surveys.survey_counts(session, questionnaire_id=questionnaire.id)
        lines = [
            f"<b>{quote(questionnaire.title[lang])}</b>",
            _("Submitted: {submitted} (updated later: {updated}); in progress: {drafts}").format(
                submitted=cell(counts.submitted, lang),
                updated=cell(counts.updated, lang),
                drafts=cell(counts.in_progress, lang),
            ),
        ]
        if counts.by_municipality:
            lines.append(_("By municipality:"))
            # Largest first; the small ones by name (their order would tell their sizes).
            ranked = sorted(
                counts.by_municipality.items(),
                key=lambda item: (
                    -item[1] if item[1] >= SMALLEST_SHOWN else 0,
                    name(item[0], lang) if item[0] else "~",
                ),
            )
            for municipality, count in ranked:
                label = name(municipality, lang) if municipality else _("no municipality")
                lines.append(f"• {quote(label)}: {cell(count, lang)}")
        blocks.append("\n".join(lines))
    await answer_in_pieces(message, "\n\n".join(blocks))


def create_router() -> Router:
    """This feature's router, new (handlers registered in the order they are asked)."""
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(export_command, Command("export"), IsCoordinator())
    router.callback_query.register(
        export_chosen, ExportChoice.filter(), IsCoordinator(), F.message.as_("message")
    )
    router.message.register(stats_command, Command("stats"), IsCoordinator())
    return router
