import { describe, expect, it } from "vitest";
import { Api, ApiError, explain, type Scope, summarize } from "./api";
import { DecodeError, array, count, object, string } from "./decode";

const range = { from: new Date("2026-01-05T10:00:00Z"), to: new Date("2026-01-05T11:00:00Z") };
const signal = new AbortController().signal;

function scope(site = "default"): Scope {
  return { site, range, filters: [] };
}

interface Call {
  readonly url: string;
}

function fake(status: number, body: unknown, calls: Call[] = []): typeof fetch {
  return (input) => {
    calls.push({ url: String(input) });
    return Promise.resolve(
      new Response(JSON.stringify(body), {
        status,
        headers: { "Content-Type": "application/json" },
      }),
    );
  };
}

const overviewBody = {
  from: "2026-01-05T10:00:00Z",
  to: "2026-01-05T11:00:00Z",
  total_events: 12,
  distinct_users: 3,
  events_per_minute: 0.2,
  top_page: { page_url: "/home", count: 5 },
};

describe("Api", () => {
  it("sends the credentials of the moment on every call", async () => {
    const sent: (string | null)[] = [];
    const fetcher: typeof fetch = (_, init) => {
      sent.push(new Headers(init?.headers).get("Authorization"));
      return Promise.resolve(new Response(JSON.stringify(overviewBody), { status: 200 }));
    };
    let token: string | null = null;
    const api = new Api(fetcher, 8, () => (token ? { Authorization: `Bearer ${token}` } : {}));
    await api.overview(scope(), signal);
    token = "csr_abcdefghijklmnop";
    await api.overview(scope(), signal);
    expect(sent).toEqual([null, "Bearer csr_abcdefghijklmnop"]);
  });

  it("asks with the site and range and decodes the answer", async () => {
    const calls: Call[] = [];
    const answer = await new Api(fake(200, overviewBody, calls)).overview(
      scope("example.com"),
      signal,
    );
    expect(calls[0]?.url).toBe(
      "/api/v1/overview?site=example.com&from=2026-01-05T10%3A00%3A00.000Z&to=2026-01-05T11%3A00%3A00.000Z",
    );
    expect(answer.total_events).toBe(12);
    expect(answer.from).toEqual(new Date("2026-01-05T10:00:00Z"));
    expect(answer.top_page).toEqual({ page_url: "/home", count: 5 });
  });

  it("sends the bucket and page filter, and escapes a user id in the path", async () => {
    const calls: Call[] = [];
    const series = {
      from: "2026-01-05T10:00:00Z",
      to: "2026-01-05T11:00:00Z",
      bucket: "minute",
      points: [],
    };
    await new Api(fake(200, series, calls)).timeSeries(
      scope("default"),
      "minute",
      "/a b?c",
      signal,
    );
    expect(calls[0]?.url).toContain("bucket=minute&page_url=%2Fa+b%3Fc");
    await new Api(fake(200, { user_id: "a/b", total: 0, pages: [] }, calls)).userActivity(
      "default",
      "a/b",
      range,
      50,
      signal,
    );
    expect(calls[1]?.url.startsWith("/api/v1/users/a%2Fb/activity?")).toBe(true);
  });

  it("turns the gateway's error body into a typed failure", async () => {
    const body = { error: { code: "UNAVAILABLE", message: "query is down", field: null } };
    const error = await new Api(fake(503, body))
      .overview(scope("default"), signal)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).failure).toEqual({
      kind: "http",
      status: 503,
      code: "UNAVAILABLE",
      message: "query is down",
      field: null,
    });
    expect((error as ApiError).message).toBe(
      "Query service unreachable: the gateway answered 503 UNAVAILABLE for /api/v1/overview: query is down.",
    );
  });

  it("names a network failure as the gateway being unreachable", async () => {
    const down: typeof fetch = () => Promise.reject(new TypeError("Failed to fetch"));
    const error = await new Api(down)
      .topPages(scope("default"), 10, signal)
      .catch((e: unknown) => e);
    expect((error as ApiError).failure).toEqual({ kind: "network" });
    expect((error as ApiError).message).toBe(
      "Gateway unreachable: no answer to /api/v1/pages/top.",
    );
  });

  it("reports a timeout", async () => {
    const never: typeof fetch = (_, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener("abort", () =>
          reject(new DOMException("aborted", "AbortError")),
        );
      });
    const error = await new Api(never, 0.01)
      .overview(scope("default"), signal)
      .catch((e: unknown) => e);
    expect((error as ApiError).failure).toEqual({ kind: "timeout", seconds: 0.01 });
  });

  it("rejects an answer that breaks the contract, naming the field", async () => {
    const bad = { ...overviewBody, total_events: "12" };
    const error = await new Api(fake(200, bad))
      .overview(scope("default"), signal)
      .catch((e: unknown) => e);
    expect((error as ApiError).message).toBe(
      "Unexpected answer from /api/v1/overview: total_events should be a count (a non-negative integer).",
    );
  });

  it("treats a missing event-types route as no chart, other failures as failures", async () => {
    const missing = { error: { code: "NOT_FOUND", message: "no route", field: null } };
    expect(await new Api(fake(404, missing)).eventTypes(scope("default"), signal)).toBeNull();
    const down = { error: { code: "UNAVAILABLE", message: "", field: null } };
    await expect(
      new Api(fake(503, down)).eventTypes(scope("default"), signal),
    ).rejects.toBeInstanceOf(ApiError);
  });

  it("asks every report of the chosen site", async () => {
    const calls: Call[] = [];
    const api = new Api(fake(200, {}, calls));
    const asks = [
      api.overview(scope("b.example"), signal),
      api.topPages(scope("b.example"), 10, signal),
      api.timeSeries(scope("b.example"), "hour", "/home", signal),
      api.eventTypes(scope("b.example"), signal),
      api.userActivity("b.example", "user-1", range, 50, signal),
    ];
    await Promise.allSettled(asks);
    expect(calls).toHaveLength(asks.length);
    for (const { url } of calls) {
      expect(new URLSearchParams(url.split("?")[1]).getAll("site")).toEqual(["b.example"]);
    }
  });

  it("lists the sites by name, and none from a gateway without sites", async () => {
    const calls: Call[] = [];
    const body = {
      sites: [
        { name: "default", created: "2026-12-06T05:00:00Z" },
        { name: "example.com", created: "2026-12-06T05:00:00Z" },
      ],
    };
    expect(await new Api(fake(200, body, calls)).sites(signal)).toEqual(["default", "example.com"]);
    expect(calls[0]?.url).toBe("/api/v1/sites");
    const missing = { error: { code: "NOT_FOUND", message: "no route", field: null } };
    expect(await new Api(fake(404, missing)).sites(signal)).toBeNull();
  });

  it("rejects a listed site outside the site name rule", async () => {
    const body = { sites: [{ name: "<b>x</b>", created: "2026-12-06T05:00:00Z" }] };
    const error = await new Api(fake(200, body)).sites(signal).catch((e: unknown) => e);
    expect((error as ApiError).failure).toEqual({
      kind: "decode",
      detail: "sites[0].name should be a site name (1-253 of a-z 0-9 . -)",
    });
  });

  it("copes with an error body that is not JSON", async () => {
    const html: typeof fetch = () =>
      Promise.resolve(
        new Response("<h1>Bad Gateway</h1>", { status: 502, statusText: "Bad Gateway" }),
      );
    const error = await new Api(html).overview(scope("default"), signal).catch((e: unknown) => e);
    expect((error as ApiError).message).toBe(
      "The gateway answered 502 Bad Gateway for /api/v1/overview.",
    );
  });
});

