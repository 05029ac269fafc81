/** The gateway's REST API (DESIGN.md "REST"): typed calls, typed answers, typed failures. */

import * as d from "./decode";
import { type Dimension, type Filter, formatFilter } from "./filters";
import type { Bucket, TimeRange } from "./range";
import { isSiteName } from "./sites";

/** A site as the gateway names it: anything else is contract drift, not a name to show. */
const siteName: d.Decoder<string> = (value, path) => {
  const text = d.string(value, path);
  if (!isSiteName(text)) throw new d.DecodeError(path, "a site name (1-253 of a-z 0-9 . -)");
  return text;
};

const pageCount = d.object({ page_url: d.string, count: d.count });

const overviewAnswer = d.object({
  from: d.timestamp,
  to: d.timestamp,
  total_events: d.count,
  distinct_users: d.count,
  events_per_minute: d.number,
  top_page: d.nullable(pageCount),
});
const topPagesAnswer = d.object({ from: d.timestamp, to: d.timestamp, pages: d.array(pageCount) });
const timeSeriesAnswer = d.object({
  from: d.timestamp,
  to: d.timestamp,
  bucket: d.string,
  points: d.array(d.object({ t: d.timestamp, count: d.count })),
});
const eventTypesAnswer = d.object({
  from: d.timestamp,
  to: d.timestamp,
  types: d.array(d.object({ event_type: d.string, count: d.count })),
});
const userActivityAnswer = d.object({
  user_id: d.string,
  total: d.count,
  pages: d.array(pageCount),
});
const sitesAnswer = d.object({ sites: d.array(d.object({ name: siteName })) });
const breakdownAnswer = d.object({
  from: d.timestamp,
  to: d.timestamp,
  dimension: d.string,
  rows: d.array(d.object({ value: d.string, events: d.count, visitors: d.count, visits: d.count })),
});
const visitsAnswer = d.object({
  from: d.timestamp,
  to: d.timestamp,
  visits: d.count,
  visitors: d.count,
  bounce_rate: d.number,
  mean_duration_s: d.number,
  views_per_visit: d.number,
});
const goalsAnswer = d.object({
  from: d.timestamp,
  to: d.timestamp,
  goals: d.array(
    d.object({
      goal: d.string,
      visitors: d.count,
      events: d.count,
      conversion_rate: d.number,
    }),
  ),
});
const funnelAnswer = d.object({
  from: d.timestamp,
  to: d.timestamp,
  steps: d.array(
    d.object({ goal: d.string, visitors: d.count, conversion_rate: d.number, dropoff: d.count }),
  ),
});
const realtimeAnswer = d.object({
  visitors: d.count,
  events: d.count,
  pages: d.array(d.object({ page_url: d.string, visitors: d.count })),
});
const errorAnswer = d.object({
  error: d.object({ code: d.string, message: d.string, field: d.nullable(d.string) }),
});

export type PageCount = d.Decoded<typeof pageCount>;
export type Overview = d.Decoded<typeof overviewAnswer>;
export type TopPages = d.Decoded<typeof topPagesAnswer>;
export type TimeSeries = d.Decoded<typeof timeSeriesAnswer>;
export type EventTypes = d.Decoded<typeof eventTypesAnswer>;
export type UserActivity = d.Decoded<typeof userActivityAnswer>;
export type Breakdown = d.Decoded<typeof breakdownAnswer>;
export type Visits = d.Decoded<typeof visitsAnswer>;
export type Goals = d.Decoded<typeof goalsAnswer>;
export type Funnel = d.Decoded<typeof funnelAnswer>;
export type Realtime = d.Decoded<typeof realtimeAnswer>;

/** What every report is of: one site, one range, under the dashboard's filters. */
export interface Scope {
  readonly site: string;
  readonly range: TimeRange;
  readonly filters: readonly Filter[];
}

