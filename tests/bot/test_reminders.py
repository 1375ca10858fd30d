"""Reminders in process: planning into the outbox, catch-up, changed and removed calls,
subscribing by buttons, the drainer and its lease."""

from __future__ import annotations

from datetime import timedelta

from aiogram.methods import AnswerCallbackQuery, SendDocument, SendMessage
from sqlalchemy import select
from sqlmodel import col

from bot.app import App
from bot.outbox import Drainer
from bot.reminders import ReminderButton
from bot.sender import Sender
from storage import calls, outbox, subscriptions
from storage.models import OutboxMessage
from tests.support import Chatter, FixedClock, buttons, store_beekeeping_call

CALL = "beekeeping-grants"


async def add_call(app: App, clock: FixedClock, **changes: object) -> None:
    """A stored call (Ogre, closing in 5 days and an hour unless CHANGES say otherwise)."""
    async with app.sessionmaker() as session:
        row = await store_beekeeping_call(session, now=clock(), **changes)
        await app.reminders.calls_changed(session, [*app.knowledge.pack.calls, calls.as_call(row)])
        await session.commit()
    app.knowledge.add_calls([calls.as_call(row)])


async def subscribe(app: App, chat_id: int, target: str, clock: FixedClock) -> None:
    async with app.sessionmaker() as session:
        await subscriptions.subscribe(session, chat_id=chat_id, target=target, now=clock())
        await app.reminders.chat_changed(session, chat_id)
        await session.commit()


async def rows(app: App, chat_id: int | None = None) -> list[OutboxMessage]:
    async with app.sessionmaker() as session:
        statement = select(OutboxMessage).order_by(col(OutboxMessage.due_at))
        if chat_id is not None:
            statement = statement.where(col(OutboxMessage.chat_id) == chat_id)
        return list((await session.execute(statement)).scalars())


def summary(found: list[OutboxMessage]) -> list[tuple[str, str]]:
    return [(row.payload.get("offset") or row.purpose, row.status) for row in found]


async def drain(app: App) -> list[SendMessage]:
    """Take the lease and send what is due; the messages sent."""
    session = app.dispatcher["sender"]._bot.session
    before = len(session.requests)
    await app.drainer.keep_lease()
    assert app.drainer.is_leader
    await app.drainer.drain_once()
    return [m for m in session.requests[before:] if isinstance(m, SendMessage)]


async def test_a_subscription_plans_within_the_window_and_later_runs_plan_the_rest(
    chatter: Chatter, app: App, clock: FixedClock
) -> None:
    await chatter.send("/start")
    await add_call(app, clock, closes=clock() + timedelta(days=10))
    await subscribe(app, 7, subscriptions.call_target(CALL), clock)
    assert await rows(app, 7) == []  # the first reminder is 3 days away: beyond the window
    clock.advance(timedelta(days=3) - timedelta(minutes=30))
    await app.reminders.plan_all()
    assert summary(await rows(app, 7)) == [("7d", "pending")]
    clock.advance(timedelta(days=6))
    await app.reminders.plan_all()
    assert summary(await rows(app, 7)) == [("7d", "pending"), ("1d", "pending")]
    clock.advance(timedelta(hours=22))
    await app.reminders.plan_all()
    assert summary(await rows(app, 7)) == [("7d", "pending"), ("1d", "pending"), ("2h", "pending")]
    # Planning again changes nothing: the keys are unique.
    await app.reminders.plan_all()
    assert len(await rows(app, 7)) == 3


