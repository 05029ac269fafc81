import { describe, expect, it } from "vitest";
import { Api } from "./api";
import { LoadError, loadSnapshot, type Selection } from "./snapshot";

const NOW = new Date("2026-01-05T10:20:30Z");

function answers(routes: Record<string, [number, unknown]>, seen: string[] = []): typeof fetch {
  return (input) => {
    const url = String(input);
    seen.push(url);
    const path = url.split("?")[0] ?? "";
    const [status, body] = routes[path] ?? [
      404,
      { error: { code: "NOT_FOUND", message: path, field: null } },
    ];
    return Promise.resolve(new Response(JSON.stringify(body), { status }));
  };
}

const range = { from: "2026-01-05T09:21:00Z", to: "2026-01-05T10:21:00Z" };
const ok: Record<string, [number, unknown]> = {
  "/api/v1/overview": [
    200,
    { ...range, total_events: 2, distinct_users: 1, events_per_minute: 0.03, top_page: null },
  ],
  "/api/v1/pages/top": [200, { ...range, pages: [{ page_url: "/a", count: 2 }] }],
  "/api/v1/timeseries": [200, { ...range, bucket: "minute", points: [] }],
};
const selection: Selection = {
  site: "a.example",
  range: { kind: "preset", preset: "1h" },
  pageUrl: "/a",
  userId: "",
  filters: [],
  goals: [],
  steps: [],
};

describe("loadSnapshot", () => {
  it("loads the range and the period before it, and hides event types and sites when their routes are missing", async () => {
    const seen: string[] = [];
    const snapshot = await loadSnapshot(
      new Api(answers(ok, seen)),
      selection,
      NOW,
      new AbortController().signal,
      { eventTypes: true, sites: true, dimensions: [] },
    );
    expect(snapshot.range.to.toISOString()).toBe("2026-01-05T10:21:00.000Z");
    expect(snapshot.previous.to).toEqual(snapshot.range.from);
    expect(snapshot.eventTypes).toBeNull();
    expect(snapshot.sites).toBeNull();
    expect(snapshot.user).toBeNull();
    expect(snapshot.topPages).toEqual([{ page_url: "/a", count: 2 }]);
    expect(seen.filter((url) => url.startsWith("/api/v1/overview"))).toHaveLength(2);
    expect(seen.find((url) => url.startsWith("/api/v1/timeseries"))).toContain("page_url=%2Fa");
  });

  it("does not ask for event types or sites once they are known to be missing", async () => {
    const seen: string[] = [];
    await loadSnapshot(new Api(answers(ok, seen)), selection, NOW, new AbortController().signal, {
      eventTypes: false,
      sites: false,
      dimensions: [],
    });
    expect(seen.some((url) => url.includes("event-types") || url.includes("sites"))).toBe(false);
  });

  it("asks every panel, the user drill-down too, of the chosen site, and lists the sites", async () => {
    const seen: string[] = [];
    const routes: Record<string, [number, unknown]> = {
      ...ok,
      "/api/v1/event-types": [200, { ...range, types: [] }],
      "/api/v1/users/u-1/activity": [200, { user_id: "u-1", total: 0, pages: [] }],
      "/api/v1/sites": [200, { sites: [{ name: "a.example", created: range.from }] }],
    };
    const snapshot = await loadSnapshot(
      new Api(answers(routes, seen)),
      { ...selection, userId: "u-1" },
      NOW,
      new AbortController().signal,
      { eventTypes: true, sites: true, dimensions: [] },
    );
    expect(snapshot.selection.site).toBe("a.example");
    expect(snapshot.sites).toEqual(["a.example"]);
    const reports = seen.filter((url) => !url.startsWith("/api/v1/sites"));
    expect(reports.map((url) => url.split("?")[0])).toEqual([
      "/api/v1/overview",
      "/api/v1/overview",
      "/api/v1/pages/top",
      "/api/v1/timeseries",
      "/api/v1/event-types",
      "/api/v1/users/u-1/activity",
      "/api/v1/visits",
      "/api/v1/visits",
      "/api/v1/breakdown",
      "/api/v1/realtime",
    ]);
    for (const url of reports) {
      expect(new URLSearchParams(url.split("?")[1]).getAll("site")).toEqual(["a.example"]);
    }
  });

  it("gives a user the API has never seen no activity", async () => {
    const snapshot = await loadSnapshot(
      new Api(answers(ok)),
      { ...selection, userId: "ghost" },
      NOW,
      new AbortController().signal,
      { eventTypes: false, sites: false, dimensions: [] },
    );
    expect(snapshot.user).toEqual({ user_id: "ghost", total: 0, pages: [] });
  });

  it("collects every failed call", async () => {
    const down: [number, unknown] = [
      503,
      { error: { code: "UNAVAILABLE", message: "query down", field: null } },
    ];
    const routes = { ...ok, "/api/v1/overview": down, "/api/v1/pages/top": down };
    const error = await loadSnapshot(
      new Api(answers(routes)),
      selection,
      NOW,
      new AbortController().signal,
      { eventTypes: false, sites: false, dimensions: [] },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LoadError);
    expect((error as LoadError).failures.map((failure) => failure.endpoint)).toEqual([
      "/api/v1/overview",
      "/api/v1/overview",
      "/api/v1/pages/top",
    ]);
  });

  it("sends the filters with every report but the user drill-down, leaves out the unfiltered event types, and keeps a failed report to its panel", async () => {
    const seen: string[] = [];
    const snapshot = await loadSnapshot(
      new Api(answers(ok, seen)),
      { ...selection, userId: "u-1", filters: [{ dimension: "country", op: "is", value: "FR" }] },
      NOW,
      new AbortController().signal,
      { eventTypes: true, sites: false, dimensions: ["browser"] },
    );
    // the event-types route has no filters: under filters its chart is left out
    expect(seen.some((url) => url.startsWith("/api/v1/event-types"))).toBe(false);
    const sent = seen.map((url) => {
      const [path, query] = url.split("?");
      return [path, new URLSearchParams(query).getAll("filter")];
    });
    expect(sent).toContainEqual(["/api/v1/users/u-1/activity", []]);
    for (const [path, filters] of sent) {
      if (path !== "/api/v1/users/u-1/activity")
        expect([path, filters]).toEqual([path, ["country:is:FR"]]);
    }
    expect(seen.some((url) => url.startsWith("/api/v1/breakdown?"))).toBe(true);
    const browsers = snapshot.reports.breakdowns.get("browser");
    expect(browsers?.ok === false && browsers.error.status).toBe(404);
    expect(snapshot.overview.total_events).toBe(2);
  });
});
