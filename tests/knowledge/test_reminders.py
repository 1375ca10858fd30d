"""Planning reminders: offsets, wall-clock days across DST, what is owed, keys, words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from knowledge.pack import Call
from knowledge.reminders import (
    OPENED,
    REMINDER,
    Offset,
    Subscriber,
    closes_in,
    moved_notice,
    offsets_text,
    parse_offsets,
    plan,
    reminder_text,
)

VILNIUS = ZoneInfo("Europe/Vilnius")
RIGA = ZoneInfo("Europe/Riga")
DEFAULT = parse_offsets("7d,1d,2h")


def make_call(opens: datetime, closes: datetime, call_id: str = "bees") -> Call:
    return Call(
        id=call_id,
        title={"lt": "Bitės", "lv": "Bites", "en": "Bees"},
        programme={"lt": "P", "lv": "P", "en": "P"},
        funder={"lt": "F", "lv": "F", "en": "F"},
        opens=opens,
        closes=closes,
        timezone="Europe/Vilnius",
        who_may_apply={"lt": "Visi", "lv": "Visi", "en": "All"},
        municipalities=(),
        contact="bees@example.org",
        link="https://example.org/bees",
    )


def local(planned_due: datetime) -> datetime:
    return planned_due.astimezone(VILNIUS)


def test_offsets_are_read_longest_first_and_bad_ones_are_named() -> None:
    assert [offset.label for offset in parse_offsets(" 2h, 7d ,1d")] == ["7d", "1d", "2h"]
    assert parse_offsets("30m") == (Offset(30, "m"),)
    for bad, reason in [
        ("7x", "not an offset"),
        ("", "not an offset"),
        ("0d", "more than zero"),
        ("1d,24h", "twice"),
        (",".join(f"{n}m" for n in range(1, 12)), "at most"),
    ]:
        with pytest.raises(ValueError, match=reason):
            parse_offsets(bad)


@pytest.mark.parametrize(
    ("closes", "expected"),
    [
        # Summer time begins 2027-03-28 03:00: the day before is 23 hours long in UTC.
        (
            datetime(2027, 3, 29, 12, 0, tzinfo=VILNIUS),
            {
                "7d": datetime(2027, 3, 22, 12, 0, tzinfo=VILNIUS),
                "1d": datetime(2027, 3, 28, 12, 0, tzinfo=VILNIUS),
                "2h": datetime(2027, 3, 29, 10, 0, tzinfo=VILNIUS),
            },
        ),
        # Summer time ends 2027-10-31 04:00: that day is 25 hours long.
        (
            datetime(2027, 11, 1, 12, 0, tzinfo=VILNIUS),
            {
                "7d": datetime(2027, 10, 25, 12, 0, tzinfo=VILNIUS),
                "1d": datetime(2027, 10, 31, 12, 0, tzinfo=VILNIUS),
                "2h": datetime(2027, 11, 1, 10, 0, tzinfo=VILNIUS),
            },
        ),
        (
            datetime(2027, 10, 31, 12, 0, tzinfo=VILNIUS),
            {
                "7d": datetime(2027, 10, 24, 12, 0, tzinfo=VILNIUS),
                "1d": datetime(2027, 10, 30, 12, 0, tzinfo=VILNIUS),
                "2h": datetime(2027, 10, 31, 10, 0, tzinfo=VILNIUS),
            },
        ),
    ],
)
def test_day_offsets_keep_the_wall_clock_across_both_dst_changes(
    closes: datetime, expected: dict[str, datetime]
) -> None:
    call = make_call(closes - timedelta(days=60), closes)
    subscriber = Subscriber(7, closes - timedelta(days=30), VILNIUS)
    planned = plan(
        call,
        subscriber,
        DEFAULT,
        known_since=closes - timedelta(days=60),
        now=closes - timedelta(days=20),
        until=closes,
    )
    due = {item.payload["offset"]: item.due_at for item in planned if item.purpose == REMINDER}
    assert due == expected
    assert {local(moment).hour for moment in due.values()} == {12, 10}
    # The two-hour reminder is two hours, exactly.
    assert closes - due["2h"] == timedelta(hours=2)


def test_spring_forward_day_is_23_hours_and_fall_back_day_is_25() -> None:
    spring = datetime(2027, 3, 28, 12, 0, tzinfo=VILNIUS)  # the clocks went forward at 03:00
    autumn = datetime(2027, 10, 31, 12, 0, tzinfo=VILNIUS)  # and back at 04:00
    day = Offset(1, "d")
    # 7 wall-clock days across the change to summer time are 167 hours.
    assert datetime(2027, 3, 29, 12, 0, tzinfo=VILNIUS) - Offset(7, "d").due(
        datetime(2027, 3, 29, 12, 0, tzinfo=VILNIUS), VILNIUS
    ) == timedelta(hours=167)
    assert spring - day.due(spring, VILNIUS) == timedelta(hours=23)
    assert autumn - day.due(autumn, VILNIUS) == timedelta(hours=25)
    # A day's reminder still says "1 day" although 23 hours are left.
    call = make_call(spring - timedelta(days=30), spring)
    assert "in 1 day" in closes_in(call, day.due(spring, VILNIUS), "en", VILNIUS)


def test_nothing_before_the_subscription_or_the_opening_or_beyond_the_window() -> None:
    now = datetime(2027, 5, 1, 9, 0, tzinfo=UTC)
    closes = now + timedelta(days=3)
    call = make_call(now - timedelta(days=30), closes)
    # Subscribed now, three days ahead: the 7-day reminder would fall before the subscription.
    planned = plan(
        call,
        Subscriber(7, now, VILNIUS),
        DEFAULT,
        known_since=now - timedelta(days=30),
        now=now,
        until=now + timedelta(days=5),
    )
    assert [item.payload["offset"] for item in planned] == ["1d", "2h"]
    # Beyond the window: left to a later planning run.
    planned = plan(
        call,
        Subscriber(7, now, VILNIUS),
        DEFAULT,
        known_since=now - timedelta(days=30),
        now=now,
        until=now + timedelta(days=2),
    )
    assert [item.payload["offset"] for item in planned] == ["1d"]
    # A call open only since yesterday, closing in 3 days: its 7-day reminder is not owed.
    young = make_call(now - timedelta(days=1), closes)
    planned = plan(
        young,
        Subscriber(7, now - timedelta(days=60), VILNIUS),
        DEFAULT,
        known_since=now - timedelta(days=1),
        now=now,
        until=closes,
    )
    assert [item.payload["offset"] for item in planned] == ["1d", "2h"]
    # A closed call owes nothing.
    assert (
        plan(call, Subscriber(7, now, VILNIUS), DEFAULT, known_since=now, now=closes, until=closes)
        == []
    )


def test_a_late_reminder_is_still_planned_after_a_downtime() -> None:
    now = datetime(2027, 5, 1, 9, 0, tzinfo=UTC)
    call = make_call(now - timedelta(days=30), now + timedelta(days=3))
    planned = plan(
        call,
        Subscriber(7, now - timedelta(days=20), VILNIUS),
        DEFAULT,
        known_since=now - timedelta(days=30),
        now=now,
        until=now + timedelta(days=2),
    )
    seven_days = next(item for item in planned if item.payload["offset"] == "7d")
    assert seven_days.due_at < now  # owed; whether it is still worth sending is decided then


def test_the_open_notice_needs_the_call_known_and_followed_before_it_opens() -> None:
    now = datetime(2027, 5, 1, 9, 0, tzinfo=UTC)
    call = make_call(now + timedelta(hours=5), now + timedelta(days=30))

    def opened(since: datetime, known_since: datetime) -> list[str]:
        planned = plan(
            call,
            Subscriber(7, since, VILNIUS),
            DEFAULT,
            known_since=known_since,
            now=now,
            until=now + timedelta(days=2),
        )
        return [item.key for item in planned if item.purpose == OPENED]

    assert opened(now, now) == ["call-opened:7:bees"]
    assert opened(now + timedelta(hours=6), now) == []  # subscribed after it opened
    assert opened(now, now + timedelta(hours=6)) == []  # the call was added already open


def test_keys_name_the_recipient_call_offset_and_deadline() -> None:
    now = datetime(2027, 5, 1, 9, 0, tzinfo=UTC)
    closes = now + timedelta(days=1, hours=12)
    call = make_call(now - timedelta(days=30), closes)
    member = plan(
        call, Subscriber(7, now, VILNIUS), DEFAULT, known_since=now, now=now, until=closes
    )
    group = plan(call, Subscriber(-100, now, RIGA), DEFAULT, known_since=now, now=now, until=closes)
    keys = [item.key for item in member + group]
    assert len(keys) == len(set(keys)) == 4
    assert "reminder:7:bees:1d:2027-05-02T21:00:00+00:00" in keys
    moved = make_call(call.opens, closes + timedelta(days=7))
    again = plan(
        moved, Subscriber(7, now, VILNIUS), DEFAULT, known_since=now, now=now, until=closes
    )
    assert not {item.key for item in again} & set(keys)  # a new deadline: new reminders
    notice = moved_notice(moved, 7, now)
    assert notice.key == "call-moved:7:bees:2027-05-09T21:00:00+00:00"
    assert notice.due_at == now


@pytest.mark.parametrize(
    ("left", "lang", "words"),
    [
        (timedelta(days=7), "en", "Applications close in 7 days"),
        (timedelta(days=1), "en", "Applications close in 1 day"),
        (timedelta(hours=2), "en", "Applications close in 2 hours"),
        (timedelta(minutes=1), "en", "Applications close in 1 minute"),
        (timedelta(days=21), "lt", "baigsis po 21 dienos"),
        (timedelta(days=7), "lt", "baigsis po 7 dienų"),
        (timedelta(hours=2), "lt", "baigsis po 2 valandų"),
        (timedelta(days=1), "lv", "beigsies pēc 1 dienas"),
        (timedelta(days=7), "lv", "beigsies pēc 7 dienām"),
        (timedelta(hours=2), "lv", "beigsies pēc 2 stundām"),
    ],
)
def test_closes_in_counts_with_each_languages_plurals(
    left: timedelta, lang: str, words: str
) -> None:
    closes = datetime(2027, 6, 30, 21, 0, tzinfo=UTC)
    call = make_call(closes - timedelta(days=60), closes)
    assert words in closes_in(call, closes - left, lang, VILNIUS)  # type: ignore[arg-type]


def test_a_reminder_reads_title_deadline_in_the_recipients_zone_link_and_contact() -> None:
    closes = datetime(2027, 6, 30, 20, 59, tzinfo=UTC)
    call = make_call(closes - timedelta(days=60), closes)
    text = reminder_text(call, closes - timedelta(days=1), "lv", RIGA)
    assert text.startswith("⏰ Atgādinājums: “Bites”")
    assert "23:59" in text  # Riga is on Vilnius time
    assert "https://example.org/bees" in text and "bees@example.org" in text
    assert offsets_text(DEFAULT, "lt") == "7 dienos, 1 diena ir 2 valandos"
    assert offsets_text(DEFAULT, "en") == "7 days, 1 day, and 2 hours"
