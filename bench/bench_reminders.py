"""Reminders at scale: planning 1,000 calls for 10,000 subscriptions, finding due rows, and how
late reminders arrive when 1,000 fall due within one minute.

1. Planning (in this process, SQLite, and PostgreSQL when POSTGRES_TEST_URL is set): 1,000
   calls closing over the next 90 days (a fifth of them open to every municipality) and 10,000
   subscriptions of 5,000 members (7,000 to one call, 3,000 to a municipality). Timed: the
   planning run at start (nothing planned yet), the next periodic run, and the query a drainer
   tick makes (due rows, none due) with every planned row in the table. Memory: this process's
   resident size before and after.
2. Lateness (the real `civicbot run` process against the fake Bot API, SQLite): 1,000 members,
   each following one of ten calls whose one-minute reminders (REMINDER_OFFSETS=1m) fall due
   six seconds apart, all within one minute; then 1,000 falling due at the same second. For each
   reminder: its arrival at the server minus its due time (p50, p95, max), and the process's
   resident size before and after.

Run: `python -m bench.bench_reminders` (or `make bench`).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

from knowledge.municipalities import load_municipalities
from knowledge.pack import Call
from knowledge.reminders import parse_offsets
from knowledge.text import LANGUAGES
from storage import outbox
from storage.db import create_engine, create_sessionmaker, upgrade
from storage.models import Member, Subscription
from storage.reminders import Rules, plan_calls
from tests.e2e.fake_telegram import ApiRequest, FakeTelegram
from tests.e2e.test_reminders_e2e import write_pack

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123:BENCH"
CALLS, MEMBERS, CALL_SUBSCRIPTIONS, MUNICIPALITY_SUBSCRIPTIONS = 1_000, 5_000, 7_000, 3_000
TICKS = 200


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_calls(now: datetime, municipality_ids: Sequence[str], rng: random.Random) -> list[Call]:
    calls = []
    for number in range(CALLS):
        closes = now + timedelta(hours=12) + timedelta(seconds=rng.uniform(0, 90 * 86_400))
        everywhere = rng.random() < 0.2
        places = () if everywhere else tuple(rng.sample(list(municipality_ids), rng.randint(1, 3)))
        texts = dict.fromkeys(LANGUAGES, f"Call {number}")
        calls.append(
            Call(
                id=f"call-{number}",
                title=texts,
                programme=texts,
                funder=texts,
                opens=closes - timedelta(days=rng.choice((20, 45, 120))),
                closes=closes,
                timezone="Europe/Vilnius",
                who_may_apply=texts,
                municipalities=places,
                contact="info@example.org",
                link="",
            )
        )
    return calls


async def bench_planning(url: str, label: str, *, downtime: bool) -> None:
    """Plan 1,000 calls for 10,000 subscriptions; DOWNTIME: the subscriptions are 200 days
    old and nothing was planned, as after a long outage (every overdue reminder is owed)."""
    rng = random.Random(7)
    municipalities = load_municipalities()
    municipality_ids = [m.id for m in municipalities]
    now = datetime.now(UTC)
    calls = make_calls(now, municipality_ids, rng)
    engine = create_engine(url, pool_size=4)
    await upgrade(engine)
    sessionmaker = create_sessionmaker(engine)
    since = now - (timedelta(days=200) if downtime else timedelta(minutes=1))
    async with sessionmaker() as session:
        await session.execute(
            insert(Member),
            [
                {
                    "id": member,
                    "name": f"Member {member}",
                    "municipality": rng.choice(municipality_ids),
                    "role": "member",
                    "reachable": True,
                    "created_at": since,
                    "updated_at": since,
                }
                for member in range(1, MEMBERS + 1)
            ],
        )
        pairs: set[tuple[int, str]] = set()
        while len(pairs) < CALL_SUBSCRIPTIONS:
            pairs.add((rng.randint(1, MEMBERS), f"call:call-{rng.randrange(CALLS)}"))
        while len(pairs) < CALL_SUBSCRIPTIONS + MUNICIPALITY_SUBSCRIPTIONS:
            pairs.add((rng.randint(1, MEMBERS), f"municipality:{rng.choice(municipality_ids)}"))
        await session.execute(
            insert(Subscription),
            [{"chat_id": chat, "target": target, "created_at": since} for chat, target in pairs],
        )
        await session.commit()
    rules = Rules(parse_offsets("7d,1d,2h"), municipalities, "Europe/Vilnius")
    memory_before = rss_mb()
    async with sessionmaker() as session:
        started = time.perf_counter()
        report = await plan_calls(session, calls, rules, now=now)
        await session.commit()
        first = time.perf_counter() - started
    async with sessionmaker() as session:
        started = time.perf_counter()
        await plan_calls(session, calls, rules, now=now + timedelta(minutes=5))
        await session.commit()
        second = time.perf_counter() - started
    async with sessionmaker() as session:
        total = (await session.execute(text("SELECT count(*) FROM outbox"))).scalar_one()
        started = time.perf_counter()
        for _ in range(TICKS):
            assert await outbox.claim_due(session, now=now - timedelta(days=60), limit=100) == []
        tick = (time.perf_counter() - started) / TICKS
        await session.rollback()
    memory_after = rss_mb()
    await engine.dispose()
    shape = "after downtime" if downtime else "fresh"
    print(
        f"{label:<11} {shape:<15} plan at start {first:6.2f} s ({report.calls} calls with "
        f"messages due, {report.planned} rows stored)  next run {second:5.2f} s  "
        f"tick query {tick * 1000:5.2f} ms over {total} rows  "
        f"RSS {memory_before:.0f} -> {memory_after:.0f} MB"
    )


async def bench_lateness(spread: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        database = workdir / "bench.db"
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=20)
        # Ten calls whose one-minute reminders fall due 6 s apart (or all at once).
        dues = [start + timedelta(seconds=6 * k if spread else 0) for k in range(10)]
        write_pack(
            workdir / "pack",
            [
                (f"call-{k}", f"Call {k}", start - timedelta(days=2), due + timedelta(minutes=1))
                for k, due in enumerate(dues)
            ],
        )
        url = f"sqlite+aiosqlite:///{database}"
        engine = create_engine(url)
        await upgrade(engine)
        since = start - timedelta(days=1)
        async with create_sessionmaker(engine)() as session:
            await session.execute(
                insert(Member),
                [
                    {
                        "id": member,
                        "name": f"Member {member}",
                        "language": "lt",
                        "role": "member",
                        "reachable": True,
                        "created_at": since,
                        "updated_at": since,
                    }
                    for member in range(1, 1001)
                ],
            )
            await session.execute(
                insert(Subscription),
                [
                    {"chat_id": member, "target": f"call:call-{member % 10}", "created_at": since}
                    for member in range(1, 1001)
                ],
            )
            await session.commit()
        await engine.dispose()
        async with FakeTelegram(bot_id=123) as telegram:
            keep = {"PATH", "HOME", "LANG", "LC_ALL", "TZ"}
            env = {name: value for name, value in os.environ.items() if name in keep} | {
                "BOT_TOKEN": TOKEN,
                "TELEGRAM_API_URL": telegram.url,
                "DATABASE_URL": url,
                "KNOWLEDGE_DIR": str(workdir / "pack"),
                "REMINDER_OFFSETS": "1m",
                "PYTHONPATH": str(ROOT),
            }
            log = (workdir / "bot.log").open("wb")
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", env=env, stdout=log, stderr=log, cwd=workdir
            )
            try:
                await telegram.wait_for("deleteWebhook", timeout=60)
                await asyncio.sleep(max(0.0, start.timestamp() - time.time() - 2))
                memory_before = rss_mb(process.pid)
                # Wall-clock arrival of each request: the server notes monotonic time.
                offset = time.time() - time.monotonic()
                deadline = time.monotonic() + 180
                while len(delivered(telegram)) < 1000 and time.monotonic() < deadline:  # noqa: ASYNC110
                    await asyncio.sleep(0.5)
                memory_after = rss_mb(process.pid)
            finally:
                process.send_signal(signal.SIGTERM)
                await process.wait()
                log.close()
        arrivals = delivered(telegram)
        late = sorted(
            request.at + offset - dues[int(request.chat_id) % 10].timestamp()
            for request in arrivals
        )
        shape = "due over one minute" if spread else "due at one second"
        quantiles = statistics.quantiles(late, n=20)
        median = statistics.median(late)
        print(
            f"lateness, 1,000 {shape:<20} delivered {len(arrivals)}: p50 {median:5.2f} s"
            f"  p95 {quantiles[18]:5.2f} s  max {late[-1]:5.2f} s  "
            f"bot RSS {memory_before:.0f} -> {memory_after:.0f} MB"
        )


def delivered(telegram: FakeTelegram) -> list[ApiRequest]:
    return [
        request
        for request in telegram.calls("sendMessage")
        if request.status == 200 and "Priminimas" in str(request.params.get("text"))
    ]


async def main() -> None:
    url = os.environ.get("POSTGRES_TEST_URL")
    for downtime in (False, True):
        with tempfile.TemporaryDirectory() as folder:
            sqlite_url = f"sqlite+aiosqlite:///{Path(folder) / 'plan.db'}"
            await bench_planning(sqlite_url, "sqlite", downtime=downtime)
        if url:
            from bench.bench_burst import fresh_postgresql

            await fresh_postgresql(url)
            await bench_planning(url, "postgresql", downtime=downtime)
    if not url:
        print("PostgreSQL skipped: set POSTGRES_TEST_URL (see .ci/services.sh)")
    await bench_lateness(spread=True)
    await bench_lateness(spread=False)
    sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main())
