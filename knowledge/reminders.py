"""Deadline reminders, worked out: when each message is due, what its key is, and its words.

Nothing here sends or stores anything. `plan` turns one call and one subscriber into the
messages they are owed: a "now open" notice when the call opens, and one reminder per offset
before it closes (REMINDER_OFFSETS, e.g. `7d,1d,2h`). Offsets in days keep the wall-clock time
in the subscriber's zone (a call closing 2027-03-29 12:00 in Vilnius gets its one-day reminder
at 2027-03-28 12:00 Vilnius time, across the change to summer time); offsets in hours and
minutes are exact durations.

Every planned message has a key that names it once and for all (purpose, recipient, call,
offset, and the deadline it is about): storing it twice is impossible, so planning can be
repeated as often as wanted. A reminder's words are made when it is sent, so "closes in N
days" is true on arrival, in the recipient's language and time zone.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from babel.lists import format_list

from knowledge.i18n import format_datetime, translator
from knowledge.municipalities import MunicipalityDirectory
from knowledge.pack import Call
from knowledge.text import Lang

DEFAULT_OFFSETS: Final = "7d,1d,2h"
MAX_OFFSETS: Final = 10
# A country's clock: members of a Latvian municipality read times in Riga time.
COUNTRY_ZONES: Final = {"LT": "Europe/Vilnius", "LV": "Europe/Riga"}

# What the outbox calls these messages.
REMINDER: Final = "reminder"
OPENED: Final = "call-opened"
MOVED: Final = "call-moved"
CALL_PURPOSES: Final = (REMINDER, OPENED, MOVED)

Unit = Literal["d", "h", "m"]
_UNITS: Final[dict[str, timedelta]] = {
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
}
_OFFSET = re.compile(r"(\d{1,4})\s*([dhm])")


@dataclass(frozen=True)
class Offset:
    """How long before a call closes a reminder goes out: 7 days, 2 hours, 30 minutes."""

    amount: int
    unit: Unit

    @property
    def label(self) -> str:
        """As written in REMINDER_OFFSETS: `7d`, `2h`, `30m`."""
        return f"{self.amount}{self.unit}"

    @property
    def duration(self) -> timedelta:
        """The nominal length (a day counts 24 hours here; `due` keeps the wall clock)."""
        return self.amount * _UNITS[self.unit]

    def due(self, closes: datetime, zone: ZoneInfo) -> datetime:
        """When the reminder for a deadline at CLOSES is due, in UTC.

        Days are counted on the wall clock of ZONE (aware arithmetic in Python keeps the wall
        time and works out the offset again); hours and minutes are exact.
        """
        if self.unit == "d":
            return (closes.astimezone(zone) - timedelta(days=self.amount)).astimezone(UTC)
        return (closes - self.duration).astimezone(UTC)


def parse_offsets(text: str) -> tuple[Offset, ...]:
    """REMINDER_OFFSETS (`7d,1d,2h`) as offsets, longest first; ValueError saying what is wrong."""
    offsets: list[Offset] = []
    for part in (piece.strip() for piece in text.split(",")):
        match = _OFFSET.fullmatch(part.lower())
        if match is None:
            raise ValueError(
                f"{part!r} is not an offset: write a number and d, h or m, e.g. 7d,1d,2h"
            )
        amount, unit = int(match.group(1)), match.group(2)
        if amount == 0:
            raise ValueError(f"{part!r}: an offset must be more than zero")
        offsets.append(Offset(amount, unit))  # type: ignore[arg-type]  # the regex says d, h or m
    if len({offset.duration for offset in offsets}) != len(offsets):
        raise ValueError("the same offset is given twice")
    if len(offsets) > MAX_OFFSETS:
        raise ValueError(f"at most {MAX_OFFSETS} offsets")
    return tuple(sorted(offsets, key=lambda offset: offset.duration, reverse=True))


def zone_of(
    municipality_id: str | None, municipalities: MunicipalityDirectory, default: str
) -> ZoneInfo:
    """The clock of a member or group of MUNICIPALITY_ID: its country's, else DEFAULT."""
    municipality = municipalities.get(municipality_id) if municipality_id else None
    if municipality is not None and municipality.country in COUNTRY_ZONES:
        return ZoneInfo(COUNTRY_ZONES[municipality.country])
    return ZoneInfo(default)


@dataclass(frozen=True)
class Subscriber:
    """A chat owed messages about a call: since when (its earliest subscription covering the
    call) and on which clock."""

    chat_id: int
    since: datetime
    zone: ZoneInfo


@dataclass(frozen=True)
class Planned:
    """A message to store in the outbox: its unique key, purpose, recipient, call and due time."""

    key: str
    purpose: str
    chat_id: int
    subject: str
    due_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)


