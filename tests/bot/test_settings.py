"""Settings: the environment's variables, validated, with one clear line on a bad value."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.settings import Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(str(tmp_path))  # no .env from the developer's folder


def test_defaults_follow_the_product() -> None:
    settings = load_settings()
    assert settings.bot_token is None
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.database_url == "sqlite+aiosqlite:///data/civicbot.db"
    assert settings.coordinator_ids == frozenset()
    assert settings.coordinator_chat_id is None
    assert settings.default_locale == "lt"
    assert settings.timezone == "Europe/Vilnius"
    assert settings.webhook_url is None and settings.webhook_secret is None
    assert (settings.max_concurrent_updates, settings.pool_size) == (64, 68)


def test_values_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123:ABC_def-9")
    monkeypatch.setenv("COORDINATOR_IDS", " 1, 22 ,333 ")
    monkeypatch.setenv("COORDINATOR_CHAT_ID", "-100200")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db/civicbot")
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:8081/")
    monkeypatch.setenv("DEFAULT_LOCALE", "lv")
    monkeypatch.setenv("TIMEZONE", "Europe/Riga")
    monkeypatch.setenv("MAX_CONCURRENT_UPDATES", "100")
    monkeypatch.setenv("DATABASE_POOL_SIZE", "8")
    settings = load_settings()
    assert settings.bot_token is not None
    assert settings.bot_token.get_secret_value() == "123:ABC_def-9"
    assert "123:ABC" not in repr(settings) and "123:ABC" not in str(settings)
    assert settings.coordinator_ids == frozenset({1, 22, 333})
    assert settings.is_coordinator(22) and not settings.is_coordinator(2)
    assert settings.coordinator_chat_id == -100200
    assert settings.database_url == "postgresql+asyncpg://u:p@db/civicbot"
    assert settings.telegram_api_url == "http://127.0.0.1:8081"
    assert (settings.default_locale, settings.tz.key) == ("lv", "Europe/Riga")
    assert (settings.max_concurrent_updates, settings.pool_size) == (100, 8)


def test_dotenv_file_is_read(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    with open(".env", "w", encoding="utf-8") as env_file:
        env_file.write("DEFAULT_LOCALE=en\nCOORDINATOR_IDS=5\n")
    settings = load_settings()
    assert settings.default_locale == "en"
    assert settings.coordinator_ids == frozenset({5})


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("BOT_TOKEN", "not-a-token", "BOT_TOKEN: must look like"),
        ("COORDINATOR_IDS", "12,abc", "COORDINATOR_IDS: 'abc' is not a Telegram user id"),
        ("COORDINATOR_CHAT_ID", "group", "COORDINATOR_CHAT_ID:"),
        ("DEFAULT_LOCALE", "de", "DEFAULT_LOCALE:"),
        ("TIMEZONE", "Europe/Atlantis", "TIMEZONE: unknown time zone 'Europe/Atlantis'"),
        ("DATABASE_URL", "mysql://x/y", "DATABASE_URL: unsupported database 'mysql'"),
        ("DATABASE_URL", "::", "DATABASE_URL:"),
        ("TELEGRAM_API_URL", "ftp://x", "TELEGRAM_API_URL: 'ftp://x' is not an http(s) URL"),
        ("WEBHOOK_URL", "bot.example", "WEBHOOK_URL:"),
        ("WEBHOOK_SECRET", "with space", "WEBHOOK_SECRET: must be"),
        ("REDIS_URL", "localhost:6379", "REDIS_URL:"),
        ("REMINDER_OFFSETS", "7d,1week", "REMINDER_OFFSETS: '1week' is not an offset"),
        ("REMINDER_OFFSETS", "1d,24h", "REMINDER_OFFSETS: the same offset is given twice"),
        ("KNOWLEDGE_DIR", "/no/such/folder", "KNOWLEDGE_DIR: '/no/such/folder' is not a folder"),
        ("WEBHOOK_PORT", "http", "WEBHOOK_PORT:"),
        ("WEBHOOK_PORT", "70000", "WEBHOOK_PORT:"),
        ("MAX_CONCURRENT_UPDATES", "0", "MAX_CONCURRENT_UPDATES:"),
        ("DATABASE_POOL_SIZE", "many", "DATABASE_POOL_SIZE:"),
    ],
)
def test_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith(expected)
    assert "\n" not in message


def test_bad_value_stops_the_command_with_exit_code_2(tmp_path: object) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        env={"PATH": "/usr/bin:/bin", "TIMEZONE": "Nowhere/Town", "BOT_TOKEN": "1:SECRET"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "civicbot: bad setting: TIMEZONE: unknown time zone 'Nowhere/Town' (try Europe/Vilnius)"
    ]
    assert "Traceback" not in result.stderr and "SECRET" not in result.stderr
