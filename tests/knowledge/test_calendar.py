"""Calendar files: parsed back, they hold the deadline in the call's zone, alarms, a stable UID."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Calendar

from knowledge.calendar import calendar_file, call_uid
from knowledge.reminders import parse_offsets
from tests.knowledge.test_reminders import VILNIUS, make_call


def test_the_file_parses_back_to_the_deadline_with_its_zone_and_alarms() -> None:
    closes = datetime(2027, 3, 29, 12, 0, tzinfo=VILNIUS)
    call = make_call(closes - timedelta(days=30), closes)
    other = make_call(closes - timedelta(days=30), closes + timedelta(days=40), call_id="wasps")
    now = datetime(2027, 3, 1, tzinfo=UTC)
    data = calendar_file([call, other], parse_offsets("7d,1d,2h"), "lt", now=now)

    calendar = Calendar.from_ical(data)
    [zone] = calendar.walk("VTIMEZONE")
    assert str(zone["TZID"]) == "Europe/Vilnius"
    events = calendar.walk("VEVENT")
    assert [str(event["UID"]) for event in events] == ["call-bees@civicbot", "call-wasps@civicbot"]
    event = events[0]
    start = event.decoded("DTSTART")
    assert start == closes and str(start.tzinfo) == "Europe/Vilnius"
    assert event["DTSTART"].params["TZID"] == "Europe/Vilnius"
    assert str(event["SUMMARY"]) == "Terminas: Bitės"
    assert str(event["URL"]) == "https://example.org/bees"
    assert "bees@example.org" in str(event["DESCRIPTION"])
    triggers = [alarm.decoded("TRIGGER") for alarm in event.walk("VALARM")]
    assert triggers == [-timedelta(days=7), -timedelta(days=1), -timedelta(hours=2)]
    # The same call gives the same UID whenever the file is made.
    again = Calendar.from_ical(
        calendar_file([call], parse_offsets("1d"), "en", now=now + timedelta(days=1))
    )
    assert str(again.walk("VEVENT")[0]["UID"]) == call_uid(call)
