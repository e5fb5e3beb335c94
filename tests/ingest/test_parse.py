import hashlib
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from alerts.ingest import FeedParseError
from alerts.ingest.parse import ParsedEntry, ParsedFeed, parse_feed, parse_feed_async

FEEDS = Path(__file__).parent.parent / "data" / "feeds"
FETCHED_AT = datetime(2024, 7, 1, 8, 0, tzinfo=UTC)
BASE = "https://example.org/feeds/rss.xml"


def parse(body: bytes, **kwargs: object) -> ParsedFeed:
    options: dict[str, object] = {"base_url": BASE, "fetched_at": FETCHED_AT, **kwargs}
    return parse_feed(body, **options)  # type: ignore[arg-type]


def rss(items: str, *, declaration: str = '<?xml version="1.0" encoding="utf-8"?>') -> str:
    return f'{declaration}\n<rss version="2.0"><channel><title>T</title>{items}</channel></rss>'


@pytest.fixture
def rss_feed() -> ParsedFeed:
    return parse((FEEDS / "rss2.xml").read_bytes())


@pytest.fixture
def atom_feed() -> ParsedFeed:
    return parse((FEEDS / "atom.xml").read_bytes())


def test_rss_feed_title_and_link(rss_feed: ParsedFeed) -> None:
    assert rss_feed.title == "ISHR & friends — news"
    assert rss_feed.link == "https://example.org/news/"
    assert rss_feed.problem is None
    assert len(rss_feed.entries) == 3


def test_rss_entry_fields(rss_feed: ParsedFeed) -> None:
    entry = rss_feed.entries[0]
    assert entry.guid == "ishr-hrc55-key-issues"
    assert entry.link == "https://example.org/news/hrc55-key-issues"
    assert entry.title == "HRC55: Key issues on agenda of March 2024 session"
    assert entry.categories == ("UN system", "Reprisals")
    assert entry.content_html is not None
    assert '<a href="https://example.org/about" rel="noopener noreferrer nofollow">' in (
        entry.content_html
    )


def test_hostile_summary_is_sanitised(rss_feed: ParsedFeed) -> None:
    summary = rss_feed.entries[0].summary_html
    for bad in ("<script", "document.cookie", "onclick", "onerror", "<img", "tracker.example"):
        assert bad not in summary
    for bad in ("javascript:", "data:", "vbscript:", "<style", "display: none"):
        assert bad not in summary
    assert "<b>55th session</b>" in summary
    assert 'href="https://example.org/sessions/55"' in summary


def test_timezone_offset_converted_to_utc(rss_feed: ParsedFeed, atom_feed: ParsedFeed) -> None:
    assert rss_feed.entries[0].published == datetime(2024, 3, 5, 8, 0, tzinfo=UTC)
    # Atom: published wins over updated.
    assert atom_feed.entries[0].published == datetime(2024, 6, 1, 14, 30, tzinfo=UTC)
    # Only updated: it is used, converted from +05:30.
    assert atom_feed.entries[1].published == datetime(2024, 6, 3, 18, 0, tzinfo=UTC)
    for entry in rss_feed.entries + atom_feed.entries:
        assert entry.published.utcoffset() == timedelta(0)


def test_missing_date_falls_back_to_fetched_at(rss_feed: ParsedFeed) -> None:
    assert rss_feed.entries[1].published == FETCHED_AT


def test_fetched_at_in_other_zone_is_converted() -> None:
    fetched = datetime(2024, 7, 1, 10, 0, tzinfo=timezone(timedelta(hours=2)))
    feed = parse(rss("<item><title>x</title></item>").encode(), fetched_at=fetched)
    assert feed.entries[0].published == FETCHED_AT
    assert feed.entries[0].published.tzinfo == UTC


def test_naive_fetched_at_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse(rss("<item><title>x</title></item>").encode(), fetched_at=datetime(2024, 1, 1))


