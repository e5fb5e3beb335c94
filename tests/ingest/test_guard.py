import ipaddress
import socket
from collections.abc import Sequence
from pathlib import Path

import pytest

from alerts.errors import AlertsError
from alerts.ingest import FeedTooLargeError, UnsafeURLError
from alerts.ingest.guard import (
    GuardedResolver,
    address_problem,
    check_url,
    is_file_url,
    read_file_url,
    resolve_host,
    unchecked,
)

NONE: frozenset[str] = frozenset()


class StubResolver:
    """Answer from a fixed table and count the questions; unknown names fail like DNS."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.calls.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.table[host]


@pytest.mark.parametrize(
    ("ip", "problem"),
    [
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("127.0.0.1", "a loopback address"),
        ("127.255.0.9", "a loopback address"),
        ("169.254.169.254", "a link-local address"),
        ("0.0.0.0", "an unspecified address"),
        ("224.0.0.1", "a multicast address"),
        ("239.255.255.250", "a multicast address"),
        ("240.0.0.1", "a private address"),
        ("255.255.255.255", "a private address"),
        ("100.64.0.1", "a non-public address"),
        ("::1", "a loopback address"),
        ("::", "an unspecified address"),
        ("fe80::1", "a link-local address"),
        ("fc00::1", "a private address"),
        ("ff02::1", "a multicast address"),
        ("::ffff:10.0.0.1", "a private address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("2002:a00:1::", "a private address"),
        ("64:ff9b::a9fe:a9fe", "a link-local address"),
        ("93.184.216.34", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:93.184.216.34", None),
    ],
)
def test_address_problem(ip: str, problem: str | None) -> None:
    assert address_problem(ipaddress.ip_address(ip)) == problem


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/feed",
        "http://127.0.0.1:8080/",
        "https://[::1]/",
        "http://[::ffff:192.168.0.1]/",
        "http://0.0.0.0/",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
async def test_literal_private_addresses_are_refused_without_resolving(url: str) -> None:
    resolver = StubResolver({})
    with pytest.raises(UnsafeURLError, match=r"^Refused: resolves to a"):
        await check_url(url, allowed_hosts=NONE, resolver=resolver)
    assert resolver.calls == []


@pytest.mark.parametrize(
    "host", ["2130706433", "0x7f.0.0.1", "0177.0.0.1", "017700000001", "127.1", "0"]
)
async def test_numeric_tricks_resolve_to_refused_addresses(host: str) -> None:
    # getaddrinfo turns these numeric forms into dotted quads locally, without DNS.
    with pytest.raises(UnsafeURLError, match="Refused"):
        await check_url(f"http://{host}/feed", allowed_hosts=NONE)


async def test_localhost_is_refused() -> None:
    with pytest.raises(UnsafeURLError, match="loopback"):
        await check_url("http://localhost/feed", allowed_hosts=NONE)


async def test_allowed_hosts_skip_the_address_check() -> None:
    resolver = StubResolver({})
    for url in ("http://127.0.0.1:1234/feed", "http://LocalHost./x"):
        await check_url(url, allowed_hosts=frozenset({"127.0.0.1", "LOCALHOST"}), resolver=resolver)
    assert resolver.calls == []


async def test_public_host_is_accepted() -> None:
    resolver = StubResolver({"ishr.example": ["93.184.216.34", "2606:4700:4700::1111"]})
    await check_url("https://ishr.example/feed", allowed_hosts=NONE, resolver=resolver)
    assert resolver.calls == ["ishr.example"]


async def test_one_private_answer_among_public_ones_is_refused() -> None:
    resolver = StubResolver({"mixed.example": ["93.184.216.34", "10.0.0.1"]})
    with pytest.raises(UnsafeURLError, match=r"a private address \(10\.0\.0\.1\)"):
        await check_url("http://mixed.example/", allowed_hosts=NONE, resolver=resolver)


async def test_unresolvable_host_is_refused() -> None:
    with pytest.raises(UnsafeURLError, match=r"Cannot resolve host nowhere\.example"):
        await check_url("http://nowhere.example/", allowed_hosts=NONE, resolver=StubResolver({}))


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.org/feed",
        "javascript:alert(1)",
        "gopher://example.org/",
        "/relative/feed.xml",
        "http:///no-host",
        "http://[::1",
        "",
    ],
)
async def test_other_schemes_and_hostless_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsafeURLError):
        await check_url(url, allowed_hosts=NONE, resolver=StubResolver({}))


def test_unsafe_url_error_is_an_alerts_error() -> None:
    assert issubclass(UnsafeURLError, AlertsError)


async def test_default_resolver_uses_getaddrinfo() -> None:
    assert "127.0.0.1" in await resolve_host("localhost", 80)


async def test_guarded_resolver_refuses_private_answers_at_connect_time() -> None:
    resolver = GuardedResolver(
        allowed_hosts=frozenset({"trusted.test"}),
        resolver=StubResolver({"evil.test": ["127.0.0.1"], "trusted.test": ["10.0.0.2"]}),
    )
    with pytest.raises(UnsafeURLError, match="loopback"):
        await resolver.resolve("evil.test", 80, socket.AF_UNSPEC)
    [result] = await resolver.resolve("trusted.test", 80, socket.AF_UNSPEC)
    assert result["host"] == "10.0.0.2"
    assert result["family"] == socket.AF_INET
    with unchecked():
        [result] = await resolver.resolve("evil.test", 443, socket.AF_UNSPEC)
    assert result["port"] == 443
    with pytest.raises(UnsafeURLError):
        await resolver.resolve("evil.test", 80, socket.AF_UNSPEC)
    await resolver.close()


async def test_guarded_resolver_filters_by_family() -> None:
    stub = StubResolver({"dual.test": ["93.184.216.34", "2606:4700:4700::1111"]})
    resolver = GuardedResolver(allowed_hosts=NONE, resolver=stub)
    results = await resolver.resolve("dual.test", 80, socket.AF_INET6)
    assert [r["host"] for r in results] == ["2606:4700:4700::1111"]


def test_is_file_url() -> None:
    assert is_file_url("file:///tmp/feed.xml")
    assert is_file_url("FILE:///tmp/feed.xml")
    assert not is_file_url("https://example.org/feed.xml")
    assert not is_file_url("/tmp/feed.xml")


def test_read_file_url(tmp_path: Path) -> None:
    path = tmp_path / "my feed.xml"
    path.write_bytes(b"<rss/>")
    assert read_file_url(path.as_uri(), 100) == b"<rss/>"
    assert read_file_url(f"file://localhost{path.as_uri()[7:]}", 100) == b"<rss/>"
    with pytest.raises(FeedTooLargeError, match="Feed too large"):
        read_file_url(path.as_uri(), 3)
    with pytest.raises(UnsafeURLError):
        read_file_url(f"file://server.example{path.as_uri()[7:]}", 100)
    with pytest.raises(ValueError):
        read_file_url("https://example.org/feed.xml", 100)
