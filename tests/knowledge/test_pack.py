"""Tests for knowledge/pack.py: reading, checking and using the knowledge pack."""

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from knowledge.municipalities import load_municipalities
from knowledge.pack import (
    Call,
    CallStatus,
    Entry,
    KnowledgePack,
    PackError,
    Problem,
    Source,
    check_pack,
    load_pack,
)
from knowledge.text import LANGUAGES

REAL_PACK = Path(__file__).resolve().parents[2] / "knowledge" / "pack"
VILNIUS = ZoneInfo("Europe/Vilnius")
MUNICIPALITIES = frozenset({"kaunas-city", "trakai-district", "riga-city"})

# A valid pack file; the tests below break one line of it at a time. Line numbers on the right.
VALID = """\
source: {title: "Seed title", seed: "000.txt"}
verified: 2026-11-22
entries:
  - id: avp-aims
    tags: [avp, aims]
    questions:
      lt: ["Kokie tikslai?", "AVP tikslai"]
      lv: ["Kādi mērķi?"]
      en: ["What are the aims?"]
    answer:
      lt: "Tikslai."
      lv: "Mērķi."
      en: "  Aims.  "
  - id: avp-stages
    questions: {lt: ["Etapai?"], lv: ["Posmi?"], en: ["Stages?"]}
    answer: {lt: "Keturi.", lv: "Četri.", en: "Four."}
    verified: 2026-12-01
calls:
  - id: pilot-2021
    title: {lt: "Kvietimas", lv: "Uzsaukums", en: "Call"}
    programme: {lt: "Programa", lv: "Programma", en: "Programme"}
    funder: {lt: "Ministerija", lv: "Ministrija", en: "Ministry"}
    opens: 2021-08-17T00:00
    closes: 2021-08-27T23:59
    timezone: Europe/Vilnius
    who_may_apply: {lt: "Bendruomenės", lv: "Kopienas", en: "Communities"}
    municipalities: [kaunas-city, trakai-district]
    contact: "pilot@example.org"
    link: "https://example.org/pilot/"
    questions: {lt: ["Kada kvietimas?"], lv: ["Kad?"], en: ["When?"]}
    tags: [call]
    source: {title: "Other seed", seed: "001.txt"}
"""


def write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def broken(old: str, new: str) -> str:
    assert old in VALID, old
    return VALID.replace(old, new, 1)


def problems_in(folder: Path) -> list[tuple[str, str]]:
    return [
        (f"{problem.file}:{problem.line}", problem.message)
        for problem in check_pack(folder, municipalities=MUNICIPALITIES)
    ]


def test_valid_file_loads_with_lines_defaults_and_overrides(tmp_path: Path) -> None:
    write(tmp_path / "pack", "a.yaml", VALID)

    pack = load_pack(tmp_path / "pack", municipalities=MUNICIPALITIES)

    assert check_pack(tmp_path / "pack", municipalities=MUNICIPALITIES) == []
    aims = pack.entry("avp-aims")
    assert aims == Entry(
        id="avp-aims",
        tags=("avp", "aims"),
        questions={
            "lt": ("Kokie tikslai?", "AVP tikslai"),
            "lv": ("Kādi mērķi?",),
            "en": ("What are the aims?",),
        },
        answer={"lt": "Tikslai.", "lv": "Mērķi.", "en": "Aims."},
        source=Source(title="Seed title", seed="000.txt"),
        verified=date(2026, 11, 22),
        file="pack/a.yaml",
        line=4,
    )
    stages = pack.entry("avp-stages")
    assert (stages.tags, stages.verified, stages.line) == ((), date(2026, 12, 1), 14)
    call = pack.call("pilot-2021")
    assert call.opens == datetime(2021, 8, 17, 0, 0, tzinfo=VILNIUS)
    assert call.closes == datetime(2021, 8, 27, 20, 59, tzinfo=UTC)
    assert call.timezone == "Europe/Vilnius"
    assert call.municipalities == ("kaunas-city", "trakai-district")
    assert call.source == Source(title="Other seed", seed="001.txt")
    assert call.verified == date(2026, 11, 22)
    assert (call.file, call.line, call.contact, call.tags) == (
        "pack/a.yaml",
        19,
        "pilot@example.org",
        ("call",),
    )
    assert call.questions["en"] == ("When?",)


