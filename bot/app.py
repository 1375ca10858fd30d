"""Building the application: the database, the dispatcher and the bot, in one place."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

import handlers
from bot.announcements import REPORT_SECONDS, Broadcaster
from bot.api_session import JsonSession
from bot.filters import check_filters_in_the_loop
from bot.fsm import DatabaseStorage
from bot.help_requests import Helpdesk
from bot.i18n import LocaleMiddleware, Translations
from bot.middlewares import (
    HarmlessFailureGuard,
    KeepResponseTypes,
    StorageMiddleware,
)
from bot.outbox import Drainer
from bot.privacy import RETENTION_SECONDS, Privacy
from bot.reminders import PLAN_SECONDS, Reminders
from bot.sender import FloodGate, FloodGateMiddleware, Sender
from bot.settings import Settings, StartupError
from knowledge.municipalities import MunicipalityDirectory, load_municipalities
from knowledge.questionnaire import QUESTIONNAIRES_DIR, Questionnaire, load_questionnaires
from knowledge.service import PACK_DIR, KnowledgeBase
from storage import members
from storage.calls import stored_calls
from storage.db import SessionMaker, create_engine, create_sessionmaker, upgrade
from storage.types import Clock, utcnow

log = logging.getLogger(__name__)


@dataclass
class App:
    """The long-lived parts of a running bot."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: SessionMaker
    translations: Translations
    municipalities: MunicipalityDirectory
    knowledge: KnowledgeBase
    questionnaires: Mapping[str, Questionnaire]
    sender: Sender
    dispatcher: Dispatcher
    reminders: Reminders
    helpdesk: Helpdesk
    broadcaster: Broadcaster
    privacy: Privacy
    drainer: Drainer


def create_storage(
    settings: Settings, sessionmaker: SessionMaker
) -> tuple[BaseStorage, BaseEventIsolation]:
    """Conversation storage: Redis when REDIS_URL is set, else our own database."""
    if settings.redis_url:
        redis_storage = RedisStorage.from_url(
            settings.redis_url, key_builder=DefaultKeyBuilder(with_destiny=True)
        )
        return redis_storage, RedisEventIsolation(redis_storage.redis)
    storage = DatabaseStorage(sessionmaker, cache=settings.uses_sqlite)
    return storage, SimpleEventIsolation()


def create_dispatcher(
    settings: Settings,
    *,
    sessionmaker: SessionMaker,
    translations: Translations,
    municipalities: MunicipalityDirectory,
    knowledge: KnowledgeBase,
    questionnaires: Mapping[str, Questionnaire],
    sender: Sender,
    reminders: Reminders,
    helpdesk: Helpdesk,
    broadcaster: Broadcaster,
    storage: BaseStorage | None = None,
    events_isolation: BaseEventIsolation | None = None,
    cache: bool = False,
    handled_updates: Iterable[int] | None = None,
    clock: Clock = utcnow,
) -> Dispatcher:
    """The dispatcher with its middlewares, routers and long-lived context.

    CACHE keeps members and conversation states in memory too: right for one process on
    SQLite, wrong for several processes sharing a database. HANDLED_UPDATES (ids already
    handled, given when running against Telegram) switches on skipping redelivered updates.
    CLOCK tells handlers the time (tests give a fixed one).
    """
    dispatcher = Dispatcher(
        storage=storage or DatabaseStorage(sessionmaker, cache=cache),
        events_isolation=events_isolation or SimpleEventIsolation(),
        disable_fsm=True,  # installed below, inside the update's database session
        settings=settings,
        sessionmaker=sessionmaker,
        translations=translations,
        municipalities=municipalities,
        knowledge=knowledge,
        questionnaires=questionnaires,
        sender=sender,
        flood_gate=sender.gate,
        reminders=reminders,
        helpdesk=helpdesk,
        broadcaster=broadcaster,
        clock=clock,
    )
    storage_middleware = StorageMiddleware(
        sessionmaker, cache=cache, handled_updates=handled_updates, conversations=dispatcher.fsm
    )
    dispatcher["storage_middleware"] = storage_middleware
    dispatcher.update.outer_middleware(storage_middleware)
    # The conversation state is read through the update's own session (one per update).
    dispatcher.update.outer_middleware(dispatcher.fsm)
    LocaleMiddleware(i18n=translations).setup(dispatcher)
    dispatcher.include_routers(*handlers.create_routers())
    check_filters_in_the_loop(dispatcher)
    return dispatcher


