"""Fixtures for the web tests: a client on the real app."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from alerts.config import Settings
from alerts.web.app import create_app


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings, engine: Any, redis: Any) -> TestClient:
    """A client on the app with an empty database and an empty Redis."""
    return await aiohttp_client(create_app(settings))
