"""Tests for the municipality list and the finder members use to name their municipality."""

from collections import Counter
from pathlib import Path

import pytest
import yaml

from knowledge.municipalities import (
    DEFAULT_PATH,
    Municipality,
    MunicipalityDirectory,
    load_municipalities,
)
from knowledge.text import fold

# The ten municipalities of the community organisations' pilot programme, as the seed names them.
PILOT = [
    ("Anykščių", "anyksciai-district"),
    ("Elektrėnų", "elektrenai"),
    ("Kaišiadorių", "kaisiadorys-district"),
    ("Kauno m.", "kaunas-city"),
    ("Kėdainių", "kedainiai-district"),
    ("Klaipėdos m.", "klaipeda-city"),
    ("Klaipėdos r.", "klaipeda-district"),
    ("Panevėžio m.", "panevezys-city"),
    ("Tauragės", "taurage-district"),
    ("Trakų", "trakai-district"),
]


@pytest.fixture(scope="module")
def directory() -> MunicipalityDirectory:
    return load_municipalities()


def _ids(found: list[Municipality]) -> list[str]:
    return [m.id for m in found]


def _expected_id(municipality: Municipality) -> str:
    """The id the naming scheme gives this municipality, derived from its English name."""
    name = municipality.names["en"]
    if municipality.id == "palanga":
        assert name == "Palanga City Municipality"
        return "palanga"
    endings = {
        "LT": [(" City Municipality", "-city"), (" District Municipality", "-district")],
        "LV": [(" State City", "-city"), (" Municipality", "-municipality")],
    }[municipality.country] + [(" Municipality", "")]
    for ending, suffix in endings:
        if name.endswith(ending):
            return fold(name.removesuffix(ending)).replace(" ", "-") + suffix
    raise AssertionError(f"unexpected English name {name!r}")


def test_counts_per_country_and_kind(directory: MunicipalityDirectory) -> None:
    kinds = Counter(
        (m.country, "city" if m.id.endswith("-city") else m.id.rpartition("-")[2])
        for m in directory
    )
    lithuania = sum(n for (country, _), n in kinds.items() if country == "LT")
    latvia = sum(n for (country, _), n in kinds.items() if country == "LV")
    assert (lithuania, latvia) == (60, 42)
    assert len(directory) == 102
    assert kinds[("LT", "city")] == 6  # plus Palanga, a city municipality with a bare id
    assert kinds[("LT", "district")] == 43
    assert kinds[("LV", "city")] == 7
    assert kinds[("LV", "municipality")] == 35


def test_ids_are_unique_in_the_file() -> None:
    records = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    ids = [record["id"] for record in records]
    assert len(ids) == len(set(ids)) == 102


def test_ids_follow_the_naming_scheme(directory: MunicipalityDirectory) -> None:
    for municipality in directory:
        assert municipality.id == _expected_id(municipality)


def test_official_names_are_in_the_own_language(directory: MunicipalityDirectory) -> None:
    for municipality in directory:
        if municipality.country == "LT":
            assert municipality.names["lt"].endswith(" savivaldybė"), municipality.id
        else:
            assert municipality.names["lv"].endswith((" novads", " valstspilsēta")), municipality.id


def test_every_record_has_names_and_short_names_in_three_languages(
    directory: MunicipalityDirectory,
) -> None:
    for municipality in directory:
        for texts in (municipality.names, municipality.short):
            assert sorted(texts) == ["en", "lt", "lv"]
            assert all(text.strip() for text in texts.values()), municipality.id


def test_ids_shared_with_the_rest_of_the_bot_exist(directory: MunicipalityDirectory) -> None:
    for municipality_id in [
        "vilnius-city", "vilnius-district", "trakai-district", "taurage-district", "kaunas-city",
        "elektrenai", "birstonas", "neringa", "visaginas", "palanga", "druskininkai",
        "kalvarija", "kazlu-ruda", "pagegiai", "rietavas", "marijampole", "riga-city",
        "daugavpils-city", "jelgava-city", "jurmala-city", "liepaja-city", "rezekne-city",
        "ventspils-city", "ogre-municipality", "daugavpils-municipality",
        "jelgava-municipality",
    ]:  # fmt: skip
        assert municipality_id in directory


def test_get_returns_the_record_or_none(directory: MunicipalityDirectory) -> None:
    trakai = directory.get("trakai-district")
    assert trakai is not None
    assert trakai.names == {
        "lt": "Trakų rajono savivaldybė",
        "lv": "Traķu rajona pašvaldība",
        "en": "Trakai District Municipality",
    }
    assert trakai.short == {"lt": "Trakų r.", "lv": "Traķu raj.", "en": "Trakai district"}
    riga = directory.get("riga-city")
    assert riga is not None
    assert riga.short == {"lt": "Ryga", "lv": "Rīga", "en": "Riga"}
    assert directory.get("varaklani-municipality") is None
    assert "atlantis" not in directory
    assert trakai in directory


