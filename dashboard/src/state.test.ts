import { describe, expect, it } from "vitest";
import type { Selection } from "./snapshot";
import { DEFAULT_SELECTION, selectionFromQuery, selectionToQuery } from "./state";

describe("selection in the address bar", () => {
  it("round-trips sites, presets, filters and users", () => {
    const selection = {
      site: "shop.example.com",
      range: { kind: "preset", preset: "24h" },
      pageUrl: "/a&b",
      userId: "user 1",
      filters: [],
      goals: [],
      steps: [],
    } as const;
    expect(selectionFromQuery(selectionToQuery(selection))).toEqual(selection);
  });

  it("round-trips a custom range", () => {
    const selection = {
      site: "default",
      range: {
        kind: "custom",
        from: new Date("2026-01-01T00:00:00Z"),
        to: new Date("2026-01-02T00:00:00Z"),
      },
      pageUrl: "",
      userId: "",
      filters: [],
      goals: [],
      steps: [],
    } as const;
    expect(selectionToQuery(selection)).toBe(
      "?site=default&range=custom&from=2026-01-01T00%3A00%3A00.000Z&to=2026-01-02T00%3A00%3A00.000Z",
    );
    expect(selectionFromQuery(selectionToQuery(selection))).toEqual(selection);
  });

  it("writes the site beside the range", () => {
    expect(selectionToQuery({ ...DEFAULT_SELECTION, site: "example.com" })).toBe(
      "?site=example.com&range=1h",
    );
  });

  it.each([
    "",
    "?range=1y",
    "?range=custom&from=x&to=y",
    "?range=custom&from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
  ])("falls back to the default range for %j", (search) => {
    expect(selectionFromQuery(search).range).toEqual(DEFAULT_SELECTION.range);
  });

  it("reads a site that is not the default, whether listed or not", () => {
    expect(selectionFromQuery("?site=unknown-1.example&range=15m").site).toBe("unknown-1.example");
  });

  it.each([
    "",
    "?site=",
    "?site=Example.com",
    "?site=a%20b",
    "?site=%3Cb%3Ex%3C%2Fb%3E",
    "?site=a%0A",
    `?site=${"a".repeat(254)}`,
  ])("falls back to the default site for %j", (search) => {
    expect(selectionFromQuery(search).site).toBe("default");
  });

  it("round-trips filters, goals and funnel steps, repeated in their order", () => {
    const selection: Selection = {
      ...DEFAULT_SELECTION,
      filters: [
        { dimension: "page", op: "is", value: "/a?b=c&d" },
        { dimension: "prop:plan", op: "is_not", value: "free:trial" },
        { dimension: "referrer", op: "contains", value: "news" },
      ],
      goals: ["event_type:Signup", "page:/thanks"],
      steps: ["page:/pricing", "event_type:Signup"],
    };
    const query = selectionToQuery(selection);
    expect(new URLSearchParams(query).getAll("filter")).toEqual([
      "page:is:/a?b=c&d",
      "prop:plan:is_not:free:trial",
      "referrer:contains:news",
    ]);
    expect(query).toContain("&goal=event_type%3ASignup&goal=page%3A%2Fthanks&step=");
    expect(selectionFromQuery(query)).toEqual(selection);
  });

  it("leaves out a filter that is not one, keeping the others", () => {
    const read = selectionFromQuery(
      "?filter=page:is:/a&filter=colour:is:red&filter=page:equals:/b&filter=country&filter=os:is:",
    );
    expect(read.filters).toEqual([
      { dimension: "page", op: "is", value: "/a" },
      { dimension: "os", op: "is", value: "" },
    ]);
  });

  it("keeps goals and steps as written, for the gateway to judge", () => {
    const read = selectionFromQuery("?goal=nonsense&goal=&step=page:/a");
    expect(read.goals).toEqual(["nonsense"]);
    expect(read.steps).toEqual(["page:/a"]);
  });
});
