"""Calls as calendar files (.ics): each deadline an event, with alarms at the reminder offsets.

The event is the moment a call closes, in the call's own time zone (its VTIMEZONE is
included, so every calendar shows the right local time), with the call's link and contact.
Its UID is the call's id under a fixed domain, so importing a call again updates the same
event instead of adding a second one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Final

from icalendar import Alarm, Calendar, Event

from knowledge.i18n import translator
from knowledge.pack import Call
from knowledge.reminders import Offset
from knowledge.text import Lang

PRODUCT_ID: Final = "-//civicbot//funding call deadlines//EN"
UID_DOMAIN: Final = "civicbot"


def call_uid(call: Call) -> str:
    """The event's stable UID: the same call always gives the same one."""
    return f"call-{call.id}@{UID_DOMAIN}"


def calendar_file(
    calls: Iterable[Call], offsets: Sequence[Offset], lang: Lang, *, now: datetime
) -> bytes:
    """An .ics file with one deadline event per call, alarms at OFFSETS, texts in LANG."""
    _ = translator(lang).gettext
    calls = list(calls)
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    for call in calls:
        event = Event()
        event.add("uid", call_uid(call))
        event.add("dtstamp", now)
        event.add("summary", _("Deadline: {title}").format(title=call.title[lang]))
        event.add("dtstart", call.closes)  # aware, in the call's zone
        event.add("dtend", call.closes)
        lines = [call.programme[lang], call.who_may_apply[lang]]
        if call.link:
            event.add("url", call.link)
            lines.append(_("More information: {link}").format(link=call.link))
        if call.contact:
            lines.append(_("Contact: {contact}").format(contact=call.contact))
        event.add("description", "\n".join(lines))
        event.add("transp", "TRANSPARENT")
        for offset in offsets:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("trigger", -offset.duration)
            alarm.add("description", _("Deadline: {title}").format(title=call.title[lang]))
            event.add_component(alarm)
        calendar.add_component(event)
    if calls:
        # Time zone rules for the years the events fall in (and around them), not all history.
        first = min(call.closes for call in calls).date().replace(month=1, day=1)
        last = max(call.closes for call in calls).date().replace(month=12, day=31)
        calendar.add_missing_timezones(
            first_date=first.replace(year=first.year - 1),
            last_date=last.replace(year=last.year + 1),
        )
    data: bytes = calendar.to_ical()
    return data


def file_name(call: Call | None) -> str:
    """The attachment's name: the call's id, or a name for several calls."""
    return f"{call.id}.ics" if call is not None else "calls.ics"
