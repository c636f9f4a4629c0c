"""Sign-in, sign-out and the pages that only list: server-rendered (Jinja2, no front-end build
step), behind one admin-key field. Each resource's own pages live in ``web_*`` beside this."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Cookie, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from lensbox.console.db import Deployment, Setting
from lensbox.console.dependencies import SessionDep
from lensbox.console.pages import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    FormPost,
    Page,
    close_session,
    open_session,
    render,
    set_cookie,
)
from lensbox.console.routers.devices import deployment_out
from lensbox.console.security import matches

router = APIRouter(include_in_schema=False)


def _login_page(request: Request, error: str | None = None, status_code: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request, "login.html", "Sign in", None, status_code, error=error, login_csrf=token
    )
    set_cookie(response, LOGIN_COOKIE, token, max_age=3600)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login", response_class=HTMLResponse, response_model=None)
def login(
    request: Request,
    session: SessionDep,
    key: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    lensbox_login_csrf: Annotated[str | None, Cookie()] = None,
) -> Response:
    if not lensbox_login_csrf or not secrets.compare_digest(csrf, lensbox_login_csrf):
        raise HTTPException(403, "missing or stale CSRF token: reload the sign-in page")
    stored = session.get(Setting, "admin_key_hash")
    if stored is None or not matches(key.strip(), stored.value):
        return _login_page(request, "That is not the admin key.", 401)
    response = RedirectResponse("/devices", status_code=303)
    set_cookie(response, SESSION_COOKIE, open_session(request))
    response.delete_cookie(LOGIN_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, web: FormPost) -> RedirectResponse:
    close_session(request, web.token_hash)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/devices", status_code=303)


@router.get("/deployments", response_class=HTMLResponse)
def deployments_page(request: Request, session: SessionDep, web: Page) -> HTMLResponse:
    rows = [
        deployment_out(session, d).model_dump()
        for d in session.scalars(select(Deployment).order_by(Deployment.id.desc()).limit(100))
    ]
    return render(
        request, "table.html", "Deployments", web, rows=rows,
        columns=["id", "device", "project", "project_version", "status", "updated_at"],
    )  # fmt: skip
