"""Sample editions and recipients for the digest rendering and spam-score tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from alerts.digests.content import (
    ArticleItem,
    CountdownItem,
    EditionContext,
    Recipient,
    select_for,
)
from alerts.digests.render import DigestRenderer
from alerts.mail.message import Envelope, build_message, message_id_for
from alerts.mail.render import Rendered
from alerts.mail.transactional import Branding

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
SITE = "https://alerts.ishr.example"
NOW = datetime(2025, 6, 9, 7, 0, tzinfo=UTC)
BRANDING = Branding(
    sender="ISHR <alerts@ishr.example>",
    organisation="International Service for Human Rights",
    address="Rue de Varembé 1, 1202 Geneva, Switzerland",
    list_id="ISHR Stay in the loop <loop.ishr.example>",
    host="ishr.example",
)
TOPICS = {
    "reprisals": "Reprisals",
    "whrd": "Women human rights defenders",
    "civic-space": "Civic space",
    "business": "Business and human rights",
    "environment": "Environmental justice",
    "lgbtiq": "LGBTIQ+ rights",
    "un-system": "UN system",
}
COUNTRIES = {"CN": "China", "BR": "Brazil", "CO": "Colombia", "EG": "Egypt", "UG": "Uganda"}

# (title, source, topics, countries, summary)
_ARTICLES: list[tuple[str, str, set[str], set[str], str]] = [
    (
        "HRC59: Key issues on agenda of June 2025 session",
        "ISHR",
        {"un-system"},
        set(),
        "The Council will consider reports on freedom of expression, on the independence of "
        "judges and lawyers, and on the rights of Indigenous peoples. Civil society will follow "
        "the renewal of the mandate on sexual orientation and gender identity closely.",
    ),
    (
        "Defenders in Colombia face rising threats ahead of elections",
        "ISHR",
        {"reprisals"},
        {"CO"},
        "Community leaders and land defenders report threats, surveillance and attacks. "
        "Local organisations ask the Government to fund the protection programme it promised.",
    ),
    (
        "China: Joint statement on the detention of lawyers",
        "ISHR",
        {"reprisals", "civic-space"},
        {"CN"},
        "Thirty organisations call for the release of human rights lawyers held since "
        "2023 and for access for independent observers. The statement was delivered in Geneva.",
    ),
    (
        "Women defenders shape the Beijing+30 review",
        "ISHR",
        {"whrd"},
        set(),
        "Women human rights defenders from five regions met in Geneva to prepare their "
        "contributions to the review. They stressed the role of feminist movements.",
    ),
    (
        "Brazil: Land defenders in the Amazon need protection now",
        "ISHR",
        {"environment", "reprisals"},
        {"BR"},
        "Indigenous and quilombola leaders describe killings and attacks on their territories. "
        "They ask the authorities to demarcate lands and to investigate every attack promptly.",
    ),
    (
        "Business and human rights: treaty talks resume",
        "ISHR",
        {"business"},
        set(),
        "States met for the tenth session of the working group on a binding instrument. "
        "Civil society welcomed clearer language on the protection of defenders.",
    ),
    (
        "Egypt: Civic space shrinks as NGO law is applied",
        "ISHR",
        {"civic-space"},
        {"EG"},
        "Organisations describe travel bans, asset freezes and long pre-trial detention. "
        "UN experts have raised the cases with the Government in several communications.",
    ),
    (
        "Uganda: Anti-homosexuality act one year on",
        "ISHR",
        {"lgbtiq"},
        {"UG"},
        "Activists document evictions, arrests and the closure of health services. They ask "
        "the Council to keep the situation under review and to hear from affected people.",
    ),
    (
        "Reprisals report: cooperation with the UN still carries risks",
        "ISHR",
        {"reprisals", "un-system"},
        set(),
        "The Secretary-General's annual report lists cases of intimidation against people who "
        "engaged with the United Nations. Many cases concern women and young activists.",
    ),
    (
        "Environmental defenders and the right to a healthy environment",
        "ISHR",
        {"environment"},
        {"CO", "BR"},
        "A new briefing explains how defenders can use the recognition of the right to a "
        "clean, healthy and sustainable environment in their advocacy at national level.",
    ),
    (
        "Special procedures: new mandate holders appointed",
        "ISHR",
        {"un-system"},
        set(),
        "The Council appointed independent experts on several thematic mandates. Their "
        "selection followed a public call for applications and interviews by a panel.",
    ),
    (
        "Civic space in Latin America: a regional overview",
        "ISHR",
        {"civic-space"},
        {"CO", "BR"},
        "Protest rights, access to information and the safety of journalists are "
        "under pressure in the region. The overview collects recommendations from partners.",
    ),
    (
        "Women defenders online: digital attacks and responses",
        "ISHR",
        {"whrd"},
        set(),
        "Online harassment targets women defenders and journalists. Partners shared practical "
        "steps for documentation and asked platforms to respond faster to reports.",
    ),
    (
        "Treaty bodies review Egypt and Uganda in July",
        "ISHR",
        {"un-system"},
        {"EG", "UG"},
        "The Human Rights Committee and the Committee against Torture will review both States. "
        "Organisations can still send written information before the deadline in June.",
    ),
]


def articles(count: int = len(_ARTICLES), *, padding: int = 0) -> list[ArticleItem]:
    """Return sample articles, newest first, plus ``padding`` filler ones for benchmarks."""
    items = [
        ArticleItem(
            id=i + 1,
            title=title,
            url=f"https://ishr.example/news/{i + 1}-sample",
            summary_html="".join(f"<p>{p.rstrip('.')}.</p>" for p in summary.split(". ") if p),
            summary_text=summary,
            published_at=NOW - timedelta(hours=5 * i + 1),
            source_title=source,
            topics=frozenset(topics),
            countries=frozenset(countries),
        )
        for i, (title, source, topics, countries, summary) in enumerate(_ARTICLES[:count])
    ]
    for j in range(padding):
        items.append(
            ArticleItem(
                id=1000 + j,
                title=f"Briefing number {j} on the work of the Council",
                url=f"https://ishr.example/news/{1000 + j}-briefing",
                summary_html=f"<p>Summary of briefing {j} with <em>emphasis</em>.</p>",
                summary_text=f"Summary of briefing {j} with emphasis. " * 12,
                published_at=NOW - timedelta(minutes=j),
                source_title="ISHR",
                topics=frozenset({list(TOPICS)[j % len(TOPICS)]}),
                countries=frozenset({list(COUNTRIES)[j % len(COUNTRIES)]}),
            )
        )
    return items


COUNTDOWNS = (
    CountdownItem(
        text="HRC59 opens in 7 days",
        url="https://ishr.example/sessions/hrc59",
        key_issues_title="HRC59: Key issues on agenda of June 2025 session",
        key_issues_url="https://ishr.example/news/1-sample",
    ),
)
UPCOMING = (
    CountdownItem(text="HRC60: 8 September to 8 October 2025", url=f"{SITE}/sessions/hrc60"),
    CountdownItem(text="HRC61: February to April 2026"),
)
OBSERVANCES = (
    CountdownItem(text="International Day in Support of Victims of Torture in 17 days"),
    CountdownItem(text="Human Rights Day in 184 days", url="https://ishr.example/10-december"),
)


WEEKLY = EditionContext(
    edition_id=101,
    digest_name="Stay in the loop: weekly digest",
    subject="This week: HRC59 opens in 7 days",
    intro_html="<p>Welcome to this week's digest. The <strong>June session</strong> opens "
    "soon: our key issues briefing is below.</p>",
    intro_text="Welcome to this week's digest. The June session opens soon: our key issues "
    "briefing is below.",
    sections=("articles", "countdowns", "upcoming", "observances"),
    group_by="topic",
    countdowns=COUNTDOWNS,
    upcoming=UPCOMING,
    observances=OBSERVANCES,
    topic_names=TOPICS,
    country_names=COUNTRIES,
    window_start=NOW - timedelta(days=7),
    window_end=NOW,
)
EDITIONS = {
    "weekly": WEEKLY,
    "daily": replace(
        WEEKLY,
        edition_id=102,
        digest_name="Country news: daily",
        subject="Today: news from Brazil, Colombia and Egypt",
        intro_html="",
        intro_text="",
        sections=("articles", "countdowns"),
        group_by="country",
        upcoming=(),
        observances=(),
        window_start=NOW - timedelta(days=1),
    ),
    "immediate": replace(
        WEEKLY,
        edition_id=103,
        digest_name="Alerts on reprisals",
        subject="New on reprisals: 2 articles",
        intro_html="",
        intro_text="",
        sections=("articles",),
        countdowns=(),
        upcoming=(),
        observances=(),
        window_start=NOW - timedelta(minutes=15),
    ),
    "empty": replace(
        WEEKLY,
        edition_id=104,
        intro_html="<p>A quiet week on your topics. The session calendar is below.</p>",
        intro_text="A quiet week on your topics. The session calendar is below.",
        sections=("articles", "countdowns", "upcoming"),
        observances=(),
    ),
}
CADENCE = {"weekly": "weekly", "daily": "daily", "immediate": "immediate", "empty": "weekly"}


def recipient(
    n: int, email: str, topics: Sequence[str] = (), countries: Sequence[str] = ()
) -> Recipient:
    """Return a recipient with signed-looking links of its own."""
    return Recipient(
        subscriber_id=n,
        email=email,
        topics=frozenset(topics),
        countries=frozenset(countries),
        manage_url=f"{SITE}/manage/tok{n}.Zm9vYmFy?x=1&y=2",
        unsubscribe_url=f"{SITE}/unsubscribe/tok{n}.YmF6cXV4",
    )


# Each sample: the edition kind, its recipient, all articles of the window.
SAMPLES: dict[str, tuple[Recipient, list[ArticleItem]]] = {
    # 12 of the 14 articles: every topic but business and LGBTIQ+.
    "weekly": (
        recipient(
            1,
            "o'hara@example.org",
            ["reprisals", "whrd", "civic-space", "environment", "un-system"],
        ),
        articles(),
    ),
    "daily": (recipient(2, "ana.silva@example.org", countries=["BR", "CO", "EG"]), articles()),
    "immediate": (recipient(3, "lee@example.org", ["reprisals"]), articles(3)[1:3]),
    "empty": (recipient(4, "quiet@example.org", ["business"]), articles(4)),
}


@dataclass(frozen=True)
class Sample:
    """A rendered sample edition."""

    kind: str
    recipient: Recipient
    selected: list[ArticleItem]
    unselected: list[ArticleItem]
    rendered: Rendered


def render_sample(kind: str, *, email: str | None = None) -> Sample:
    """Render the sample edition ``kind`` for its recipient (or for ``email`` instead)."""
    who, window = SAMPLES[kind]
    if email is not None:
        who = replace(who, email=email)
    selected = select_for(window, who.topics, who.countries)
    renderer = DigestRenderer.create_sync(
        TEMPLATES, EDITIONS[kind], BRANDING, cadence=CADENCE[kind]
    )
    unselected = [a for a in window if a not in selected]
    return Sample(kind, who, selected, unselected, renderer.render(who, selected))


def message(sample: Sample) -> EmailMessage:
    """Return the sample as a full RFC 5322 message, as the sender would build it."""
    envelope = Envelope(
        sender=BRANDING.sender,
        recipient=sample.recipient.email,
        message_id=message_id_for(
            f"edition-{sample.kind}", sample.recipient.subscriber_id, BRANDING.host
        ),
        list_id=BRANDING.list_id,
        unsubscribe_url=sample.recipient.unsubscribe_url,
        date=datetime.now(UTC),
    )
    return build_message(envelope, sample.rendered)
