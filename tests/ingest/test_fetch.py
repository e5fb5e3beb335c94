import asyncio
import functools
import gzip
import socket
import zlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiohttp.typedefs import Handler
from pytest_aiohttp import AiohttpServer

from alerts.ingest import FeedParseError
from alerts.ingest.fetch import Fetcher, FetchResult, FetchState
from alerts.ingest.parse import parse_feed_async

FEEDS = Path(__file__).parent.parent / "data" / "feeds"
RSS = (FEEDS / "rss2.xml").read_bytes()
ATOM = (FEEDS / "atom.xml").read_bytes()
UA = "alerts/0.1 (+https://example.org/about-feeds)"
ETAG = '"v1"'
LAST_MODIFIED = "Tue, 05 Mar 2024 10:00:00 GMT"
MB = 1024 * 1024


@dataclass
class Record:
    """What the test server saw and did."""

    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    huge_written: int = 0
    huge_done: asyncio.Event = field(default_factory=asyncio.Event)
    active: int = 0
    max_active: int = 0


RECORD = web.AppKey("record", Record)


class StubResolver:
    """Answer from a table, a list of answers per name used in turn; count the questions."""

    def __init__(self, table: dict[str, list[list[str]]]) -> None:
        self.table = table
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.calls.append(host)
        answers = self.table.get(host)
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers[0] if len(answers) == 1 else answers.pop(0)


@functools.cache
def gzip_bomb() -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(MB)
    parts = [compressor.compress(zeros) for _ in range(30)]
    return b"".join(parts) + compressor.flush()


def redirect(status: int, location: str) -> web.Response:
    return web.Response(status=status, headers={"Location": location})


async def feed(request: web.Request) -> web.StreamResponse:
    if request.headers.get("If-None-Match") == ETAG:
        return web.Response(status=304, headers={"ETag": ETAG})
    body = ATOM if request.match_info["name"] == "atom" else RSS
    headers = {"ETag": ETAG, "Last-Modified": LAST_MODIFIED}
    return web.Response(body=body, content_type="application/rss+xml", headers=headers)


async def hop(request: web.Request) -> web.StreamResponse:
    n = int(request.match_info["n"])
    return redirect(302, f"/chain/{n + 1}")


async def dynamic(request: web.Request) -> web.StreamResponse:
    port = request.url.port
    routes = {
        "moved": lambda: redirect(301, "/moved-again"),
        "moved-again": lambda: redirect(308, "/feed/rss"),
        "temporary": lambda: redirect(302, "/feed/rss"),
        "mixed": lambda: redirect(301, "/temporary"),
        "loop-a": lambda: redirect(302, "/loop-b"),
        "loop-b": lambda: redirect(307, "/loop-a"),
        "self": lambda: redirect(301, "/self#again"),
        "to-private": lambda: redirect(302, "http://10.1.2.3/feed"),
        "to-intranet": lambda: redirect(302, f"http://intranet.test:{port}/feed/rss"),
        "to-localhost": lambda: redirect(302, f"http://localhost:{port}/feed/rss"),
        "to-file": lambda: redirect(302, "file:///etc/passwd"),
        "no-location": lambda: web.Response(status=302),
        "gone": lambda: web.Response(status=410),
        "broken": lambda: web.Response(status=500),
        "missing": lambda: web.Response(status=404),
        "html": lambda: web.Response(text="<html><body>Hi</body></html>", content_type="text/html"),
        "gzip": lambda: web.Response(
            body=gzip.compress(RSS),
            headers={"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"},
        ),
        "gzip-bomb": lambda: web.Response(
            body=gzip_bomb(), headers={"Content-Encoding": "gzip", "Content-Type": "text/xml"}
        ),
        "declared-huge": lambda: web.Response(body=b"x" * (6 * MB)),
    }
    return routes[request.match_info["name"]]()


async def huge(request: web.Request) -> web.StreamResponse:
    record = request.app[RECORD]
    resp = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
    await resp.prepare(request)
    chunk = b"garbage!" * 8192
    try:
        while record.huge_written < 20 * MB:
            await resp.write(chunk)
            record.huge_written += len(chunk)
        await resp.write_eof()
    except ConnectionResetError:
        pass
    finally:
        record.huge_done.set()
    return resp