@pytest.mark.parametrize(
    ("old", "new", "where", "message"),
    [
        pytest.param(
            "    tags: [avp, aims]\n",
            "    tags: [avp, aims\n",
            "pack/a.yaml:6",
            "YAML syntax error: while parsing a flow sequence (from line 5), expected ','",
            id="yaml-syntax",
        ),
        pytest.param(
            '      lv: "Mērķi."\n',
            "",
            "pack/a.yaml:10",
            "entry 'avp-aims': answer is missing language 'lv'",
            id="missing-language-block",
        ),
        pytest.param(
            'lv: ["Posmi?"], ',
            "",
            "pack/a.yaml:15",
            "entry 'avp-stages': questions is missing language 'lv'",
            id="missing-language-flow",
        ),
        pytest.param(
            'title: {lt: "Kvietimas", lv: "Uzsaukums", en: "Call"}',
            'title: {lt: "Kvietimas", lv: "Uzsaukums"}',
            "pack/a.yaml:20",
            "call 'pilot-2021': title is missing language 'en'",
            id="missing-language-call",
        ),
        pytest.param(
            '      en: ["What are the aims?"]\n',
            '      en: ["What are the aims?"]\n      ru: ["Какие цели?"]\n',
            "pack/a.yaml:10",
            "entry 'avp-aims': unknown language 'ru' in questions",
            id="unknown-language",
        ),
        pytest.param(
            '      lt: "Tikslai."\n',
            '      lt: "   "\n',
            "pack/a.yaml:11",
            "entry 'avp-aims': answer.lt is empty",
            id="empty-text",
        ),
        pytest.param(
            '      lt: "Tikslai."\n',
            "      lt:\n",
            "pack/a.yaml:11",
            "entry 'avp-aims': answer.lt is empty",
            id="null-text",
        ),
        pytest.param(
            '      lv: ["Kādi mērķi?"]\n',
            '      lv: ["Kādi mērķi?", ""]\n',
            "pack/a.yaml:8",
            "entry 'avp-aims': questions.lv[1] is empty",
            id="empty-question",
        ),
        pytest.param(
            '      lv: ["Kādi mērķi?"]\n',
            "      lv: []\n",
            "pack/a.yaml:8",
            "entry 'avp-aims': questions.lv has no questions",
            id="no-questions",
        ),
        pytest.param(
            "    verified: 2026-12-01\n",
            "    verified: 2026-13-01\n",
            "pack/a.yaml:17",
            "entry 'avp-stages': bad date '2026-13-01'",
            id="bad-date",
        ),
        pytest.param(
            "verified: 2026-11-22\n",
            "verified: 22.11.2026\n",
            "pack/a.yaml:2",
            "file: bad date '22.11.2026'",
            id="bad-file-date",
        ),
        pytest.param(
            "    opens: 2021-08-17T00:00\n",
            "    opens: 2021-08-17\n",
            "pack/a.yaml:23",
            "call 'pilot-2021': bad date and time '2021-08-17'",
            id="datetime-without-time",
        ),
        pytest.param(
            "    closes: 2021-08-27T23:59\n",
            "    closes: 2021-08-27T24:30\n",
            "pack/a.yaml:24",
            "call 'pilot-2021': bad date and time '2021-08-27T24:30'",
            id="bad-datetime",
        ),
        pytest.param(
            "    closes: 2021-08-27T23:59\n",
            "    closes: 2021-08-16T23:59\n",
            "pack/a.yaml:24",
            "call 'pilot-2021': closes (2021-08-16 23:59) is not after opens (2021-08-17 00:00)",
            id="closes-before-opens",
        ),
        pytest.param(
            "    timezone: Europe/Vilnius\n",
            "    timezone: Europe/Vilna\n",
            "pack/a.yaml:25",
            "call 'pilot-2021': unknown time zone 'Europe/Vilna'",
            id="unknown-time-zone",
        ),
        pytest.param(
            "    municipalities: [kaunas-city, trakai-district]\n",
            "    municipalities: [kaunas-city, trakai]\n",
            "pack/a.yaml:27",
            "call 'pilot-2021': unknown municipality id 'trakai'",
            id="unknown-municipality",
        ),
        pytest.param(
            "entries:\n",
            "entires:\n",
            "pack/a.yaml:3",
            "file: unknown key 'entires' (did you mean 'entries'?)",
            id="unknown-top-level-key",
        ),
        pytest.param(
            "    tags: [avp, aims]\n",
            "    tag: [avp, aims]\n",
            "pack/a.yaml:5",
            "entry 'avp-aims': unknown key 'tag' (did you mean 'tags'?)",
            id="unknown-entry-key",
        ),
        pytest.param(
            '    link: "https://example.org/pilot/"\n',
            '    link: "https://example.org/pilot/"\n    url: "https://example.org/"\n',
            "pack/a.yaml:30",
            "call 'pilot-2021': unknown key 'url'",
            id="unknown-call-key",
        ),
        pytest.param(
            '    answer: {lt: "Keturi.", lv: "Četri.", en: "Four."}\n',
            "",
            "pack/a.yaml:14",
            "entry 'avp-stages': missing required field 'answer'",
            id="missing-entry-field",
        ),
        pytest.param(
            '    contact: "pilot@example.org"\n',
            "",
            "pack/a.yaml:19",
            "call 'pilot-2021': missing required field 'contact'",
            id="missing-call-field",
        ),
        pytest.param(
            "  - id: avp-stages\n",
            "  - id: AVP_stages\n",
            "pack/a.yaml:14",
            "entry 'AVP_stages': bad id 'AVP_stages'",
            id="bad-id",
        ),
        pytest.param(
            "  - id: avp-stages\n",
            "  - id: avp-aims\n",
            "pack/a.yaml:14",
            "entry 'avp-aims': duplicate id 'avp-aims' (already used at pack/a.yaml:4)",
            id="duplicate-entry-id",
        ),
        pytest.param(
            "  - id: pilot-2021\n",
            "  - id: avp-stages\n",
            "pack/a.yaml:19",
            "call 'avp-stages': duplicate id 'avp-stages' (already used at pack/a.yaml:14)",
            id="duplicate-id-entry-and-call",
        ),
        pytest.param(
            "    tags: [avp, aims]\n",
            "    tags: [avp, aims]\n    tags: [avp]\n",
            "pack/a.yaml:6",
            "entry 'avp-aims': duplicate key 'tags'",
            id="duplicate-key",
        ),
    ],
)
def test_each_problem_is_reported_at_its_line(
    tmp_path: Path, old: str, new: str, where: str, message: str
) -> None:
    write(tmp_path / "pack", "a.yaml", broken(old, new))

    problems = problems_in(tmp_path / "pack")

    assert len(problems) == 1, problems
    assert problems[0][0] == where
    assert message in problems[0][1]


