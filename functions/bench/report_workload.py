"""Visits with a realistic shape for the reports' benchmark: Zipf users and pages, visits of
1-20 events seconds to minutes apart, referrers, UTM campaigns, user agents and countries.

Pure generation, no I/O: the same seed gives the same events.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from functions.bench.workload import page_url, user_id
from functions.bench.zipf import Zipf
from functions.core.events import ClickEvent

REFERRERS = tuple(f"ref{n}.example" for n in range(20))
CAMPAIGNS = tuple(f"campaign{n}" for n in range(10))
MEDIUMS = ("cpc", "email", "social")
# (browser, os, device), in rough order of frequency
USER_AGENTS = (
    ("Chrome", "Windows", "desktop"),
    ("Chrome", "Android", "mobile"),
    ("Safari", "iOS", "mobile"),
    ("Safari", "macOS", "desktop"),
    ("Firefox", "Linux", "desktop"),
    ("Edge", "Windows", "desktop"),
    ("Safari", "iOS", "tablet"),
)
COUNTRIES = ("US", "DE", "GB", "FR", "IN", "BR", "JP", "CA", "ES", "IT", "NL", "PL")
MAX_VISIT_EVENTS = 20


@dataclass(frozen=True, slots=True)
class ReportMix:
    users: int = 200_000
    pages: int = 2_000
    zipf_s: float = 1.1
    session_share: float = 0.7  # visits with a session_id; the rest are keyed by user
    direct_share: float = 0.4  # visits without a referrer
    campaign_share: float = 0.2  # visits with UTM tags


def _visit_length(rng: random.Random) -> int:
    """1-20 events, about 40% bounces, fewer the longer."""
    if rng.random() < 0.4:
        return 1
    return min(MAX_VISIT_EVENTS, 2 + int(rng.expovariate(1 / 4)))


def visits(
    run: str, site: str, count: int, start: datetime, span: timedelta, mix: ReportMix, seed: int
) -> Iterator[ClickEvent]:
    """`count` events of visits to `site`, each visit starting at a uniform moment in
    [start, start + span), its events 5 s to 4 min apart; ids start with `run`."""
    rng = random.Random(seed)
    users, pages = Zipf(mix.users, mix.zipf_s, rng), Zipf(mix.pages, mix.zipf_s, rng)
    emitted = visit = 0
    while emitted < count:
        visit += 1
        user = user_id(run, users.sample())
        session = f"{run}-s{visit}" if rng.random() < mix.session_share else None
        browser, os, device = USER_AGENTS[min(int(rng.expovariate(0.6)), len(USER_AGENTS) - 1)]
        fields: dict[str, Any] = {
            "browser": browser,
            "os": os,
            "device": device,
            "country": COUNTRIES[min(int(rng.expovariate(0.4)), len(COUNTRIES) - 1)],
            "referrer_host": None if rng.random() < mix.direct_share else rng.choice(REFERRERS),
        }
        if rng.random() < mix.campaign_share:
            fields |= {
                "utm_source": rng.choice(REFERRERS).split(".")[0],
                "utm_medium": rng.choice(MEDIUMS),
                "utm_campaign": rng.choice(CAMPAIGNS),
            }
        at = start + span * rng.random()
        for step in range(min(_visit_length(rng), count - emitted)):
            yield ClickEvent(
                event_id=f"{run}-v{visit}-{step}",
                user_id=user,
                event_type="pageview" if rng.random() < 0.8 else rng.choice(("click", "signup")),
                page_url=page_url(pages.sample()),
                time_stamp=at,
                session_id=session,
                site=site,
                **fields,
            )
            emitted += 1
            at += timedelta(seconds=rng.uniform(5, 240))
