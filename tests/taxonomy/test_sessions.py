import pytest

from alerts.taxonomy.sessions import ORDINAL_WORDS, find_sessions, key_issues_session
from alerts.taxonomy.text import normalise


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("HRC55", [55]),
        ("HRC 55", [55]),
        ("HRC-55", [55]),
        ("HRC\u201355", [55]),
        ("UNHRC56 opens", [56]),
        ("at HRC 57th session", [57]),
        ("the 55th session of the Human Rights Council", [55]),
        ("the 51st regular session of the UN Human Rights Council", [51]),
        ("the Human Rights Council's 55th session", [55]),
        ("the Human Rights Council\u2019s upcoming 58th session", [58]),
        ("the fifty-fifth session of the Human Rights Council", [55]),
        ("The Fifty-Eighth Session of the Human Rights Council", [58]),
        ("the Council's fortieth session", [40]),
        ("HRC55 and HRC56", [55, 56]),
        ("HRC56, after the 55th session of the Human Rights Council", [56, 55]),
        ("HRC55 ... HRC 55", [55]),
    ],
)
def test_session_references(text: str, expected: list[int]) -> None:
    assert find_sessions(normalise(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "hrc55",
        "the 36th special session of the Human Rights Council",
        "A/HRC/55/L.1",
        "the 79th session of the General Assembly",
        "HRC0",
        "the 2024 session",
        "https://ishr.ch/hrc55-key-issues",
        "HRCs",
    ],
)
def test_not_session_references(text: str) -> None:
    assert find_sessions(normalise(text)) == []


def test_ordinal_words() -> None:
    assert ORDINAL_WORDS["first"] == 1
    assert ORDINAL_WORDS["twelfth"] == 12
    assert ORDINAL_WORDS["twentieth"] == 20
    assert ORDINAL_WORDS["sixty-third"] == 63
    assert ORDINAL_WORDS["ninetieth"] == 90
    assert len(ORDINAL_WORDS) == 99


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("HRC55: Key issues on agenda of March 2024 session", 55),
        ("HRC 56: key issues on agenda of June 2024 session", 56),
        ("Key issues at the Human Rights Council's 57th session", 57),
        ("HRC55: Joint statement on reprisals", None),
        ("Key issues for defenders in 2024", None),
    ],
)
def test_key_issues_session(title: str, expected: int | None) -> None:
    assert key_issues_session(normalise(title)) == expected
