/** Puts a snapshot on screen: site switcher, KPI cards, chart tables, user panel. Text only. */

import { fillRows, h, setAttribute, setText } from "./dom";
import { formatBucket, formatCount, formatMoment } from "./format";
import type { Kpi } from "./kpi";
import { spanLabel } from "./range";
import { siteOptions } from "./sites";
import type { Snapshot } from "./snapshot";

/** Slices of the doughnut: the five top pages and everything else in the range. */
export const SHARE_SLICES = 5;

export interface Slice {
  readonly label: string;
  readonly count: number;
}

export function shareOfTopPages(snapshot: Snapshot): Slice[] {
  const top = snapshot.topPages.slice(0, SHARE_SLICES);
  const slices: Slice[] = top.map((page) => ({ label: page.page_url, count: page.count }));
  const rest = snapshot.overview.total_events - top.reduce((sum, page) => sum + page.count, 0);
  if (rest > 0) slices.push({ label: "Other pages", count: rest });
  return slices;
}

/** The switcher's sites, reusing its options; hidden when the gateway has no sites route. */
export function renderSites(box: HTMLElement, select: HTMLSelectElement, snapshot: Snapshot): void {
  box.hidden = snapshot.sites === null;
  if (snapshot.sites === null) return;
  const options = siteOptions(snapshot.sites, snapshot.selection.site);
  while (select.options.length > options.length) select.remove(options.length);
  options.forEach((option, index) => {
    const element = select.options[index] ?? select.appendChild(h("option"));
    setAttribute(element, "value", option.value);
    setText(element, option.label);
  });
  if (select.value !== snapshot.selection.site) select.value = snapshot.selection.site;
}

export function renderKpis(container: HTMLElement, cards: readonly Kpi[]): void {
  for (const placeholder of container.querySelectorAll(".skeleton-card")) placeholder.remove();
  for (const kpi of cards) {
    let card = container.querySelector<HTMLElement>(`[data-kpi="${kpi.id}"]`);
    if (!card) {
      card = h(
        "article",
        { class: "card kpi", "data-kpi": kpi.id, "aria-labelledby": `kpi-${kpi.id}-label` },
        h("h2", { class: "kpi-label", id: `kpi-${kpi.id}-label` }, kpi.label),
        h("p", { class: "kpi-value" }),
        h("p", { class: "kpi-detail" }),
        h(
          "p",
          { class: "kpi-change" },
          h("span", { class: "trend" }),
          h("span", { class: "versus" }),
        ),
      );
      container.append(card);
    }
    const part = (name: string): Element => {
      const element = card.querySelector(`.${name}`);
      if (!element) throw new Error(`KPI card without .${name}`);
      return element;
    };
    setAttribute(card, "data-value", kpi.raw);
    setAttribute(card, "data-better", kpi.lowerIsBetter ? "lower" : "higher");
    setText(part("kpi-value"), kpi.display);
    setAttribute(part("kpi-value"), "title", kpi.display);
    setText(part("kpi-detail"), kpi.detail);
    setText(part("trend"), kpi.change.text);
    setAttribute(part("trend"), "data-trend", kpi.change.trend);
    setText(part("versus"), ` ${kpi.versus}`);
  }
}

export interface Tables {
  readonly series: HTMLTableSectionElement;
  readonly pages: HTMLTableSectionElement;
  readonly share: HTMLTableSectionElement;
  readonly types: HTMLTableSectionElement;
}

/** Every chart's numbers as a table too: readable by screen readers, and by the e2e test. */
export function renderTables(tables: Tables, snapshot: Snapshot): void {
  fillRows(
    tables.series,
    snapshot.series.points.map((point) => [
      formatBucket(point.t, snapshot.bucket),
      formatCount(point.count),
    ]),
  );
  fillRows(
    tables.pages,
    snapshot.topPages.map((page) => [page.page_url, formatCount(page.count)]),
  );
  const total = snapshot.overview.total_events;
  fillRows(
    tables.share,
    shareOfTopPages(snapshot).map((slice) => [
      slice.label,
      formatCount(slice.count),
      total > 0 ? `${((slice.count / total) * 100).toFixed(1)}%` : "\u2014",
    ]),
  );
  fillRows(
    tables.types,
    (snapshot.eventTypes?.types ?? []).map((type) => [type.event_type, formatCount(type.count)]),
  );
  for (const [body, points] of [
    [tables.series, snapshot.series.points.map((point) => point.t.toISOString())],
    [tables.pages, snapshot.topPages.map((page) => page.page_url)],
  ] as const) {
    points.forEach((key, index) => {
      const row = body.rows[index];
      if (row) setAttribute(row, "data-key", key);
    });
  }
}

function plural(count: number, noun: string): string {
  return `${formatCount(count)} ${noun}${count === 1 ? "" : "s"}`;
}

/** A sentence that describes a chart to a screen reader. */
export function seriesSummary(snapshot: Snapshot): string {
  const points = snapshot.series.points;
  const total = points.reduce((sum, point) => sum + point.count, 0);
  const peak = points.reduce((best, point) => (point.count > best.count ? point : best), {
    t: snapshot.range.from,
    count: 0,
  });
  const per = snapshot.bucket === "minute" ? "minute" : "hour";
  const scope = snapshot.selection.pageUrl ? `on ${snapshot.selection.pageUrl}` : "on every page";
  const peakText =
    total > 0
      ? `, peak ${formatCount(peak.count)} at ${formatBucket(peak.t, snapshot.bucket)}`
      : "";
  return `${formatCount(total)} events ${scope} over ${points.length} ${per}s${peakText}.`;
}

export function rangeSummary(snapshot: Snapshot): string {
  const per = snapshot.bucket === "minute" ? "per minute" : "per hour";
  return (
    `${formatMoment(snapshot.range.from)} \u2013 ${formatMoment(snapshot.range.to)}` +
    ` (${spanLabel(snapshot.range)}, ${per}; compared with the ${spanLabel(snapshot.previous)} before)`
  );
}

export function renderUser(
  panel: HTMLElement,
  body: HTMLTableSectionElement,
  snapshot: Snapshot,
): void {
  const user = snapshot.user;
  panel.hidden = user === null;
  if (!user) return;
  const title = panel.querySelector("[data-part=user-title]");
  const note = panel.querySelector("[data-part=user-note]");
  if (title) setText(title, user.user_id);
  if (note) {
    setText(
      note,
      user.total > 0
        ? `${formatCount(user.total)} events on ${plural(user.pages.length, "page")} in ${spanLabel(snapshot.range)}`
        : `No events from this user in ${spanLabel(snapshot.range)}.`,
    );
  }
  setAttribute(panel, "data-total", String(user.total));
  const table = body.closest("table");
  if (table) table.hidden = user.pages.length === 0;
  const top = Math.max(1, ...user.pages.map((page) => page.count));
  fillRows(
    body,
    user.pages.map((page) => [page.page_url, formatCount(page.count), ""]),
  );
  user.pages.forEach((page, index) => {
    const row = body.rows[index];
    const cell = row?.cells[2];
    if (!row || !cell) return;
    setAttribute(row, "data-key", page.page_url);
    let bar = cell.firstElementChild;
    if (!(bar instanceof HTMLElement)) {
      bar = h("span", { class: "bar", "aria-hidden": "true" });
      cell.append(bar);
    }
    if (bar instanceof HTMLElement) bar.style.width = `${(page.count / top) * 100}%`;
  });
}
