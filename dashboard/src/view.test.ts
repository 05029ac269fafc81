// @vitest-environment jsdom
import { beforeEach, describe, expect, it } from "vitest";
import { h } from "./dom";
import { kpis as kpiCards } from "./kpi";
import { snapshot } from "./test-support";
import {
  renderKpis,
  renderSites,
  renderTables,
  renderUser,
  shareOfTopPages,
  type Tables,
} from "./view";

const HOSTILE = '/x"><script>window.pwned = 1</script><img src=x onerror="window.pwned=2">';

function body(): HTMLTableSectionElement {
  return document.createElement("table").createTBody();
}

describe("rendering event data", () => {
  beforeEach(() => {
    document.body.replaceChildren();
  });

  it("puts hostile URLs and user ids on screen as text, never as markup", () => {
    const data = snapshot({
      topPages: [{ page_url: HOSTILE, count: 9 }],
      user: { user_id: "<b>boss</b>", total: 9, pages: [{ page_url: HOSTILE, count: 9 }] },
    });
    const hostileOverview = { ...data.overview, top_page: { page_url: HOSTILE, count: 9 } };
    const kpis = document.createElement("section");
    renderKpis(kpis, kpiCards({ ...data, overview: hostileOverview }));
    const tables: Tables = { series: body(), pages: body(), share: body(), types: body() };
    renderTables(tables, data);
    const panel = h(
      "div",
      {},
      h("h3", { "data-part": "user-title" }),
      h("p", { "data-part": "user-note" }),
    );
    const userRows = body();
    renderUser(panel, userRows, data);
    document.body.append(
      kpis,
      tables.pages.parentElement ?? "",
      panel,
      userRows.parentElement ?? "",
    );

    expect(document.querySelectorAll("script, img, b")).toHaveLength(0);
    expect(kpis.querySelector('[data-kpi="top_page"] .kpi-value')?.textContent).toBe(HOSTILE);
    expect(tables.pages.rows[0]?.cells[0]?.textContent).toBe(HOSTILE);
    expect(userRows.rows[0]?.cells[0]?.textContent).toBe(HOSTILE);
    expect(panel.querySelector("[data-part=user-title]")?.textContent).toBe("<b>boss</b>");
    expect(panel.querySelector("[data-part=user-note]")?.textContent).toBe(
      "9 events on 1 page in 1 h",
    );
  });

  it("updates tables in place on a refresh", () => {
    const pages = body();
    const tables: Tables = { series: body(), pages, share: body(), types: body() };
    renderTables(tables, snapshot());
    const first = pages.rows[0];
    renderTables(tables, snapshot({ topPages: [{ page_url: "/home", count: 51 }] }));
    expect(pages.rows).toHaveLength(1);
    expect(pages.rows[0]).toBe(first);
    expect(pages.rows[0]?.cells[1]?.textContent).toBe("51");
    expect(pages.rows[0]?.dataset.key).toBe("/home");
  });

  it("reuses KPI cards and marks each with the API's value", () => {
    const kpis = document.createElement("section");
    renderKpis(kpis, kpiCards(snapshot()));
    const card = kpis.querySelector('[data-kpi="total_events"]');
    renderKpis(kpis, kpiCards(snapshot()));
    expect(kpis.querySelectorAll(".kpi")).toHaveLength(4);
    expect(kpis.querySelector('[data-kpi="total_events"]')).toBe(card);
    expect(card?.getAttribute("data-value")).toBe("120");
    expect(card?.querySelector(".trend")?.textContent).toBe("+20%");
  });
});

describe("renderSites", () => {
  function switcher(): [HTMLElement, HTMLSelectElement] {
    const select = h("select");
    const box = h("div", { hidden: "" }, select);
    document.body.replaceChildren(box);
    return [box, select];
  }

  function shown(select: HTMLSelectElement): string[][] {
    return [...select.options].map((option) => [option.value, option.text]);
  }

  it("lists the sites and selects the chosen one, reusing the options", () => {
    const [box, select] = switcher();
    const data = snapshot({ sites: ["a.example", "b.example"] });
    const onB = { ...data, selection: { ...data.selection, site: "b.example" } };
    renderSites(box, select, onB);
    expect(box.hidden).toBe(false);
    expect(shown(select)).toEqual([
      ["a.example", "a.example"],
      ["b.example", "b.example"],
    ]);
    expect(select.value).toBe("b.example");
    const first = select.options[0];
    renderSites(box, select, { ...onB, sites: ["a.example"] });
    expect(shown(select)).toEqual([
      ["a.example", "a.example"],
      ["b.example", "b.example (not listed)"],
    ]);
    expect(select.options[0]).toBe(first);
    expect(select.value).toBe("b.example");
  });

  it("stays hidden when the gateway has no sites", () => {
    const [box, select] = switcher();
    renderSites(box, select, snapshot({ sites: null }));
    expect(box.hidden).toBe(true);
    expect(select.options).toHaveLength(0);
  });

  it("puts hostile site names on screen as text, never as markup", () => {
    const [box, select] = switcher();
    renderSites(box, select, snapshot({ sites: [HOSTILE] }));
    expect(document.querySelectorAll("script, img")).toHaveLength(0);
    expect(select.options[0]?.text).toBe(HOSTILE);
    expect(select.options[0]?.value).toBe(HOSTILE);
  });
});

describe("shareOfTopPages", () => {
  it("adds the rest of the range as one slice", () => {
    expect(shareOfTopPages(snapshot())).toEqual([
      { label: "/home", count: 50 },
      { label: "/pricing", count: 30 },
      { label: "Other pages", count: 40 },
    ]);
  });

  it("has no rest slice when the top pages are everything", () => {
    const data = snapshot();
    const all = { ...data, overview: { ...data.overview, total_events: 80 } };
    expect(shareOfTopPages(all).map((slice) => slice.label)).toEqual(["/home", "/pricing"]);
  });
});
