/** The KPI cards' contents, each with its change against the previous period. No I/O. */

import type { Visits } from "./api";
import {
  type Change,
  change,
  formatCount,
  formatDuration,
  formatPercent,
  formatRate,
  pointChange,
} from "./format";
import type { Snapshot } from "./snapshot";

type EventKpiId = "total_events" | "distinct_users" | "events_per_minute";
export type KpiId = EventKpiId | "top_page" | VisitKpiId;

type VisitKpiId = "visits" | "bounce_rate" | "mean_duration_s" | "views_per_visit";

export interface Kpi {
  readonly id: KpiId;
  readonly label: string;
  /** The value as the API gave it (for data attributes and the CSV). */
  readonly raw: string;
  readonly display: string;
  /** A second line under the value: the top page's count. */
  readonly detail: string;
  readonly change: Change;
  /** What the change compares against, in words. */
  readonly versus: string;
  /** A rise is bad news (a bounce rate): the change is coloured the other way round. */
  readonly lowerIsBetter?: true;
}

export function kpis(snapshot: Snapshot): Kpi[] {
  const now = snapshot.overview;
  const before = snapshot.previousOverview;
  const previous = (value: string): string => `previous period: ${value}`;
  const numeric = (id: EventKpiId, label: string, format: (value: number) => string): Kpi => ({
    id,
    label,
    raw: String(now[id]),
    display: format(now[id]),
    detail: "",
    change: change(now[id], before[id]),
    versus: previous(format(before[id])),
  });
  return [
    numeric("total_events", "Total events", formatCount),
    numeric("distinct_users", "Distinct users", formatCount),
    numeric("events_per_minute", "Events / min", formatRate),
    topPage(snapshot),
  ];
}

/** The visits' figures, each against the previous period as the event figures are. */
export function visitKpis(now: Visits, before: Visits): Kpi[] {
  const card = (
    id: VisitKpiId,
    label: string,
    format: (value: number) => string,
    compare: (current: number, previous: number) => Change = change,
  ): Kpi => ({
    id,
    label,
    raw: String(now[id]),
    display: format(now[id]),
    detail: "",
    change: compare(now[id], before[id]),
    versus: `previous period: ${format(before[id])}`,
  });
  return [
    card("visits", "Visits", formatCount),
    { ...card("bounce_rate", "Bounce rate", formatPercent, pointChange), lowerIsBetter: true },
    card("mean_duration_s", "Visit duration", formatDuration),
    card("views_per_visit", "Views / visit", formatRate),
  ];
}

function topPage(snapshot: Snapshot): Kpi {
  const top = snapshot.overview.top_page;
  const before = snapshot.previousOverview.top_page;
  const base = { id: "top_page", label: "Top page" } as const;
  if (!top) {
    return {
      ...base,
      raw: "",
      display: "\u2014",
      detail: "no events",
      change: { text: before ? "none now" : "no change", trend: before ? "down" : "flat" },
      versus: before ? `previous period: ${before.page_url}` : "previous period: none",
    };
  }
  const detail = `${formatCount(top.count)} events`;
  if (before && before.page_url === top.page_url) {
    return {
      ...base,
      raw: top.page_url,
      display: top.page_url,
      detail,
      change: change(top.count, before.count),
      versus: `previous period: ${formatCount(before.count)} events, also top`,
    };
  }
  return {
    ...base,
    raw: top.page_url,
    display: top.page_url,
    detail,
    change: { text: before ? "new top page" : "new", trend: "up" },
    versus: before ? `previous top: ${before.page_url}` : "previous period: no events",
  };
}
