"""Typed values read from what people type or coordinators write: dates, links, e-mails, phones.

One function for each kind of value, used wherever that value is read: questionnaire answers,
the knowledge pack's calls, /newcall and settings.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import Enum
from typing import Final
from urllib.parse import urlsplit, urlunsplit


class DateProblem(Enum):
    """Why a text is not a date: not written as one, or a day the calendar does not have."""

    NOT_A_DATE = "not a date"
    NO_SUCH_DAY = "no such day"


# Year first (2024-05-31, 2024.05.31, 2024/05/31) or day first (31.05.2024, 31/05/2024), a
# trailing dot allowed ("31.05.2024." as Lithuanians and Latvians often write it).
_YEAR_FIRST: Final = re.compile(r"(\d{4})([-./])(\d{1,2})\2(\d{1,2})\.?")
_DAY_FIRST: Final = re.compile(r"(\d{1,2})([./])(\d{1,2})\2(\d{4})\.?")
_ISO_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
# An optional time after the date: "23:59", "9.30", "09:00:00", after a space or a "T".
_WITH_TIME: Final = re.compile(r"(.+?)(?:[ T]+(\d{1,2})[:.](\d{2})(?::(\d{2}))?)?")


def read_date(text: str, *, iso_only: bool = False) -> date | DateProblem:
    """The date TEXT writes, or why it is none; ISO_ONLY (files) accepts 2024-05-31 alone.

    Day-first dates whose month is over 12 while the day is not (05/31/2024) are month-first,
    which neither Lithuanians nor Latvians write: not a date, rather than a day that does not
    exist.
    """
    text = text.strip()
    if iso_only:
        if not _ISO_DATE.fullmatch(text):
            return DateProblem.NOT_A_DATE
        year, month, day = text.split("-")
    elif match := _YEAR_FIRST.fullmatch(text):
        year, _, month, day = match.groups()
    elif match := _DAY_FIRST.fullmatch(text):
        day, _, month, year = match.groups()
        if int(month) > 12 >= int(day):
            return DateProblem.NOT_A_DATE
    else:
        return DateProblem.NOT_A_DATE
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return DateProblem.NO_SUCH_DAY


def parse_date(text: str, *, iso_only: bool = False) -> date | None:
    """The date TEXT writes (see `read_date`), or None."""
    found = read_date(text, iso_only=iso_only)
    return found if isinstance(found, date) else None


def parse_local_time(
    text: str, *, end_of_day: bool = False, iso_only: bool = False
) -> datetime | None:
    """A date with an optional time (2027-03-31 23:59, 31.03.2027 18:00); None if it is none.

    A date alone means its first minute, or its last one with END_OF_DAY (a closing date).
    ISO_ONLY (files) accepts 2027-03-31T23:59 alone, the time required. The result has no time
    zone: the caller knows whose clock it is.
    """
    match = _WITH_TIME.fullmatch(text.strip())
    if match is None:
        return None
    written_date, hour, minute, second = match.groups()
    day = parse_date(written_date, iso_only=iso_only)
    if day is None or (iso_only and (hour is None or len(hour) != 2)):
        return None
    if hour is None:
        hour, minute, second = ("23", "59", None) if end_of_day else ("0", "0", None)
    try:
        return datetime(day.year, day.month, day.day, int(hour), int(minute), int(second or 0))
    except ValueError:
        return None


_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def _domain(host: str) -> str | None:
    """HOST lower-cased if it is a public domain name (IDN allowed, dotted, real TLD)."""
    host = host.lower()
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or len(labels) < 2:
        return None
    if not all(_LABEL.fullmatch(label) for label in labels):
        return None
    tld = labels[-1]
    if not (tld.isalpha() and len(tld) >= 2) and not tld.startswith("xn--"):
        return None
    return host


def normalise_email(text: str) -> str | None:
    """TEXT as an e-mail address with a lower-case domain, or None if it is not one."""
    text = text.strip()
    if len(text) > 254 or text.count("@") != 1:
        return None
    local, host = text.split("@")
    if len(local) > 64 or not _EMAIL_LOCAL.fullmatch(local):
        return None
    domain = _domain(host)
    return f"{local}@{domain}" if domain else None


_NATIONAL_DIGITS: Final = {"370": 8, "371": 8}


def normalise_phone(text: str) -> str | None:
    """TEXT as an E.164 number (+37061234567); None if it is not one, '' if the country is unclear.

    Lithuanian numbers may be written nationally with the trunk prefix 8 or 0 (8 612 34567),
    Latvian mobile numbers without a prefix (2012 3456); any other number needs its country code.
    """
    text = text.strip()
    if not re.fullmatch(r"\+?[\d\s().\-/]+", text) or text.count("+") > 1:
        return None
    digits = re.sub(r"\D", "", text)
    if text.startswith("+"):
        number = digits
    elif digits.startswith("00"):
        number = digits[2:]
    elif len(digits) == 9 and digits[0] in "80":
        number = "370" + digits[1:]
    elif len(digits) == 8 and digits[0] == "2":
        number = "371" + digits
    elif len(digits) == 8:
        return ""
    else:
        return None
    country = number[:3]
    if country in _NATIONAL_DIGITS:
        rest = number[3:]
        # "+370 8 612 34567": the national trunk prefix kept by mistake.
        if country == "370" and len(rest) == 9 and rest[0] in "80":
            rest = rest[1:]
        if len(rest) != _NATIONAL_DIGITS[country] or rest[0] == "0":
            return None
        return f"+{country}{rest}"
    if not 8 <= len(number) <= 15 or number[0] == "0":
        return None
    return "+" + number


def normalise_url(text: str) -> str | None:
    """TEXT as an http(s) URL ('3sektorius.lt' -> 'https://3sektorius.lt').

    None if it is not a web address, '' if it has another scheme (javascript:, mailto:, ...).
    """
    text = text.strip()
    if not text or len(text) > 2000 or any(ch.isspace() or not ch.isprintable() for ch in text):
        return None
    scheme_match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", text)
    if "://" in text:
        scheme = text.split("://", 1)[0].lower()
        if scheme not in ("http", "https"):
            return ""
    elif scheme_match and not re.match(r"[A-Za-z][A-Za-z0-9+.-]*:\d", text):
        return ""  # "javascript:alert(1)", "mailto:x@y.lt"; "example.lt:8080" is a port
    else:
        text = "https://" + text
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        return None
    if parts.username is not None or parts.password is not None or not parts.hostname:
        return None
    host = _domain(parts.hostname)
    if host is None:
        return None
    netloc = host if port is None else f"{host}:{port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment))


def normalise_contact(text: str) -> str | None:
    """A way to reach someone: an e-mail address, a phone number or a web address, normalised;
    None if TEXT is none of these."""
    text = text.strip()
    if "@" in text:
        return normalise_email(text)
    phone = normalise_phone(text)
    if phone:
        return phone
    return normalise_url(text) or None