def test_guid_falls_back_to_link_then_hash(rss_feed: ParsedFeed) -> None:
    with_link, anonymous = rss_feed.entries[1], rss_feed.entries[2]
    assert with_link.guid == "https://example.org/news/china-defenders"
    assert anonymous.link is None
    assert anonymous.guid == anonymous.content_hash
    assert len(anonymous.content_hash) == 64


def test_title_is_plain_text_with_collapsed_whitespace(rss_feed: ParsedFeed) -> None:
    assert rss_feed.entries[1].title == "Defenders in China face reprisals"
    # No title: the start of the text stands in.
    assert rss_feed.entries[2].title.startswith("An item with neither guid")


def test_title_entities_are_decoded() -> None:
    # RSS titles are HTML inside XML: "&amp;amp;" is the HTML text "&amp;", that is "&".
    feed = parse(rss("<item><title>R&amp;D &amp; a &lt; b, AT&amp;amp;T</title></item>").encode())
    assert feed.entries[0].title == "R&D & a < b, AT&T"


def test_tag_soup_title_does_not_crash() -> None:
    feed = parse(rss("<item><title>&lt;![foo bar]&gt;Title &lt;b&gt;x</title></item>").encode())
    assert feed.entries[0].title == "Title x"


def test_long_title_is_capped() -> None:
    feed = parse(rss(f"<item><title>{'word ' * 300}</title></item>").encode())
    assert len(feed.entries[0].title) == 500
    assert feed.entries[0].title.endswith("…")


def test_atom_feed(atom_feed: ParsedFeed) -> None:
    assert atom_feed.title == "Stay in the loop & more"
    assert atom_feed.link == "https://example.org/"
    first = atom_feed.entries[0]
    assert first.title == "Women human rights defenders"
    assert first.link == "https://example.org/atom-base/entries/whrd"
    assert first.guid == "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a"
    # type="text" summary is text: the markup shows as text, never runs.
    assert first.summary_html == "Summary with &lt;script&gt;alert(1)&lt;/script&gt; as plain text"
    assert first.content_html == (
        '<p>Content <a href="https://example.org/x" rel="noopener noreferrer nofollow">x</a></p>'
    )
    assert first.categories == ("women-human-rights-defenders",)


def test_content_hash_is_stable_and_depends_on_content() -> None:
    one = parse(rss("<item><title>A  title</title><description>Body</description></item>").encode())
    two = parse(
        rss("<item><title>A title</title><description> Body </description></item>").encode()
    )
    three = parse(
        rss("<item><title>A title</title><description>Other</description></item>").encode()
    )
    assert one.entries[0].content_hash == two.entries[0].content_hash
    assert one.entries[0].content_hash != three.entries[0].content_hash
    expected = hashlib.sha256(b"A title\n\nBody").hexdigest()
    assert one.entries[0].content_hash == expected


def test_only_http_links_are_kept() -> None:
    items = (
        "<item><title>a</title><link>javascript:alert(1)</link></item>"
        "<item><title>b</title><link>ftp://example.org/x</link></item>"
        "<item><title>c</title><link>//cdn.example.org/x</link></item>"
    )
    links = [e.link for e in parse(rss(items).encode()).entries]
    assert links == [None, None, "https://cdn.example.org/x"]


def test_entries_without_title_or_text_are_skipped() -> None:
    items = "<item><link>https://example.org/1</link></item><item><title>kept</title></item>"
    feed = parse(rss(items).encode())
    assert [e.title for e in feed.entries] == ["kept"]
    assert feed.problem == "Skipped 1 entry with no title or text"


def test_empty_but_valid_feed_has_no_entries() -> None:
    feed = parse(rss("").encode())
    assert feed.entries == ()
    assert feed.problem is None