def test_missing_source_is_reported_for_each_entry_without_one(tmp_path: Path) -> None:
    write(
        tmp_path / "pack", "a.yaml", broken('source: {title: "Seed title", seed: "000.txt"}\n', "")
    )

    assert problems_in(tmp_path / "pack") == [
        (
            "pack/a.yaml:3",
            "entry 'avp-aims': missing required field 'source' (here or in the file)",
        ),
        (
            "pack/a.yaml:13",
            "entry 'avp-stages': missing required field 'source' (here or in the file)",
        ),
    ]


def test_duplicate_id_across_files_points_to_both(tmp_path: Path) -> None:
    write(tmp_path / "pack", "a.yaml", VALID)
    write(
        tmp_path / "pack",
        "b.yaml",
        "source: {title: T, seed: s.txt}\n"
        "verified: 2026-11-22\n"
        "entries:\n"
        "  - id: extra\n"
        "    questions: {lt: [K], lv: [J], en: [Q]}\n"
        "    answer: {lt: A, lv: A, en: A}\n"
        "  - id: pilot-2021\n"
        "    questions: {lt: [K], lv: [J], en: [Q]}\n"
        "    answer: {lt: A, lv: A, en: A}\n",
    )

    assert problems_in(tmp_path / "pack") == [
        (
            "pack/b.yaml:7",
            "entry 'pilot-2021': duplicate id 'pilot-2021' (already used at pack/a.yaml:19)",
        )
    ]


