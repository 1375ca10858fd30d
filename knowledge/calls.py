"""What members read about funding calls, and the rules for a call a coordinator types in.

A call's status (upcoming, open, closed) and "closes in N days" are never stored: they are
worked out from `opens`, `closes` and NOW each time, and the dates are written in the reader's
language, on the call's own clock. Texts come out plain (no HTML): callers escape them.

A coordinator's call (/newcall) is typed in one language, which stands for all three; its
dates are read from what was typed (`knowledge.values.parse_local_time`) and its id is made
from its title (`new_call_id`), unlike every id already in use.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from knowledge.i18n import format_datetime, translator
from knowledge.municipalities import MunicipalityDirectory
from knowledge.pack import Call, CallStatus, KnowledgePack
from knowledge.text import LANGUAGES, Lang, fold

# /calls still shows a call that closed this recently (marked as closed).
RECENTLY_CLOSED = timedelta(days=365)
# When nothing is open or upcoming, /calls shows this many of the latest closed calls.
LATEST_CLOSED_SHOWN = 3
# Typed instead of a municipality, these mean "everywhere".
EVERYWHERE: Final = frozenset({"all", "everywhere", "visos", "visur", "visas", "visi", "*"})
# Longest id of a new call (callback data must stay within 64 bytes).
ID_LENGTH: Final = 40


def when(moment: datetime, call: Call, lang: Lang) -> str:
    """MOMENT as LANG writes it, on the call's clock."""
    return format_datetime(moment, lang, ZoneInfo(call.timezone))


def status_line(call: Call, now: datetime, lang: Lang) -> str:
    """Whether CALL is upcoming, open or closed at NOW, with its dates and days left."""
    words = translator(lang)
    _, ngettext = words.gettext, words.ngettext
    opens, closes = when(call.opens, call, lang), when(call.closes, call, lang)
    status = call.status(now)
    if status is CallStatus.UPCOMING:
        return _("Not open yet: applications from {opens} until {closes}.").format(
            opens=opens, closes=closes
        )
    if status is CallStatus.OPEN:
        days = call.days_left(now)
        if days == 0:
            return _("Open now: closes in less than a day, on {closes}.").format(closes=closes)
        return ngettext(
            "Open now: closes in {count} day, on {closes}.",
            "Open now: closes in {count} days, on {closes}.",
            days,
        ).format(count=days, closes=closes)
    return _("Closed: applications were accepted from {opens} until {closes}.").format(
        opens=opens, closes=closes
    )


def places(call: Call, municipalities: MunicipalityDirectory, lang: Lang) -> str:
    """The municipalities a call is for, by name, or "all municipalities"."""
    _ = translator(lang).gettext
    if not call.municipalities:
        return _("all municipalities")
    names = []
    for municipality_id in call.municipalities:
        municipality = municipalities.get(municipality_id)
        names.append(municipality.short[lang] if municipality else municipality_id)
    return ", ".join(names)


def describe(call: Call, now: datetime, lang: Lang, municipalities: MunicipalityDirectory) -> str:
    """Everything a member needs to know about CALL at NOW, in LANG."""
    _ = translator(lang).gettext
    lines = [
        call.title[lang],
        status_line(call, now, lang),
        "",
        _("Programme: {programme}").format(programme=call.programme[lang]),
        _("Funder: {funder}").format(funder=call.funder[lang]),
        _("Who may apply: {who}").format(who=call.who_may_apply[lang]),
        _("Municipalities: {places}").format(places=places(call, municipalities, lang)),
    ]
    if call.contact:
        lines.append(_("Contact: {contact}").format(contact=call.contact))
    if call.link:
        lines.append(_("More information: {link}").format(link=call.link))
    return "\n".join(lines)


def overview(calls: Iterable[Call], now: datetime, lang: Lang) -> str:
    """The /calls list: open and upcoming calls, then recently closed ones, never just empty."""
    _ = translator(lang).gettext
    calls = list(calls)
    current = open_and_upcoming(calls, now)
    closed = [call for call in calls if call.status(now) is CallStatus.CLOSED]
    if not current and not closed:
        return _("I know of no funding calls yet.")
    closed.sort(key=lambda call: (call.closes, call.id), reverse=True)
    recent = [call for call in closed if now - call.closes <= RECENTLY_CLOSED]
    parts: list[str] = []
    if current:
        parts.append(_section(_("Open and upcoming calls:"), current, now, lang))
        if recent:
            parts.append(_section(_("Recently closed:"), recent, now, lang))
    else:
        parts.append(_("No call is open or upcoming right now."))
        parts.append(
            _section(_("The latest closed calls:"), closed[:LATEST_CLOSED_SHOWN], now, lang)
        )
    parts.append(_("Ask me about a call to see who may apply, where, and whom to contact."))
    return "\n\n".join(parts)


def open_and_upcoming(calls: Iterable[Call], now: datetime) -> list[Call]:
    """The calls not closed at NOW: open ones by deadline, then upcoming ones."""
    current = [call for call in calls if call.status(now) is not CallStatus.CLOSED]
    current.sort(key=lambda call: (call.status(now) is CallStatus.UPCOMING, call.closes, call.id))
    return current


def _section(heading: str, calls: Sequence[Call], now: datetime, lang: Lang) -> str:
    items = [f"• {call.title[lang]}\n  {status_line(call, now, lang)}" for call in calls]
    return "\n".join([heading, *items])


# --- a call a coordinator types in (/newcall) ----------------------------------------------------


def means_everywhere(typed: str) -> bool:
    """Whether what was typed instead of a municipality means "all municipalities"."""
    return fold(typed.strip()) in EVERYWHERE


def pack_ids(pack: KnowledgePack) -> set[str]:
    """Every id the knowledge pack uses, its entries' and its calls': a new call takes none."""
    return {call.id for call in pack.calls} | {entry.id for entry in pack.entries}


def new_call_id(title: str, taken: Container[str]) -> str:
    """A readable id for a new call from its title, not in TAKEN."""
    slug = re.sub(r"[^a-z0-9]+", "-", fold(title)).strip("-")[:ID_LENGTH].strip("-") or "call"
    candidate, number = slug, 2
    while candidate in taken:
        suffix = f"-{number}"
        candidate = slug[: ID_LENGTH - len(suffix)].strip("-") + suffix
        number += 1
    return candidate


def draft_call(call_id: str, data: Mapping[str, Any]) -> Call:
    """The call the /newcall wizard's answers (DATA: texts, ISO moments) describe."""

    def same(text: str) -> dict[Lang, str]:
        return dict.fromkeys(LANGUAGES, text)

    return Call(
        id=call_id,
        title=same(data["title"]),
        programme=same(data["programme"]),
        funder=same(data["funder"]),
        opens=datetime.fromisoformat(data["opens"]),
        closes=datetime.fromisoformat(data["closes"]),
        timezone=data["timezone"],
        who_may_apply=same(data["who_may_apply"]),
        municipalities=tuple(data["municipalities"]),
        contact=data["contact"],
        link=data.get("link", ""),
    )
