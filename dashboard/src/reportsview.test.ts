// @vitest-environment jsdom
import { beforeEach, describe, expect, it } from "vitest";
import page from "../index.html?raw";
import { ApiError } from "./api";
import { byId } from "./dom";
import { type Filter, formatFilter } from "./filters";
import { NO_FUNNEL } from "./goals";
import { ReportsView } from "./reportsview";
import { FROM, ok, reports, TO } from "./test-support";

const HOSTILE = '<img src=x onerror="window.pwned=1">';

interface Done {
  filters: string[];
  removed: number[];
  reloads: number;
}

function mount(): { view: ReportsView; done: Done } {
  document.documentElement.innerHTML = page;
  const done: Done = { filters: [], removed: [], reloads: 0 };
  const view = new ReportsView(
    {
      section: byId("reports", HTMLElement),
      goals: byId("goals-card", HTMLElement),
      funnel: byId("funnel-card", HTMLElement),
      visitKpis: byId("visit-kpis", HTMLElement),
      realtime: byId("realtime", HTMLElement),
      chips: byId("filters", HTMLElement),
    },
    {
      filter: (added: Filter) => done.filters.push(formatFilter(added)),
      unfilter: (index) => done.removed.push(index),
      reload: () => (done.reloads += 1),
    },
  );
  return { view, done };
}

function rows(card: Element): string[][] {
  return [...card.querySelectorAll("tbody tr")].map((row) => [
    row.getAttribute("data-key") ?? "",
    ...[...row.querySelectorAll("td")].map((cell) => cell.textContent ?? ""),
  ]);
}

function card(id: string): HTMLElement {
  return byId(id, HTMLElement);
}

const down = new ApiError("/api/v1/breakdown", {
  kind: "http",
  status: 503,
  code: "UNAVAILABLE",
  message: "query is down",
  field: null,
});

