/** Everything the dashboard shows at one moment, loaded in one go from the REST API. */

import { type Api, ApiError, type EventTypes, type Overview, type PageCount } from "./api";
import type { Scope, TimeSeries, UserActivity } from "./api";
import type { Dimension, Filter } from "./filters";
import {
  type Bucket,
  bucketFor,
  previousRange,
  type RangeChoice,
  resolveRange,
  type TimeRange,
} from "./range";
import { loadReports, type Reports } from "./reports";

export const TOP_PAGES_LIMIT = 10;
export const USER_PAGES_LIMIT = 50;

export interface Selection {
  /** The site every figure is of. */
  readonly site: string;
  readonly range: RangeChoice;
  /** Time series filter; "" for every page. */
  readonly pageUrl: string;
  /** User drill-down; "" for none. */
  readonly userId: string;
  /** Every report's filters, ANDed. */
  readonly filters: readonly Filter[];
  /** Goals to show; none: the range's event types. */
  readonly goals: readonly string[];
  /** Funnel steps; none: no funnel. */
  readonly steps: readonly string[];
}

export interface Snapshot {
  readonly selection: Selection;
  readonly range: TimeRange;
  readonly previous: TimeRange;
  readonly bucket: Bucket;
  readonly overview: Overview;
  readonly previousOverview: Overview;
  readonly topPages: readonly PageCount[];
  readonly series: TimeSeries;
  /**
   * null when the gateway has no event-types route, or under filters: that route counts
   * every event of the site, so its chart would contradict the filtered figures around it.
   */
  readonly eventTypes: EventTypes | null;
  readonly user: UserActivity | null;
  /** The sites to switch between; null when the gateway has no sites route. */
  readonly sites: readonly string[] | null;
  readonly reports: Reports;
  readonly loadedAt: Date;
}

/** Every failed call of one load, so the banner can name each unreachable part. */
export class LoadError extends Error {
  constructor(readonly failures: readonly ApiError[]) {
    super(failures.map((failure) => failure.message).join(" "));
    this.name = "LoadError";
  }
}

export interface LoadOptions {
  readonly eventTypes: boolean;
  readonly sites: boolean;
  /** The breakdowns on screen (each panel's chosen tab). */
  readonly dimensions: readonly Dimension[];
}

export async function loadSnapshot(
  api: Api,
  selection: Selection,
  now: Date,
  signal: AbortSignal,
  options: LoadOptions,
): Promise<Snapshot> {
  const range = resolveRange(selection.range, now);
  const previous = previousRange(range);
  const bucket = bucketFor(range);
  const { site, userId, filters } = selection;
  const scope: Scope = { site, range, filters };
  const calls = [
    api.overview(scope, signal),
    api.overview({ ...scope, range: previous }, signal),
    api.topPages(scope, TOP_PAGES_LIMIT, signal),
    api.timeSeries(scope, bucket, selection.pageUrl, signal),
    options.eventTypes && filters.length === 0
      ? api.eventTypes(scope, signal)
      : Promise.resolve(null),
    userId ? userActivity(api, site, userId, range, signal) : Promise.resolve(null),
    options.sites ? api.sites(signal) : Promise.resolve(null),
    // never an ApiError: each report's failure is its panel's to show
    loadReports(api, scope, { ...selection, dimensions: options.dimensions }, signal),
  ] as const;
  const settled = await Promise.allSettled(calls);
  const failures = settled.flatMap((result) =>
    result.status === "rejected" ? [result.reason] : [],
  );
  if (signal.aborted) throw signal.reason;
  if (failures.length > 0) {
    const apiErrors = failures.filter((reason): reason is ApiError => reason instanceof ApiError);
    if (apiErrors.length < failures.length) throw failures[0];
    throw new LoadError(apiErrors);
  }
  const [overview, previousOverview, topPages, series, eventTypes, user, sites, reports] =
    await Promise.all(calls);
  return {
    selection,
    range,
    previous,
    bucket,
    overview,
    previousOverview,
    topPages: topPages.pages,
    series,
    eventTypes,
    user,
    sites,
    reports,
    loadedAt: now,
  };
}

/** A user the API has never seen (404) simply has no activity. */
async function userActivity(
  api: Api,
  site: string,
  userId: string,
  range: TimeRange,
  signal: AbortSignal,
): Promise<UserActivity> {
  try {
    return await api.userActivity(site, userId, range, USER_PAGES_LIMIT, signal);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      return { user_id: userId, total: 0, pages: [] };
    }
    throw error;
  }
}