describe("explain", () => {
  it("names the rejected parameter", () => {
    expect(
      explain("/api/v1/timeseries", {
        kind: "http",
        status: 400,
        code: "INVALID_ARGUMENT",
        message: "must be a path or URL",
        field: "page_url",
      }),
    ).toBe("The gateway rejected page_url: must be a path or URL.");
  });
});

describe("summarize", () => {
  it("says one failure once, naming every endpoint it hit", () => {
    const down = {
      kind: "http",
      status: 503,
      code: "UNAVAILABLE",
      message: "no query",
      field: null,
    } as const;
    const lines = summarize([
      new ApiError("/api/v1/overview", down),
      new ApiError("/api/v1/overview", down),
      new ApiError("/api/v1/pages/top", down),
      new ApiError("/api/v1/timeseries", { kind: "network" }),
    ]);
    expect(lines).toEqual([
      "Query service unreachable: the gateway answered 503 UNAVAILABLE for /api/v1/overview, /api/v1/pages/top: no query.",
      "Gateway unreachable: no answer to /api/v1/timeseries.",
    ]);
  });
});

describe("decoders", () => {
  it("point at the broken element", () => {
    const pages = object({ pages: array(object({ page_url: string, count })) });
    expect(() =>
      pages(
        {
          pages: [
            { page_url: "/", count: 1 },
            { page_url: 3, count: 1 },
          ],
        },
        "",
      ),
    ).toThrow(new DecodeError("pages[1].page_url", "a string"));
    expect(() => count(-1, "n")).toThrow(DecodeError);
    expect(() => count(1.5, "n")).toThrow(DecodeError);
  });
});