async def test_after_a_downtime_only_the_latest_due_reminder_is_sent_and_none_after_closing(
    chatter: Chatter, app: App, clock: FixedClock
) -> None:
    await chatter.send("/start")
    await add_call(app, clock, closes=clock() + timedelta(days=9))
    await subscribe(app, 7, subscriptions.call_target(CALL), clock)
    clock.advance(timedelta(days=2) - timedelta(minutes=30))
    await app.reminders.plan_all()
    assert summary(await rows(app, 7)) == [("7d", "pending")]
    # The bot is down from now until 3 hours before the deadline: of the 7-day and the 1-day
    # reminders, only the latest is sent (saying how long is really left).
    clock.advance(timedelta(days=7) - timedelta(hours=2, minutes=30))
    await app.reminders.plan_all()
    sent = await drain(app)
    assert len(sent) == 1
    assert "po 3 valandų" in sent[0].text
    assert summary(await rows(app, 7)) == [("7d", "skipped"), ("1d", "sent"), ("2h", "pending")]
    [skipped] = [row for row in await rows(app, 7) if row.payload.get("offset") == "7d"]
    assert skipped.error == "a later reminder is due"
    # Down again past the deadline: the 2-hour reminder is never sent.
    clock.advance(timedelta(hours=4))
    await app.reminders.plan_all()
    assert await drain(app) == []
    assert summary(await rows(app, 7))[-1] == ("2h", "skipped")
    [closed] = [row for row in await rows(app, 7) if row.payload.get("offset") == "2h"]
    assert closed.error == "the call has closed"


async def test_a_deadline_moved_later_or_earlier_replans_and_notifies_once(
    chatter: Chatter, app: App, clock: FixedClock
) -> None:
    await chatter.send("/start")
    await add_call(app, clock, closes=clock() + timedelta(days=1, minutes=30))
    await subscribe(app, 7, subscriptions.call_target(CALL), clock)
    assert summary(await rows(app, 7)) == [("1d", "pending")]

    async def move(closes_in: timedelta) -> None:
        async with app.sessionmaker() as session:
            row = await calls.set_dates(
                session, call_id=CALL, opens=clock() - timedelta(days=1), closes=clock() + closes_in
            )
            assert row is not None
            others = [c for c in app.knowledge.pack.calls if c.id != CALL]
            await app.reminders.calls_changed(session, [*others, calls.as_call(row)])
            await session.commit()
        app.knowledge.add_calls([calls.as_call(row)])

    await move(timedelta(days=10))  # extended
    assert sorted(summary(await rows(app, 7))) == [("1d", "cancelled"), ("call-moved", "pending")]
    sent = await drain(app)
    assert len(sent) == 1 and "terminas" in sent[0].text.lower()
    await move(timedelta(hours=2, minutes=30))  # brought forward: its 1-day one is overdue
    found = summary(await rows(app, 7))
    assert found.count(("call-moved", "pending")) == 1
    assert ("2h", "pending") in found
    assert ("1d", "pending") not in found  # the notice tells the news; no overdue reminder
    await app.reminders.plan_all()  # nothing more: the change was planned already
    assert summary(await rows(app, 7)) == found


async def test_a_removed_call_has_its_unsent_reminders_cancelled(
    chatter: Chatter, app: App, clock: FixedClock
) -> None:
    await chatter.send("/start")
    await add_call(app, clock, closes=clock() + timedelta(days=1, minutes=30))
    await subscribe(app, 7, subscriptions.ALL, clock)
    async with app.sessionmaker() as session:
        assert await calls.remove_call(session, call_id=CALL)
        await app.reminders.calls_changed(
            session, [c for c in app.knowledge.pack.calls if c.id != CALL]
        )
        await session.commit()
    assert {row.status for row in await rows(app, 7)} == {"cancelled"}


async def test_buttons_subscribe_stop_and_send_a_calendar_file(
    chatter: Chatter, app: App, clock: FixedClock
) -> None:
    await chatter.send("/start")
    await add_call(app, clock, closes=clock() + timedelta(days=1, minutes=30))
    [listing] = await chatter.send("/calls")
    label = next(t for t in buttons(listing) if t.startswith("🔔 Priminti: Grants for beekeeping"))
    await chatter.press(listing, label)
    assert summary(await rows(app, 7)) == [("1d", "pending")]
    # The municipality-wide subscription and the call's own both bring each reminder once.
    await subscribe(app, 7, subscriptions.municipality_target("ogre-municipality"), clock)
    assert len(await rows(app, 7)) == 1
    # "Stop reminding" under a reminder stops this call, though the municipality is followed.
    await chatter.press_data(ReminderButton(action="off", where="a", call=CALL).pack())
    assert {row.status for row in await rows(app, 7)} == {"cancelled"}
    async with app.sessionmaker() as session:
        targets = {s.target for s in await subscriptions.of_chat(session, chat_id=7)}
    assert targets == {"municipality:ogre-municipality", f"mute:{CALL}"}
    before = len(chatter.session.requests)
    await chatter.press_data(ReminderButton(action="ics", where="a", call=CALL).pack())
    [document] = [m for m in chatter.requests_since(before) if isinstance(m, SendDocument)]
    assert document.document.filename == f"{CALL}.ics"  # type: ignore[union-attr]
    # A call that is gone: told so, nothing changes.
    before = len(chatter.session.requests)
    await chatter.press_data(ReminderButton(action="on", where="a", call="no-such").pack())
    [answer] = [m for m in chatter.requests_since(before) if isinstance(m, AnswerCallbackQuery)]
    assert answer.show_alert