def create_bot(settings: Settings, session: BaseSession | None = None) -> Bot:
    """The Bot API client, speaking HTML, pointed at TELEGRAM_API_URL."""
    if session is None:
        session = JsonSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    assert settings.bot_token is not None, "create_bot needs BOT_TOKEN (or a local session)"
    session.middleware(KeepResponseTypes())
    session.middleware(HarmlessFailureGuard())
    return Bot(
        settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def create_sender(
    bot: Bot, sessionmaker: SessionMaker, *, unreachable: list[Callable[[int], None]] | None = None
) -> Sender:
    """The outbound sender, recording unreachable chats and failures in the database.

    Its flood gate also holds back the handlers' replies (a middleware on the bot's session).
    Each of UNREACHABLE (filled in later, if need be) is told of a chat found unreachable.
    """

    async def on_unreachable(chat_id: int) -> None:
        async with sessionmaker() as session:
            await members.mark_unreachable(session, chat_id=chat_id)
            await session.commit()
        for listener in unreachable or ():
            listener(chat_id)

    async def on_failure(chat_id: int, reason: str) -> None:
        async with sessionmaker() as session:
            await members.record_failed_delivery(session, chat_id=chat_id, reason=reason)
            await session.commit()

    gate = FloodGate()
    bot.session.middleware(FloodGateMiddleware(gate))
    return Sender(bot, gate=gate, on_unreachable=on_unreachable, on_failure=on_failure)


async def open_database(settings: Settings) -> AsyncEngine:
    """The engine on DATABASE_URL, migrated; StartupError naming DATABASE_URL if it fails."""
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    try:
        engine = create_engine(settings.database_url, pool_size=settings.pool_size)
    except OSError as error:  # the folder of an SQLite file cannot be made
        raise StartupError("DATABASE_URL", f"cannot open {shown}: {describe(error)}") from None
    try:
        await upgrade(engine)
    except (SQLAlchemyError, OSError) as error:
        await engine.dispose()
        raise StartupError("DATABASE_URL", f"cannot open {shown}: {describe(error)}") from None
    return engine


def describe(error: BaseException) -> str:
    """The first line of what went wrong, without the driver's wrapping."""
    original = getattr(error, "orig", None) or error.__cause__ or error
    text = str(original).strip().splitlines()[0] if str(original).strip() else ""
    return text or type(original).__name__


@asynccontextmanager
async def open_app(
    settings: Settings,
    *,
    bot: Bot,
    deduplicate: bool = False,
    pack_folder: Path | None = None,
    questionnaires_folder: Path = QUESTIONNAIRES_DIR,
    knowledge: KnowledgeBase | None = None,
    clock: Clock = utcnow,
) -> AsyncIterator[App]:
    """Migrate the database and build the dispatcher around BOT; dispose of everything at the end.

    DEDUPLICATE (for a bot fed by Telegram) skips updates handled before a crash. PACK_FOLDER
    (else KNOWLEDGE_DIR, else the bundled pack) and QUESTIONNAIRES_FOLDER are where the
    knowledge is read from; KNOWLEDGE, when given, is used instead of reading the pack (tests
    share one). The outbox drainer is built but not started: `App.drainer.run` starts it.
    """
    engine = await open_database(settings)
    storage: BaseStorage | None = None
    try:
        sessionmaker = create_sessionmaker(engine)
        handled_updates = None
        if deduplicate:
            async with sessionmaker() as session:
                handled_updates = await members.recent_handled_updates(session)
                await session.commit()
        storage, isolation = create_storage(settings, sessionmaker)
        translations = Translations(default_locale=settings.default_locale)
        municipalities = knowledge.municipalities if knowledge else load_municipalities()
        knowledge = knowledge or KnowledgeBase(
            municipalities, pack_folder or settings.knowledge_dir or PACK_DIR
        )
        async with sessionmaker() as session:
            knowledge.add_calls(await stored_calls(session))
        questionnaires = load_questionnaires(questionnaires_folder)
        unreachable: list[Callable[[int], None]] = []
        sender = create_sender(bot, sessionmaker, unreachable=unreachable)
        drainer = Drainer(sessionmaker, sender, {}, clock=clock)
        reminders = Reminders(
            settings=settings,
            sessionmaker=sessionmaker,
            knowledge=knowledge,
            clock=clock,
            wake=drainer.wake,
        )
        helpdesk = Helpdesk(
            settings=settings,
            sessionmaker=sessionmaker,
            sender=sender,
            bot=bot,
            municipalities=municipalities,
            clock=clock,
            wake=drainer.wake,
        )
        broadcaster = Broadcaster(
            settings=settings,
            sessionmaker=sessionmaker,
            sender=sender,
            bot=bot,
            knowledge=knowledge,
            clock=clock,
            wake=drainer.wake,
        )
        retention = Privacy(
            settings=settings,
            sessionmaker=sessionmaker,
            questionnaires=questionnaires,
            clock=clock,
        )
        renderers = (
            reminders.renderers()
            | helpdesk.renderers()
            | broadcaster.renderers()
            | retention.renderers()
        )
        for purpose, render in renderers.items():
            drainer.add_renderer(purpose, render)
        drainer.when_leader(reminders.plan_all)
        drainer.every(PLAN_SECONDS, reminders.plan_all, "plan reminders")
        drainer.every(REPORT_SECONDS, broadcaster.report, "announcement reports")
        drainer.every(24 * 3600, drainer.clean_up, "delete old outbox rows")
        drainer.when_leader(retention.sweep)
        drainer.every(RETENTION_SECONDS, retention.sweep, "retention")
        dispatcher = create_dispatcher(
            settings,
            sessionmaker=sessionmaker,
            translations=translations,
            municipalities=municipalities,
            knowledge=knowledge,
            questionnaires=questionnaires,
            sender=sender,
            reminders=reminders,
            helpdesk=helpdesk,
            broadcaster=broadcaster,
            storage=storage,
            events_isolation=isolation,
            cache=settings.uses_sqlite,
            handled_updates=handled_updates,
            clock=clock,
        )
        unreachable.append(dispatcher["storage_middleware"].forget_chat)
        yield App(
            settings=settings,
            engine=engine,
            sessionmaker=sessionmaker,
            translations=translations,
            municipalities=municipalities,
            knowledge=knowledge,
            questionnaires=questionnaires,
            sender=sender,
            dispatcher=dispatcher,
            reminders=reminders,
            helpdesk=helpdesk,
            broadcaster=broadcaster,
            privacy=retention,
            drainer=drainer,
        )
    finally:
        if storage is not None:
            await storage.close()
        await engine.dispose()
