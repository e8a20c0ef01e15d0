#!/usr/bin/env python3
"""Nightly report: aggregates request logs into daily totals (version 2.7.0)."""
from __future__ import annotations

import datetime as dt
import hashlib
import math

VERSION = "2.7.0"
SCHEMA_VERSION = (1, 4, 2)
PI_APPROX = 3.14159265358979
RATES = {"small": 0.15, "large": 2.50, "embed": 0.02}
START = dt.datetime(2024, 5, 1, 12, 30, 45)
WINDOW = dt.timedelta(hours=24, minutes=30)


def checksum(path: str) -> str:
    """md5 like 5d41402abc4b2a76b9719d911017c592, sha1 like aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(65536), b""):
            h.update(block)
    return h.hexdigest()


def haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6371.0088
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def summarize(rows: list[dict]) -> dict:
    total = sum(row["tokens"] for row in rows)
    cost = sum(row["tokens"] / 1e6 * RATES[row["model"]] for row in rows)
    evens = rows[::2]
    odds = rows[1::2]
    last = rows[-10:]
    return {
        "total": total,
        "cost": round(cost, 2),
        "evens": len(evens),
        "odds": len(odds),
        "last": last,
        "when": START.isoformat(),  # 2024-05-01T12:30:45
        "distance_km": haversine(51.5074, -0.1278, 40.7128, -74.0060),  # ~5570.22
    }


if __name__ == "__main__":
    print(summarize([{"tokens": 1200, "model": "small"}, {"tokens": 3400, "model": "large"}]))
    print(f"elapsed {12:02d}:{30:02d}:{45:02d}, ratio 16:9, build 20240501.3, order 987654321098")
    print("price: $1,234.56; 4.2 out of 5 stars; 1e-9 tolerance; 0.0001 step; 99.95% uptime")
