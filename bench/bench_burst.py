"""Many members writing at the same moment: how long each waits for the real bot's reply.

The real `civicbot run` process (SQLite, and PostgreSQL when POSTGRES_TEST_URL is set) and a
bare aiogram echo bot (bench/echo_bot.py) take turns against one fake Bot API server on
127.0.0.1 (tests/e2e/fake_telegram.py). For each burst size N, N new members each send one
message at the same moment (questions in lt, lv and en from the evaluation set, and /help);
the server notes when each member's reply arrives. Each size is measured twice: members writing
for the first time (the bot creates them), then the same members again (as after an
announcement). Printed per bot and size: the time until the last reply (drain), per-member
latency p50 / p95 / max, and both as ratios to the echo bot of the same run.

The bots take turns `--rounds` times (each round on a fresh database) and each figure is the
median of its rounds: on a shared machine one round alone can be off by a third.

Run: `python -m bench.bench_burst` (or `make bench`). `--bot-root DIR` runs civicbot from
another checkout (to measure an earlier version the same way).
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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.e2e.fake_telegram import FakeTelegram

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123:BENCH"
SIZES = (300, 1000)
ROUNDS = 3
EVAL_QUESTIONS = ROOT / "tests" / "knowledge" / "eval_questions.yaml"
WARM_UP = 20
REPLY_TIMEOUT = 300.0


@dataclass(frozen=True)
class Burst:
    """What one burst measured, in seconds: members writing first, or again."""

    members: int
    known: bool
    drain: float
    p50: float
    p95: float
    worst: float


def questions() -> list[tuple[str, str]]:
    """(language, text) of in-scope evaluation questions, with /help every fourth member."""
    records = yaml.safe_load(EVAL_QUESTIONS.read_text(encoding="utf-8"))
    asked = [(r["lang"], str(r["q"])) for r in records if r.get("expect")]
    mixed: list[tuple[str, str]] = []
    for number, (lang, text) in enumerate(asked):
        mixed.append((lang, "/help" if number % 4 == 3 else text))
    return mixed


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def burst(telegram: FakeTelegram, first_id: int, members: int, *, known: bool) -> Burst:
    """MEMBERS people write at once (KNOWN: they wrote before); wait until each has a reply."""
    asked = questions()
    chats = list(range(first_id, first_id + members))
    already = len(telegram.requests)
    started = time.monotonic()
    for number, chat_id in enumerate(chats):
        lang, text = asked[number % len(asked)]
        telegram.send_text(telegram.user(chat_id, f"M{chat_id}", language_code=lang), text)
    replied: dict[int, float] = {}
    deadline = started + REPLY_TIMEOUT
    wanted = set(chats)
    while len(replied) < members:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(replied)} of {members} members got a reply")
        for request in telegram.requests[already:]:
            if request.method == "sendMessage" and request.status == 200:
                chat_id = int(request.chat_id)
                if chat_id in wanted and chat_id not in replied:
                    replied[chat_id] = request.at
        already = len(telegram.requests)
        await asyncio.sleep(0.02)
    waits = [at - started for at in replied.values()]
    return Burst(
        members, known, max(waits), statistics.median(waits), percentile(waits, 0.95), max(waits)
    )


async def run_bot(
    label: str,
    command: list[str],
    env: dict[str, str],
    telegram: FakeTelegram,
    sizes: Sequence[int],
    first_id: int,
    workdir: Path,
) -> list[Burst]:
    """Start a bot process, warm it up, measure each burst size, stop it."""
    log = (workdir / f"{label.replace(' ', '-')}.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        *command, cwd=workdir, env=env, stdout=log, stderr=log
    )
    try:
        await telegram.wait_for("deleteWebhook", timeout=120)
        await burst(telegram, first_id, WARM_UP, known=False)  # imports, first connections
        results = []
        for number, size in enumerate(sizes, start=1):
            for known in (False, True):  # first contacts, then the same members again
                results.append(await burst(telegram, first_id + number * 10_000, size, known=known))
                await asyncio.sleep(1)
        return results
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 60)
        except TimeoutError:
            process.kill()
            await process.wait()
        log.close()


async def fresh_postgresql(url: str) -> None:
    """Empty the test database, so civicbot migrates it from scratch."""
    import asyncpg  # type: ignore[import-untyped]

    plain = url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(plain)
    try:
        await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await connection.close()


async def main(sizes: Sequence[int], bot_root: Path, databases: Sequence[str], rounds: int) -> None:
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TZ", "MAX_CONCURRENT_UPDATES"}
    base = {name: value for name, value in os.environ.items() if name in keep}
    python = sys.executable
    measured: dict[str, list[Burst]] = {}
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        async with FakeTelegram(bot_id=123) as telegram:
            env = base | {
                "BOT_TOKEN": TOKEN,
                "TELEGRAM_API_URL": telegram.url,
                "PYTHONPATH": str(ROOT),
            }
            for round_number in range(1, rounds + 1):
                echo_bot = [python, "-m", "bench.echo_bot"]
                echoed = await run_bot("echo", echo_bot, env, telegram, sizes, 100_000, workdir)
                measured.setdefault("aiogram echo", []).extend(echoed)
                for number, database in enumerate(databases, start=1):
                    if database == "postgresql":
                        url = os.environ.get("POSTGRES_TEST_URL")
                        if not url:
                            print("PostgreSQL skipped: set POSTGRES_TEST_URL (see .ci/services.sh)")
                            continue
                        await fresh_postgresql(url)
                    else:
                        url = f"sqlite+aiosqlite:///{workdir / f'bench-{round_number}-{number}.db'}"
                    bot_env = env | {"DATABASE_URL": url, "PYTHONPATH": str(bot_root)}
                    profile = os.environ.get("BENCH_PROFILE")  # a file for cProfile's statistics
                    profiler = ["-m", "cProfile", "-o", f"{profile}.{database}"] if profile else []
                    label = f"civicbot {database}"
                    results = await run_bot(
                        label,
                        [python, *profiler, "-m", "bot", "run"],
                        bot_env,
                        telegram,
                        sizes,
                        number * 1_000_000,
                        workdir,
                    )
                    measured.setdefault(label, []).extend(results)
    rows = [
        (label, median_burst([r for r in bursts if (r.members, r.known) == (size, known)]))
        for label, bursts in measured.items()
        for size in sizes
        for known in (False, True)
    ]
    echo = {(r.members, r.known): r for label, r in rows if label == "aiogram echo"}
    print(f"median of {rounds} round(s)")
    print(
        f"{'members':>7}  {'writing':<8}{'bot':<20}{'drain s':>9}{'p50 s':>8}{'p95 s':>8}"
        f"{'max s':>8}{'drain/echo':>12}{'p95/echo':>10}"
    )
    order = sorted(rows, key=lambda row: (row[1].members, row[1].known, row[0] != "aiogram echo"))
    for label, result in order:
        yardstick = echo[(result.members, result.known)]
        writing = "again" if result.known else "first"
        print(
            f"{result.members:>7}  {writing:<8}{label:<20}{result.drain:>9.2f}{result.p50:>8.2f}"
            f"{result.p95:>8.2f}{result.worst:>8.2f}"
            f"{result.drain / yardstick.drain:>12.2f}{result.p95 / yardstick.p95:>10.2f}"
        )
    sys.stdout.flush()


def median_burst(bursts: Sequence[Burst]) -> Burst:
    """Each figure of BURSTS (the same size and kind, one per round) at its median."""
    first = bursts[0]
    return Burst(
        first.members,
        first.known,
        statistics.median(b.drain for b in bursts),
        statistics.median(b.p50 for b in bursts),
        statistics.median(b.p95 for b in bursts),
        statistics.median(b.worst for b in bursts),
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--bot-root", type=Path, default=ROOT, help="checkout to run civicbot from")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="figures are their median")
    arguments = parser.parse_args()
    asyncio.run(
        main(arguments.members, arguments.bot_root.resolve(), arguments.databases, arguments.rounds)
    )
