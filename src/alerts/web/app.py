"""The application factory: routes, middlewares and one cleanup context per resource."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp_cors
import aiohttp_jinja2
import jinja2
from aiohttp import web

from alerts.catalog import load_catalog
from alerts.config import Settings
from alerts.db import create_engine, create_sessionmaker
from alerts.links import Links
from alerts.queue import connect
from alerts.ratelimit import RateLimiter
from alerts.web import csrf, middlewares
from alerts.web.keys import ARQ, CATALOG, ENGINE, LIMITER, LINKS, SESSIONMAKER, SETTINGS
from alerts.web.views import (
    editor_api,
    feeds,
    links,
    manage,
    outbox,
    sessions,
    signup,
    unsubscribe,
)

STATIC_DIR = Path(__file__).parent / "static"


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    """Create the engine and session factory; load the catalog; dispose at shutdown."""
    settings = app[SETTINGS]
    engine = create_engine(settings.db_url)
    app[ENGINE] = engine
    app[SESSIONMAKER] = create_sessionmaker(engine)
    async with app[SESSIONMAKER]() as session:
        app[CATALOG] = await load_catalog(session, settings.feeds_dir)
    yield
    await engine.dispose()


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    """Open the arq pool, also used by the rate limiter; close it at shutdown."""
    pool = await connect(app[SETTINGS].redis_url, app[SETTINGS].queue_name)
    app[ARQ] = pool
    app[LIMITER] = RateLimiter(pool)
    yield
    await pool.aclose()


def setup_routes(app: web.Application, settings: Settings) -> None:
    """Register every route."""
    r = app.router
    r.add_get("/", signup.signup_page, name="signup")
    r.add_post("/subscribe", signup.signup_submit)
    r.add_get("/check-your-inbox", signup.check_inbox)
    r.add_get("/confirm/{token}", links.confirm_page)
    r.add_post("/confirm/{token}", links.confirm_submit)
    r.add_get("/preferences/{token}", links.preferences_page)
    r.add_post("/preferences/{token}", links.preferences_submit)
    r.add_post("/preferences/{token}/resubscribe", links.resubscribe_submit)
    r.add_post("/preferences/{token}/revoke", links.revoke_submit)
    r.add_get("/u/{token}", unsubscribe.unsubscribe_page)
    r.add_post("/u/{token}", unsubscribe.unsubscribe_submit)
    r.add_get("/manage", manage.manage_page)
    r.add_post("/manage", manage.manage_submit)
    r.add_get("/manage/sent", manage.manage_sent)
    r.add_get("/healthz", healthz)
    feeds.add_routes(r)
    sessions.add_routes(r)
    editor_api.add_routes(r)
    r.add_static("/static", STATIC_DIR)
    if settings.outbox_page:
        r.add_get("/outbox", outbox.outbox_list)
        r.add_get("/outbox/{id}", outbox.outbox_message)
        r.add_get("/outbox/{id}/html", outbox.outbox_html)
        r.add_get("/outbox/{id}/raw", outbox.outbox_raw)
    api = r.add_post("/api/subscriptions", signup.api_subscribe)
    if settings.cors_origins:
        cors = aiohttp_cors.setup(app)
        options = aiohttp_cors.ResourceOptions(  # type: ignore[no-untyped-call]
            allow_credentials=False, allow_headers=("Content-Type",), max_age=3600
        )
        cors.add(api, {origin: options for origin in settings.cors_origins})


async def healthz(request: web.Request) -> web.Response:
    """Answer load balancers."""
    return web.json_response({"status": "ok"})


def create_app(settings: Settings) -> web.Application:
    """Build the web application for ``settings``."""
    settings.check()
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[
            middlewares.security_headers,
            middlewares.error_middleware,
            csrf.csrf_cookie_middleware,
        ],
    )
    app[SETTINGS] = settings
    app[LINKS] = Links.from_settings(settings)
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(settings.templates_dir / "web"),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )
    app.cleanup_ctx.append(database_ctx)
    app.cleanup_ctx.append(redis_ctx)
    setup_routes(app, settings)
    return app
