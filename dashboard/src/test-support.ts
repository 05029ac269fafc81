/** Builders of API answers and snapshots for the unit tests. */

import type { Overview, PageCount, Visits } from "./api";
import type { Outcome, Reports } from "./reports";
import type { Selection, Snapshot } from "./snapshot";

export const FROM = new Date("2026-01-05T10:00:00Z");
export const TO = new Date("2026-01-05T11:00:00Z");

export function overview(total: number, users: number, top: PageCount | null): Overview {
  return {
    from: FROM,
    to: TO,
    total_events: total,
    distinct_users: users,
    events_per_minute: total / 60,
    top_page: top,
  };
}

export function visits(
  count: number,
  bounceRate: number,
  durationS: number,
  viewsPerVisit: number,
): Visits {
  return {
    from: FROM,
    to: TO,
    visits: count,
    visitors: count,
    bounce_rate: bounceRate,
    mean_duration_s: durationS,
    views_per_visit: viewsPerVisit,
  };
}

export function ok<T>(value: T): Outcome<T> {
  return { ok: true, value };
}

export function reports(changes: Partial<Reports> = {}): Reports {
  const referrers = [
    { value: "(direct)", events: 80, visitors: 5, visits: 6 },
    { value: "news.example", events: 40, visitors: 2, visits: 2 },
  ];
  return {
    breakdowns: new Map([
      ["referrer", ok({ from: FROM, to: TO, dimension: "referrer", rows: referrers })],
    ]),
    visits: ok({ now: visits(8, 0.25, 95, 3.5), before: visits(10, 0.5, 60, 3.5) }),
    goals: ok({
      from: FROM,
      to: TO,
      goals: [{ goal: "event_type:signup", visitors: 2, events: 3, conversion_rate: 2 / 7 }],
    }),
    funnel: null,
    realtime: ok({ visitors: 3, events: 9, pages: [{ page_url: "/home", visitors: 2 }] }),
    ...changes,
  };
}

export function snapshot(changes: Partial<Snapshot> = {}): Snapshot {
  const selection: Selection = {
    site: "default",
    range: { kind: "preset", preset: "1h" },
    pageUrl: "",
    userId: "",
    filters: [],
    goals: [],
    steps: [],
  };
  return {
    selection,
    range: { from: FROM, to: TO },
    previous: { from: new Date("2026-01-05T09:00:00Z"), to: FROM },
    bucket: "minute",
    overview: overview(120, 7, { page_url: "/home", count: 50 }),
    previousOverview: overview(100, 7, { page_url: "/home", count: 40 }),
    topPages: [
      { page_url: "/home", count: 50 },
      { page_url: "/pricing", count: 30 },
    ],
    series: {
      from: FROM,
      to: TO,
      bucket: "minute",
      points: [
        { t: new Date("2026-01-05T10:00:00Z"), count: 3 },
        { t: new Date("2026-01-05T10:01:00Z"), count: 0 },
      ],
    },
    eventTypes: { from: FROM, to: TO, types: [{ event_type: "click", count: 120 }] },
    user: null,
    sites: ["default", "example.com"],
    reports: reports(),
    loadedAt: TO,
    ...changes,
  };
}
