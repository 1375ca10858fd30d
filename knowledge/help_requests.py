"""Requests for expert help, as words and rules: kinds, urgencies, when an unclaimed request is
escalated, how a request's card and topic read, and a knowledge-pack entry made from a closed
request. Nothing here knows Telegram or the database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

import yaml

from knowledge.i18n import N_, format_datetime, translator
from knowledge.text import LANGUAGES, Lang
from knowledge.yamlfile import TODO_MARK

Kind = Literal["legal", "financial", "writing", "communication", "safety", "other"]
Urgency = Literal["urgent", "week", "later"]
Status = Literal["new", "taken", "closed"]

KINDS: Final[tuple[Kind, ...]] = (
    "legal",
    "financial",
    "writing",
    "communication",
    "safety",
    "other",
)
URGENCIES: Final[tuple[Urgency, ...]] = ("urgent", "week", "later")
# Labels, marked for the catalogues and translated where they are shown.
KIND_LABELS: Final[Mapping[str, str]] = {
    "legal": N_("Legal"),
    "financial": N_("Financial"),
    "writing": N_("Project writing"),
    "communication": N_("Communication"),
    "safety": N_("Safety (pressure for my activism)"),
    "other": N_("Other"),
}
URGENCY_LABELS: Final[Mapping[str, str]] = {
    "urgent": N_("Urgent: within 2 days"),
    "week": N_("This week"),
    "later": N_("Can wait"),
}
STATUS_LABELS: Final[Mapping[str, str]] = {
    "new": N_("waiting for a coordinator"),
    "taken": N_("being handled"),
    "closed": N_("closed"),
}
DEFAULT_ESCALATE_AFTER: Final = "urgent=2h,week=24h,later=72h"
# A closed request may be reopened by its leader this long after it was closed.
REOPEN_WITHIN: Final = timedelta(days=14)
# A leader waiting this long for a coordinator's answer makes the bot remind the coordinator.
WAITING_REMINDER: Final = timedelta(days=1)
DESCRIPTION_LIMIT: Final = 3000
ORGANISATION_LIMIT: Final = 200
OUTCOME_LIMIT: Final = 300
TOPIC_NAME_LIMIT: Final = 128

_DURATION = re.compile(r"(\d{1,5})\s*([dhms])")
_UNITS: Final = {
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
    "s": timedelta(seconds=1),
}


def parse_escalate_after(text: str) -> dict[Urgency, timedelta]:
    """ESCALATE_AFTER (`urgent=2h,week=24h,later=72h`); ValueError saying what is wrong.

    Urgencies left out keep their default."""
    merged = _parse_pairs(DEFAULT_ESCALATE_AFTER) | _parse_pairs(text)
    return {urgency: merged[urgency] for urgency in URGENCIES}


def _parse_pairs(text: str) -> dict[str, timedelta]:
    pairs: dict[str, timedelta] = {}
    for part in (piece.strip() for piece in text.split(",") if piece.strip()):
        name, _, value = part.partition("=")
        name = name.strip().lower()
        if name not in URGENCIES:
            raise ValueError(f"{name!r} is not an urgency: use urgent, week and later")
        match = _DURATION.fullmatch(value.strip().lower())
        if match is None or int(match.group(1)) == 0:
            raise ValueError(f"{part!r}: write a time such as urgent=2h, week=24h or later=3d")
        pairs[name] = int(match.group(1)) * _UNITS[match.group(2)]
    if not pairs:
        raise ValueError("give at least one urgency, e.g. urgent=2h,week=24h,later=72h")
    return pairs


@dataclass(frozen=True)
class RequestView:
    """What a card, a topic name or a list line shows of a request."""

    number: int
    kind: str
    urgency: str
    municipality: str | None  # its name in the reader's language
    organisation: str | None
    description: str
    status: str
    handler: str | None  # the coordinator's first name
    username: str | None  # the leader's @username, only if the leader allowed it
    created_at: datetime
    outcome: str | None = None
    leader_unreachable: bool = False


def kind_label(kind: str, lang: Lang) -> str:
    """The kind of help as LANG says it."""
    return translator(lang).gettext(KIND_LABELS.get(kind, KIND_LABELS["other"]))


def urgency_label(urgency: str, lang: Lang) -> str:
    """The urgency as LANG says it."""
    return translator(lang).gettext(URGENCY_LABELS.get(urgency, URGENCY_LABELS["later"]))


def status_label(status: str, lang: Lang) -> str:
    """The status as LANG says it."""
    return translator(lang).gettext(STATUS_LABELS.get(status, STATUS_LABELS["new"]))


def duration_text(delta: timedelta, lang: Lang) -> str:
    """DELTA in its largest whole unit, as LANG says it: "25 minutes", "2 hours", "3 days"."""
    ngettext = translator(lang).ngettext
    minutes = max(1, round(delta.total_seconds() / 60))
    if minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return ngettext("{count} day", "{count} days", days).format(count=days)
    if minutes % 60 == 0:
        hours = minutes // 60
        return ngettext("{count} hour", "{count} hours", hours).format(count=hours)
    return ngettext("{count} minute", "{count} minutes", minutes).format(count=minutes)


def topic_name(view: RequestView, lang: Lang) -> str:
    """A forum topic's name: number, kind, municipality and status (within Telegram's limit)."""
    parts = [f"#{view.number}", kind_label(view.kind, lang)]
    if view.municipality:
        parts.append(view.municipality)
    parts.append(status_label(view.status, lang))
    return " · ".join(parts)[:TOPIC_NAME_LIMIT]


def card_lines(view: RequestView, lang: Lang, zone: str) -> list[str]:
    """The coordinators' card, as plain lines (the description last; escape before HTML)."""
    _ = translator(lang).gettext
    lines = [
        _("Request #{number}: {kind}").format(number=view.number, kind=kind_label(view.kind, lang)),
        _("Urgency: {urgency}").format(urgency=urgency_label(view.urgency, lang)),
        _("Municipality: {municipality}").format(municipality=view.municipality or "—"),
        _("Organisation: {organisation}").format(organisation=view.organisation or "—"),
        _("Sent: {when}").format(when=format_datetime(view.created_at, lang, ZoneInfo(zone))),
        _("Status: {status}").format(status=status_label(view.status, lang)),
    ]
    if view.handler:
        lines.append(_("Handled by: {name}").format(name=view.handler))
    if view.username:
        lines.append(_("The leader's Telegram: @{username}").format(username=view.username))
    if view.leader_unreachable:
        lines.append(_("The leader has blocked the bot: messages no longer reach them."))
    if view.outcome:
        lines.append(_("Outcome: {outcome}").format(outcome=view.outcome))
    return lines


def faq_entry(
    *,
    number: int,
    question: str,
    answer: str,
    lang: Lang,
    kind: str,
    today: datetime,
) -> str:
    """A knowledge-pack file (YAML) with one entry from a closed request: the question and the
    final answer in LANG, the other languages marked for translation. `civicbot knowledge
    check` refuses it until they are filled in."""
    todo = TODO_MARK
    entry = {
        "id": f"help-request-{number}",
        "tags": ["help-request", kind],
        "questions": {
            other: [question.strip()] if other == lang else [f"{todo} ({lang}: {question.strip()})"]
            for other in LANGUAGES
        },
        "answer": {
            other: answer.strip() if other == lang else f"{todo} ({lang}: {answer.strip()})"
            for other in LANGUAGES
        },
    }
    document = {
        "source": {"title": f"Help request #{number}", "seed": f"help-request-{number}"},
        "verified": today.date().isoformat(),
        "entries": [entry],
    }
    header = (
        f"# From help request #{number}. Translate the lines marked '{todo}', check the\n"
        "# answer still holds, save the file in the knowledge pack folder, run\n"
        "# `civicbot knowledge check`, then /reload.\n"
    )
    return header + yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)
