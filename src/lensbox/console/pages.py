"""What every console page shares: the templates, the admin's browser session and its CSRF
token, and the way a form's error comes back to the person who sent it.

A browser session is a random cookie (HttpOnly, SameSite=Strict) whose hash the console keeps
in memory with the session's CSRF token; every form carries that token in a hidden field and a
POST without it is a 403. The sign-in form, sent before there is a session, carries a token
that must equal a short-lived cookie of its own (the double-submit pattern), so another site
cannot sign a browser in either.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Cookie, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from lensbox.console.security import hash_secret

templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "web"))
SESSION_COOKIE = "lensbox_session"
LOGIN_COOKIE = "lensbox_login_csrf"
CSRF_FIELD = "csrf"
T = TypeVar("T")


@dataclass(frozen=True)
class WebSession:
    token_hash: str
    csrf: str


def open_session(request: Request) -> str:
    """A new browser session; returns the cookie value (only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    request.app.state.web_sessions[hash_secret(token)] = secrets.token_urlsafe(32)
    return token


def close_session(request: Request, token_hash: str) -> None:
    request.app.state.web_sessions.pop(token_hash, None)


def set_cookie(response: Any, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, httponly=True, samesite="strict", max_age=max_age)


def current_session(
    request: Request, lensbox_session: Annotated[str | None, Cookie()] = None
) -> WebSession:
    """The signed-in admin's session; anyone else (a device token included) goes to sign-in."""
    if lensbox_session:
        token_hash = hash_secret(lensbox_session)
        csrf = request.app.state.web_sessions.get(token_hash)
        if csrf is not None:
            return WebSession(token_hash, csrf)
    raise HTTPException(303, headers={"Location": "/login"})


Page = Annotated[WebSession, Depends(current_session)]


def checked_form(web: Page, csrf: Annotated[str, Form()] = "") -> WebSession:
    """A form POST of the signed-in admin, with this session's CSRF token, or a 403."""
    if not secrets.compare_digest(csrf.encode(), web.csrf.encode()):
        raise HTTPException(403, "missing or stale CSRF token: reload the page and send it again")
    return web


FormPost = Annotated[WebSession, Depends(checked_form)]


def render(
    request: Request,
    template: str,
    title: str,
    web: WebSession | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        template,
        {"title": title, "csrf": web.csrf if web else "", "signed_in": web is not None,
         "error": None, **context},
        status_code=status_code,
    )  # fmt: skip


def attempt(action: Callable[[], T]) -> tuple[T | None, str | None]:
    """Run what the API would run; its refusal becomes the message the page shows."""
    try:
        return action(), None
    except HTTPException as exc:
        return None, str(exc.detail)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        return None, f"{where}: {first.get('msg')}" if where else str(first.get("msg"))


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")
