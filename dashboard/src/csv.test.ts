import { describe, expect, it } from "vitest";
import { csvCell, csvFileName, snapshotRows, toCsv } from "./csv";
import { snapshot } from "./test-support";

describe("csvCell", () => {
  it.each([
    ["plain", "plain"],
    [42, "42"],
    ["a,b", '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ["two\nlines", '"two\nlines"'],
    ["=HYPERLINK(1)", "'=HYPERLINK(1)"],
    ["+1", "'+1"],
    ["-1", "'-1"],
    ["@sum", "'@sum"],
    ["=a,b", '"\'=a,b"'],
    ["/x<script>alert(1)</script>", "/x<script>alert(1)</script>"],
  ])("%j becomes %j", (value, cell) => {
    expect(csvCell(value)).toBe(cell);
  });
});

describe("toCsv", () => {
  it("joins rows with CRLF and ends with one", () => {
    expect(
      toCsv([
        ["a", 1],
        ["b,c", 2],
      ]),
    ).toBe('a,1\r\n"b,c",2\r\n');
  });
});

describe("snapshotRows", () => {
  it("lists every number on screen, in screen order", () => {
    const rows = snapshotRows(
      snapshot({ user: { user_id: "u-1", total: 4, pages: [{ page_url: "/a", count: 4 }] } }),
    );
    expect(rows).toEqual([
      ["section", "key", "value"],
      ["range", "from", "2026-01-05T10:00:00.000Z"],
      ["range", "to", "2026-01-05T11:00:00.000Z"],
      ["range", "bucket", "minute"],
      ["range", "page_url", ""],
      ["range", "site", "default"],
      ["overview", "total_events", 120],
      ["overview", "distinct_users", 7],
      ["overview", "events_per_minute", 2],
      ["overview", "top_page", "/home"],
      ["overview", "top_page_count", 50],
      ["previous_overview", "total_events", 100],
      ["previous_overview", "distinct_users", 7],
      ["previous_overview", "events_per_minute", 100 / 60],
      ["previous_overview", "top_page", "/home"],
      ["previous_overview", "top_page_count", 40],
      ["timeseries", "2026-01-05T10:00:00.000Z", 3],
      ["timeseries", "2026-01-05T10:01:00.000Z", 0],
      ["top_pages", "/home", 50],
      ["top_pages", "/pricing", 30],
      ["event_types", "click", 120],
      ["user", "user_id", "u-1"],
      ["user", "total", 4],
      ["user_pages", "/a", 4],
    ]);
  });

  it("names the filters the figures are under, one row each", () => {
    const data = snapshot();
    const filters = [
      { dimension: "page", op: "is", value: "/a" },
      { dimension: "country", op: "is_not", value: "FR" },
    ] as const;
    const rows = snapshotRows({ ...data, selection: { ...data.selection, filters } });
    expect(rows.slice(5, 8)).toEqual([
      ["range", "site", "default"],
      ["range", "filter", "page:is:/a"],
      ["range", "filter", "country:is_not:FR"],
    ]);
  });

  it("leaves out what is not shown", () => {
    const rows = snapshotRows(snapshot({ eventTypes: null, user: null }));
    expect(rows.some((row) => row[0] === "event_types" || row[0] === "user")).toBe(false);
  });

  it("writes an empty top page when there is none", () => {
    const empty = snapshot();
    const rows = snapshotRows({ ...empty, overview: { ...empty.overview, top_page: null } });
    expect(rows).toContainEqual(["overview", "top_page", ""]);
    expect(rows).toContainEqual(["overview", "top_page_count", 0]);
  });
});

describe("csvFileName", () => {
  it("names the site and the range", () => {
    const data = snapshot();
    expect(csvFileName(data)).toBe("clickstream-default-2026-01-05T1000-2026-01-05T1100.csv");
    expect(csvFileName({ ...data, selection: { ...data.selection, site: "shop.example" } })).toBe(
      "clickstream-shop.example-2026-01-05T1000-2026-01-05T1100.csv",
    );
  });
});
