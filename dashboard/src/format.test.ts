import { describe, expect, it } from "vitest";
import {
  change,
  ellipsize,
  formatAgo,
  formatBucket,
  formatCount,
  formatDuration,
  formatPercent,
  formatRate,
  pointChange,
} from "./format";

describe("numbers", () => {
  it("groups counts and rounds rates", () => {
    expect(formatCount(1234567)).toBe("1,234,567");
    expect(formatRate(2.345)).toBe("2.3");
    expect(formatRate(0)).toBe("0");
    expect(formatRate(1234.56)).toBe("1,235");
  });
});

describe("change", () => {
  it.each([
    [120, 100, "+20%", "up"],
    [50, 100, "\u221250%", "down"],
    [100, 100, "no change", "flat"],
    [0, 0, "no change", "flat"],
    [5, 0, "new", "up"],
    [0, 8, "\u2212100%", "down"],
    [1001, 1000, "+<1%", "up"],
    [999, 1000, "\u2212<1%", "down"],
    [3000, 1000, "+200%", "up"],
  ])("%d after %d is %s", (current, previous, text, trend) => {
    expect(change(current, previous)).toEqual({ text, trend });
  });
});

describe("formatAgo", () => {
  it.each([
    [0, "just now"],
    [1999, "just now"],
    [2000, "2 s ago"],
    [59_999, "59 s ago"],
    [60_000, "1 min ago"],
    [3_600_000, "1 h ago"],
    [-500, "just now"],
  ])("%d ms reads %s", (ms, text) => {
    expect(formatAgo(ms)).toBe(text);
  });
});

describe("formatBucket", () => {
  it("shows minutes as a time of day and hours with the day", () => {
    const time = new Date(2026, 0, 5, 14, 7);
    expect(formatBucket(time, "minute")).toMatch(/14:07|2:07/);
    expect(formatBucket(time, "hour")).toMatch(/Mon/);
  });
});

describe("ellipsize", () => {
  it("keeps short text and the ends of long text", () => {
    expect(ellipsize("/home", 10)).toBe("/home");
    const short = ellipsize("https://example.com/a/very/long/path/to/a/page", 20);
    expect(short).toHaveLength(20);
    expect(short.startsWith("https:")).toBe(true);
    expect(short.endsWith("a/page")).toBe(true);
    expect(short).toContain("\u2026");
  });
});

describe("visit figures", () => {
  it.each([
    [0, "0%"],
    [0.004, "<1%"],
    [0.256, "26%"],
    [1, "100%"],
  ])("share %d is %s", (share, text) => {
    expect(formatPercent(share)).toBe(text);
  });

  it.each([
    [0, "0 s"],
    [44.6, "45 s"],
    [60, "1 min"],
    [200, "3 min 20 s"],
    [3600, "1 h"],
    [3900, "1 h 5 min"],
  ])("%d seconds is %s", (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  it.each([
    [0.4, 0.5, "\u221210 pp", "down"],
    [0.55, 0.5, "+5 pp", "up"],
    [0.5, 0.5, "no change", "flat"],
    [0.25, 0, "+25 pp", "up"],
  ])("a rate of %d after %d changed by %s", (current, previous, text, trend) => {
    expect(pointChange(current, previous)).toEqual({ text, trend });
  });
});
