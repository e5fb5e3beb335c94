"""Typed application keys: every shared resource the views use."""

from __future__ import annotations

from aiohttp import web
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine

from alerts.catalog import Catalog
from alerts.config import Settings
from alerts.db import Sessionmaker
from alerts.links import Links
from alerts.ratelimit import RateLimiter

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONMAKER = web.AppKey("sessionmaker", Sessionmaker)
ARQ = web.AppKey("arq", ArqRedis)
LIMITER = web.AppKey("limiter", RateLimiter)
CATALOG = web.AppKey("catalog", Catalog)
LINKS = web.AppKey("links", Links)
