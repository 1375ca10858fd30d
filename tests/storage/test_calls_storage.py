"""Coordinators' funding calls in the database: storage/calls.py on SQLite."""

from __future__ import annotations

from storage import calls
from storage.db import SessionMaker
from tests.support import store_beekeeping_call


async def test_a_new_call_id_is_neither_stored_nor_reserved(sessionmaker: SessionMaker) -> None:
    title = "Grants for beekeeping clubs"
    async with sessionmaker() as session:
        assert await calls.free_call_id(session, title=title) == "grants-for-beekeeping-clubs"
        await store_beekeeping_call(session, call_id="grants-for-beekeeping-clubs")
        await session.commit()
    async with sessionmaker() as session:
        assert await calls.free_call_id(session, title=title) == "grants-for-beekeeping-clubs-2"
        reserved = ["grants-for-beekeeping-clubs-2", "avp-aims"]
        found = await calls.free_call_id(session, title=title, reserved=reserved)
        assert found == "grants-for-beekeeping-clubs-3"
        other = await calls.free_call_id(session, title="AVP aims", reserved=reserved)
        assert other == "avp-aims-2"