def test_problems_of_all_files_come_in_file_and_line_order(tmp_path: Path) -> None:
    write(tmp_path / "pack", "b.yaml", "entries: [unclosed\n")
    write(
        tmp_path / "pack",
        "a.yaml",
        broken("    timezone: Europe/Vilnius\n", "    timezone: Mars\n"),
    )
    write(tmp_path / "pack", "c.yaml", "")

    problems = check_pack(tmp_path / "pack", municipalities=MUNICIPALITIES)

    assert [f"{problem.file}:{problem.line}" for problem in problems] == [
        "pack/a.yaml:25",
        "pack/b.yaml:2",
        "pack/c.yaml:1",
    ]
    assert problems[2].message == "the file is empty"


def test_load_pack_raises_with_every_problem(tmp_path: Path) -> None:
    text = broken("    timezone: Europe/Vilnius\n", "    timezone: Mars\n")
    write(tmp_path / "pack", "a.yaml", text.replace("  - id: avp-stages\n", "  - id: avp aims\n"))

    with pytest.raises(PackError) as raised:
        load_pack(tmp_path / "pack", municipalities=MUNICIPALITIES)

    assert [str(problem) for problem in raised.value.problems] == [
        "pack/a.yaml:14: entry 'avp aims': bad id 'avp aims' "
        "(use lowercase a-z, 0-9, '-' and '_', starting with a letter or digit, "
        "at most 48 characters)",
        "pack/a.yaml:25: call 'pilot-2021': unknown time zone 'Mars' "
        "(use an IANA name like Europe/Riga)",
    ]
    assert str(raised.value) == "\n".join(str(p) for p in raised.value.problems)


def test_folder_without_pack_files_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "pack").mkdir()

    assert problems_in(tmp_path / "pack") == [("pack:0", "no knowledge pack files (*.yaml) here")]


def test_problem_reads_as_file_line_message() -> None:
    assert str(Problem("pack/x.yaml", 7, "entry 'a': answer.lv is empty")) == (
        "pack/x.yaml:7: entry 'a': answer.lv is empty"
    )


# -- calls: status and days left


def pilot_call(**changes: object) -> Call:
    fields: dict[str, object] = {
        "id": "community-pilot-2021",
        "title": {"lt": "K", "lv": "U", "en": "C"},
        "programme": {"lt": "P", "lv": "P", "en": "P"},
        "funder": {"lt": "F", "lv": "F", "en": "F"},
        "opens": datetime(2021, 8, 17, 0, 0, tzinfo=VILNIUS),
        "closes": datetime(2021, 8, 27, 23, 59, tzinfo=VILNIUS),
        "timezone": "Europe/Vilnius",
        "who_may_apply": {"lt": "W", "lv": "W", "en": "W"},
        "municipalities": ("kaunas-city",),
        "contact": "bendruomenes@nisc.lt",
        "link": "https://example.org/",
    }
    fields.update(changes)
    return Call(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("now", "status"),
    [
        (datetime(2021, 8, 16, 20, 59, 59, tzinfo=UTC), CallStatus.UPCOMING),
        (datetime(2021, 8, 16, 21, 0, tzinfo=UTC), CallStatus.OPEN),
        (datetime(2021, 8, 27, 20, 58, 59, tzinfo=UTC), CallStatus.OPEN),
        (datetime(2021, 8, 27, 20, 59, tzinfo=UTC), CallStatus.CLOSED),
        (datetime(2021, 8, 27, 23, 58, tzinfo=VILNIUS), CallStatus.OPEN),
        (datetime(2021, 8, 27, 23, 59, tzinfo=VILNIUS), CallStatus.CLOSED),
        # 22:30 in Lisbon is already 00:30 the next day in Vilnius.
        (datetime(2021, 8, 27, 22, 30, tzinfo=ZoneInfo("Europe/Lisbon")), CallStatus.CLOSED),
        (datetime(2021, 8, 27, 16, 58, tzinfo=ZoneInfo("America/New_York")), CallStatus.OPEN),
    ],
)
def test_status_compares_moments_not_wall_clocks(now: datetime, status: CallStatus) -> None:
    assert pilot_call().status(now) is status


