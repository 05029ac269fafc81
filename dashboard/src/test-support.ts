/** Builders of API answers and snapshots for the unit tests. */

import type { Overview, PageCount } from "./api";
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

export function snapshot(changes: Partial<Snapshot> = {}): Snapshot {
  const selection: Selection = {
    site: "default",
    range: { kind: "preset", preset: "1h" },
    pageUrl: "",
    userId: "",
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
    loadedAt: TO,
    ...changes,
  };
}