export type Failure =
  | { kind: "network" }
  | { kind: "timeout"; seconds: number }
  | { kind: "http"; status: number; code: string; message: string; field: string | null }
  | { kind: "decode"; detail: string };

export class ApiError extends Error {
  constructor(
    readonly endpoint: string,
    readonly failure: Failure,
  ) {
    super(explain(endpoint, failure));
    this.name = "ApiError";
  }

  get status(): number | null {
    return this.failure.kind === "http" ? this.failure.status : null;
  }
}

/** One sentence naming what is unreachable or wrong, for the error banner. */
export function explain(endpoint: string, failure: Failure): string {
  switch (failure.kind) {
    case "network":
      return `Gateway unreachable: no answer to ${endpoint}.`;
    case "timeout":
      return `Gateway too slow: ${endpoint} did not answer within ${failure.seconds} s.`;
    case "decode":
      return `Unexpected answer from ${endpoint}: ${failure.detail}.`;
    case "http": {
      const said = failure.message ? `: ${failure.message}` : "";
      const answered = `${failure.status} ${failure.code}`;
      if (failure.status === 503 || failure.status === 504) {
        return `Query service unreachable: the gateway answered ${answered} for ${endpoint}${said}.`;
      }
      if (failure.status === 401) {
        return `Sign-in needed: the gateway answered ${answered} for ${endpoint}${said}.`;
      }
      if (failure.status === 403) {
        return `Not authorised: the gateway answered ${answered} for ${endpoint}${said}.`;
      }
      if (failure.status === 400 && failure.field) {
        return `The gateway rejected ${failure.field}${said}.`;
      }
      return `The gateway answered ${answered} for ${endpoint}${said}.`;
    }
  }
}

/** One line per distinct failure, naming every endpoint it hit. */
export function summarize(errors: readonly ApiError[]): string[] {
  const groups = new Map<string, { failure: Failure; endpoints: string[] }>();
  for (const error of errors) {
    const key = JSON.stringify(error.failure);
    const group = groups.get(key) ?? { failure: error.failure, endpoints: [] };
    if (!group.endpoints.includes(error.endpoint)) group.endpoints.push(error.endpoint);
    groups.set(key, group);
  }
  return [...groups.values()].map((group) => explain(group.endpoints.join(", "), group.failure));
}

/** Query parameters; a list is sent as the parameter repeated (`filter=…&filter=…`). */
type Params = Record<string, string | readonly string[]>;

function scopeParams({ site, range, filters }: Scope): Params {
  return {
    site,
    from: range.from.toISOString(),
    to: range.to.toISOString(),
    filter: filters.map(formatFilter),
  };
}

