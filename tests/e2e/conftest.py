"""End-to-end fixtures: the fake Bot API server and the real `civicbot run` process against it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.fake_telegram import ApiRequest, FakeTelegram, SentMessage

ROOT = Path(__file__).resolve().parents[2]
E2E_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here carries the `e2e` mark (`make test-fast` leaves them out)."""
    for item in items:
        if E2E_DIR in item.path.parents:
            item.add_marker(pytest.mark.e2e)


TOKEN = "123:TEST"
COORDINATOR_ID = 42


class BotProcess:
    """`python -m bot run` (what the `civicbot run` script runs) as a child process."""

    def __init__(self, env: dict[str, str], workdir: Path, telegram: FakeTelegram) -> None:
        self.env = env
        self._workdir = workdir
        self._telegram = telegram
        self._process: asyncio.subprocess.Process | None = None
        self.logs: list[str] = []
        self._log_path = workdir / "bot.log"

    async def start(self, *, wait: bool = True) -> None:
        """Start the bot; with WAIT, return once it has set itself up against the server."""
        assert self._process is None, "already running"
        log = self._log_path.open("ab")
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=self._workdir,
            env=self.env,
            stdout=log,
            stderr=log,
        )
        log.close()
        if wait:
            await self._telegram.wait_for("deleteWebhook", timeout=60)

    async def wait_for_output(self, text: str, *, count: int = 1, timeout: float = 60) -> None:
        """Wait until TEXT appears COUNT times in what the process printed."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.output.count(text) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{text!r} not printed {count} times:\n{self.output}")
            await asyncio.sleep(0.1)

    async def exited(self, timeout: float = 60) -> int:
        """Wait for the process to end by itself; its exit code."""
        assert self._process is not None, "not running"
        code = await asyncio.wait_for(self._process.wait(), timeout)
        self._process = None
        return code

    async def stop(self, timeout: float = 30) -> int:
        """SIGTERM, as a service manager would; the exit code."""
        return await self._end(signal.SIGTERM, timeout)

    async def kill(self) -> int:
        """SIGKILL: the bot dies mid-work, as on a power cut."""
        return await self._end(signal.SIGKILL, 10)

    async def _end(self, sig: signal.Signals, timeout: float) -> int:
        assert self._process is not None, "not running"
        self._process.send_signal(sig)
        code = await asyncio.wait_for(self._process.wait(), timeout)
        self._process = None
        return code

    @property
    def output(self) -> str:
        """Everything the process printed (stdout and stderr), all runs together."""
        if not self._log_path.exists():
            return ""
        return self._log_path.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    """The fake Bot API server on 127.0.0.1."""
    async with FakeTelegram(bot_id=123) as server:
        yield server


def bot_environment(workdir: Path, telegram: FakeTelegram) -> dict[str, str]:
    """The environment of a bot process: token, server, a fresh database, coordinator 42."""
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TZ"}
    env = {name: value for name, value in os.environ.items() if name in keep}
    env |= {
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": telegram.url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'civicbot.db'}",
        "COORDINATOR_IDS": str(COORDINATOR_ID),
        "DEFAULT_LOCALE": "lt",
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    return env


@pytest.fixture
def bot_env(tmp_path: Path, telegram: FakeTelegram) -> dict[str, str]:
    """The environment of the test's bot process."""
    return bot_environment(tmp_path, telegram)


@pytest.fixture
async def bot_process(
    bot_env: dict[str, str], tmp_path: Path, telegram: FakeTelegram
) -> AsyncIterator[BotProcess]:
    """The real bot, started; stopped (or killed) at the end of the test."""
    process = BotProcess(bot_env, tmp_path, telegram)
    await process.start()
    try:
        yield process
    finally:
        if process._process is not None:
            await process.kill()


# --- reading what the bot sent ------------------------------------------------------------------

# The methods by which the bot says something a test looks for.
SAYING = frozenset({"sendMessage", "sendPhoto", "sendDocument", "copyMessage"})


def text_of(request: ApiRequest) -> str:
    """The text (or caption) of a request the bot made."""
    return str(request.params.get("text") or request.params.get("caption") or "")


async def said(
    telegram: FakeTelegram, chat_id: int, contains: str, timeout: float = 20
) -> SentMessage:
    """The next message to CHAT_ID (delivered) whose text or caption contains CONTAINS."""
    request = await telegram.wait_for(
        None,
        chat_id=chat_id,
        predicate=lambda r: r.method in SAYING and r.status == 200 and contains in text_of(r),
        timeout=timeout,
    )
    assert request.message is not None, request
    return request.message


def data(message: SentMessage, label: str) -> str:
    """The callback data of the button whose label starts with LABEL."""
    for row in message.buttons:
        for text, callback in row:
            if text.startswith(label) and callback is not None:
                return callback
    raise AssertionError(f"no button {label!r} in {message.buttons}")
