"""References to regular sessions of the Human Rights Council ("HRC55", "55th session")."""

import re

_UNITS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth"]
_TEENS = [
    "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth",
    "fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth",
]  # fmt: skip
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_TENTHS = [t[:-1] + "ieth" for t in _TENS]

ORDINAL_WORDS: dict[str, int] = {w: i for i, w in enumerate(_UNITS, start=1)}
ORDINAL_WORDS.update({w: i for i, w in enumerate(_TEENS, start=10)})
ORDINAL_WORDS.update({w: 10 * i for i, w in enumerate(_TENTHS, start=2)})
ORDINAL_WORDS.update(
    {f"{t}-{u}": 10 * i + j for i, t in enumerate(_TENS, start=2) for j, u in enumerate(_UNITS, 1)}
)

_ORDINAL = (
    r"(?<!\w)(?:(?P<n>\d{1,3})(?:st|nd|rd|th)|(?P<w>"
    + "|".join(sorted(ORDINAL_WORDS, key=len, reverse=True))
    + "))"
)
# Case-sensitive so "hrc" in a URL slug or a word does not count.
_HRC = re.compile(r"(?<![\w/])(?:UN)?HRC ?-? ?(?P<n>\d{1,3})(?:st|nd|rd|th)?(?![\w/])")
# "55th session of the Human Rights Council": find the fixed words, then look back for
# the ordinal; a leading alternation of ordinals would be tried at every character.
_OF_COUNCIL = re.compile(
    r"(?<!\w)session of the (?:UN |United Nations )?Human Rights Council(?!\w)", re.IGNORECASE
)
_BEFORE_OF_COUNCIL = re.compile(rf"{_ORDINAL} (?:regular )?$", re.IGNORECASE)
_COUNCILS = re.compile(
    rf"(?<!\w)(?:Council|HRC)'s (?:upcoming |next |current |forthcoming )?{_ORDINAL} "
    r"(?:regular )?session(?!\w)",
    re.IGNORECASE,
)
_KEY_ISSUES = re.compile(r"(?<!\w)key issues(?!\w)", re.IGNORECASE)
MAX_SESSION = 200


def _number(m: re.Match[str]) -> int:
    return int(m["n"]) if m["n"] else ORDINAL_WORDS[m["w"].lower()]


def find_sessions(text: str) -> list[int]:
    """Return the regular session numbers referred to in normalised text, in text order."""
    found: list[tuple[int, int]] = []
    if "HRC" in text:
        found.extend((m.start(), _number(m)) for m in _HRC.finditer(text))
    if "'s " in text:
        found.extend((m.start(), _number(m)) for m in _COUNCILS.finditer(text))
    for m in _OF_COUNCIL.finditer(text):
        before = _BEFORE_OF_COUNCIL.search(text, max(0, m.start() - 40), m.start())
        if before:
            found.append((before.start(), _number(before)))
    ordered: list[int] = []
    for _, number in sorted(found):
        if 0 < number <= MAX_SESSION and number not in ordered:
            ordered.append(number)
    return ordered


def key_issues_session(title: str) -> int | None:
    """Return the session a "key issues" briefing title is about, if it is one."""
    if not _KEY_ISSUES.search(title):
        return None
    sessions = find_sessions(title)
    return sessions[0] if sessions else None
