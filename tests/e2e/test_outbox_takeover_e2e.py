"""Two bot processes on one PostgreSQL database (webhooks behind a proxy): only the holder of
the outbox lease sends; when it is killed the other takes over, and nothing is sent twice."""

from __future__ import annotations

import asyncio
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg  # type: ignore[import-untyped]
import pytest

from tests.e2e.conftest import BotProcess, bot_environment, data
from tests.e2e.fake_telegram import FakeTelegram, QueuedUpdate
from tests.e2e.test_reminders_e2e import message_to, sent_text, write_pack
from tests.support import service_url

pytestmark = pytest.mark.postgres


@pytest.fixture
async def database() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for the two processes; dropped afterwards."""
    base = service_url("POSTGRES_TEST_URL", "PostgreSQL")
    plain = base.replace("postgresql+asyncpg://", "postgresql://")
    name = f"civicbot_e2e_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(plain)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield base.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class WebhookBot(BotProcess):
    """A bot process taking updates on its own webhook port, as behind a proxy."""

    def __init__(self, env: dict[str, str], workdir: Path, telegram: FakeTelegram) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        env = env | {
            "WEBHOOK_URL": f"http://127.0.0.1:{self.port}/telegram",
            "WEBHOOK_PORT": str(self.port),
        }
        super().__init__(env, workdir, telegram)

    async def deliver(self, update: QueuedUpdate) -> None:
        """POST the update to this process, as Telegram (through the proxy) would."""
        url = f"http://127.0.0.1:{self.port}/telegram"
        async with (
            aiohttp.ClientSession() as client,
            client.post(url, json=update.payload) as reply,
        ):
            assert reply.status == 200, await reply.text()

    async def ready(self) -> None:
        await self.wait_for_output("webhook listening", timeout=60)


async def test_one_process_sends_and_the_other_takes_over_when_it_is_killed(
    telegram: FakeTelegram, tmp_path: Path, database: str
) -> None:
    start = datetime.now(UTC).replace(microsecond=0)
    first_deadline = start + timedelta(seconds=85)  # its reminder: 25 s after the start
    second_deadline = start + timedelta(seconds=125)  # its reminder: 65 s after the start
    write_pack(
        tmp_path / "pack",
        [
            ("first-call", "First call", start - timedelta(days=1), first_deadline),
            ("second-call", "Second call", start - timedelta(days=1), second_deadline),
        ],
    )
    env = bot_environment(tmp_path, telegram) | {
        "DATABASE_URL": database,
        "KNOWLEDGE_DIR": str(tmp_path / "pack"),
        "REMINDER_OFFSETS": "1m",
    }
    first = WebhookBot(env, tmp_path / "a", telegram)
    second = WebhookBot(env, tmp_path / "b", telegram)
    await first.start(wait=False)
    await first.ready()
    await second.start(wait=False)
    await second.ready()
    try:
        # Five members follow all calls, through the first process.
        members = [telegram.user(100 + n, f"Narys{n}", language_code="lt") for n in range(5)]
        for member in members:
            await first.deliver(telegram.send_text(member, "/remind"))
            overview = await message_to(telegram, member.id, "Kol kas negaunate")
            await first.deliver(telegram.press(member, overview, data(overview, "⬜ Visi")))
        await first.wait_for_output("this process sends the outbox now")
        assert "this process sends the outbox now" not in second.output

        # The first call's reminders come from the first process, once each.
        for member in members:
            await telegram.wait_for(
                chat_id=member.id,
                predicate=lambda r: "Priminimas: „First call LT“" in sent_text(r),
                timeout=60,
            )
        await asyncio.sleep(1)  # their sending is recorded
        killed_at = time.monotonic()
        await first.kill()
        await second.wait_for_output("this process sends the outbox now", timeout=40)
        takeover = time.monotonic() - killed_at
        assert takeover < 30, f"took {takeover:.1f} s"

        # The second call's reminders come from the second process, once each.
        for member in members:
            await telegram.wait_for(
                chat_id=member.id,
                predicate=lambda r: "Priminimas: „Second call LT“" in sent_text(r),
                timeout=90,
            )
        await asyncio.sleep(2)
    finally:
        await second.stop()
        if first._process is not None:
            await first.kill()

    for member in members:
        texts = [
            sent_text(r)
            for r in telegram.calls("sendMessage")
            if r.chat_id == member.id and r.status == 200
        ]
        assert sum("Priminimas: „First call LT“" in t for t in texts) == 1
        assert sum("Priminimas: „Second call LT“" in t for t in texts) == 1
    assert re.search(r"sends the outbox now", second.output)
    assert "Traceback" not in first.output + second.output
