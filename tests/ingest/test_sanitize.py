import pytest

from alerts.ingest.sanitize import html_to_text, sanitize_html

BASE = "https://example.org/news/feed.xml"
REL = 'rel="noopener noreferrer nofollow"'


def clean(html: str, base_url: str = BASE) -> str:
    return sanitize_html(html, base_url=base_url)


@pytest.mark.parametrize(
    "html",
    [
        "<script>alert(1)</script>",
        "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
        "<style>body{display:none}</style>",
        "<iframe src=https://evil.example/>fallback</iframe>",
        "<svg><script>alert(1)</script></svg>",
        "<noscript><img src=https://tracker.example/p.gif></noscript>",
    ],
)
def test_dangerous_elements_are_removed_with_content(html: str) -> None:
    assert clean(f"<p>ok</p>{html}") == "<p>ok</p>"


@pytest.mark.parametrize(
    "html",
    [
        '<p onclick="steal()">x</p>',
        '<b onmouseover="steal()">x</b>',
        '<p style="background:url(https://tracker.example/)">x</p>',
        '<a href="https://example.org/" onclick="steal()">x</a>',
    ],
)
def test_event_handlers_and_styles_are_removed(html: str) -> None:
    out = clean(html)
    assert "steal" not in out
    assert "style" not in out
    assert "tracker" not in out


def test_images_are_removed() -> None:
    out = clean('<p>a<img src="https://tracker.example/p.gif" onerror="alert(1)">b</p>')
    assert out == "<p>ab</p>"


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "jav&#x61;script:alert(1)",
        " javascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
    ],
)
def test_dangerous_url_schemes_are_removed(href: str) -> None:
    assert clean(f'<a href="{href}">x</a>') == f"<a {REL}>x</a>"


def test_relative_links_become_absolute_with_rel() -> None:
    out = clean(
        '<a href="../about?a=1#top">About</a> <a href="/x">X</a> <a href="//cdn.org/y">Y</a>'
    )
    assert f'<a href="https://example.org/about?a=1#top" {REL}>About</a>' in out
    assert f'<a href="https://example.org/x" {REL}>X</a>' in out
    assert f'<a href="https://cdn.org/y" {REL}>Y</a>' in out


def test_absolute_and_mailto_links_are_kept() -> None:
    assert clean('<a href="https://ishr.ch/">x</a>') == f'<a href="https://ishr.ch/" {REL}>x</a>'
    assert clean('<a href="mailto:info@example.org">m</a>') == (
        f'<a href="mailto:info@example.org" {REL}>m</a>'
    )


def test_relative_links_are_dropped_without_a_web_base() -> None:
    assert clean('<a href="/etc/passwd">x</a>', base_url="file:///tmp/feed.xml") == (
        f"<a {REL}>x</a>"
    )
    assert clean('<a href="x">x</a>', base_url="") == f"<a {REL}>x</a>"


def test_allowed_formatting_is_kept() -> None:
    html = (
        "<h2>Title</h2><p><em>e</em> <strong>s</strong> <b>b</b> <i>i</i><br></p>"
        "<ul><li>one</li></ul><ol><li>two</li></ol><blockquote>q</blockquote>"
        "<pre><code>x = 1</code></pre>"
    )
    assert clean(html) == html


def test_unknown_tags_keep_their_text() -> None:
    assert clean('<div class="x"><h1>Head</h1><span>text</span></div>') == "Headtext"


def test_comments_are_removed() -> None:
    assert clean("<p>a<!-- secret -->b</p>") == "<p>ab</p>"


def test_html_to_text() -> None:
    html = (
        "<h2>HRC55</h2><p>Defenders &amp; <b>allies</b>&nbsp;met.</p>"
        '<ul><li>One</li><li>Two <a href="https://ishr.ch/x">read</a></li></ul>'
        "<script>alert(1)</script><p>Line<br>break</p>"
    )
    assert html_to_text(html) == (
        "HRC55\n\nDefenders & allies met.\n\n- One\n- Two read (https://ishr.ch/x)\n\nLine\nbreak"
    )


def test_html_to_text_does_not_repeat_a_url_shown_as_text() -> None:
    assert html_to_text('<a href="https://ishr.ch/">https://ishr.ch/</a>') == "https://ishr.ch/"


def test_html_to_text_of_plain_text() -> None:
    assert html_to_text("  just   text &lt;b&gt; ") == "just text <b>"


@pytest.mark.parametrize("html", ["<![foo bar]>x", "<![if !supportLists]>x<![endif]>", "x<!"])
def test_html_to_text_survives_tag_soup(html: str) -> None:
    assert html_to_text(html).startswith("x")


def test_html_to_text_drops_control_characters() -> None:
    assert html_to_text("<p>\x00a</p>") == "a"
