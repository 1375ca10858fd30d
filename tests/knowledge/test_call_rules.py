"""The rules for a call a coordinator types in with /newcall: dates, id, "everywhere", record."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from knowledge.calls import (
    ID_LENGTH,
    draft_call,
    means_everywhere,
    new_call_id,
    pack_ids,
)
from knowledge.pack import Entry, KnowledgePack, Source
from knowledge.values import parse_local_time


@pytest.mark.parametrize(
    ("typed", "end_of_day", "moment"),
    [
        ("2027-03-31 23:59", False, datetime(2027, 3, 31, 23, 59)),
        ("2027-03-01T09:00", False, datetime(2027, 3, 1, 9, 0)),
        ("2027.3.1 9.30", False, datetime(2027, 3, 1, 9, 30)),
        (" 31.03.2027 18:00 ", False, datetime(2027, 3, 31, 18, 0)),
        ("2027-03-01", False, datetime(2027, 3, 1, 0, 0)),
        ("2027-03-31", True, datetime(2027, 3, 31, 23, 59)),
        ("31.03.2027.", True, datetime(2027, 3, 31, 23, 59)),
        ("31/03/2027", False, datetime(2027, 3, 31, 0, 0)),
    ],
)
def test_typed_dates_are_read_in_both_orders(
    typed: str, end_of_day: bool, moment: datetime
) -> None:
    assert parse_local_time(typed, end_of_day=end_of_day) == moment


@pytest.mark.parametrize(
    "typed", ["", "tomorrow", "2027-02-30", "31.13.2027", "2027-03-01 24:00", "03-31-27"]
)
def test_what_is_not_a_date_is_refused(typed: str) -> None:
    assert parse_local_time(typed, end_of_day=False) is None


def test_words_for_everywhere_in_each_language() -> None:
    for typed in ("all", " Everywhere ", "VISUR", "visos", "Visas", "visi", "*"):
        assert means_everywhere(typed), typed
    for typed in ("Trakai", "all of Latvia", ""):
        assert not means_everywhere(typed), typed


def test_a_new_call_id_comes_from_the_title_and_is_not_taken() -> None:
    assert new_call_id("Bendruomenių pilotas 2027!", set()) == "bendruomeniu-pilotas-2027"
    taken = {"bendruomeniu-pilotas-2027", "bendruomeniu-pilotas-2027-2"}
    assert new_call_id("Bendruomenių pilotas 2027", taken) == "bendruomeniu-pilotas-2027-3"
    assert new_call_id("„…“", set()) == "call"
    assert new_call_id("", {"call"}) == "call-2"


def test_a_long_title_gives_an_id_within_the_limit_even_with_a_number() -> None:
    title = "Grants for community centres in every municipality of Lithuania and Latvia"
    first = new_call_id(title, set())
    assert len(first) <= ID_LENGTH and not first.endswith("-")
    assert title.lower().replace(" ", "-").startswith(first)
    second = new_call_id(title, {first})
    assert len(second) <= ID_LENGTH and second.endswith("-2") and second != first


WIZARD = {
    "timezone": "Europe/Vilnius",
    "title": "Kaimo šventės",
    "programme": "Vietos projektai",
    "funder": "Trakų rajono savivaldybė",
    "opens": "2027-03-01T00:00:00+02:00",
    "closes": "2027-03-31T23:59:00+03:00",
    "who_may_apply": "Bendruomenės",
    "municipalities": ["trakai-district"],
    "contact": "info@example.lt",
}


def test_the_wizards_answers_make_a_call_in_every_language() -> None:
    call = draft_call("kaimo-sventes", {**WIZARD, "link": "https://example.lt/call"})
    assert call.id == "kaimo-sventes"
    assert call.title == {"lt": "Kaimo šventės", "lv": "Kaimo šventės", "en": "Kaimo šventės"}
    assert set(call.who_may_apply.values()) == {"Bendruomenės"}
    assert call.opens == datetime.fromisoformat("2027-03-01T00:00:00+02:00")
    assert call.closes.isoformat() == "2027-03-31T23:59:00+03:00"
    assert call.municipalities == ("trakai-district",)
    assert (call.contact, call.link) == ("info@example.lt", "https://example.lt/call")
    assert draft_call("preview", WIZARD).link == ""  # "No link" pressed


def test_pack_ids_are_every_entry_and_call_id() -> None:
    call = draft_call("spring-call", WIZARD)
    entry = Entry(
        id="avp-aims",
        tags=("avp",),
        questions={"lt": ("Kas?",), "lv": ("Kas?",), "en": ("What?",)},
        answer={"lt": "Tai.", "lv": "Tas.", "en": "This."},
        source=Source(title="Atspari visuomenė", seed="000.txt"),
        verified=date(2026, 11, 22),
        file="pack/resilient-society.yaml",
        line=5,
    )
    assert pack_ids(KnowledgePack(entries=(entry,), calls=(call,))) == {"avp-aims", "spring-call"}
