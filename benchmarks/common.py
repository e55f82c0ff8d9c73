"""Small helpers shared by the benchmark scripts."""

from __future__ import annotations

import resource

from evals.metrics import percentile

__all__ = ["peak_rss_mb", "percentile", "row"]


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def row(label: str, value: str, target: str = "") -> str:
    return f"  {label:<44} {value:>14}  {target}"
