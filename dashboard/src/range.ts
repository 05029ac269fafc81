/** Range maths: presets, bucket choice, the previous period, custom input. No I/O. */

export type Bucket = "minute" | "hour";

export interface TimeRange {
  readonly from: Date;
  readonly to: Date;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Above this span, per-minute points are too many to read: hourly buckets instead. */
const MINUTE_BUCKETS_UP_TO = 3 * HOUR;
/** The longest custom range accepted (hourly points: 2,160 at most). */
export const MAX_CUSTOM_SPAN = 90 * DAY;

export const PRESETS = {
  "15m": { label: "Last 15 min", span: 15 * MINUTE },
  "1h": { label: "Last hour", span: HOUR },
  "24h": { label: "Last 24 h", span: DAY },
  "7d": { label: "Last 7 days", span: 7 * DAY },
} as const;

export type PresetId = keyof typeof PRESETS;

export type RangeChoice =
  | { readonly kind: "preset"; readonly preset: PresetId }
  | { readonly kind: "custom"; readonly from: Date; readonly to: Date };

export function isPresetId(value: string): value is PresetId {
  return Object.hasOwn(PRESETS, value);
}

export function bucketFor(range: TimeRange): Bucket {
  return range.to.getTime() - range.from.getTime() <= MINUTE_BUCKETS_UP_TO ? "minute" : "hour";
}

export function bucketMs(bucket: Bucket): number {
  return bucket === "minute" ? MINUTE : HOUR;
}

/**
 * The concrete range of a choice at `now`. A preset ends at the end of the current bucket,
 * so every bucket is whole and a range stays the same (and cached) within one bucket.
 */
export function resolveRange(choice: RangeChoice, now: Date): TimeRange {
  if (choice.kind === "custom") return { from: choice.from, to: choice.to };
  const span = PRESETS[choice.preset].span;
  const unit = span <= MINUTE_BUCKETS_UP_TO ? MINUTE : HOUR;
  const to = Math.ceil(now.getTime() / unit) * unit;
  return { from: new Date(to - span), to: new Date(to) };
}

/** The period of equal length just before `range`: what the KPI changes compare against. */
export function previousRange(range: TimeRange): TimeRange {
  const span = range.to.getTime() - range.from.getTime();
  return { from: new Date(range.from.getTime() - span), to: range.from };
}

/** "15 min", "1 h", "7 d", "2 h 30 min": a span in words. */
export function spanLabel(range: TimeRange): string {
  let rest = Math.round((range.to.getTime() - range.from.getTime()) / MINUTE);
  const parts: string[] = [];
  for (const [unit, minutes] of [
    ["d", 1440],
    ["h", 60],
    ["min", 1],
  ] as const) {
    const whole = Math.floor(rest / minutes);
    if (whole > 0) parts.push(`${whole} ${unit}`);
    rest -= whole * minutes;
  }
  return parts.length > 0 ? parts.join(" ") : "0 min";
}

/** The value of an `<input type="datetime-local">` as a Date in the browser's zone. */
export function parseLocalInput(value: string): Date | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (!match) return null;
  const [year, month, day, hour, minute, second] = match.slice(1).map((part) => Number(part ?? 0));
  const date = new Date(year ?? 0, (month ?? 1) - 1, day, hour, minute, second);
  return date.getMonth() === (month ?? 1) - 1 ? date : null;
}

export function toLocalInput(date: Date): string {
  const pad = (n: number): string => String(n).padStart(2, "0");
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}`
  );
}

/** Why a custom range cannot be used, or null when it can. */
export function customRangeProblem(from: Date | null, to: Date | null): string | null {
  if (!from) return "Enter a start time.";
  if (!to) return "Enter an end time.";
  if (to.getTime() <= from.getTime()) return "The end must be after the start.";
  if (to.getTime() - from.getTime() > MAX_CUSTOM_SPAN) return "Choose at most 90 days.";
  return null;
}
