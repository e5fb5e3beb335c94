"""Time DigestRenderer.create once and render() per subscriber: ~10 of 300 articles each.

Run: .venv/bin/python bench/render.py [--messages 20000] [--articles 300] [--selected 10]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alerts.digests.content import select_for
from alerts.digests.render import DigestRenderer
from tests.digests.render_samples import (
    BRANDING,
    COUNTRIES,
    EDITIONS,
    TEMPLATES,
    TOPICS,
    articles,
    recipient,
)


def main() -> None:
    """Print the edition set-up time and the per-message render time."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--messages", type=int, default=20_000)
    p.add_argument("--articles", type=int, default=300)
    p.add_argument("--selected", type=int, default=10)
    args = p.parse_args()

    window = articles(padding=max(0, args.articles - len(articles())))
    started = time.perf_counter()
    renderer = DigestRenderer.create_sync(TEMPLATES, EDITIONS["weekly"], BRANDING)
    setup = time.perf_counter() - started

    rng = random.Random(1)
    people = []
    for n in range(200):
        who = recipient(
            n, f"reader{n}@example.org", rng.sample(list(TOPICS), 2), rng.sample(list(COUNTRIES), 2)
        )
        chosen = select_for(window, who.topics, who.countries)
        people.append((who, rng.sample(chosen, min(args.selected, len(chosen)))))

    started = time.perf_counter()
    for who, chosen in people:  # the first pass fills the per-article cache
        renderer.render(who, chosen)
    first_pass = (time.perf_counter() - started) / len(people)

    batches: list[float] = []
    per_batch = max(1, args.messages // 20)
    for _ in range(20):
        started = time.perf_counter()
        for i in range(per_batch):
            who, chosen = people[i % len(people)]
            renderer.render(who, chosen)
        batches.append((time.perf_counter() - started) / per_batch)

    sizes = [len(renderer.render(who, chosen).html) for who, chosen in people[:20]]
    print(f"edition set-up (jinja2 + MJML, once): {setup * 1e3:.1f} ms")
    print(f"first pass, cache filling:           {first_pass * 1e6:.0f} µs per message")
    print(
        f"render() with {args.selected} of {len(window)} articles: "
        f"median {statistics.median(batches) * 1e6:.0f} µs, "
        f"best {min(batches) * 1e6:.0f} µs per message over {per_batch * 20} messages"
    )
    print(f"HTML size: about {statistics.mean(sizes) / 1024:.0f} KiB per message")


if __name__ == "__main__":
    main()
