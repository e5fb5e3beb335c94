"""Text normalisation and compiled term patterns shared by the matchers."""

import html
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import TypeVar

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


def compile_terms(
    terms: Iterable[str], suffix: str = "", group: str | None = None
) -> re.Pattern[str] | None:
    """Compile terms into one word-bounded regex that prefers the longest term.

    With `group`, the term without `suffix` is captured under that name.
    """
    sensitive: set[str] = set()
    insensitive: set[str] = set()
    for term in terms:
        for spelling in variants(term):
            if is_case_sensitive(spelling):
                sensitive.add(spelling)
            else:
                insensitive.add(spelling.casefold())
    parts = []
    if sensitive:
        parts.append(f"(?-i:{_trie_regex(_trie(sensitive))})")
    if insensitive:
        parts.append(_trie_regex(_trie(insensitive)))
    if not parts:
        return None
    body = "|".join(parts)
    body = f"(?P<{group}>{body})" if group else f"(?:{body})"
    return re.compile(rf"(?<![\w+]){body}{suffix}(?![\w+])", re.IGNORECASE)


def term_index(mapping: Mapping[str, T]) -> dict[str, T]:
    """Index values by every spelling of their terms, for `lookup`."""
    index: dict[str, T] = {}
    for term, value in mapping.items():
        for spelling in variants(term):
            index[spelling if is_case_sensitive(spelling) else spelling.casefold()] = value
    return index


def lookup(index: Mapping[str, T], matched: str) -> T | None:
    """Return the value filed for a spelling matched by a `compile_terms` regex."""
    found = index.get(matched)
    return found if found is not None else index.get(matched.casefold())