describe("ReportsView", () => {
  let view: ReportsView;
  let done: Done;
  beforeEach(() => {
    ({ view, done } = mount());
  });

  it("builds one panel per spec, in order, before goals and funnel, each on its first tab", () => {
    const ids = [...byId("reports", HTMLElement).children].map((element) => element.id);
    expect(ids).toEqual([
      "report-sources",
      "report-pages",
      "report-locations",
      "report-devices",
      "goals-card",
      "funnel-card",
    ]);
    expect(view.dimensions).toEqual(["referrer", "page", "country", "browser"]);
    const tabs = card("report-sources").querySelectorAll("button[data-dimension]");
    expect([...tabs].map((tab) => tab.getAttribute("aria-pressed"))).toEqual([
      "true",
      "false",
      "false",
      "false",
    ]);
    expect(card("report-locations").querySelector(".tabs")?.hasAttribute("hidden")).toBe(true);
  });

  it("shows each row's value, visitors and bar, and a click on it filters by that value", () => {
    view.render(reports());
    const sources = card("report-sources");
    expect(rows(sources)).toEqual([
      ["(direct)", "(direct)", "5"],
      ["news.example", "news.example", "2"],
    ]);
    const bars = [...sources.querySelectorAll<HTMLElement>(".bar-fill")];
    expect(bars.map((bar) => bar.style.width)).toEqual(["100%", "40%"]);
    expect(sources.getAttribute("aria-busy")).toBe("false");
    sources.querySelectorAll<HTMLButtonElement>("tbody button")[1]?.click();
    expect(done.filters).toEqual(["referrer:is:news.example"]);
  });

  it("switches tabs: asks for a reload and waits, busy, for the new dimension", () => {
    view.render(reports());
    const devices = card("report-devices");
    devices.querySelector<HTMLButtonElement>('button[data-dimension="os"]')?.click();
    expect(done.reloads).toBe(1);
    expect(view.dimensions).toContain("os");
    expect(devices.getAttribute("aria-busy")).toBe("true");
    expect(devices.querySelector("th")?.textContent).toBe("OS");
    view.render(reports());
    expect(devices.getAttribute("aria-busy")).toBe("true");
    const os = { from: FROM, to: TO, dimension: "os", rows: [] };
    view.render(reports({ breakdowns: new Map([["os", ok(os)]]) }));
    expect(devices.getAttribute("aria-busy")).toBe("false");
    expect(devices.querySelector(".report-note")?.textContent).toBe("No data.");
    expect(devices.querySelector("table")?.hidden).toBe(true);
  });

  it("names a country, filtering by its code", () => {
    const countries = {
      from: FROM,
      to: TO,
      dimension: "country",
      rows: [
        { value: "FR", events: 3, visitors: 3, visits: 3 },
        { value: "(unknown)", events: 1, visitors: 1, visits: 1 },
      ],
    };
    view.render(reports({ breakdowns: new Map([["country", ok(countries)]]) }));
    expect(rows(card("report-locations"))).toEqual([
      ["FR", "France", "3"],
      ["(unknown)", "(unknown)", "1"],
    ]);
    card("report-locations").querySelector<HTMLButtonElement>("tbody button")?.click();
    expect(done.filters).toEqual(["country:is:FR"]);
  });

  it("shows an API failure in its panel only", () => {
    view.render(reports({ breakdowns: new Map([["referrer", { ok: false, error: down }]]) }));
    const sources = card("report-sources");
    expect(sources.getAttribute("data-state")).toBe("error");
    expect(sources.querySelector(".report-note")?.textContent).toBe(
      "Query service unreachable: the gateway answered 503 UNAVAILABLE for /api/v1/breakdown: query is down.",
    );
    expect(sources.querySelector("table")?.hidden).toBe(true);
    expect(card("goals-card").getAttribute("data-state")).toBe("rows");
  });

  it("shows goals with their conversion, each a filter by its event", () => {
    view.render(reports());
    const goals = card("goals-card");
    expect(rows(goals)).toEqual([["event_type:signup", "signup", "2", "29%"]]);
    goals.querySelector<HTMLButtonElement>("tbody button")?.click();
    expect(done.filters).toEqual(["event_type:is:signup"]);
  });

  it("says how to choose a funnel, then draws one bar per step", () => {
    view.render(reports());
    const funnel = card("funnel-card");
    expect(funnel.querySelector(".report-note")?.textContent).toBe(NO_FUNNEL);
    expect(funnel.querySelector("ol")?.hidden).toBe(true);
    const steps = [
      { goal: "page:/pricing", visitors: 10, conversion_rate: 1, dropoff: 0 },
      { goal: "event_type:signup", visitors: 4, conversion_rate: 0.4, dropoff: 6 },
      { goal: "page:/thanks", visitors: 1, conversion_rate: 0.1, dropoff: 3 },
    ];
    view.render(reports({ funnel: ok({ from: FROM, to: TO, steps }) }));
    const items = [...funnel.querySelectorAll("li")];
    expect(items.map((item) => [item.dataset.key, item.textContent])).toEqual([
      ["page:/pricing", "1. Visit /pricing10 visitors \u00b7 100%"],
      ["event_type:signup", "2. signup4 visitors \u00b7 40% \u00b7 6 dropped off"],
      ["page:/thanks", "3. Visit /thanks1 visitor \u00b7 10% \u00b7 3 dropped off"],
    ]);
    expect(items.map((item) => item.querySelector<HTMLElement>(".bar-fill")?.style.width)).toEqual([
      "100%",
      "40%",
      "10%",
    ]);
    expect(funnel.querySelector(".report-note")?.hasAttribute("hidden")).toBe(true);
  });

  it("shows the visit figures beside the others, or why they are missing", () => {
    view.render(reports());
    const box = card("visit-kpis");
    const values = [...box.querySelectorAll(".kpi")].map((kpi) => [
      kpi.getAttribute("data-kpi"),
      kpi.querySelector(".kpi-value")?.textContent,
      kpi.querySelector(".trend")?.textContent,
    ]);
    expect(values).toEqual([
      ["visits", "8", "\u221220%"],
      ["bounce_rate", "25%", "\u221225 pp"],
      ["mean_duration_s", "1 min 35 s", "+58%"],
      ["views_per_visit", "3.5", "no change"],
    ]);
    expect(box.querySelectorAll(".skeleton-card")).toHaveLength(0);
    // a falling bounce rate is good news
    expect([...box.querySelectorAll(".kpi")].map((kpi) => kpi.getAttribute("data-better"))).toEqual(
      ["higher", "lower", "higher", "higher"],
    );
    view.setBusy();
    expect(box.getAttribute("aria-busy")).toBe("true");
    view.render(reports({ visits: { ok: false, error: down } }));
    expect(box.getAttribute("aria-busy")).toBe("false");
    expect(box.querySelector(".report-note")?.textContent).toContain("query is down");
    expect([...box.querySelectorAll<HTMLElement>(".kpi")].every((kpi) => kpi.hidden)).toBe(true);
    view.render(reports());
    expect([...box.querySelectorAll<HTMLElement>(".kpi")].some((kpi) => kpi.hidden)).toBe(false);
    expect(box.querySelector(".report-note")?.hasAttribute("hidden")).toBe(true);
  });

  it("shows the visitors now", () => {
    view.render(reports());
    const realtime = card("realtime");
    expect(realtime.textContent).toBe("3 visitors now");
    expect(realtime.dataset.visitors).toBe("3");
    expect(realtime.title).toBe("In the last 5 minutes: /home (2)");
    view.render(reports({ realtime: { ok: false, error: down } }));
    expect(realtime.textContent).toBe("Visitors now: unavailable");
    expect(realtime.dataset.state).toBe("error");
  });

  it("shows a removable chip per filter", () => {
    const chips = card("filters");
    view.showFilters([]);
    expect(chips.hidden).toBe(true);
    view.showFilters([
      { dimension: "page", op: "is", value: "/a" },
      { dimension: "country", op: "is_not", value: HOSTILE },
    ]);
    expect(chips.hidden).toBe(false);
    expect([...chips.querySelectorAll(".chip-text")].map((chip) => chip.textContent)).toEqual([
      "Page is /a",
      `Country is not ${HOSTILE}`,
    ]);
    expect(chips.querySelectorAll("img")).toHaveLength(0);
    const remove = chips.querySelectorAll<HTMLButtonElement>("button[data-remove]");
    expect(remove[1]?.getAttribute("aria-label")).toBe(`Remove filter: Country is not ${HOSTILE}`);
    remove[1]?.click();
    expect(done.removed).toEqual([1]);
  });

  it("puts hostile values on screen as text", () => {
    const hostile = {
      from: FROM,
      to: TO,
      dimension: "referrer",
      rows: [{ value: HOSTILE, events: 1, visitors: 1, visits: 1 }],
    };
    view.render(reports({ breakdowns: new Map([["referrer", ok(hostile)]]) }));
    expect(document.querySelectorAll("main img")).toHaveLength(0);
    expect(rows(card("report-sources"))).toEqual([[HOSTILE, HOSTILE, "1"]]);
  });
});
