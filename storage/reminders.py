"""Planning reminders into the outbox: for one chat when its subscriptions change, and for
every call when calls change or time moves on.

Messages are stored `AHEAD` of time (an hour): a reminder further away is stored by a later
planning run, once it comes within that window. Subscribing to "all calls" would otherwise
store a row for every reminder of every call at once. Planning again is harmless (keys are
unique), so the bot plans at start, every few minutes, and whenever a call or a subscription
changes, each time in the transaction of that change.

`CallSchedule` remembers each call's dates as last planned: a deadline moved (from /calls, by
/reload, or in the YAML while the bot was down) cancels the unsent reminders about the old one
and brings every subscriber one "deadline changed" notice; a call gone from the pack or the
database has its unsent messages cancelled.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from knowledge.municipalities import MunicipalityDirectory
from knowledge.pack import Call
from knowledge.reminders import (
    CALL_PURPOSES,
    MOVED,
    OPENED,
    REMINDER,
    Offset,
    Planned,
    Subscriber,
    moved_notice,
    plan,
    zone_of,
)
from storage import outbox
from storage.models import CallSchedule, GroupChat, Member, Subscription
from storage.subscriptions import ALL, mute_target, subscribed_since

# Messages due within this window are stored now; later ones by a later run.
AHEAD: Final = timedelta(hours=1)
# A call is looked at when any of its messages falls this close to the window (a day's
# reminder moves by an hour with the clocks).
MARGIN: Final = timedelta(minutes=90)


@dataclass(frozen=True)
class Rules:
    """What planning needs besides the calls: the offsets and the recipients' clocks."""

    offsets: Sequence[Offset]
    municipalities: MunicipalityDirectory
    default_zone: str

    def zone(self, municipality_id: str | None) -> ZoneInfo:
        """The clock of a chat in MUNICIPALITY_ID."""
        return zone_of(municipality_id, self.municipalities, self.default_zone)


@dataclass
class Report:
    """What a planning run did."""

    calls: int = 0
    planned: int = 0
    cancelled: int = 0
    moved: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


async def chat_zones(
    session: AsyncSession, chat_ids: Iterable[int], rules: Rules
) -> dict[int, ZoneInfo]:
    """The clock of each chat (a member's or group's municipality; the default otherwise)."""
    wanted = set(chat_ids)
    zones = {chat_id: rules.zone(None) for chat_id in wanted}
    people = [chat_id for chat_id in wanted if chat_id > 0]
    groups = [chat_id for chat_id in wanted if chat_id < 0]
    for table, ids in ((Member, people), (GroupChat, groups)):
        for start in range(0, len(ids), outbox.INSERT_BATCH):
            chunk = ids[start : start + outbox.INSERT_BATCH]
            result = await session.execute(
                select(col(table.id), col(table.municipality)).where(col(table.id).in_(chunk))
            )
            for chat_id, municipality in result.all():
                zones[chat_id] = rules.zone(municipality)
    return zones


async def plan_chat(
    session: AsyncSession,
    *,
    chat_id: int,
    calls: Iterable[Call],
    rules: Rules,
    now: datetime,
) -> int:
    """After CHAT_ID's subscriptions changed: store what it is owed within the window, cancel
    what it no longer wants. The number of messages stored."""
    subscriptions = await _of_chat(session, chat_id)
    calls = list(calls)
    zone = (await chat_zones(session, [chat_id], rules))[chat_id]
    schedules = await _schedules(session)
    planned: list[Planned] = []
    wanted: set[str] = set()
    for call in calls:
        since = subscribed_since(subscriptions, call)
        if since is None:
            continue
        wanted.add(call.id)
        known_since = schedules[call.id].known_since if call.id in schedules else now
        planned += plan(
            call,
            Subscriber(chat_id, since, zone),
            rules.offsets,
            known_since=known_since,
            now=now,
            until=now + AHEAD,
        )
    unwanted = [
        row.id
        for row in await outbox.pending_of_chat(session, chat_id=chat_id, purposes=CALL_PURPOSES)
        if row.subject not in wanted and row.id is not None
    ]
    await outbox.cancel_rows(session, unwanted)
    return await outbox.enqueue(session, planned)


