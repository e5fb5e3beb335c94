from datetime import UTC, datetime, timedelta

import pytest

from alerts.ingest.schedule import next_fetch_at, next_fetch_delay


@pytest.mark.parametrize(
    ("failures", "expected"),
    [(-1, 1), (0, 1), (1, 2), (2, 4), (4, 16), (5, 24), (100, 24), (10_000, 24)],
)
def test_next_fetch_delay_backs_off_and_caps(failures: int, expected: int) -> None:
    assert next_fetch_delay(timedelta(hours=1), failures) == timedelta(hours=expected)


def test_next_fetch_delay_never_shortens_a_long_interval() -> None:
    assert next_fetch_delay(timedelta(days=7), 3) == timedelta(days=7)


def test_next_fetch_delay_jitter_is_deterministic_and_bounded() -> None:
    one = next_fetch_delay(timedelta(hours=1), 2, jitter=0.1, jitter_key="feed-1")
    assert one == next_fetch_delay(timedelta(hours=1), 2, jitter=0.1, jitter_key="feed-1")
    assert timedelta(hours=3.6) <= one <= timedelta(hours=4)
    others = {
        next_fetch_delay(timedelta(hours=1), 2, jitter=0.1, jitter_key=f"feed-{n}")
        for n in range(10)
    }
    assert len(others) > 1


def test_next_fetch_at_is_within_the_interval_and_backs_off() -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    first = next_fetch_at(now, 3600, 0, "7")
    assert now + timedelta(minutes=54) <= first <= now + timedelta(hours=1)
    assert next_fetch_at(now, 3600, 3, "7") > now + timedelta(hours=7)
