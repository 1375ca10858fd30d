"""An announcement to 10,000 members through the real `civicbot run` process, with 429s.

The members are written into a fresh SQLite database (10,000 in Vilnius, the audience; 200 in
Kaunas, who keep writing to the bot). The coordinator composes the announcement through the
fake Bot API (tests/e2e/fake_telegram.py) as a person would: /broadcast, a version, the
audience typed ("Vilnius"), Send now, Confirm. Three 429s (retry after 3 s) are injected on
recipients sent after the reply-time measurement. Measured, in one run:

- time to fix the audience: from the Confirm press to the report message (the audience worked
  out, 10,000 outbox rows written, committed);
- the achieved sending rate outside the forced pauses, divided by the Sender's cap (25/s):
  successful sends / (time from the first to the last send minus the 429 pauses);
- the process's resident memory when the delivery starts, half way, and at the end;
- the reply time of the Kaunas members (10 a second, each one question, p50 / p95) before the
  announcement and while it is being sent (the 429s come after that: a 429 rightly holds
  replies too).

Run: `python -m bench.bench_broadcast` (or `make bench`); `--recipients N` for another size.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from bench.bench_reminders import rss_mb
from storage.db import create_engine, create_sessionmaker, upgrade
from storage.models import Member
from tests.e2e.conftest import data, said
from tests.e2e.fake_telegram import ApiRequest, FakeTelegram, retry_after

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123:BENCH"
COORDINATOR = 42
CAP = 25.0
PAUSE = 3
WRITERS = 200
WRITES_PER_SECOND = 10
MARKER = "BENCH-ANNOUNCEMENT"
FIRST_RECIPIENT = 1_000_001
FIRST_WRITER = 2_000_001


async def seed(url: str, recipients: int) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    now = datetime.now(UTC)
    people = [
        (FIRST_RECIPIENT + number, ("lt", "lv", "en")[number % 3], "vilnius-city")
        for number in range(recipients)
    ] + [(FIRST_WRITER + number, "en", "kaunas-city") for number in range(WRITERS)]
    async with create_sessionmaker(engine)() as session:
        for start in range(0, len(people), 5_000):
            await session.execute(
                insert(Member),
                [
                    {
                        "id": member_id,
                        "name": f"Member {member_id}",
                        "language": lang,
                        "municipality": place,
                        "role": "member",
                        "consent_at": now,
                        "consent_version": "profile-1",
                        "reachable": True,
                        "help_open": False,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for member_id, lang, place in people[start : start + 5_000]
                ],
            )
        await session.commit()
    await engine.dispose()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def replies(telegram: FakeTelegram, seconds: float) -> list[float]:
    """Kaunas members ask one question each, WRITES_PER_SECOND a second, for SECONDS; the
    time each waited for the bot's reply."""
    asked: dict[int, float] = {}
    writers = [FIRST_WRITER + number for number in range(WRITERS)]
    start = time.monotonic()
    number = 0
    while time.monotonic() - start < seconds:
        chat_id = writers[number % WRITERS]
        if chat_id not in asked:
            telegram.send_text(telegram.user(chat_id, "Writer", "en"), "When does the call close?")
            asked[chat_id] = time.monotonic()
        number += 1
        await asyncio.sleep(1 / WRITES_PER_SECOND)
    answered: dict[int, float] = {}
    deadline = time.monotonic() + 60
    while len(answered) < len(asked) and time.monotonic() < deadline:
        for request in telegram.calls("sendMessage"):
            chat_id = int(request.chat_id) if str(request.chat_id).isdigit() else 0
            fresh = chat_id in asked and chat_id not in answered and request.status == 200
            if fresh and request.at >= asked[chat_id]:
                answered[chat_id] = request.at
        await asyncio.sleep(0.1)
    for chat_id in asked:  # the next round asks again
        telegram.user(chat_id, "Writer", "en")
    return [answered[chat_id] - asked[chat_id] for chat_id in answered]


def announcement_sends(telegram: FakeTelegram) -> list[ApiRequest]:
    return [
        request
        for request in telegram.calls("sendMessage")
        if MARKER in str(request.params.get("text")) and str(request.chat_id) != str(COORDINATOR)
    ]


