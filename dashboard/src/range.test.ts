import { describe, expect, it } from "vitest";
import {
  bucketFor,
  customRangeProblem,
  isPresetId,
  parseLocalInput,
  previousRange,
  resolveRange,
  spanLabel,
  toLocalInput,
} from "./range";

const at = (iso: string): Date => new Date(iso);

describe("resolveRange", () => {
  it("ends a minute-bucket preset at the end of the current minute", () => {
    const range = resolveRange({ kind: "preset", preset: "1h" }, at("2026-01-05T10:20:31.5Z"));
    expect(range.to.toISOString()).toBe("2026-01-05T10:21:00.000Z");
    expect(range.from.toISOString()).toBe("2026-01-05T09:21:00.000Z");
  });

  it("keeps a preset unchanged within one bucket, so answers can be cached", () => {
    const a = resolveRange({ kind: "preset", preset: "15m" }, at("2026-01-05T10:20:01Z"));
    const b = resolveRange({ kind: "preset", preset: "15m" }, at("2026-01-05T10:20:59Z"));
    expect(a).toEqual(b);
  });

  it("does not move a range that ends exactly on a boundary", () => {
    const range = resolveRange({ kind: "preset", preset: "15m" }, at("2026-01-05T10:20:00Z"));
    expect(range.to.toISOString()).toBe("2026-01-05T10:20:00.000Z");
  });

  it("aligns hour-bucket presets to whole hours", () => {
    const range = resolveRange({ kind: "preset", preset: "7d" }, at("2026-01-05T10:20:00Z"));
    expect(range.to.toISOString()).toBe("2026-01-05T11:00:00.000Z");
    expect(range.from.toISOString()).toBe("2025-12-29T11:00:00.000Z");
    expect(bucketFor(range)).toBe("hour");
  });

  it("takes a custom range as it is", () => {
    const from = at("2026-01-01T00:00:00Z");
    const to = at("2026-01-01T00:07:30Z");
    expect(resolveRange({ kind: "custom", from, to }, at("2026-02-01T00:00:00Z"))).toEqual({
      from,
      to,
    });
  });
});

describe("bucketFor", () => {
  it.each([
    ["2026-01-05T10:00:00Z", "2026-01-05T10:15:00Z", "minute"],
    ["2026-01-05T08:00:00Z", "2026-01-05T11:00:00Z", "minute"],
    ["2026-01-05T08:00:00Z", "2026-01-05T11:00:01Z", "hour"],
    ["2026-01-04T10:00:00Z", "2026-01-05T10:00:00Z", "hour"],
  ])("%s to %s counts per %s", (from, to, bucket) => {
    expect(bucketFor({ from: at(from), to: at(to) })).toBe(bucket);
  });
});

describe("previousRange", () => {
  it("is the period of equal length just before", () => {
    const previous = previousRange({
      from: at("2026-01-05T10:00:00Z"),
      to: at("2026-01-05T10:15:00Z"),
    });
    expect(previous.from.toISOString()).toBe("2026-01-05T09:45:00.000Z");
    expect(previous.to.toISOString()).toBe("2026-01-05T10:00:00.000Z");
  });
});

describe("spanLabel", () => {
  it.each([
    [15, "15 min"],
    [60, "1 h"],
    [150, "2 h 30 min"],
    [7 * 1440, "7 d"],
    [1440 + 61, "1 d 1 h 1 min"],
    [0, "0 min"],
  ])("%i minutes read %s", (minutes, label) => {
    const from = at("2026-01-05T00:00:00Z");
    expect(spanLabel({ from, to: new Date(from.getTime() + minutes * 60_000) })).toBe(label);
  });
});

describe("custom input", () => {
  it("parses and prints datetime-local values in the browser's zone", () => {
    const date = parseLocalInput("2026-03-04T05:06");
    expect(date).toEqual(new Date(2026, 2, 4, 5, 6));
    expect(date && toLocalInput(date)).toBe("2026-03-04T05:06");
    expect(parseLocalInput("2026-03-04T05:06:07")).toEqual(new Date(2026, 2, 4, 5, 6, 7));
  });

  it.each(["", "yesterday", "2026-02-30T10:00", "2026-13-01T10:00"])("rejects %j", (text) => {
    expect(parseLocalInput(text)).toBeNull();
  });

  it("names what is wrong with a custom range", () => {
    const a = at("2026-01-01T00:00:00Z");
    const b = at("2026-01-02T00:00:00Z");
    expect(customRangeProblem(null, b)).toBe("Enter a start time.");
    expect(customRangeProblem(a, null)).toBe("Enter an end time.");
    expect(customRangeProblem(b, a)).toBe("The end must be after the start.");
    expect(customRangeProblem(a, a)).toBe("The end must be after the start.");
    expect(customRangeProblem(a, at("2026-06-01T00:00:00Z"))).toBe("Choose at most 90 days.");
    expect(customRangeProblem(a, b)).toBeNull();
  });

  it("knows the presets", () => {
    expect(isPresetId("24h")).toBe(true);
    expect(isPresetId("toString")).toBe(false);
  });
});