def iso(moment: datetime) -> str:
    """MOMENT in UTC, as a key or payload writes it."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def plan(
    call: Call,
    subscriber: Subscriber,
    offsets: Sequence[Offset],
    *,
    known_since: datetime,
    now: datetime,
    until: datetime,
) -> list[Planned]:
    """What SUBSCRIBER is owed about CALL among the messages due by UNTIL.

    A reminder falling before the subscription or before the call opened is not owed. The
    "now open" notice is owed when the call was known (KNOWN_SINCE) and subscribed to before it
    opened. Nothing is owed for a call that has closed by NOW. Messages whose time has passed
    are still planned: whether a late one is still worth sending is decided when it is sent.
    """
    if call.closes <= now:
        return []
    chat = subscriber.chat_id
    planned: list[Planned] = []
    if known_since < call.opens and subscriber.since < call.opens <= until:
        planned.append(
            Planned(
                key=f"{OPENED}:{chat}:{call.id}",
                purpose=OPENED,
                chat_id=chat,
                subject=call.id,
                due_at=call.opens.astimezone(UTC),
                payload={"opens": iso(call.opens)},
            )
        )
    closes = iso(call.closes)
    owed = [
        (offset, due)
        for offset in offsets
        if call.opens <= (due := offset.due(call.closes, subscriber.zone)) <= until
        and due >= subscriber.since
    ]
    # Of the reminders whose time has passed (the bot was down), only the latest is worth
    # sending: the others would only repeat it.
    overdue = [offset for offset, due in owed if due <= now]
    for offset, due in owed:
        if offset in overdue[:-1]:
            continue
        planned.append(
            Planned(
                key=f"{REMINDER}:{chat}:{call.id}:{offset.label}:{closes}",
                purpose=REMINDER,
                chat_id=chat,
                subject=call.id,
                due_at=due,
                payload={"offset": offset.label, "closes": closes},
            )
        )
    return planned


def moved_notice(call: Call, chat_id: int, now: datetime) -> Planned:
    """The one "deadline changed" notice of CHAT_ID about CALL's new closing time."""
    closes = iso(call.closes)
    return Planned(
        key=f"{MOVED}:{chat_id}:{call.id}:{closes}",
        purpose=MOVED,
        chat_id=chat_id,
        subject=call.id,
        due_at=now.astimezone(UTC),
        payload={"closes": closes},
    )


# --- what the recipient reads ---------------------------------------------------------------------


def offsets_text(offsets: Sequence[Offset], lang: Lang) -> str:
    """REMINDER_OFFSETS as LANG says them: "7 days, 1 day and 2 hours"."""
    ngettext = translator(lang).ngettext
    parts = []
    for offset in offsets:
        count = offset.amount
        if offset.unit == "d":
            part = ngettext("{count} day", "{count} days", count)
        elif offset.unit == "h":
            part = ngettext("{count} hour", "{count} hours", count)
        else:
            part = ngettext("{count} minute", "{count} minutes", count)
        parts.append(part.format(count=count))
    return format_list(parts, locale=lang)


def closes_in(call: Call, now: datetime, lang: Lang, zone: ZoneInfo) -> str:
    """ "Applications close in N days, on DATE.", counted at NOW, dated on ZONE's clock."""
    ngettext = translator(lang).ngettext
    closes = format_datetime(call.closes, lang, zone)
    hours = (call.closes - now).total_seconds() / 3600
    if hours >= 22:  # a day's reminder is 23 or 25 hours ahead when the clocks change
        days = max(1, round(hours / 24))
        return ngettext(
            "Applications close in {count} day, on {closes}.",
            "Applications close in {count} days, on {closes}.",
            days,
        ).format(count=days, closes=closes)
    if hours >= 1:
        count = round(hours)
        return ngettext(
            "Applications close in {count} hour, on {closes}.",
            "Applications close in {count} hours, on {closes}.",
            count,
        ).format(count=count, closes=closes)
    minutes = max(1, math.ceil(hours * 60))
    return ngettext(
        "Applications close in {count} minute, on {closes}.",
        "Applications close in {count} minutes, on {closes}.",
        minutes,
    ).format(count=minutes, closes=closes)


def _details(call: Call, lang: Lang) -> list[str]:
    _ = translator(lang).gettext
    lines = []
    if call.link:
        lines.append(_("More information: {link}").format(link=call.link))
    if call.contact:
        lines.append(_("Contact: {contact}").format(contact=call.contact))
    return lines


def reminder_text(call: Call, now: datetime, lang: Lang, zone: ZoneInfo) -> str:
    """A reminder that CALL closes soon (plain text: escape it before sending as HTML)."""
    _ = translator(lang).gettext
    head = _("Reminder: “{title}”").format(title=call.title[lang])
    return "\n".join(["⏰ " + head, closes_in(call, now, lang, zone), "", *_details(call, lang)])


def opened_text(call: Call, lang: Lang, zone: ZoneInfo) -> str:
    """The notice that CALL is open now."""
    _ = translator(lang).gettext
    head = _("“{title}” is open now: applications until {closes}.").format(
        title=call.title[lang], closes=format_datetime(call.closes, lang, zone)
    )
    return "\n".join(["🟢 " + head, "", *_details(call, lang)])


def moved_text(call: Call, lang: Lang, zone: ZoneInfo) -> str:
    """The notice that CALL's deadline changed."""
    _ = translator(lang).gettext
    head = _("The deadline of “{title}” has changed: it now closes on {closes}.").format(
        title=call.title[lang], closes=format_datetime(call.closes, lang, zone)
    )
    return "\n".join(["📅 " + head, "", *_details(call, lang)])