async def drip(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
    await resp.prepare(request)
    try:
        for _ in range(30):
            await resp.write(b"<")
            await asyncio.sleep(1)
    except ConnectionResetError:
        pass
    return resp


async def slow(request: web.Request) -> web.StreamResponse:
    record = request.app[RECORD]
    record.active += 1
    record.max_active = max(record.max_active, record.active)
    await asyncio.sleep(0.1)
    record.active -= 1
    return web.Response(body=RSS)


@web.middleware
async def remember(request: web.Request, handler: Handler) -> web.StreamResponse:
    request.app[RECORD].requests.append((request.path, dict(request.headers)))
    return await handler(request)


@pytest.fixture(autouse=True)
async def only_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Safety net: even a broken guard must not make these tests connect beyond 127.0.0.1."""
    loop = asyncio.get_running_loop()
    connect = loop.sock_connect

    async def guarded(sock: socket.socket, address: Any) -> None:
        if address[0] not in ("127.0.0.1", "::1"):
            raise ConnectionRefusedError(f"test refused to connect to {address[0]}")
        await connect(sock, address)

    monkeypatch.setattr(loop, "sock_connect", guarded)


@pytest.fixture
async def server(aiohttp_server: AiohttpServer) -> TestServer:
    app = web.Application(middlewares=[remember])
    app[RECORD] = Record()
    app.router.add_get("/feed/{name}", feed)
    app.router.add_get("/chain/{n}", hop)
    app.router.add_get("/huge", huge)
    app.router.add_get("/drip", drip)
    app.router.add_get("/slow", slow)
    app.router.add_get("/{name}", dynamic)
    return await aiohttp_server(app)


@pytest.fixture
def resolver() -> StubResolver:
    return StubResolver(
        {
            "intranet.test": [["10.1.2.3"]],
            "localhost": [["127.0.0.1", "::1"]],
            "rebind.test": [["93.184.216.34"], ["127.0.0.1"]],
        }
    )


@pytest.fixture
async def fetcher(resolver: StubResolver) -> AsyncIterator[Fetcher]:
    async with Fetcher(user_agent=UA, allowed_hosts={"127.0.0.1"}, resolver=resolver) as f:
        yield f


def url(server: TestServer, path: str) -> str:
    return str(server.make_url(path))


def record(server: TestServer) -> Record:
    return server.app[RECORD]


def assert_error(result: FetchResult, message: str) -> None:
    assert result.status == "error"
    assert result.error == message
    assert result.body is None
    assert result.permanent_url is None


async def test_fetches_rss_and_atom(server: TestServer, fetcher: Fetcher) -> None:
    for name, body in (("rss", RSS), ("atom", ATOM)):
        result = await fetcher.fetch(url(server, f"/feed/{name}"))
        assert result.status == "ok"
        assert result.body == body
        assert result.http_status == 200
        assert result.url == url(server, f"/feed/{name}")
        assert result.etag == ETAG
        assert result.last_modified == LAST_MODIFIED
        assert result.content_type == "application/rss+xml"
        assert result.error is None
        assert result.elapsed_ms >= 0
    _, headers = record(server).requests[0]
    assert headers["User-Agent"] == UA
    assert "application/rss+xml" in headers["Accept"]


async def test_fetched_feed_parses(server: TestServer, fetcher: Fetcher) -> None:
    result = await fetcher.fetch(url(server, "/feed/rss"))
    assert result.body is not None
    feed = await parse_feed_async(
        result.body, base_url=result.url, fetched_at=datetime.now(UTC), response_headers={}
    )
    assert feed.entries[0].link == url(server, "/news/hrc55-key-issues")


async def test_html_page_is_fetched_but_refused_by_the_parser(
    server: TestServer, fetcher: Fetcher
) -> None:
    result = await fetcher.fetch(url(server, "/html"))
    assert result.status == "ok"
    assert result.body is not None
    assert result.content_type == "text/html; charset=utf-8"
    with pytest.raises(FeedParseError, match="HTML page"):
        await parse_feed_async(result.body, base_url=result.url, fetched_at=datetime.now(UTC))


async def test_conditional_get_returns_not_modified(server: TestServer, fetcher: Fetcher) -> None:
    first = await fetcher.fetch(url(server, "/feed/rss"))
    state = FetchState(etag=first.etag, last_modified=first.last_modified)
    second = await fetcher.fetch(url(server, "/feed/rss"), state)
    assert second.status == "not_modified"
    assert second.http_status == 304
    assert second.body is None
    assert (second.etag, second.last_modified) == (ETAG, LAST_MODIFIED)
    _, headers = record(server).requests[1]
    assert headers["If-None-Match"] == ETAG
    assert headers["If-Modified-Since"] == LAST_MODIFIED
    _, first_headers = record(server).requests[0]
    assert "If-None-Match" not in first_headers


async def test_permanent_redirect_chain_is_remembered(server: TestServer, fetcher: Fetcher) -> None:
    result = await fetcher.fetch(url(server, "/moved"))
    assert result.status == "ok"
    assert result.url == url(server, "/feed/rss")
    assert result.permanent_url == url(server, "/feed/rss")
    assert [path for path, _ in record(server).requests] == ["/moved", "/moved-again", "/feed/rss"]


async def test_temporary_redirect_is_not_remembered(server: TestServer, fetcher: Fetcher) -> None:
    result = await fetcher.fetch(url(server, "/temporary"))
    assert result.status == "ok"
    assert result.url == url(server, "/feed/rss")
    assert result.permanent_url is None


async def test_permanent_then_temporary_remembers_the_permanent_part(
    server: TestServer, fetcher: Fetcher
) -> None:
    result = await fetcher.fetch(url(server, "/mixed"))
    assert result.status == "ok"
    assert result.url == url(server, "/feed/rss")
    assert result.permanent_url == url(server, "/temporary")


async def test_gone(server: TestServer, fetcher: Fetcher) -> None:
    state = FetchState(etag='"old"', last_modified=None)
    result = await fetcher.fetch(url(server, "/gone"), state)
    assert result.status == "gone"
    assert result.http_status == 410
    assert result.etag == '"old"'


@pytest.mark.parametrize(
    ("path", "message", "status"),
    [
        ("/broken", "HTTP 500 Internal Server Error", 500),
        ("/missing", "HTTP 404 Not Found", 404),
        ("/loop-a", "Redirect loop", None),
        ("/self", "Redirect loop", None),
        ("/chain/0", "Too many redirects (more than 5)", None),
        ("/no-location", "HTTP 302 redirect without a Location header", 302),
        ("/to-private", "Refused: resolves to a private address (10.1.2.3)", None),
        ("/to-localhost", "Refused: resolves to a loopback address (127.0.0.1)", None),
        ("/to-file", "Refused: redirect to a URL that is not http or https", 302),
    ],
)
async def test_bad_answers_give_clear_errors(
    server: TestServer, fetcher: Fetcher, path: str, message: str, status: int | None
) -> None:
    result = await fetcher.fetch(url(server, path))
    assert_error(result, message)
    assert result.http_status == status


async def test_too_many_redirects_stops_after_the_limit(
    server: TestServer, fetcher: Fetcher
) -> None:
    await fetcher.fetch(url(server, "/chain/0"))
    assert len(record(server).requests) == 6
    assert record(server).requests[-1][0] == "/chain/5"


async def test_private_redirect_is_refused_before_connecting(
    server: TestServer, fetcher: Fetcher, resolver: StubResolver
) -> None:
    result = await fetcher.fetch(url(server, "/to-intranet"))
    assert_error(result, "Refused: resolves to a private address (10.1.2.3)")
    assert result.url.startswith("http://intranet.test:")
    # Asked once, by the guard; the connector never got to resolve it, so never connected.
    assert resolver.calls == ["intranet.test"]


async def test_dns_rebinding_is_refused_at_connect_time(
    server: TestServer, fetcher: Fetcher, resolver: StubResolver
) -> None:
    assert server.port is not None
    result = await fetcher.fetch(f"http://rebind.test:{server.port}/feed/rss")
    assert_error(result, "Refused: resolves to a loopback address (127.0.0.1)")
    assert resolver.calls == ["rebind.test", "rebind.test"]
    assert record(server).requests == []


async def test_unchecked_fetch_may_reach_private_hosts(
    server: TestServer, fetcher: Fetcher
) -> None:
    assert server.port is not None
    local = f"http://localhost:{server.port}/feed/rss"
    assert (await fetcher.fetch(local)).status == "error"
    assert (await fetcher.fetch(local, check=False)).status == "ok"
    assert (await fetcher.fetch(local)).status == "error"


async def test_file_urls_are_refused(fetcher: Fetcher) -> None:
    result = await fetcher.fetch("file:///etc/passwd")
    assert_error(result, "Refused: only http and https URLs can be fetched")
    unchecked = await fetcher.fetch("file:///etc/passwd", check=False)
    assert_error(unchecked, "Refused: only http and https URLs can be fetched")


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("http://[::1", "Invalid URL: http://[::1"),
        ("http://127.0.0.1:99999/", "Invalid URL: http://127.0.0.1:99999/"),
        ("", "Refused: only http and https URLs can be fetched"),
        ("not a url", "Refused: only http and https URLs can be fetched"),
    ],
)
async def test_invalid_urls_give_clear_errors(fetcher: Fetcher, bad: str, message: str) -> None:
    assert_error(await fetcher.fetch(bad), message)


async def test_unknown_host(fetcher: Fetcher) -> None:
    result = await fetcher.fetch("http://nowhere.test/feed")
    assert_error(result, "Cannot resolve host nowhere.test")


async def test_connection_refused(fetcher: Fetcher) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = await fetcher.fetch(f"http://127.0.0.1:{port}/feed")
    assert result.status == "error"
    assert result.error is not None
    assert result.error == "Cannot connect to 127.0.0.1: Connection refused"


async def test_gzip_response_is_decompressed(server: TestServer, fetcher: Fetcher) -> None:
    result = await fetcher.fetch(url(server, "/gzip"))
    assert result.status == "ok"
    assert result.body == RSS
    _, headers = record(server).requests[0]
    assert headers["Accept-Encoding"] == "gzip, deflate"


async def test_huge_body_is_cut_off_at_the_cap(server: TestServer, fetcher: Fetcher) -> None:
    result = await fetcher.fetch(url(server, "/huge"))
    assert_error(result, "Feed too large (over 5 MB)")
    await asyncio.wait_for(record(server).huge_done.wait(), 5)
    assert record(server).huge_written < 20 * MB


async def test_declared_huge_body_is_refused_unread(server: TestServer, fetcher: Fetcher) -> None:
    assert_error(await fetcher.fetch(url(server, "/declared-huge")), "Feed too large (over 5 MB)")


async def test_gzip_bomb_is_cut_off_at_the_cap(server: TestServer, fetcher: Fetcher) -> None:
    result = await fetcher.fetch(url(server, "/gzip-bomb"))
    assert_error(result, "Feed too large (over 5 MB)")


async def test_slow_drip_is_cut_off_by_the_total_timeout(
    server: TestServer, resolver: StubResolver
) -> None:
    async with Fetcher(
        user_agent=UA, allowed_hosts={"127.0.0.1"}, resolver=resolver, total_timeout=1.5
    ) as fetcher:
        result = await fetcher.fetch(url(server, "/drip"))
    assert_error(result, "Timed out after 1.5 s")
    assert result.elapsed_ms < 3000


async def test_concurrency_is_bounded(server: TestServer, resolver: StubResolver) -> None:
    async with Fetcher(
        user_agent=UA, allowed_hosts={"127.0.0.1"}, resolver=resolver, concurrency=2
    ) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(url(server, "/slow")) for _ in range(6)))
    assert {r.status for r in results} == {"ok"}
    assert record(server).max_active == 2


async def test_fetch_before_start_is_a_programming_error() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        await Fetcher(user_agent=UA).fetch("http://127.0.0.1/")
