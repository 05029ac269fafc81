/** The selection in the address bar, so a reload or a shared link shows the same view. */

import { formatFilter, parseFilter } from "./filters";
import { isPresetId, type RangeChoice } from "./range";
import { DEFAULT_SITE, isSiteName } from "./sites";
import type { Selection } from "./snapshot";

export const DEFAULT_SELECTION: Selection = {
  site: DEFAULT_SITE,
  range: { kind: "preset", preset: "1h" },
  pageUrl: "",
  userId: "",
  filters: [],
  goals: [],
  steps: [],
};

function parseTime(text: string | null): Date | null {
  if (!text) return null;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function selectionFromQuery(search: string): Selection {
  const query = new URLSearchParams(search);
  const site = query.get("site") ?? "";
  const preset = query.get("range") ?? "";
  const from = parseTime(query.get("from"));
  const to = parseTime(query.get("to"));
  let range: RangeChoice = DEFAULT_SELECTION.range;
  if (isPresetId(preset)) range = { kind: "preset", preset };
  else if (preset === "custom" && from && to && from < to) range = { kind: "custom", from, to };
  return {
    site: isSiteName(site) ? site : DEFAULT_SELECTION.site,
    range,
    pageUrl: query.get("page") ?? "",
    userId: query.get("user") ?? "",
    // a filter that is not one (a mistyped link) is left out rather than failing every report
    filters: query.getAll("filter").flatMap((text) => parseFilter(text) ?? []),
    // goals and steps as written: the gateway judges them, and its answer says what is wrong
    goals: query.getAll("goal").filter(Boolean),
    steps: query.getAll("step").filter(Boolean),
  };
}

export function selectionToQuery(selection: Selection): string {
  const query = new URLSearchParams({ site: selection.site });
  if (selection.range.kind === "preset") {
    query.set("range", selection.range.preset);
  } else {
    query.set("range", "custom");
    query.set("from", selection.range.from.toISOString());
    query.set("to", selection.range.to.toISOString());
  }
  if (selection.pageUrl) query.set("page", selection.pageUrl);
  if (selection.userId) query.set("user", selection.userId);
  for (const filter of selection.filters) query.append("filter", formatFilter(filter));
  for (const goal of selection.goals) query.append("goal", goal);
  for (const step of selection.steps) query.append("step", step);
  return `?${query.toString()}`;
}