def test_former_names_are_aliases(directory: MunicipalityDirectory) -> None:
    daugavpils = directory.get("daugavpils-municipality")
    madona = directory.get("madona-municipality")
    assert daugavpils is not None
    assert madona is not None
    assert "Augšdaugavas novads" in daugavpils.aliases
    assert "Varakļānu novads" in madona.aliases


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # any language, with or without diacritics
        ("traku", "trakai-district"),
        ("kedainiu", "kedainiai-district"),
        ("Ryga", "riga-city"),
        ("jurmala", "jurmala-city"),
        ("Traku rajona pasvaldiba", "trakai-district"),
        ("Ogres novada pasvaldiba", "ogre-municipality"),
        ("Ogrės savivaldybė", "ogre-municipality"),
        ("Kaunas district", "kaunas-district"),
        # part of a name
        ("trak", "trakai-district"),
        ("Dienvidkurz", "south-kurzeme-municipality"),
        # inflected forms
        ("Trakuose", "trakai-district"),
        ("Kaune", "kaunas-city"),
        ("Rīgā", "riga-city"),
        ("Šiauliuose", "siauliai-city"),
        ("Daugavpilī", "daugavpils-city"),
        # typos
        ("Taurages", "taurage-district"),
        ("Panevezio", "panevezys-city"),
        ("Klaipedas", "klaipeda-city"),
        ("Kedainu", "kedainiai-district"),
        ("Jurmla", "jurmala-city"),
        # words that say which kind
        ("kauno rajono", "kaunas-district"),
        ("kauno miesto", "kaunas-city"),
        ("Vilniaus r.", "vilnius-district"),
        ("daugavpils novads", "daugavpils-municipality"),
        ("Rēzeknes valstspilsēta", "rezekne-city"),
        # former names
        ("Augšdaugavas novads", "daugavpils-municipality"),
        ("Varakļāni", "madona-municipality"),
    ],
)
def test_find_puts_the_expected_municipality_first(
    directory: MunicipalityDirectory, query: str, expected: str
) -> None:
    found = directory.find(query)
    assert found, query
    assert found[0].id == expected


@pytest.mark.parametrize(("query", "expected"), PILOT)
def test_pilot_municipalities_resolve(
    directory: MunicipalityDirectory, query: str, expected: str
) -> None:
    assert directory.find(query)[0].id == expected


@pytest.mark.parametrize(
    "query", ["", "   ", "xyzzy", "pizza", "hello", "paraiška", "savivaldybė", "pašvaldība", "r"]
)
def test_find_returns_nothing_for_nonsense_or_only_kind_words(
    directory: MunicipalityDirectory, query: str
) -> None:
    assert directory.find(query) == []


def test_part_of_a_name_finds_city_and_district_city_first(
    directory: MunicipalityDirectory,
) -> None:
    assert _ids(directory.find("vilni")) == ["vilnius-city", "vilnius-district"]


def test_exact_and_prefix_matches_rank_above_typos(directory: MunicipalityDirectory) -> None:
    # "Akmnė" is a typo for Akmenė, which would come first by name on a tie.
    assert _ids(directory.find("Akmnė")) == ["akmene-district"]
    assert _ids(directory.find("Zarasai Akmnė")) == ["zarasai-district", "akmene-district"]
    assert _ids(directory.find("Zara Akmnė")) == ["zarasai-district", "akmene-district"]


def test_find_respects_limit_and_is_stable(directory: MunicipalityDirectory) -> None:
    first = _ids(directory.find("jelgava"))
    assert first == ["jelgava-city", "jelgava-municipality"]
    assert _ids(directory.find("jelgava")) == first
    assert _ids(directory.find("jelgava", limit=1)) == ["jelgava-city"]
    assert directory.find("jelgava", limit=0) == []
    assert len(directory.find("ka")) <= 8


def test_loading_is_cached_per_path(tmp_path: Path) -> None:
    assert load_municipalities() is load_municipalities(DEFAULT_PATH)
    small = tmp_path / "municipalities.yaml"
    small.write_text(
        "- id: birstonas\n"
        "  country: LT\n"
        "  names: {lt: Birštono savivaldybė, lv: Birštonas pašvaldība,\n"
        "          en: Birštonas Municipality}\n"
        "  short: {lt: Birštono sav., lv: Birštonas pašv., en: Birštonas}\n",
        encoding="utf-8",
    )
    loaded = load_municipalities(small)
    assert loaded is load_municipalities(str(small))
    assert _ids(list(loaded)) == ["birstonas"]
    assert _ids(loaded.find("birstone")) == ["birstonas"]


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        (
            "- id: birstonas\n  country: LT\n"
            "  names: {lt: Birštono savivaldybė, en: Birštonas Municipality}\n"
            "  short: {lt: Birštono sav., lv: Birštonas pašv., en: Birštonas}\n",
            "birstonas: names: missing text for 'lv'",
        ),
        (
            "- id: Birštonas\n  country: LT\n",
            "id must be a lowercase ASCII slug",
        ),
        (
            "- id: birstonas\n  country: EE\n",
            "birstonas: country must be one of",
        ),
    ],
)
def test_bad_records_are_reported_by_id(tmp_path: Path, record: str, problem: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(record, encoding="utf-8")
    with pytest.raises(ValueError, match=problem):
        load_municipalities(path)
