"""Routers, one per feature, in the order they are asked; the fallback is last on purpose."""

from __future__ import annotations

from aiogram import Router

from handlers import errors, fallback, groups, help, language, start


def routers() -> list[Router]:
    """Every router, in order. Commands come before the conversation steps that could take them."""
    return [
        errors.router,
        help.router,
        start.router,
        language.router,
        groups.router,
        fallback.router,  # last: answers what no feature took
    ]