@pytest.mark.parametrize(
    ("now", "days"),
    [
        (datetime(2021, 8, 10, 12, 0, tzinfo=VILNIUS), 17),
        (datetime(2021, 8, 20, 23, 59, tzinfo=VILNIUS), 7),
        (datetime(2021, 8, 21, 0, 0, tzinfo=VILNIUS), 6),
        (datetime(2021, 8, 26, 23, 59, tzinfo=VILNIUS), 1),
        (datetime(2021, 8, 26, 21, 0, tzinfo=UTC), 0),  # 2021-08-27 00:00 in Vilnius
        (datetime(2021, 8, 27, 20, 58, tzinfo=UTC), 0),
        (datetime(2021, 9, 30, 12, 0, tzinfo=UTC), 0),
    ],
)
def test_days_left_counts_whole_days_in_the_calls_zone(now: datetime, days: int) -> None:
    assert pilot_call().days_left(now) == days


def test_days_left_counts_calendar_days_across_daylight_saving_changes() -> None:
    autumn = pilot_call(
        opens=datetime(2021, 10, 1, 0, 0, tzinfo=VILNIUS),
        closes=datetime(2021, 10, 31, 23, 59, tzinfo=VILNIUS),
    )
    spring = pilot_call(
        opens=datetime(2021, 3, 1, 0, 0, tzinfo=VILNIUS),
        closes=datetime(2021, 3, 28, 23, 59, tzinfo=VILNIUS),
    )

    # 25 and 23 hours of real time, but one day on the Vilnius clock.
    assert autumn.days_left(datetime(2021, 10, 30, 23, 59, tzinfo=VILNIUS)) == 1
    assert spring.days_left(datetime(2021, 3, 27, 23, 59, tzinfo=VILNIUS)) == 1


def test_call_keeps_its_moments_in_its_own_zone() -> None:
    call = pilot_call(
        opens=datetime(2021, 8, 16, 21, 0, tzinfo=UTC),
        closes=datetime(2021, 8, 27, 20, 59, tzinfo=UTC),
    )

    assert call.closes.utcoffset() == VILNIUS.utcoffset(datetime(2021, 8, 27))
    assert (call.closes.hour, call.closes.minute) == (23, 59)


def test_naive_moments_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        pilot_call().status(datetime(2021, 8, 20, 12, 0))
    with pytest.raises(ValueError, match="naive"):
        pilot_call().days_left(datetime(2021, 8, 20, 12, 0))
    with pytest.raises(ValueError, match="time zone"):
        pilot_call(opens=datetime(2021, 8, 17, 0, 0))


def test_call_needs_a_known_time_zone() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Europe/Vilna'"):
        pilot_call(timezone="Europe/Vilna")


def test_call_must_close_after_it_opens() -> None:
    with pytest.raises(ValueError, match="after opens"):
        pilot_call(closes=datetime(2021, 8, 17, 0, 0, tzinfo=VILNIUS))


# -- the pack as a whole