async def plan_calls(
    session: AsyncSession,
    calls: Iterable[Call],
    rules: Rules,
    *,
    now: datetime,
) -> Report:
    """Bring the outbox in line with CALLS (every call known now) at NOW.

    New calls are recorded; a moved deadline brings each subscriber a notice and re-planned
    reminders; calls gone have their unsent messages cancelled; then every message falling due
    since the last run, up to the window's end, is stored (all of them after a downtime).
    """
    report = Report()
    current = {call.id: call for call in calls}
    schedules = await _schedules(session)
    report.removed = sorted(schedules.keys() - current.keys())
    for call_id in report.removed:
        report.cancelled += await outbox.cancel(session, subject=call_id, purposes=CALL_PURPOSES)
        del schedules[call_id]
    if report.removed:
        await session.execute(
            delete(CallSchedule).where(col(CallSchedule.call_id).in_(report.removed))
        )
    until = now + AHEAD
    subscribers = _Subscribers(await _every_subscription(session))
    # Nothing falling due before the earliest subscription is owed to anyone.
    earliest = subscribers.earliest or now
    zones = await chat_zones(session, subscribers.chats, rules)
    planned: list[Planned] = []
    for call in current.values():
        schedule = schedules.get(call.id)
        if schedule is None:
            schedule = CallSchedule(
                call_id=call.id, opens=call.opens, closes=call.closes, known_since=now
            )
            session.add(schedule)
        moved = schedule.closes != call.closes
        if moved or schedule.opens != call.opens:
            if moved:
                report.moved.append(call.id)
                report.cancelled += await outbox.cancel(
                    session, subject=call.id, purposes=(REMINDER, MOVED)
                )
            if schedule.opens != call.opens:
                report.cancelled += await outbox.cancel(
                    session, subject=call.id, purposes=(OPENED,)
                )
            schedule.opens, schedule.closes, schedule.planned_until = call.opens, call.closes, None
        notify = moved and call.closes > now
        after = max(schedule.planned_until or earliest, earliest)
        if not notify and not _falls_due(call, rules.offsets, schedule, after, now, until):
            schedule.planned_until = until
            continue
        report.calls += 1
        for chat_id, since in subscribers.of(call).items():
            if notify:
                planned.append(moved_notice(call, chat_id, now))
                # What the notice says replaces the reminders of the new deadline due by now.
                since = max(since, now)
            planned += plan(
                call,
                Subscriber(chat_id, since, zones[chat_id]),
                rules.offsets,
                known_since=schedule.known_since,
                now=now,
                until=until,
            )
        schedule.planned_until = until
    await session.flush()
    report.planned = await outbox.enqueue(session, planned)
    return report


def _falls_due(
    call: Call,
    offsets: Sequence[Offset],
    schedule: CallSchedule,
    after: datetime,
    now: datetime,
    until: datetime,
) -> bool:
    """Whether a message about CALL may fall due after AFTER and by UNTIL (day offsets move by
    an hour with the clocks, hence the margin); never for a call that is over. The opening
    counts only for a call known before it opened (see `plan`)."""
    if call.closes <= now:
        return False
    moments = [call.closes - offset.duration for offset in offsets]
    if schedule.known_since < call.opens:
        moments.append(call.opens)
    return any(after - MARGIN < moment <= until + MARGIN for moment in moments)


class _Subscribers:
    """Every subscription, arranged to find a call's subscribers quickly."""

    def __init__(self, subscriptions: Sequence[Subscription]) -> None:
        self._by_chat: dict[int, list[Subscription]] = defaultdict(list)
        self._by_target: dict[str, set[int]] = defaultdict(set)
        self._municipal: set[int] = set()
        self.earliest: datetime | None = None
        for subscription in subscriptions:
            if self.earliest is None or subscription.created_at < self.earliest:
                self.earliest = subscription.created_at
            self._by_chat[subscription.chat_id].append(subscription)
            self._by_target[subscription.target].add(subscription.chat_id)
            if subscription.target.startswith("municipality:"):
                self._municipal.add(subscription.chat_id)

    @property
    def chats(self) -> set[int]:
        """Every chat with a subscription."""
        return set(self._by_chat)

    def of(self, call: Call) -> dict[int, datetime]:
        """The chats that want reminders about CALL, and since when."""
        candidates = set(self._by_target.get(f"call:{call.id}", ())) | self._by_target.get(
            ALL, set()
        )
        if call.municipalities:
            for municipality in call.municipalities:
                candidates |= self._by_target.get(f"municipality:{municipality}", set())
        else:
            candidates |= self._municipal
        candidates -= self._by_target.get(mute_target(call.id), set())
        found: dict[int, datetime] = {}
        for chat_id in candidates:
            since = subscribed_since(self._by_chat[chat_id], call)
            if since is not None:
                found[chat_id] = since
        return found


async def _schedules(session: AsyncSession) -> dict[str, CallSchedule]:
    result = await session.execute(select(CallSchedule))
    return {row.call_id: row for row in result.scalars()}


async def _every_subscription(session: AsyncSession) -> Sequence[Subscription]:
    return (await session.execute(select(Subscription))).scalars().all()


async def _of_chat(session: AsyncSession, chat_id: int) -> list[Subscription]:
    result = await session.execute(select(Subscription).where(col(Subscription.chat_id) == chat_id))
    return list(result.scalars())
