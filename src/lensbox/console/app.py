"""``create_app(settings)``: FastAPI's bigger-applications layout, one router per resource."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from lensbox.console.db import LeagueRun, Setting, TrainingJob, create_engine, session_factory
from lensbox.console.dependencies import require_admin
from lensbox.console.jobs import fail_orphaned
from lensbox.console.migrate import upgrade
from lensbox.console.routers import (
    agent,
    compositions,
    devices,
    league,
    models,
    projects,
    training,
    web,
    web_devices,
    web_league,
    web_models,
    web_projects,
    web_studio,
    web_training,
)
from lensbox.console.schemas import ERRORS
from lensbox.console.security import hash_secret, new_secret, write_private
from lensbox.console.settings import ConsoleSettings
from lensbox.console.store import BlobStore


def ensure_admin_key(settings: ConsoleSettings, sessions: Any) -> str | None:
    """Create the admin key at first start: the hash in the database, the key in admin.key
    (mode 600). Returns the new key, or None when one exists already."""
    with sessions() as session:
        if session.get(Setting, "admin_key_hash") is not None:
            return None
        key = new_secret("lbk")
        write_private(settings.data / "admin.key", key + "\n")
        session.add(Setting(key="admin_key_hash", value=hash_secret(key)))
        session.commit()
        return key


def create_app(settings: ConsoleSettings) -> FastAPI:
    settings.data.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    app = FastAPI(title="lensbox console", version="1")
    app.state.settings = settings
    app.state.sessions = sessions
    app.state.store = BlobStore(settings.blobs)
    app.state.new_admin_key = ensure_admin_key(settings, sessions)
    fail_orphaned(sessions, TrainingJob, "training")
    fail_orphaned(sessions, LeagueRun, "the time trial")
    app.state.fleet = None
    if settings.mqtt:
        from lensbox.console.fleet import FleetSubscriber

        app.state.fleet = FleetSubscriber.open(settings.mqtt, sessions, settings.results_per_device)

    admin = [Depends(require_admin)]
    for router in (
        models.router, projects.router, devices.router, training.router, league.router,
        compositions.router,
    ):  # fmt: skip
        app.include_router(router, prefix="/api/v1", dependencies=admin, responses=ERRORS)
    app.include_router(agent.router, prefix="/api/v1", responses=ERRORS)
    app.state.web_sessions = {}  # hash of a browser session's cookie -> its CSRF token
    for pages in (web, web_devices, web_projects, web_models, web_training, web_league, web_studio):
        app.include_router(pages.router)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette lists only the first matching route's methods; list every route's.
            allowed = sorted(
                {
                    method
                    for route in app.routes
                    if isinstance(route, APIRoute) and route.path_regex.match(request.url.path)
                    for method in route.methods or ()
                }
            )
            headers["Allow"] = ", ".join(allowed)
        return await http_exception_handler(
            request, StarletteHTTPException(exc.status_code, exc.detail, headers)
        )

    @app.get("/health", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
