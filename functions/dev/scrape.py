"""Reading one metric off a function's Prometheus endpoint (the safe stop, the tests)."""

from __future__ import annotations

import re

import httpx


def total(exposition: str, name: str, **labels: str) -> float | None:
    """The sum of `name`'s series in `exposition` whose labels include `labels`; None when
    there is no such series (a gauge not reported yet differs from one reading 0)."""
    found: float | None = None
    for line in exposition.splitlines():
        sample = re.fullmatch(rf"{re.escape(name)}(?:\{{(.*)\}})? (\S+)", line)
        if sample is None:
            continue
        present = dict(re.findall(r'(\w+)="([^"]*)"', sample[1] or ""))
        if all(present.get(k) == v for k, v in labels.items()):
            found = (found or 0.0) + float(sample[2])
    return found


def scrape_total(url: str, name: str, timeout_s: float = 1.0) -> float | None:
    """`total` of `name` as `url` serves it now; None when it does not answer."""
    try:
        answer = httpx.get(url, timeout=timeout_s)
    except httpx.HTTPError:
        return None
    return total(answer.text, name) if answer.status_code == 200 else None
