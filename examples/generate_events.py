"""Generate examples/events.jsonl: a year (2026) of usage for examples/contract.yaml.

Deterministic (fixed seed), so the committed file can always be regenerated
byte for byte. About 5% of the events are re-sent later in the file with the same
``source`` and ``id``, as an at-least-once pipeline would, to show that duplicates
never change the totals. Quantities above 1 keep the file small.

    python examples/generate_events.py [--out examples/events.jsonl] [--seed 20260101]
"""

from __future__ import annotations

import argparse
import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

TENANT = "acme"
YEAR = 2026
DEFAULT_SEED = 20260101
DUPLICATE_SHARE = 0.05
EVENT_TYPE = "ai.platform.unit.processed.v1"

# Busier in spring and autumn, quieter in February, August and December: the
# quiet months are where the minimums bite.
SEASON = {
    1: 1.0,
    2: 0.75,
    3: 1.05,
    4: 1.1,
    5: 1.1,
    6: 1.0,
    7: 0.95,
    8: 0.7,
    9: 1.1,
    10: 1.15,
    11: 1.0,
    12: 0.8,
}


@dataclass(frozen=True)
class Stream:
    """Daily usage of one category at one site: mean units per day, and its decimal places."""

    category: str
    per_day: float
    places: int = 0


@dataclass(frozen=True)
class SiteProfile:
    site: str
    source: str
    starts: date
    streams: tuple[Stream, ...]


SITES = (
    SiteProfile(
        "nyc-01",
        "urn:platform:us:pipeline-1",
        date(YEAR, 1, 1),
        (Stream("standard", 10.5), Stream("expedited", 1.4), Stream("review", 3.5)),
    ),
    SiteProfile(
        "bos-02",
        "urn:platform:us:pipeline-2",
        date(YEAR, 1, 1),
        (Stream("standard", 24.0), Stream("expedited", 3.3), Stream("storage", 40.0, places=3)),
    ),
    SiteProfile(
        "chi-03",
        "urn:platform:us:pipeline-3",
        date(YEAR, 1, 1),
        (
            Stream("standard", 17.0),
            Stream("expedited", 3.4),
            Stream("review", 10.0),
            Stream("storage", 65.0, places=3),
        ),
    ),
    SiteProfile(
        "sfo-04",
        "urn:platform:us:pipeline-4",
        date(YEAR, 5, 16),
        (Stream("standard", 9.0), Stream("expedited", 1.0)),
    ),
    SiteProfile(
        "den-05",
        "urn:platform:us:pipeline-5",
        date(YEAR, 1, 1),
        (Stream("standard", 4.0), Stream("storage", 650.0, places=3)),
    ),
)


def _quantity(rng: random.Random, mean: float, places: int) -> Decimal:
    value = max(rng.gauss(mean, mean * 0.35), mean * 0.2, 1.0)
    return Decimal(f"{value:.{places}f}")


def _time_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _event(rng: random.Random, profile: SiteProfile, stream: Stream, moment: datetime, qty: Decimal) -> str:
    data: dict[str, object] = {"tenant_id": TENANT, "site_id": profile.site, "category": stream.category}
    # Both encodings the format allows: decimal strings for fractional units, JSON numbers otherwise.
    data["quantity"] = str(qty) if stream.places else int(qty)
    event = {
        "specversion": "1.0",
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "source": profile.source,
        "type": EVENT_TYPE,
        "time": _time_text(moment),
        "datacontenttype": "application/json",
        "data": data,
    }
    return json.dumps(event, separators=(",", ":"))


def generate(seed: int) -> list[str]:
    """All lines of the file, in delivery order (duplicates arrive after their original)."""
    rng = random.Random(seed)
    deliveries: list[tuple[datetime, int, str]] = []
    day = date(YEAR, 1, 1)
    while day.year == YEAR:
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
        for profile in SITES:
            if day < profile.starts:
                continue
            for stream in profile.streams:
                batches = rng.randint(1, 3)
                daily = stream.per_day * SEASON[day.month]
                for _ in range(batches):
                    moment = midnight + timedelta(milliseconds=rng.randrange(86_400_000))
                    line = _event(
                        rng, profile, stream, moment, _quantity(rng, daily / batches, stream.places)
                    )
                    deliveries.append((moment, len(deliveries), line))
                    if rng.random() < DUPLICATE_SHARE:
                        resent = moment + timedelta(minutes=rng.randint(1, 3 * 24 * 60))
                        deliveries.append((resent, len(deliveries), line))
        day += timedelta(days=1)
    deliveries.sort()
    return [line for _, _, line in deliveries]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("events.jsonl"))
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    lines = generate(args.seed)
    args.out.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    print(f"wrote {len(lines)} events to {args.out}")


if __name__ == "__main__":
    main()
