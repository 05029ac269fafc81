/** Numbers, changes and times as people read them. No I/O. */

import type { Bucket } from "./range";

const counts = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const rates = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const percents = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

export function formatCount(value: number): string {
  return counts.format(value);
}

/** Events per minute: one decimal below 100, whole numbers above. */
export function formatRate(value: number): string {
  return value < 100 ? rates.format(value) : counts.format(value);
}

/** A share 0..1 as a whole percentage: 0.256 → "26%"; a share above 0 never shows as 0%. */
export function formatPercent(share: number): string {
  const percent = share * 100;
  if (percent > 0 && percent < 0.5) return "<1%";
  return `${percents.format(percent)}%`;
}

/** "0 s", "45 s", "3 min 20 s", "1 h 5 min": a visit's length. */
export function formatDuration(seconds: number): string {
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole} s`;
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return whole % 60 ? `${minutes} min ${whole % 60} s` : `${minutes} min`;
  return minutes % 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes / 60} h`;
}

export type Trend = "up" | "down" | "flat";

export interface Change {
  readonly text: string;
  readonly trend: Trend;
}

/** The change from `previous` to `current`, e.g. "+12%", "−40%", "new", "no change". */
export function change(current: number, previous: number): Change {
  if (current === previous) return { text: "no change", trend: "flat" };
  if (previous === 0) return { text: "new", trend: "up" };
  const percent = ((current - previous) / previous) * 100;
  const rounded = Math.round(percent);
  if (rounded === 0) {
    return { text: percent > 0 ? "+<1%" : "\u2212<1%", trend: percent > 0 ? "up" : "down" };
  }
  const sign = rounded > 0 ? "+" : "\u2212";
  return {
    text: `${sign}${percents.format(Math.abs(rounded))}%`,
    trend: rounded > 0 ? "up" : "down",
  };
}

/**
 * The change of a share 0..1 in percentage points ("+5 pp", "−25 pp"): a bounce rate from 50%
 * to 40% fell by 10 points, which "−20%" would hide.
 */
export function pointChange(current: number, previous: number): Change {
  const points = Math.round((current - previous) * 100);
  if (points === 0) return { text: "no change", trend: "flat" };
  const sign = points > 0 ? "+" : "\u2212";
  return { text: `${sign}${Math.abs(points)} pp`, trend: points > 0 ? "up" : "down" };
}

/** "just now", "12 s ago", "3 min ago", "2 h ago". */
export function formatAgo(elapsedMs: number): string {
  const seconds = Math.max(0, Math.floor(elapsedMs / 1000));
  if (seconds < 2) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  return `${Math.floor(minutes / 60)} h ago`;
}

const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayClock = new Intl.DateTimeFormat(undefined, {
  weekday: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
});
const full = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** An axis label: the time of day for minutes, with the day for hours. */
export function formatBucket(time: Date, bucket: Bucket): string {
  return (bucket === "minute" ? clock : dayClock).format(time);
}

export function formatMoment(time: Date): string {
  return full.format(time);
}

/** Shortens a long URL for a chart axis, keeping its end (the path is what differs). */
export function ellipsize(text: string, max: number): string {
  if (text.length <= max) return text;
  const keep = Math.max(1, max - 1);
  const head = Math.ceil(keep / 3);
  return `${text.slice(0, head)}\u2026${text.slice(text.length - (keep - head))}`;
}
