"""Score every sample digest with SpamAssassin's local rules (the network tests stay off)."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

import pytest

from tests.digests.render_samples import SAMPLES, message, render_sample

MAX_SCORE = 2.0
_SCORE = re.compile(r"Content analysis details:\s+\((-?[\d.]+) points")
_RULE = re.compile(r"^\s*(-?[\d.]+)\s+([A-Z0-9_]+)\s+(.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Score:
    """SpamAssassin's verdict on one message."""

    points: float
    rules: list[tuple[float, str, str]]

    def describe(self) -> str:
        return ", ".join(f"{name} ({points:+.1f})" for points, name, _ in self.rules)


def _spamassassin() -> str:
    found = shutil.which("spamassassin")
    if found is None:
        pytest.fail(
            "SpamAssassin is not installed: run scripts/ensure-spamassassin "
            "(`make test` runs it) to install Debian's spamassassin package"
        )
    return found


@pytest.fixture(scope="module")
def scores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Score]:
    program = _spamassassin()
    home = tmp_path_factory.mktemp("spamassassin")
    prefs = home / "user_prefs"
    prefs.write_text("")
    running = {}
    for kind in SAMPLES:
        # An apostrophe in To scores 1.0 (APOSTROPHE_TOCC) whatever the body: use a plain one.
        sample = render_sample(kind, email=f"reader.{kind}@example.org")
        path = home / f"{kind}.eml"
        path.write_bytes(bytes(message(sample)))
        with path.open("rb") as raw:
            # -L: local tests only; a fresh HOME and prefs keep anyone's Bayes data out.
            running[kind] = subprocess.Popen(
                [program, "-L", "-t", "-p", str(prefs)],
                stdin=raw,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            )
    return {kind: _verdict(kind, proc) for kind, proc in running.items()}


def _verdict(kind: str, proc: subprocess.Popen[bytes]) -> Score:
    out, err = proc.communicate(timeout=50)
    report = out.decode("utf-8", "replace")
    found = _SCORE.search(report)
    assert found, f"no SpamAssassin report for {kind}: {err.decode('utf-8', 'replace')}"
    details = report[found.end() :]
    rules = [(float(p), name, desc.strip()) for p, name, desc in _RULE.findall(details)]
    return Score(points=float(found.group(1)), rules=rules)


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_sample_scores_low(kind: str, scores: dict[str, Score]) -> None:
    score = scores[kind]
    print(f"\nSpamAssassin {kind}: {score.points:.1f} points: {score.describe()}")
    assert score.points < MAX_SCORE, (
        f"{kind} scores {score.points} (limit {MAX_SCORE}): "
        + "; ".join(f"{name} {points:+.1f} {desc}" for points, name, desc in score.rules)
    )
