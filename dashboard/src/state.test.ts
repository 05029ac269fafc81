import { describe, expect, it } from "vitest";
import { DEFAULT_SELECTION, selectionFromQuery, selectionToQuery } from "./state";

describe("selection in the address bar", () => {
  it("round-trips presets, filters and users", () => {
    const selection = {
      range: { kind: "preset", preset: "24h" },
      pageUrl: "/a&b",
      userId: "user 1",
    } as const;
    expect(selectionFromQuery(selectionToQuery(selection))).toEqual(selection);
  });

  it("round-trips a custom range", () => {
    const selection = {
      range: {
        kind: "custom",
        from: new Date("2026-01-01T00:00:00Z"),
        to: new Date("2026-01-02T00:00:00Z"),
      },
      pageUrl: "",
      userId: "",
    } as const;
    expect(selectionToQuery(selection)).toBe(
      "?range=custom&from=2026-01-01T00%3A00%3A00.000Z&to=2026-01-02T00%3A00%3A00.000Z",
    );
    expect(selectionFromQuery(selectionToQuery(selection))).toEqual(selection);
  });

  it.each([
    "",
    "?range=1y",
    "?range=custom&from=x&to=y",
    "?range=custom&from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
  ])("falls back to the default range for %j", (search) => {
    expect(selectionFromQuery(search).range).toEqual(DEFAULT_SELECTION.range);
  });
});
