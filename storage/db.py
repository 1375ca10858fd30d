"""The database engine, sessions and schema migrations (Alembic)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session

MIGRATIONS = Path(__file__).parent / "migrations"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/civicbot.db"
SQLITE_BUSY_SECONDS = 120

SessionMaker = async_sessionmaker[AsyncSession]


def create_engine(url: str, *, pool_size: int = 5, **options: Any) -> AsyncEngine:
    """An async engine for URL keeping up to POOL_SIZE connections open (no more are made).

    For SQLite the file's folder is created and WAL is switched on.
    """
    parsed = make_url(url)
    options = {"pool_size": pool_size, "max_overflow": 0, "pool_timeout": 30, **options}
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True, **options)
    database = parsed.database or ""
    if not database or database == ":memory:":
        options = {}  # one connection, kept by SQLAlchemy itself
    elif not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # SQLite has one writer at a time; another waits for it (a writer may be talking to
    # Telegram meanwhile, so the wait is generous) rather than failing.
    engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS}, **options)
    event.listen(engine.sync_engine, "connect", _tune_sqlite)
    return engine


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


_WROTE = "civicbot_wrote"  # in Session.info: the session changed something in the database


class TrackedSession(Session):
    """A session that notes when it writes, so that `wrote` can tell a read-only one.

    The listeners are the class's, set up once: listening on each session as it is made cost
    more than the rest of a cached visit.
    """


@event.listens_for(TrackedSession, "after_flush")
def _flushed(session: Session, _context: Any) -> None:
    session.info[_WROTE] = True


@event.listens_for(TrackedSession, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


def wrote(session: AsyncSession) -> bool:
    """Whether SESSION wrote, or holds changes not written yet."""
    return bool(session.info.get(_WROTE) or session.new or session.dirty or session.deleted)


def create_sessionmaker(engine: AsyncEngine) -> SessionMaker:
    """Sessions that note their writes and keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=TrackedSession)


def autocommit_sessionmaker(sessionmaker: SessionMaker) -> SessionMaker:
    """Sessions on SESSIONMAKER's database in which every statement commits on its own: no
    BEGIN and no ROLLBACK around them, two round trips fewer on PostgreSQL. For reads, and for
    writes that each stand alone."""
    engine = sessionmaker.kw["bind"]
    return create_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for our migrations, optionally bound to an open connection."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to REVISION."""
    async with engine.begin() as connection:
        await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))
