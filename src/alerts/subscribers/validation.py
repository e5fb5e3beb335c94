"""Turn untrusted sign-up and preference input into checked values, or plain-word errors."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email

from alerts.errors import ValidationError
from alerts.models import Frequency

MAX_EMAIL = 254
MAX_CHOICES = 300
LANGUAGES = ("en",)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


@dataclass(frozen=True)
class Choices:
    """Topics, countries and frequency a subscriber picked."""

    topics: frozenset[str] = field(default_factory=frozenset)
    countries: frozenset[str] = field(default_factory=frozenset)
    frequency: Frequency = Frequency.WEEKLY


@dataclass(frozen=True)
class SignupRequest:
    """A checked sign-up: address, choices, language, and whether a bot filled the honeypot."""

    email: str
    email_key: str
    choices: Choices
    language: str = "en"
    is_bot: bool = False


def normalise_email(raw: object) -> tuple[str, str]:
    """Return (address to write to, unique key) or raise ValidationError."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationError({"email": "Enter your email address."})
    value = raw.strip()
    if _CONTROL.search(value):
        raise ValidationError({"email": "The address must not contain line breaks."})
    if len(value) > MAX_EMAIL:
        raise ValidationError({"email": f"The address is longer than {MAX_EMAIL} characters."})
    try:
        checked = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as e:
        raise ValidationError({"email": f"This is not a valid email address: {e}"}) from e
    address = checked.ascii_email or checked.normalized
    return address, address.lower()


def _as_list(value: object, name: str) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValidationError({name: "Expected a list of names."})
    if len(value) > MAX_CHOICES:
        raise ValidationError({name: f"Choose at most {MAX_CHOICES}."})
    return [v.strip() for v in value if v.strip()]


def check_choices(
    topics: object,
    countries: object,
    frequency: object,
    *,
    known_topics: Iterable[str],
    known_countries: Iterable[str],
    default_frequency: Frequency = Frequency.WEEKLY,
) -> Choices:
    """Return the checked choices or raise ValidationError naming each bad field."""
    errors: dict[str, str] = {}
    topic_set: set[str] = set()
    country_set: set[str] = set()
    try:
        topic_set = {t.lower() for t in _as_list(topics, "topics")}
        unknown = sorted(topic_set - set(known_topics))
        if unknown:
            errors["topics"] = "Unknown topic: " + ", ".join(u[:40] for u in unknown[:5])
    except ValidationError as e:
        errors.update(e.errors)
    try:
        country_set = {c.upper() for c in _as_list(countries, "countries")}
        unknown = sorted(country_set - set(known_countries))
        if unknown:
            errors["countries"] = "Unknown country: " + ", ".join(u[:40] for u in unknown[:5])
    except ValidationError as e:
        errors.update(e.errors)
    freq = default_frequency
    if frequency not in (None, ""):
        try:
            freq = Frequency(str(frequency))
        except ValueError:
            errors["frequency"] = "Choose immediate, daily or weekly."
    if errors:
        raise ValidationError(errors)
    return Choices(frozenset(topic_set), frozenset(country_set), freq)


def check_signup(
    data: Mapping[str, object],
    *,
    known_topics: Iterable[str],
    known_countries: Iterable[str],
) -> SignupRequest:
    """Check a sign-up from the form or the API; every problem is reported at once."""
    errors: dict[str, str] = {}
    email = key = ""
    try:
        email, key = normalise_email(data.get("email"))
    except ValidationError as e:
        errors.update(e.errors)
    choices = Choices()
    try:
        choices = check_choices(
            data.get("topics"),
            data.get("countries"),
            data.get("frequency"),
            known_topics=known_topics,
            known_countries=known_countries,
        )
    except ValidationError as e:
        errors.update(e.errors)
    language = data.get("language") or "en"
    if language not in LANGUAGES:
        errors["language"] = "Unsupported language."
    if errors:
        raise ValidationError(errors)
    honeypot = data.get("website")
    return SignupRequest(
        email=email,
        email_key=key,
        choices=choices,
        language=str(language),
        is_bot=bool(honeypot),
    )
