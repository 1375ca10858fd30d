"""Routers, one per feature, in the order they are asked; the fallback is last on purpose."""

from __future__ import annotations

from aiogram import Router

from handlers import (
    calls,
    directory,
    errors,
    fallback,
    faq,
    groups,
    help,
    language,
    start,
    survey,
    survey_admin,
)


def routers() -> list[Router]:
    """Every router, in order. Commands come before the conversation steps that could take them.

    Routers live in their modules; a process that builds a second dispatcher (tests, benchmarks)
    takes them over from the first one.
    """
    ordered = [
        help.router,
        start.router,
        survey_admin.router,
        survey.router,
        directory.router,
        language.router,
        calls.router,
        faq.router,  # after every feature: questions are the text no step took
        groups.router,
        fallback.router,  # last: answers what no feature took
    ]
    # Failures of any router above are handled here; no update walks through it on its way.
    ordered.append(errors.router)
    for router in ordered:
        _detach(router)
    return ordered


def _detach(router: Router) -> None:
    parent = router.parent_router
    if parent is not None:
        parent.sub_routers.remove(router)
        router._parent_router = None