async def main(recipients: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        await seed(url, recipients)
        async with FakeTelegram(bot_id=123) as telegram:
            keep = {"PATH", "HOME", "LANG", "LC_ALL", "TZ"}
            env = {name: value for name, value in os.environ.items() if name in keep} | {
                "BOT_TOKEN": TOKEN,
                "TELEGRAM_API_URL": telegram.url,
                "DATABASE_URL": url,
                "COORDINATOR_IDS": str(COORDINATOR),
                "DEFAULT_LOCALE": "lt",
                "PYTHONPATH": str(ROOT),
            }
            log = (workdir / "bot.log").open("wb")
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", env=env, stdout=log, stderr=log, cwd=workdir
            )
            try:
                await telegram.wait_for("deleteWebhook", timeout=60)
                quiet = await replies(telegram, 10)
                rasa = telegram.user(COORDINATOR, "Rasa", "en")
                telegram.send_text(rasa, "/broadcast")
                step = await said(telegram, COORDINATOR, "New announcement")
                telegram.press(rasa, step, data(step, "Lithuanian"))
                await said(telegram, COORDINATOR, "version: a text")
                telegram.send_text(rasa, f"Visuotinis susirinkimas, {MARKER}")
                step = await said(telegram, COORDINATOR, "version is added")
                telegram.press(rasa, step, data(step, "Next: the audience"))
                await said(telegram, COORDINATOR, "It reaches now", timeout=120)
                telegram.send_text(rasa, "Vilnius")
                step = await said(telegram, COORDINATOR, "Choose the municipality")
                telegram.press(rasa, step, data(step, "Vilnius city"))
                step = await said(telegram, COORDINATOR, f"{recipients} members", timeout=120)
                telegram.press(rasa, step, data(step, "Next: when to send"))
                step = await said(telegram, COORDINATOR, "When should it be sent?")
                telegram.press(rasa, step, data(step, "Send now"))
                summary = await said(telegram, COORDINATOR, "It reaches now", timeout=120)
                pressed = time.monotonic()
                telegram.press(rasa, summary, data(summary, "✅ Confirm"))
                report = await telegram.wait_for(
                    chat_id=COORDINATOR,
                    predicate=lambda r: "sending to" in str(r.params.get("text")),
                    timeout=300,
                )
                fixed = report.at - pressed
                memory = [rss_mb(process.pid)]
                busy = await replies(telegram, 10)
                # Then three 429s, on recipients a little further on (sent in id order).
                done = sum(1 for r in announcement_sends(telegram) if r.status == 200)
                ahead = [done + step for step in (50, 150, 250) if done + step < recipients]
                for position in ahead:
                    victim = FIRST_RECIPIENT + position
                    telegram.inject("sendMessage", retry_after(PAUSE), chat_id=victim)
                deadline = time.monotonic() + recipients / CAP * 3 + 120
                while True:
                    done = sum(1 for r in announcement_sends(telegram) if r.status == 200)
                    if len(memory) == 1 and done >= recipients // 2:
                        memory.append(rss_mb(process.pid))
                    if done >= recipients or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.5)
                memory.append(rss_mb(process.pid))
            finally:
                process.send_signal(signal.SIGTERM)
                await process.wait()
                log.close()
        sends = announcement_sends(telegram)
        good = [r.at for r in sends if r.status == 200]
        pauses = [r.at for r in sends if r.status == 429]
        span = max(good) - min(good)
        active = span - PAUSE * len(pauses)
        rate = len(good) / active
        print(
            f"announcement to {recipients:,} members: sent {len(good):,}, 429s {len(pauses)} "
            f"({PAUSE} s each), {span:.1f} s from first to last"
        )
        print(
            f"  time to fix the audience (Confirm -> report): {fixed:.2f} s; "
            f"rate outside pauses {rate:.2f}/s = {rate / CAP:.3f} of the cap ({CAP:.0f}/s)"
        )
        print(
            "  bot RSS at start / half / end: " + " / ".join(f"{value:.0f} MB" for value in memory)
        )
        print(
            f"  reply time, {WRITES_PER_SECOND} questions/s: without a broadcast "
            f"p50 {statistics.median(quiet):.3f} s p95 {percentile(quiet, 0.95):.3f} s; during "
            f"p50 {statistics.median(busy):.3f} s p95 {percentile(busy, 0.95):.3f} s "
            f"({len(quiet)} and {len(busy)} replies)"
        )
        sys.stdout.flush()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    asyncio.run(main(parser.parse_args().recipients))