def test_with_calls_adds_and_replaces_in_a_new_pack(tmp_path: Path) -> None:
    write(tmp_path / "pack", "a.yaml", VALID)
    pack = load_pack(tmp_path / "pack", municipalities=MUNICIPALITIES)
    new_call = pilot_call(id="newcall-2026")
    replacement = pilot_call(id="pilot-2021", contact="new@example.org")

    bigger = pack.with_calls([new_call, replacement])

    assert [call.id for call in pack.calls] == ["pilot-2021"]
    assert pack.call("pilot-2021").contact == "pilot@example.org"
    assert [call.id for call in bigger.calls] == ["pilot-2021", "newcall-2026"]
    assert bigger.call("pilot-2021").contact == "new@example.org"
    assert bigger.call("newcall-2026") is new_call
    assert bigger.entries == pack.entries


def test_unknown_ids_raise_key_error(tmp_path: Path) -> None:
    pack = KnowledgePack((), (pilot_call(),))

    with pytest.raises(KeyError):
        pack.entry("community-pilot-2021")
    with pytest.raises(KeyError):
        pack.call("no-such-call")


def test_pack_refuses_two_calls_with_one_id() -> None:
    with pytest.raises(ValueError, match="unique"):
        KnowledgePack((), (pilot_call(), pilot_call()))


def test_real_pack_has_no_problems() -> None:
    problems = check_pack(REAL_PACK, municipalities=load_municipalities())

    assert [str(problem) for problem in problems] == []


def test_real_pack_community_pilot_call_covers_the_ten_municipalities() -> None:
    directory = load_municipalities()
    pack = load_pack(REAL_PACK, municipalities=directory)
    call = pack.call("community-pilot-2021")

    assert call.opens == datetime(2021, 8, 17, 0, 0, tzinfo=VILNIUS)
    assert call.closes == datetime(2021, 8, 27, 20, 59, tzinfo=UTC)
    assert sorted(call.municipalities) == [
        "anyksciai-district",
        "elektrenai",
        "kaisiadorys-district",
        "kaunas-city",
        "kedainiai-district",
        "klaipeda-city",
        "klaipeda-district",
        "panevezys-city",
        "taurage-district",
        "trakai-district",
    ]
    assert all(municipality in directory for municipality in call.municipalities)
    assert call.contact == "bendruomenes@nisc.lt"
    assert call.status(datetime(2021, 8, 20, tzinfo=UTC)) is CallStatus.OPEN
    assert call.status(datetime(2026, 11, 22, tzinfo=UTC)) is CallStatus.CLOSED


def test_real_pack_entries_have_three_to_six_questions_per_language() -> None:
    pack = load_pack(REAL_PACK, municipalities=load_municipalities())
    mine = [
        e
        for e in pack.entries
        if e.file.endswith(("resilient-society.yaml", "community-pilot.yaml"))
    ]

    assert len(mine) >= 24
    for entry in mine:
        for lang in LANGUAGES:
            assert 3 <= len(entry.questions[lang]) <= 6, (entry.id, lang)


def test_entry_may_point_at_a_call_and_an_unknown_one_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "pack"
    folder.mkdir()
    texts = "{lt: a, lv: b, en: c}"
    (folder / "x.yaml").write_text(
        "verified: 2026-01-01\n"
        "source: {title: T, seed: s.txt}\n"
        "entries:\n"
        "  - id: about-window\n"
        "    questions: {lt: [a], lv: [b], en: [c]}\n"
        f"    answer: {texts}\n"
        "    call: no-such-call\n",
        encoding="utf-8",
    )
    problems = [str(problem) for problem in check_pack(folder, municipalities=set())]
    assert problems == ["pack/x.yaml:7: entry 'about-window': unknown call 'no-such-call'"]


def test_real_pack_links_the_pilot_window_entry_to_its_call() -> None:
    pack = load_pack(REAL_PACK, municipalities=load_municipalities())
    linked = [entry for entry in pack.entries if entry.call]
    assert linked
    for entry in linked:
        assert pack.call(entry.call or "").id == entry.call
