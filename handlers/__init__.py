"""Routers, one per feature, in the order they are asked; the fallback is last on purpose."""

from __future__ import annotations

from aiogram import Router

from handlers import (
    broadcast,
    calls,
    deep_links,
    directory,
    errors,
    expert,
    fallback,
    faq,
    groups,
    help,
    language,
    privacy,
    reminders,
    start,
    survey,
    survey_admin,
    tickets,
)


def create_routers() -> list[Router]:
    """Every router, new, in order. Commands come before the conversation steps that could take
    them; the fallback answers what nobody took."""
    return [
        # The coordinators' chat first: there a reply to the bot is for a help request.
        tickets.create_router(),
        # Leaders' messages for their help requests, before the FAQ takes them as questions.
        expert.create_router(),
        # Most updates are questions: its handler takes only private text that is no command
        # while no conversation is under way, which no other router takes.
        faq.create_router(),
        help.create_router(),
        deep_links.create_router(),  # before /start: links from groups open their command
        start.create_router(),
        survey_admin.create_router(),
        broadcast.create_router(),
        privacy.create_router(),
        survey.create_router(),
        directory.create_router(),
        language.create_router(),
        calls.create_router(),
        reminders.create_router(),
        groups.create_router(),
        fallback.create_router(),
        # Failures of any router above are handled here; no update walks through it on its way.
        errors.create_router(),
    ]
