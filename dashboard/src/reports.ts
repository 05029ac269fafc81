/**
 * The reports beside the core figures: breakdowns, visits, goals, funnel, realtime. Each
 * loads on its own, and a failed one is an outcome its panel shows, not a failed dashboard.
 */

import {
  type Api,
  ApiError,
  type Breakdown,
  type Funnel,
  type Goals,
  type Realtime,
  type Scope,
  type Visits,
} from "./api";
import { type Dimension, eventGoal } from "./filters";
import { previousRange } from "./range";

export const BREAKDOWN_LIMIT = 10;
/** Goals shown when the address names none: the range's most frequent event types. */
export const DEFAULT_GOALS_LIMIT = 8;

export type Outcome<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ApiError };

export interface VisitsNowAndBefore {
  readonly now: Visits;
  readonly before: Visits;
}

export interface Reports {
  /** One breakdown per dimension asked for. */
  readonly breakdowns: ReadonlyMap<Dimension, Outcome<Breakdown>>;
  readonly visits: Outcome<VisitsNowAndBefore>;
  readonly goals: Outcome<Goals>;
  /** null when the address names no funnel steps. */
  readonly funnel: Outcome<Funnel> | null;
  readonly realtime: Outcome<Realtime>;
}

export interface ReportsAsked {
  readonly dimensions: readonly Dimension[];
  /** Goals from the address; none: the range's event types. */
  readonly goals: readonly string[];
  readonly steps: readonly string[];
}

/** An API failure becomes the outcome; anything else (an abort, a bug) still throws. */
async function settle<T>(answer: Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await answer };
  } catch (error) {
    if (error instanceof ApiError) return { ok: false, error };
    throw error;
  }
}

export async function loadReports(
  api: Api,
  scope: Scope,
  asked: ReportsAsked,
  signal: AbortSignal,
): Promise<Reports> {
  const before = { ...scope, range: previousRange(scope.range) };
  const [breakdowns, visits, goals, funnel, realtime] = await Promise.all([
    Promise.all(
      asked.dimensions.map(
        async (dimension) =>
          [
            dimension,
            await settle(api.breakdown(scope, dimension, BREAKDOWN_LIMIT, signal)),
          ] as const,
      ),
    ),
    settle(
      Promise.all([api.visits(scope, signal), api.visits(before, signal)]).then(
        ([now, earlier]) => ({ now, before: earlier }),
      ),
    ),
    settle(goalsOf(api, scope, asked.goals, signal)),
    asked.steps.length > 0 ? settle(api.funnel(scope, asked.steps, signal)) : null,
    settle(api.realtime(scope.site, scope.filters, signal)),
  ]);
  return { breakdowns: new Map(breakdowns), visits, goals, funnel, realtime };
}

/** The goals the address names, else one per event type in the range (none: no call). */
async function goalsOf(
  api: Api,
  scope: Scope,
  named: readonly string[],
  signal: AbortSignal,
): Promise<Goals> {
  let goals = named;
  if (goals.length === 0) {
    const types = await api.breakdown(scope, "event_type", DEFAULT_GOALS_LIMIT, signal);
    goals = types.rows.map((row) => eventGoal(row.value));
  }
  if (goals.length === 0) return { from: scope.range.from, to: scope.range.to, goals: [] };
  return api.goals(scope, goals, signal);
}
