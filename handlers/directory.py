"""/orgs: the public directory of civic organisations, by municipality.

Only organisations whose questionnaire said "yes" to being listed appear, and only with the
answers marked public (knowledge.export.directory_listing): name, kind, areas, public contacts.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.exports import municipality_namer
from bot.filters import is_not_command
from bot.sender import quote
from handlers.shared import answer_in_pieces, refuse_old_button
from knowledge.export import directory_listing, directory_questionnaires
from knowledge.i18n import format_date
from knowledge.municipalities import Municipality, MunicipalityDirectory
from knowledge.questionnaire import AnswerValue, Kind, Questionnaire, format_answer
from knowledge.text import Lang
from storage import surveys
from storage.models import Member

MUNICIPALITY_CHOICES = 8
_CONTACT_KINDS = frozenset({Kind.EMAIL, Kind.PHONE, Kind.URL})
_LABEL_KINDS = frozenset({Kind.SINGLE_CHOICE, Kind.YES_NO, Kind.SCALE, Kind.NUMBER, Kind.DATE})


class DirectorySearch(StatesGroup):
    """Waiting for the name of a municipality."""

    municipality = State()


class DirectoryMunicipality(CallbackData, prefix="orgs"):
    """A municipality button of /orgs."""

    id: str


def entry_text(
    questionnaire: Questionnaire,
    entry: Mapping[str, AnswerValue],
    lang: Lang,
    municipalities: MunicipalityDirectory,
) -> str:
    """One organisation: its name (and kind) in bold, what it does, how to reach it."""
    name: str | None = None
    labels: list[str] = []
    details: list[str] = []
    contacts: list[str] = []
    for question in questionnaire.questions:
        if question.id not in entry or question.kind is Kind.MUNICIPALITY:
            continue
        shown = format_answer(
            question,
            entry[question.id],
            lang,
            format_date=format_date,
            municipality_name=municipality_namer(municipalities),
        )
        if question.kind is Kind.SHORT_TEXT and name is None:
            name = shown
        elif question.kind in _LABEL_KINDS:
            labels.append(shown)
        elif question.kind in _CONTACT_KINDS:
            contacts.append(shown)
        else:
            details.append(shown)
    heading = f"<b>{quote(name or '…')}</b>"
    if labels:
        heading += f" ({quote('; '.join(labels))})"
    lines = [heading]
    if details:
        lines.append(quote("; ".join(details)))
    if contacts:
        lines.append(" · ".join(quote(contact) for contact in contacts))
    return "\n".join(lines)


async def directory_text(
    session: AsyncSession,
    municipality: Municipality,
    questionnaires: Mapping[str, Questionnaire],
    municipalities: MunicipalityDirectory,
    lang: Lang,
) -> str:
    """The organisations listed in MUNICIPALITY, by name, or a line saying there are none."""
    rows = await surveys.current_submissions(
        session,
        questionnaire_ids=directory_questionnaires(questionnaires.values()),
        municipality=municipality.id,
    )
    entries = directory_listing(
        questionnaires,
        ((row.questionnaire_id, row.answers) for row in rows),
        lambda questionnaire, entry: entry_text(questionnaire, entry, lang, municipalities),
    )
    place = quote(municipality.names[lang])
    if not entries:
        return _("No organisations in {municipality} are listed yet.").format(municipality=place)
    heading = _("Civic organisations in {municipality}:").format(municipality=place)
    return "\n\n".join([f"<b>{heading}</b>", *entries])


async def _show(
    message: Message,
    session: AsyncSession,
    municipality: Municipality,
    questionnaires: Mapping[str, Questionnaire],
    municipalities: MunicipalityDirectory,
    lang: Lang,
) -> None:
    text = await directory_text(session, municipality, questionnaires, municipalities, lang)
    await answer_in_pieces(message, text)


async def _search(
    message: Message,
    query: str,
    session: AsyncSession,
    questionnaires: Mapping[str, Questionnaire],
    municipalities: MunicipalityDirectory,
    lang: Lang,
) -> bool:
    """List the organisations of the municipality QUERY names, or offer the candidates.

    False when no municipality matches.
    """
    found = municipalities.find(query, limit=MUNICIPALITY_CHOICES)
    if not found:
        await message.answer(
            _(
                "I found no municipality matching “{query}”. Try another part of the name, "
                "for example /orgs Trakai."
            ).format(query=quote(query[:100]))
        )
        return False
    if len(found) == 1:
        await _show(message, session, found[0], questionnaires, municipalities, lang)
        return True
    builder = InlineKeyboardBuilder()
    for municipality in found:
        builder.button(
            text=municipality.short[lang], callback_data=DirectoryMunicipality(id=municipality.id)
        )
    builder.adjust(2)
    await message.answer(_("Which one do you mean?"), reply_markup=builder.as_markup())
    return True


async def orgs_command(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    session: AsyncSession,
    member: Member,
    questionnaires: Mapping[str, Questionnaire],
    municipalities: MunicipalityDirectory,
    lang: Lang,
) -> None:
    """`/orgs trakai` lists at once; a bare /orgs asks for the municipality."""
    query = (command.args or "").strip()
    if query:
        await _search(message, query, session, questionnaires, municipalities, lang)
        return
    builder = InlineKeyboardBuilder()
    home = municipalities.get(member.municipality) if member.municipality else None
    if home is not None:
        builder.button(text=home.short[lang], callback_data=DirectoryMunicipality(id=home.id))
    if await state.get_state() not in (None, DirectorySearch.municipality.state):
        # Another conversation (a questionnaire) is going on: do not take its text away.
        await message.answer(
            _("Send /orgs with the name of a municipality, for example /orgs Trakai."),
            reply_markup=builder.as_markup() if home else None,
        )
        return
    await state.set_state(DirectorySearch.municipality)
    await message.answer(
        _("In which municipality should I look? Type its name, for example “Trakai”."),
        reply_markup=builder.as_markup() if home else None,
    )


async def municipality_typed(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    questionnaires: Mapping[str, Questionnaire],
    municipalities: MunicipalityDirectory,
    lang: Lang,
) -> None:
    """The municipality for /orgs, typed."""
    found = await _search(
        message, message.text or "", session, questionnaires, municipalities, lang
    )
    if found:
        await state.clear()


async def municipality_chosen(
    query: CallbackQuery,
    message: Message,
    callback_data: DirectoryMunicipality,
    state: FSMContext,
    session: AsyncSession,
    questionnaires: Mapping[str, Questionnaire],
    municipalities: MunicipalityDirectory,
    lang: Lang,
) -> None:
    """The municipality for /orgs, chosen with a button."""
    municipality = municipalities.get(callback_data.id)
    if municipality is None:
        await refuse_old_button(query)
        return
    await query.answer()
    if await state.get_state() == DirectorySearch.municipality.state:
        await state.clear()
    await _show(message, session, municipality, questionnaires, municipalities, lang)


def create_router() -> Router:
    """This feature's router, new (handlers registered in the order they are asked)."""
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(orgs_command, Command("orgs"))
    router.message.register(
        municipality_typed, DirectorySearch.municipality, F.text, is_not_command
    )
    router.callback_query.register(
        municipality_chosen, DirectoryMunicipality.filter(), F.message.as_("message")
    )
    return router