def test_entries_are_frozen(rss_feed: ParsedFeed) -> None:
    entry: ParsedEntry = rss_feed.entries[0]
    with pytest.raises(AttributeError):
        entry.title = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"   \n ", "empty"),
        (b"<!DOCTYPE html><html><head><title>Hi</title></head><body>x</body></html>", "HTML page"),
        (b'{"version": "not a feed"}', "Not a feed"),
        (b"\x00\x01\x02 garbage \xff\xfe", "^Not a feed: ill-formed XML: not well-formed"),
        (b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title><ite", "No readable"),
    ],
)
def test_not_a_feed_raises_clear_error(body: bytes, message: str) -> None:
    with pytest.raises(FeedParseError, match=message):
        parse(body)


def test_truncated_feed_keeps_complete_entries_only() -> None:
    body = rss(
        "<item><title>First</title><link>https://example.org/1</link></item>"
        "<item><title>Second</title><link>https://example.org/2</link></item>"
    ).encode()
    cut = body[: body.index(b"Second") + 3]
    feed = parse(cut)
    assert [e.title for e in feed.entries] == ["First"]
    assert feed.problem is not None
    assert feed.problem.startswith("Ill-formed XML")
    assert "dropped" in feed.problem


def test_ill_formed_but_readable_sets_problem() -> None:
    body = rss("\n\n<item><title>a</b></title><link>https://example.org/1</link></item>").encode()
    feed = parse(body)
    assert feed.problem == "Ill-formed XML: mismatched tag at line 4"
    assert [e.title for e in feed.entries] == ["a"]


@pytest.mark.parametrize(
    ("declared", "encoding"),
    [("utf-8", "latin-1"), ("x-no-such-encoding", "utf-8"), ("utf-16", "utf-8")],
)
def test_wrong_declared_encoding_does_not_crash(declared: str, encoding: str) -> None:
    body = rss(
        "<item><title>Défenseurs des droits</title></item>",
        declaration=f'<?xml version="1.0" encoding="{declared}"?>',
    ).encode(encoding)
    feed = parse(body)
    assert feed.entries[0].title == "Défenseurs des droits"
    assert feed.problem is not None
    assert "encoding" in feed.problem


def test_feed_served_as_html_is_read_with_a_problem() -> None:
    body = rss("<item><title>x</title></item>").encode()
    feed = parse(body, response_headers={"Content-Type": "text/html; charset=utf-8"})
    assert [e.title for e in feed.entries] == ["x"]
    assert feed.problem == "Served with a content type that is not a feed type"


def test_content_type_charset_is_used() -> None:
    body = rss("<item><title>Café</title></item>", declaration="<?xml version='1.0'?>")
    feed = parse(
        body.encode("latin-1"), response_headers={"Content-Type": "text/xml; charset=iso-8859-1"}
    )
    assert feed.entries[0].title == "Café"


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE rss [
<!ENTITY lol "lol">
<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><title>&lol9;</title><link>https://example.org/1</link></item></channel></rss>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>t</title>
<item><title>&xxe;</title><link>https://example.org/1</link></item></channel></rss>"""


@pytest.mark.parametrize(
    "body",
    [
        BILLION_LAUGHS.encode(),
        BILLION_LAUGHS.replace('"1.0"?>', '"1.0" encoding="utf-16"?>', 1).encode("utf-16"),
        EXTERNAL_ENTITY.encode(),
    ],
    ids=["billion-laughs", "billion-laughs-utf16", "external-entity"],
)
def test_entity_declarations_are_refused_quickly(body: bytes) -> None:
    started = time.monotonic()
    with pytest.raises(FeedParseError, match="declares XML entities"):
        parse(body)
    assert time.monotonic() - started < 1


def test_bytes_body_is_never_opened_as_a_path(tmp_path: Path) -> None:
    secret = tmp_path / "secret.xml"
    secret.write_text(rss("<item><title>secret</title></item>"))
    with pytest.raises(FeedParseError):
        parse(str(secret).encode())


async def test_parse_feed_async_runs_in_executor() -> None:
    feed = await parse_feed_async(
        (FEEDS / "atom.xml").read_bytes(), base_url=BASE, fetched_at=FETCHED_AT
    )
    assert len(feed.entries) == 2