async def test_a_call_answer_offers_remind_me(
    chatter: Chatter, app: App, clock: FixedClock
) -> None:
    await add_call(app, clock, closes=clock() + timedelta(days=1, minutes=30))
    [reply] = await chatter.send("Grants for beekeeping clubs")
    # Asked in English, answered in English, buttons too.
    assert buttons(reply) == ["Remind me", "Add to calendar"]
    await chatter.press(reply, "Remind me")
    assert len(await rows(app, 7)) == 1


async def test_remind_lists_and_switches_subscriptions(chatter: Chatter, app: App) -> None:
    await chatter.send("/start")
    [overview] = await chatter.send("/remind")
    assert "Kol kas negaunate priminimų" in overview.text
    assert "7 dienos, 1 diena ir 2 valandos" in overview.text
    # No profile consent yet: no announcements either.
    assert buttons(overview) == ["⬜ Visi kvietimai", "⬜ 📣 Koordinatorių skelbimai"]
    await chatter.press(overview, "⬜ Visi kvietimai")
    async with app.sessionmaker() as session:
        assert [s.target for s in await subscriptions.of_chat(session, chat_id=7)] == ["all"]
    [found] = await chatter.send("/remind Ogre")
    assert buttons(found) == ["Ogrės sav."]
    await chatter.press(found, "Ogrės sav.")
    async with app.sessionmaker() as session:
        targets = [s.target for s in await subscriptions.of_chat(session, chat_id=7)]
    assert targets == ["all", "municipality:ogre-municipality"]


async def test_only_one_drainer_holds_the_lease_and_another_takes_over_when_it_lapses(
    app: App, clock: FixedClock
) -> None:
    sender: Sender = app.dispatcher["sender"]
    first = Drainer(app.sessionmaker, sender, {}, clock=clock)
    second = Drainer(app.sessionmaker, sender, {}, clock=clock)
    await first.keep_lease()
    await second.keep_lease()
    assert (first.is_leader, second.is_leader) == (True, False)
    clock.advance(timedelta(seconds=5))
    await first.keep_lease()  # renewed
    clock.advance(timedelta(seconds=12))
    await second.keep_lease()
    assert not second.is_leader
    # The first stops renewing (killed): once its lease has run out, the second has it.
    clock.advance(timedelta(seconds=16))
    await second.keep_lease()
    assert second.is_leader
    await first.keep_lease()
    assert not first.is_leader


async def test_a_row_left_sending_by_a_dead_drainer_is_released_and_claimed_once(
    app: App, clock: FixedClock
) -> None:
    from knowledge.reminders import Planned

    async with app.sessionmaker() as session:
        planned = Planned("test:1", "test", 7, "x", clock() - timedelta(minutes=1))
        assert await outbox.enqueue(session, [planned, planned]) == 1
        await session.commit()
    async with app.sessionmaker() as session:
        claimed = await outbox.claim_due(session, now=clock(), limit=10)
        again = await outbox.claim_due(session, now=clock(), limit=10)
        await session.commit()
    assert [row.key for row in claimed] == ["test:1"] and again == []
    async with app.sessionmaker() as session:
        assert await outbox.release_claimed(session) == 1
        await session.commit()
    assert (await rows(app))[0].status == "pending"
