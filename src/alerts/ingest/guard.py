"""Refuse feed URLs that would reach private, loopback or otherwise non-public addresses."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from alerts.ingest import FeedTooLargeError, UnsafeURLError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""Resolve ``(host, port)`` to the IP address strings it points at."""

ALLOWED_SCHEMES = frozenset({"http", "https"})
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


async def resolve_host(host: str, port: int) -> list[str]:
    """Return every address ``host`` resolves to, using the loop's non-blocking getaddrinfo."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_problem(ip: IPAddress) -> str | None:
    """Return why ``ip`` is not public (e.g. "a private address"), or None when it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return address_problem(ip.ipv4_mapped)
        inner = _embedded_ipv4(ip)
        if inner is not None and (problem := address_problem(inner)) is not None:
            return problem
    # Order matters: 127.0.0.1 is also "private" to ipaddress, but "loopback" says more.
    checks = (
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "a non-public address"),
    )
    return next((label for flag, label in checks if flag), None)


def parse_ip(text: str) -> IPAddress | None:
    """Return ``text`` as an IP address, or None when it is not a canonical IP literal."""
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def normalise_host(host: str) -> str:
    """Return ``host`` lower-cased, without brackets or a trailing dot."""
    return host.strip("[]").rstrip(".").lower()


def check_addresses(host: str, addresses: Sequence[str]) -> None:
    """Raise UnsafeURLError unless there is an address and every one of them is public."""
    if not addresses:
        raise UnsafeURLError(f"Cannot resolve host {host}")
    for text in addresses:
        ip = parse_ip(text)
        if ip is None:
            raise UnsafeURLError(f"Refused: {host} resolves to an unreadable address ({text})")
        if (problem := address_problem(ip)) is not None:
            raise UnsafeURLError(f"Refused: resolves to {problem} ({ip})")


async def check_url(
    url: str, *, allowed_hosts: frozenset[str], resolver: Resolver = resolve_host
) -> None:
    """Raise UnsafeURLError unless ``url`` is http(s) and reaches only public addresses."""
    try:
        parsed = URL(url)
        host = parsed.raw_host
        port = parsed.port
    except (ValueError, TypeError) as e:
        raise UnsafeURLError(f"Invalid URL: {url[:200]}") from e
    if parsed.scheme not in ALLOWED_SCHEMES:
        raise UnsafeURLError("Refused: only http and https URLs can be fetched")
    if not host:
        raise UnsafeURLError("Invalid URL: no host name")
    host = normalise_host(host)
    if any(host == normalise_host(allowed) for allowed in allowed_hosts):
        return
    literal = parse_ip(host)
    if literal is not None:
        check_addresses(host, [str(literal)])
        return
    try:
        # Also catches decimal, octal and hex IPv4 forms: getaddrinfo turns them into dotted quads.
        addresses = await resolver(host, port or 0)
    except (OSError, UnicodeError) as e:
        raise UnsafeURLError(f"Cannot resolve host {host}") from e
    check_addresses(host, addresses)


_unchecked: ContextVar[bool] = ContextVar("alerts_ingest_unchecked", default=False)


@contextmanager
def unchecked() -> Iterator[None]:
    """Let GuardedResolver connect anywhere inside this block (operator-trusted fetches)."""
    token = _unchecked.set(True)
    try:
        yield
    finally:
        _unchecked.reset(token)


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that refuses non-public addresses at connect time.

    ``check_url`` resolves before the request; the connector resolves again when it connects.
    Checking here too stops DNS rebinding (a name that answers public first, private next).
    """

    def __init__(self, *, allowed_hosts: frozenset[str], resolver: Resolver = resolve_host):
        self._allowed_hosts = allowed_hosts
        self._resolver = resolver

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve ``host`` and refuse it unless every address is public or the host allowed."""
        addresses = await self._resolver(host, port)
        name = normalise_host(host)
        if not _unchecked.get() and name not in self._allowed_hosts:
            check_addresses(name, addresses)
        results: list[ResolveResult] = []
        for text in addresses:
            ip = parse_ip(text)
            if ip is None:
                continue
            ip_family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
            if family not in (socket.AF_UNSPEC, ip_family):
                continue
            results.append(
                ResolveResult(
                    hostname=host,
                    host=text,
                    port=port,
                    family=ip_family,
                    proto=0,
                    flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
                )
            )
        if not results:
            raise OSError(f"No usable address for {host}")
        return results

    async def close(self) -> None:
        """Release nothing: the resolver holds no resources."""


def is_file_url(url: str) -> bool:
    """Return True when ``url`` is a ``file:`` URL."""
    return urlsplit(url.strip()).scheme.lower() == "file"


def read_file_url(url: str, max_bytes: int) -> bytes:
    """Read a local ``file:`` URL (CLI use only), refusing files over ``max_bytes``."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != "file":
        raise ValueError(f"not a file URL: {url!r}")
    if parts.netloc not in ("", "localhost"):
        raise UnsafeURLError("Refused: file URLs must name a local file")
    path = Path(url2pathname(unquote(parts.path)))
    with path.open("rb") as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FeedTooLargeError(f"Feed too large (over {format_size(max_bytes)})")
    return data


def format_size(n: int) -> str:
    """Return ``n`` bytes in plain words: "5 MB", "512 KB", "100 bytes"."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} bytes"