/** `null` when this gateway has no such route (404): an older gateway. */
async function unlessMissing<T>(answer: Promise<T>): Promise<T | null> {
  try {
    return await answer;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

export class Api {
  /**
   * `credentials`: the headers that say who asks (`Authorization: Bearer …` once signed
   * in, auth.ts), read afresh for every call so that signing in or out takes effect at once.
   */
  constructor(
    private readonly fetcher: typeof fetch = (input, init) => fetch(input, init),
    private readonly timeoutS = 8,
    private readonly credentials: () => Record<string, string> = () => ({}),
  ) {}

  /** The names of the sites this caller may read; `null` when this gateway has no sites. */
  async sites(signal: AbortSignal): Promise<string[] | null> {
    const answer = await unlessMissing(this.get("/api/v1/sites", {}, sitesAnswer, signal));
    return answer === null ? null : answer.sites.map((site) => site.name);
  }

  overview(scope: Scope, signal: AbortSignal): Promise<Overview> {
    return this.get("/api/v1/overview", scopeParams(scope), overviewAnswer, signal);
  }

  topPages(scope: Scope, limit: number, signal: AbortSignal): Promise<TopPages> {
    const params = { ...scopeParams(scope), limit: String(limit) };
    return this.get("/api/v1/pages/top", params, topPagesAnswer, signal);
  }

  timeSeries(
    scope: Scope,
    bucket: Bucket,
    pageUrl: string,
    signal: AbortSignal,
  ): Promise<TimeSeries> {
    const params: Params = { ...scopeParams(scope), bucket };
    if (pageUrl) params.page_url = pageUrl;
    return this.get("/api/v1/timeseries", params, timeSeriesAnswer, signal);
  }

  /** Event types per range; `null` when this gateway has no such route (404). */
  eventTypes(scope: Scope, signal: AbortSignal): Promise<EventTypes | null> {
    const params = scopeParams(scope);
    return unlessMissing(this.get("/api/v1/event-types", params, eventTypesAnswer, signal));
  }

  /** One user's pages: the drill-down sees that person whole, whatever the filters. */
  userActivity(
    site: string,
    userId: string,
    range: TimeRange,
    limit: number,
    signal: AbortSignal,
  ): Promise<UserActivity> {
    const path = `/api/v1/users/${encodeURIComponent(userId)}/activity`;
    const params = { ...scopeParams({ site, range, filters: [] }), limit: String(limit) };
    return this.get(path, params, userActivityAnswer, signal);
  }

  breakdown(
    scope: Scope,
    dimension: Dimension,
    limit: number,
    signal: AbortSignal,
  ): Promise<Breakdown> {
    const params = { ...scopeParams(scope), dimension, limit: String(limit) };
    return this.get("/api/v1/breakdown", params, breakdownAnswer, signal);
  }

  visits(scope: Scope, signal: AbortSignal): Promise<Visits> {
    return this.get("/api/v1/visits", scopeParams(scope), visitsAnswer, signal);
  }

  goals(scope: Scope, goals: readonly string[], signal: AbortSignal): Promise<Goals> {
    const params = { ...scopeParams(scope), goal: goals };
    return this.get("/api/v1/goals", params, goalsAnswer, signal);
  }

  funnel(scope: Scope, steps: readonly string[], signal: AbortSignal): Promise<Funnel> {
    const params = { ...scopeParams(scope), step: steps };
    return this.get("/api/v1/funnel", params, funnelAnswer, signal);
  }

  /** The last 5 minutes, whatever the range on screen. */
  realtime(site: string, filters: readonly Filter[], signal: AbortSignal): Promise<Realtime> {
    const params = { site, filter: filters.map(formatFilter) };
    return this.get("/api/v1/realtime", params, realtimeAnswer, signal);
  }

  private async get<T>(
    path: string,
    params: Params,
    decoder: d.Decoder<T>,
    signal: AbortSignal,
  ): Promise<T> {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) {
      for (const item of typeof value === "string" ? [value] : value) search.append(name, item);
    }
    const query = search.toString();
    const url = query ? `${path}?${query}` : path;
    const timeout = AbortSignal.timeout(this.timeoutS * 1000);
    let response: Response;
    try {
      response = await this.fetcher(url, {
        headers: { Accept: "application/json", ...this.credentials() },
        // live figures: never an answer from the browser's cache
        cache: "no-store",
        signal: AbortSignal.any([signal, timeout]),
      });
    } catch (error) {
      if (signal.aborted) throw error;
      const failure: Failure = timeout.aborted
        ? { kind: "timeout", seconds: this.timeoutS }
        : { kind: "network" };
      throw new ApiError(path, failure);
    }
    const body: unknown = await response.json().catch(() => undefined);
    if (!response.ok) throw new ApiError(path, httpFailure(response, body));
    try {
      return decoder(body, "");
    } catch (error) {
      if (error instanceof d.DecodeError) {
        throw new ApiError(path, { kind: "decode", detail: error.message });
      }
      throw error;
    }
  }
}

function httpFailure(response: Response, body: unknown): Failure {
  try {
    const { error } = errorAnswer(body, "");
    return { kind: "http", status: response.status, ...error };
  } catch {
    const code = response.statusText || `HTTP ${response.status}`;
    return { kind: "http", status: response.status, code, message: "", field: null };
  }
}
