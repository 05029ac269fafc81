/** CSV export of exactly what is on screen (RFC 4180, safe to open in a spreadsheet). */

import { formatFilter } from "./filters";
import type { Snapshot } from "./snapshot";

export type Row = readonly (string | number)[];

export const CSV_HEADER: Row = ["section", "key", "value"];

/**
 * A cell of text that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR)
 * gets a leading apostrophe: event data is untrusted.
 */
export function csvCell(value: string | number): string {
  let text = String(value);
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv(rows: readonly Row[]): string {
  return rows.map((row) => row.map(csvCell).join(",")).join("\r\n") + "\r\n";
}

/** One row per number on screen, in the order the screen shows them. */
export function snapshotRows(snapshot: Snapshot): Row[] {
  const { overview, previousOverview } = snapshot;
  const rows: Row[] = [
    CSV_HEADER,
    ["range", "from", snapshot.range.from.toISOString()],
    ["range", "to", snapshot.range.to.toISOString()],
    ["range", "bucket", snapshot.bucket],
    ["range", "page_url", snapshot.selection.pageUrl],
    ["range", "site", snapshot.selection.site],
    // every figure below is of the events these filters keep
    ...snapshot.selection.filters.map((filter): Row => ["range", "filter", formatFilter(filter)]),
  ];
  for (const [section, data] of [
    ["overview", overview],
    ["previous_overview", previousOverview],
  ] as const) {
    rows.push(
      [section, "total_events", data.total_events],
      [section, "distinct_users", data.distinct_users],
      [section, "events_per_minute", data.events_per_minute],
      [section, "top_page", data.top_page?.page_url ?? ""],
      [section, "top_page_count", data.top_page?.count ?? 0],
    );
  }
  for (const point of snapshot.series.points) {
    rows.push(["timeseries", point.t.toISOString(), point.count]);
  }
  for (const page of snapshot.topPages) rows.push(["top_pages", page.page_url, page.count]);
  for (const type of snapshot.eventTypes?.types ?? []) {
    rows.push(["event_types", type.event_type, type.count]);
  }
  if (snapshot.user) {
    rows.push(["user", "user_id", snapshot.user.user_id], ["user", "total", snapshot.user.total]);
    for (const page of snapshot.user.pages) rows.push(["user_pages", page.page_url, page.count]);
  }
  return rows;
}

export function csvFileName(snapshot: Snapshot): string {
  const stamp = (date: Date): string => date.toISOString().slice(0, 16).replace(":", "");
  const { site } = snapshot.selection;
  return `clickstream-${site}-${stamp(snapshot.range.from)}-${stamp(snapshot.range.to)}.csv`;
}
