"""Bearer-token authentication of the editor API, through GET /api/editor/me."""

from __future__ import annotations

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from alerts.db import Sessionmaker
from alerts.editors.accounts import set_active
from alerts.editors.tokens import find_token, revoke_token
from tests.editors.factories import make_editor, make_token

ME = "/api/editor/me"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def assert_refused(response: ClientResponse, error: str | None) -> None:
    assert response.status == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="alerts"')
    if error:
        assert f'error="{error}"' in challenge
    else:
        assert "error=" not in challenge
    assert response.content_type == "application/json"
    body = await response.json()
    assert body["status"] == 401 and body["error"]
    assert "Traceback" not in body["error"]


async def test_valid_token_is_accepted(client: TestClient, sessionmaker: Sessionmaker) -> None:
    editor = await make_editor(sessionmaker, "Ed@Example.org")
    plain = await make_token(sessionmaker, editor)
    response = await client.get(ME, headers=bearer(plain))
    assert response.status == 200
    assert await response.json() == {"id": editor.id, "email": "ed@example.org"}
    assert response.headers["Cache-Control"] == "no-store"
    async with sessionmaker() as session:
        token = await find_token(session, plain)
        assert token is not None and token.last_used_at is not None


async def test_scheme_is_case_insensitive(client: TestClient, sessionmaker: Sessionmaker) -> None:
    plain = await make_token(sessionmaker, await make_editor(sessionmaker))
    response = await client.get(ME, headers={"Authorization": f"bearer  {plain} "})
    assert response.status == 200


async def test_missing_token_gets_a_challenge(client: TestClient) -> None:
    await assert_refused(await client.get(ME), None)


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer ", "Token abc", "Basic dXNlcjpwYXNz", "Bearer a b", "alrt_abc"],
)
async def test_malformed_header_is_refused(client: TestClient, header: str) -> None:
    await assert_refused(await client.get(ME, headers={"Authorization": header}), "invalid_request")


async def test_unknown_token_is_refused(client: TestClient, sessionmaker: Sessionmaker) -> None:
    plain = await make_token(sessionmaker, await make_editor(sessionmaker))
    forged = plain[:-4] + ("AAAA" if not plain.endswith("AAAA") else "BBBB")
    await assert_refused(await client.get(ME, headers=bearer(forged)), "invalid_token")
    await assert_refused(await client.get(ME, headers=bearer("x" * 3000)), "invalid_token")


async def test_revoked_token_is_refused(client: TestClient, sessionmaker: Sessionmaker) -> None:
    plain = await make_token(sessionmaker, await make_editor(sessionmaker))
    assert (await client.get(ME, headers=bearer(plain))).status == 200
    async with sessionmaker.begin() as session:
        await revoke_token(session, plain)
    await assert_refused(await client.get(ME, headers=bearer(plain)), "invalid_token")


async def test_disabled_editor_is_refused(client: TestClient, sessionmaker: Sessionmaker) -> None:
    editor = await make_editor(sessionmaker)
    plain = await make_token(sessionmaker, editor)
    async with sessionmaker.begin() as session:
        await set_active(session, editor.email, False)
    await assert_refused(await client.get(ME, headers=bearer(plain)), "invalid_token")


async def test_other_methods_are_not_allowed(client: TestClient) -> None:
    response = await client.post(ME)
    assert response.status == 405
