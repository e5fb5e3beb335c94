"""Fetch feeds over HTTP: conditional GET, guarded redirects, a size cap and hard timeouts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Literal, Self

import aiohttp
from aiohttp import hdrs
from yarl import URL

from alerts.ingest import FeedTooLargeError, UnsafeURLError
from alerts.ingest.guard import (
    ALLOWED_SCHEMES,
    GuardedResolver,
    Resolver,
    check_url,
    format_size,
    normalise_host,
    resolve_host,
    unchecked,
)

log = logging.getLogger(__name__)

FetchStatus = Literal["ok", "not_modified", "gone", "error"]
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
REDIRECTS = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
_CHUNK = 64 * 1024


@dataclass
class FetchState:
    """Conditional-GET validators remembered from the last successful fetch."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass
class FetchResult:
    """What one fetch produced; ``error`` is one line in plain words."""

    status: FetchStatus
    url: str
    permanent_url: str | None = None
    body: bytes | None = None
    etag: str | None = None
    last_modified: str | None = None
    http_status: int | None = None
    error: str | None = None
    elapsed_ms: int = 0
    content_type: str | None = None


class _Stop(Exception):
    """End the fetch with an error message (internal)."""

    def __init__(self, message: str, http_status: int | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status


class Fetcher:
    """Fetch feeds through one shared aiohttp session with bounded concurrency."""

    def __init__(
        self,
        *,
        user_agent: str,
        allowed_hosts: Iterable[str] = (),
        concurrency: int = 20,
        connect_timeout: float = 10.0,
        total_timeout: float = 30.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_redirects: int = 5,
        resolver: Resolver = resolve_host,
    ) -> None:
        self.user_agent = user_agent
        self.allowed_hosts = frozenset(normalise_host(h) for h in allowed_hosts)
        self.concurrency = concurrency
        self.connect_timeout = connect_timeout
        self.total_timeout = total_timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self._resolver = resolver
        self._semaphore = asyncio.Semaphore(concurrency)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Open the shared session (idempotent)."""
        if self._session is not None:
            return
        connector = aiohttp.TCPConnector(
            limit=self.concurrency,
            # Every connection must go through GuardedResolver, so no cached answers.
            use_dns_cache=False,
            resolver=GuardedResolver(allowed_hosts=self.allowed_hosts, resolver=self._resolver),
        )
        timeout = aiohttp.ClientTimeout(
            total=self.total_timeout,
            connect=self.connect_timeout,
            sock_connect=self.connect_timeout,
            sock_read=self.total_timeout,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            headers={
                hdrs.USER_AGENT: self.user_agent,
                hdrs.ACCEPT: ACCEPT,
                hdrs.ACCEPT_ENCODING: "gzip, deflate",
            },
            # Feeds get no cookies: nothing carries over from one source to another.
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
        )

    async def close(self) -> None:
        """Close the shared session."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def fetch(
        self, url: str, state: FetchState | None = None, *, check: bool = True
    ) -> FetchResult:
        """Fetch ``url``, following redirects by hand; return a result, never raise for a server.

        ``check=False`` skips the address guard (operator-trusted URLs only).
        ``permanent_url`` is where the leading 301/308 redirects point, reported on success only.
        """
        if self._session is None:
            raise RuntimeError("Fetcher is not started: use 'async with Fetcher(...)'")
        state = state or FetchState()
        hops = [url]
        async with self._semaphore:
            started = time.monotonic()
            try:
                with contextlib.nullcontext() if check else unchecked():
                    # Backs up aiohttp's own timeouts: a slow drip or many hops end here.
                    async with asyncio.timeout(self.total_timeout):
                        result = await self._follow(self._session, state, check, hops)
            except _Stop as e:
                result = self._error(hops[-1], state, str(e), e.http_status)
            except Exception as e:  # the contract is "always a FetchResult"
                result = self._error(hops[-1], state, self._describe(e, hops[-1]))
            result.elapsed_ms = int((time.monotonic() - started) * 1000)
            return result

    async def _follow(
        self, session: aiohttp.ClientSession, state: FetchState, check: bool, hops: list[str]
    ) -> FetchResult:
        headers = {}
        if state.etag:
            headers[hdrs.IF_NONE_MATCH] = state.etag
        if state.last_modified:
            headers[hdrs.IF_MODIFIED_SINCE] = state.last_modified
        permanent_url: str | None = None
        all_permanent = True
        for hop in range(self.max_redirects + 1):
            current = hops[-1]
            if URL(current).scheme not in ALLOWED_SCHEMES:
                raise _Stop("Refused: only http and https URLs can be fetched")
            if check:
                await check_url(current, allowed_hosts=self.allowed_hosts, resolver=self._resolver)
            async with session.get(current, headers=headers, allow_redirects=False) as resp:
                if resp.status not in REDIRECTS:
                    return await self._finish(resp, current, state, bool(headers), permanent_url)
                if hop == self.max_redirects:
                    raise _Stop(f"Too many redirects (more than {self.max_redirects})")
                target = _redirect_target(resp, current)
            if target in {_normalise(h) for h in hops}:
                raise _Stop("Redirect loop")
            all_permanent = all_permanent and resp.status in PERMANENT_REDIRECTS
            if all_permanent:
                permanent_url = target
            hops.append(target)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _finish(
        self,
        resp: aiohttp.ClientResponse,
        url: str,
        state: FetchState,
        conditional: bool,
        permanent_url: str | None,
    ) -> FetchResult:
        status = resp.status
        if status == 304 and conditional:
            return FetchResult(
                status="not_modified",
                url=url,
                permanent_url=permanent_url,
                etag=resp.headers.get(hdrs.ETAG) or state.etag,
                last_modified=resp.headers.get(hdrs.LAST_MODIFIED) or state.last_modified,
                http_status=status,
            )
        if status == 410:
            return FetchResult(
                status="gone",
                url=url,
                etag=state.etag,
                last_modified=state.last_modified,
                http_status=status,
                error="HTTP 410 Gone: the feed was removed",
            )
        if not 200 <= status < 300:
            raise _Stop(f"HTTP {status} {_phrase(status)}".strip(), status)
        body = await self._read_capped(resp)
        return FetchResult(
            status="ok",
            url=url,
            permanent_url=permanent_url,
            body=body,
            etag=resp.headers.get(hdrs.ETAG),
            last_modified=resp.headers.get(hdrs.LAST_MODIFIED),
            http_status=status,
            content_type=resp.headers.get(hdrs.CONTENT_TYPE),
        )

    async def _read_capped(self, resp: aiohttp.ClientResponse) -> bytes:
        too_large = FeedTooLargeError(f"Feed too large (over {format_size(self.max_bytes)})")
        declared = resp.content_length
        if (
            declared is not None
            and declared > self.max_bytes
            and hdrs.CONTENT_ENCODING not in resp.headers
        ):
            resp.close()
            raise too_large
        body = bytearray()
        # Chunks arrive decompressed, so the cap also stops gzip bombs early.
        async for chunk in resp.content.iter_chunked(_CHUNK):
            body += chunk
            if len(body) > self.max_bytes:
                resp.close()
                raise too_large
        return bytes(body)

    def _error(
        self, url: str, state: FetchState, message: str, http_status: int | None = None
    ) -> FetchResult:
        return FetchResult(
            status="error",
            url=url,
            etag=state.etag,
            last_modified=state.last_modified,
            http_status=http_status,
            error=" ".join(message.split())[:300],
        )

    def _describe(self, exc: Exception, url: str) -> str:
        host = _host(url)
        match exc:
            case UnsafeURLError() | FeedTooLargeError():
                return str(exc)
            case aiohttp.ConnectionTimeoutError():
                return f"Timed out connecting after {self.connect_timeout:g} s"
            case TimeoutError():
                return f"Timed out after {self.total_timeout:g} s"
            case aiohttp.ClientConnectorDNSError():
                return f"Cannot resolve host {host}"
            case aiohttp.ClientConnectorCertificateError():
                return f"TLS certificate of {host} was not accepted"
            case aiohttp.ClientSSLError():
                return f"TLS connection to {host} failed"
            case aiohttp.ClientConnectorError():
                errno = exc.os_error.errno
                return f"Cannot connect to {host}: {os.strerror(errno) if errno else 'failed'}"
            case aiohttp.ServerDisconnectedError():
                return "Server closed the connection before the response was complete"
            case aiohttp.ClientPayloadError():
                return "Broken response body (bad compression or cut short)"
            case aiohttp.InvalidURL() | ValueError():
                return f"Invalid URL: {url[:200]}"
            case aiohttp.ClientResponseError():
                return "Invalid HTTP response from server"
            case aiohttp.ClientError():
                return f"Network error ({type(exc).__name__})"
        log.exception("unexpected error fetching %s", url)
        return f"Unexpected error ({type(exc).__name__})"


def _redirect_target(resp: aiohttp.ClientResponse, current: str) -> str:
    location = resp.headers.get(hdrs.LOCATION)
    if not location:
        raise _Stop(f"HTTP {resp.status} redirect without a Location header", resp.status)
    try:
        target = URL(current).join(URL(location.strip())).with_fragment(None)
    except ValueError as e:
        raise _Stop("Redirect to an invalid URL", resp.status) from e
    if target.scheme not in ALLOWED_SCHEMES:
        raise _Stop("Refused: redirect to a URL that is not http or https", resp.status)
    return str(target)


def _host(url: str) -> str:
    try:
        return URL(url).host or url[:200]
    except ValueError:
        return url[:200]


def _normalise(url: str) -> str:
    try:
        return str(URL(url).with_fragment(None))
    except ValueError:
        return url


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
