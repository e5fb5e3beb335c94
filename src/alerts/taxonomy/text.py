"""Text normalisation and compiled term patterns shared by the matchers."""

import html
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Generic, TypeVar

T = TypeVar("T")

_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]*>", re.IGNORECASE | re.DOTALL)
_COMBINING = re.compile(r"[\u0300-\u036f]")
_SPACE = re.compile(r"\s+")
_PUNCT = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u02bc": "'",
        "`": "'",
        "\u00b4": "'",
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u00ad": None,
    }
)
# An upper-case letter after a word's first letter marks an acronym or a fixed spelling
# ("US", "DRC", "oPt", "BiH"); such terms never match other casings, so "us" stays a pronoun.
_INNER_UPPER = re.compile(r"[A-Za-z][^\s'\-.]*?[A-Z]|[A-Z]\.[A-Z]")
# Names that are also common lower-case words ("polish", "jersey", "reunion").
_FIXED_CASE = frozenset({"Polish", "Jersey", "Guernsey", "Reunion"})


def strip_html(text: str) -> str:
    """Return the visible text of an HTML fragment."""
    if "<" not in text and "&" not in text:
        return text
    return html.unescape(_TAG.sub(" ", text))


def normalise(text: str) -> str:
    """Fold accents, quotes, dashes and runs of whitespace so literal terms can match."""
    text = text.translate(_PUNCT)
    if not text.isascii():
        text = _COMBINING.sub("", unicodedata.normalize("NFKD", text))
    return _SPACE.sub(" ", text).strip()


def is_case_sensitive(term: str) -> bool:
    """Tell whether a term is an acronym or fixed spelling that must match its exact case."""
    if term in _FIXED_CASE:
        return True
    return any(_INNER_UPPER.match(word) for word in re.split(r"[\s'\-]+", term))


def variants(term: str) -> set[str]:
    """Return the normalised spellings of a term (hyphen or space, '&' for 'and', 'St')."""
    base = normalise(term)
    out = {base}
    if "-" in base:
        out.add(base.replace("-", " "))
    for spelling in list(out):
        if " and " in spelling:
            out.add(spelling.replace(" and ", " & "))
        if spelling.startswith("Saint "):
            out.add("St " + spelling[6:])
            out.add("St. " + spelling[6:])
    return out


def _trie(terms: Iterable[str]) -> dict[str, object]:
    root: dict[str, object] = {}
    for term in terms:
        node = root
        for ch in term:
            child = node.setdefault(ch, {})
            assert isinstance(child, dict)
            node = child
        node[""] = {}
    return root


def _trie_regex(node: Mapping[str, object]) -> str:
    branches = []
    for ch in sorted(k for k in node if k):
        child = node[ch]
        assert isinstance(child, dict)
        branches.append(re.escape(ch) + _trie_regex(child))
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    # Greedy optional: the longer term is tried first, the shorter one on backtracking.
    return f"(?:{body})?" if "" in node else body


def _lower(text: str) -> str:
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    # Match offsets must line up with the original text, so keep any letter whose
    # lower case is longer ("İ" -> "i̇") as it is.
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def _compile(terms: Iterable[str], suffix: str) -> re.Pattern[str] | None:
    if not terms:
        return None
    trie = _trie_regex(_trie(terms))
    return re.compile(rf"(?<![\w+])(?P<t>{trie}){suffix}(?![\w+])")


class TermMatcher(Generic[T]):
    """Find terms in normalised text, preferring the longest, and give their values."""

    def __init__(self, terms: Mapping[str, T], suffix: str = "") -> None:
        """Compile the terms, each matching also `suffix` (a regex) right after it."""
        self._exact: dict[str, T] = {}
        self._folded: dict[str, T] = {}
        for term, value in terms.items():
            for spelling in variants(term):
                if is_case_sensitive(spelling):
                    self._exact[spelling] = value
                else:
                    self._folded[spelling.lower()] = value
        # Case-insensitive terms run on lower-cased text with a case-sensitive pattern:
        # the regex engine only takes its fast paths without re.IGNORECASE.
        self._exact_re = _compile(self._exact, suffix)
        self._folded_re = _compile(self._folded, suffix)

    def find(self, text: str) -> list[T]:
        """Return the value of each term found in normalised text, in text order."""
        hits: list[tuple[int, int, T]] = []
        if self._folded_re is not None:
            folded = self._folded
            hits.extend(
                (m.start(), -m.end(), folded[m["t"]])
                for m in self._folded_re.finditer(_lower(text))
            )
        if self._exact_re is None:
            return [value for _, _, value in hits]
        exact = self._exact
        hits.extend((m.start(), -m.end(), exact[m["t"]]) for m in self._exact_re.finditer(text))
        hits.sort(key=lambda hit: (hit[0], hit[1]))
        # As one alternation would: leftmost first, then longest, never overlapping.
        found: list[T] = []
        end = 0
        for start, neg_end, value in hits:
            if start >= end:
                found.append(value)
                end = -neg_end
        return found
