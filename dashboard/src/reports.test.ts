import { describe, expect, it } from "vitest";
import { Api, type Scope } from "./api";
import { loadReports, type ReportsAsked } from "./reports";

const range = { from: "2026-01-05T10:00:00Z", to: "2026-01-05T11:00:00Z" };
const scope: Scope = {
  site: "a.example",
  range: { from: new Date(range.from), to: new Date(range.to) },
  filters: [{ dimension: "device", op: "is", value: "mobile" }],
};
const asked: ReportsAsked = { dimensions: ["referrer", "page"], goals: [], steps: [] };

type Route = (query: URLSearchParams) => [number, unknown];

function answers(routes: Record<string, Route>, seen: string[] = []): typeof fetch {
  return (input) => {
    const url = String(input);
    seen.push(url);
    const [path = "", query] = url.split("?");
    const route = routes[path];
    const [status, body] = route
      ? route(new URLSearchParams(query))
      : [404, { error: { code: "NOT_FOUND", message: path, field: null } }];
    return Promise.resolve(new Response(JSON.stringify(body), { status }));
  };
}

const visits = {
  ...range,
  visits: 4,
  visitors: 3,
  bounce_rate: 0.25,
  mean_duration_s: 30,
  views_per_visit: 2,
};

const routes: Record<string, Route> = {
  "/api/v1/breakdown": (query) => [
    200,
    {
      ...range,
      dimension: query.get("dimension"),
      rows: [{ value: `${query.get("dimension")}-1`, events: 3, visitors: 2, visits: 2 }],
    },
  ],
  "/api/v1/visits": (query) => [
    200,
    { ...visits, visits: Date.parse(query.get("from") ?? "") === Date.parse(range.from) ? 4 : 9 },
  ],
  "/api/v1/goals": (query) => [
    200,
    {
      ...range,
      goals: query
        .getAll("goal")
        .map((goal) => ({ goal, visitors: 1, events: 2, conversion_rate: 1 / 3 })),
    },
  ],
  "/api/v1/realtime": () => [200, { visitors: 2, events: 5, pages: [] }],
};

describe("loadReports", () => {
  it("loads each chosen dimension, the visits now and before, and the range's event types as goals", async () => {
    const seen: string[] = [];
    const reports = await loadReports(
      new Api(answers(routes, seen)),
      scope,
      asked,
      new AbortController().signal,
    );
    const referrers = reports.breakdowns.get("referrer");
    expect(referrers?.ok && referrers.value.rows[0]?.value).toBe("referrer-1");
    expect(reports.breakdowns.get("page")?.ok).toBe(true);
    expect(
      reports.visits.ok && [reports.visits.value.now.visits, reports.visits.value.before.visits],
    ).toEqual([4, 9]);
    expect(reports.goals.ok && reports.goals.value.goals.map((goal) => goal.goal)).toEqual([
      "event_type:event_type-1",
    ]);
    expect(reports.funnel).toBeNull();
    expect(reports.realtime.ok && reports.realtime.value.visitors).toBe(2);
    for (const url of seen) {
      const query = new URLSearchParams(url.split("?")[1]);
      expect([url, query.get("site"), query.getAll("filter")]).toEqual([
        url,
        "a.example",
        ["device:is:mobile"],
      ]);
    }
    expect(seen.filter((url) => url.startsWith("/api/v1/visits?"))[1]).toContain(
      "from=2026-01-05T09%3A00%3A00.000Z&to=2026-01-05T10%3A00%3A00.000Z",
    );
  });

  it("asks for the goals and funnel steps the address names, in order", async () => {
    const seen: string[] = [];
    const funnel = { ...range, steps: [] };
    await loadReports(
      new Api(answers({ ...routes, "/api/v1/funnel": () => [200, funnel] }, seen)),
      scope,
      { dimensions: [], goals: ["page:/a", "event_type:b"], steps: ["page:/a", "page:/b"] },
      new AbortController().signal,
    );
    const query = (path: string): URLSearchParams =>
      new URLSearchParams(seen.find((url) => url.startsWith(path))?.split("?")[1]);
    expect(query("/api/v1/goals").getAll("goal")).toEqual(["page:/a", "event_type:b"]);
    expect(query("/api/v1/funnel").getAll("step")).toEqual(["page:/a", "page:/b"]);
    expect(seen.some((url) => url.startsWith("/api/v1/breakdown"))).toBe(false);
  });

  it("asks no goals when the range has no events", async () => {
    const seen: string[] = [];
    const empty: Route = () => [200, { ...range, dimension: "event_type", rows: [] }];
    const reports = await loadReports(
      new Api(answers({ ...routes, "/api/v1/breakdown": empty }, seen)),
      scope,
      { dimensions: [], goals: [], steps: [] },
      new AbortController().signal,
    );
    expect(reports.goals.ok && reports.goals.value.goals).toEqual([]);
    expect(seen.some((url) => url.startsWith("/api/v1/goals"))).toBe(false);
  });

  it("keeps each failure to its own report", async () => {
    const rejected: Route = () => [
      400,
      { error: { code: "INVALID_ARGUMENT", message: "needs 2 to 8 steps", field: "step" } },
    ];
    const down: Route = () => [503, { error: { code: "UNAVAILABLE", message: "", field: null } }];
    const reports = await loadReports(
      new Api(answers({ ...routes, "/api/v1/funnel": rejected, "/api/v1/visits": down })),
      scope,
      { ...asked, steps: ["page:/a"] },
      new AbortController().signal,
    );
    expect(reports.funnel?.ok === false && reports.funnel.error.message).toBe(
      "The gateway rejected step: needs 2 to 8 steps.",
    );
    expect(reports.visits.ok === false && reports.visits.error.status).toBe(503);
    expect(reports.breakdowns.get("referrer")?.ok).toBe(true);
    expect(reports.goals.ok && reports.realtime.ok).toBe(true);
  });

  it("gives up when the load is abandoned", async () => {
    const controller = new AbortController();
    const hanging: typeof fetch = (_, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener("abort", () =>
          reject(new DOMException("aborted", "AbortError")),
        );
      });
    const loading = loadReports(new Api(hanging), scope, asked, controller.signal);
    controller.abort();
    await expect(loading).rejects.toThrow("aborted");
  });
});
