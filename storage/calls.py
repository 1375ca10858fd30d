"""Reading and writing the funding calls coordinators add with /newcall.

The knowledge pack's calls live in YAML; these live in the `call` table and join them in the
knowledge base as `knowledge.pack.Call` records, with the same text in every language.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from knowledge.calls import new_call_id
from knowledge.pack import Call
from knowledge.text import LANGUAGES, Lang
from storage.models import FundingCall

# Tags of a coordinator's call in the search index.
CALL_TAGS = ("call",)


async def add_call(
    session: AsyncSession,
    *,
    call_id: str,
    title: str,
    programme: str,
    funder: str,
    who_may_apply: str,
    opens: datetime,
    closes: datetime,
    timezone: str,
    municipalities: Sequence[str],
    contact: str,
    link: str,
    language: str,
    created_by: int,
) -> FundingCall:
    """Store a new call; its id must not be taken (see `free_call_id`)."""
    row = FundingCall(
        id=call_id,
        title=title,
        programme=programme,
        funder=funder,
        who_may_apply=who_may_apply,
        opens=opens,
        closes=closes,
        timezone=timezone,
        municipalities=list(municipalities),
        contact=contact,
        link=link,
        language=language,
        created_by=created_by,
    )
    session.add(row)
    await session.flush()
    return row


async def call_exists(session: AsyncSession, *, call_id: str) -> bool:
    """Whether a stored call has CALL_ID."""
    return await session.get(FundingCall, call_id) is not None


async def free_call_id(session: AsyncSession, *, title: str, reserved: Iterable[str] = ()) -> str:
    """A readable id for a new call titled TITLE: no stored call's id, and none of RESERVED."""
    stored = await session.scalars(select(col(FundingCall.id)))
    return new_call_id(title, {*reserved, *stored})


async def list_calls(session: AsyncSession) -> list[FundingCall]:
    """Every stored call, oldest first."""
    result = await session.execute(select(FundingCall).order_by(col(FundingCall.created_at)))
    return list(result.scalars())


async def stored_calls(session: AsyncSession) -> list[Call]:
    """Every stored call as a knowledge-pack call record."""
    return [as_call(row) for row in await list_calls(session)]


def as_call(row: FundingCall) -> Call:
    """The knowledge-pack record of a stored call: its one text in lt, lv and en alike."""

    def same(text: str) -> dict[Lang, str]:
        return dict.fromkeys(LANGUAGES, text)

    return Call(
        id=row.id,
        title=same(row.title),
        programme=same(row.programme),
        funder=same(row.funder),
        opens=row.opens,
        closes=row.closes,
        timezone=row.timezone,
        who_may_apply=same(row.who_may_apply),
        municipalities=tuple(row.municipalities),
        contact=row.contact,
        link=row.link,
        tags=CALL_TAGS,
    )


async def get_call(session: AsyncSession, *, call_id: str) -> FundingCall | None:
    """The stored call CALL_ID, if there is one."""
    return await session.get(FundingCall, call_id)


async def set_dates(
    session: AsyncSession, *, call_id: str, opens: datetime, closes: datetime
) -> FundingCall | None:
    """Change when a stored call opens and closes; None if there is no such call."""
    row = await session.get(FundingCall, call_id)
    if row is None:
        return None
    row.opens, row.closes = opens, closes
    await session.flush()
    return row


async def remove_call(session: AsyncSession, *, call_id: str) -> bool:
    """Delete a stored call; False if there was none."""
    row = await session.get(FundingCall, call_id)
    if row is None:
        return False
    await session.delete(row)
    await session.flush()
    return True
