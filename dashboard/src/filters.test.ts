import { describe, expect, it } from "vitest";
import {
  describeFilter,
  type Filter,
  formatFilter,
  goalFilter,
  goalLabel,
  isDimension,
  parseFilter,
  withFilter,
  withoutFilter,
} from "./filters";

describe("filters on the wire", () => {
  it.each<[string, Filter]>([
    ["page:is:/pricing", { dimension: "page", op: "is", value: "/pricing" }],
    ["referrer:is_not:(direct)", { dimension: "referrer", op: "is_not", value: "(direct)" }],
    [
      "page:contains:https://a.example/x?t=10:30",
      { dimension: "page", op: "contains", value: "https://a.example/x?t=10:30" },
    ],
    ["prop:plan:is:pro", { dimension: "prop:plan", op: "is", value: "pro" }],
    ["country:is:", { dimension: "country", op: "is", value: "" }],
  ])("%j reads and writes back the same", (text, filter) => {
    expect(parseFilter(text)).toEqual(filter);
    expect(formatFilter(filter)).toBe(text);
  });

  it.each(["", "page", "page:is", "colour:is:red", "page:equals:/a", "prop::is:x", "prop:is:x"])(
    "%j is not a filter",
    (text) => {
      expect(parseFilter(text)).toBeNull();
    },
  );

  it("knows the dimensions, a property's too", () => {
    expect(["page", "exit_page", "utm_campaign", "country", "prop:plan"].every(isDimension)).toBe(
      true,
    );
    expect(["", "url", "prop:", "prop:a:b", "Page"].some(isDimension)).toBe(false);
  });
});

describe("filters on screen", () => {
  it("say what they keep", () => {
    expect(describeFilter({ dimension: "entry_page", op: "is_not", value: "/a" })).toBe(
      "Entry page is not /a",
    );
    expect(describeFilter({ dimension: "prop:plan", op: "contains", value: "pro" })).toBe(
      "Property plan contains pro",
    );
  });

  it("replace a filter on the same dimension, and keep the others in order", () => {
    const start: Filter[] = [
      { dimension: "page", op: "is", value: "/a" },
      { dimension: "country", op: "is", value: "FR" },
    ];
    const added = withFilter(start, { dimension: "page", op: "is", value: "/b" });
    expect(added.map(formatFilter)).toEqual(["country:is:FR", "page:is:/b"]);
    expect(withFilter(start, { dimension: "os", op: "is", value: "iOS" })).toHaveLength(3);
    expect(withoutFilter(added, 0).map(formatFilter)).toEqual(["page:is:/b"]);
    expect(start).toHaveLength(2);
  });
});

describe("goals", () => {
  it.each([
    ["event_type:Signup", "Signup", { dimension: "event_type", op: "is", value: "Signup" }],
    ["page:/thanks", "Visit /thanks", { dimension: "page", op: "is", value: "/thanks" }],
    [
      "event_type:Outbound Link: Click",
      "Outbound Link: Click",
      { dimension: "event_type", op: "is", value: "Outbound Link: Click" },
    ],
    ["nonsense", "nonsense", null],
    ["country:FR", "country:FR", null],
  ] as const)("%j reads as %j and filters to its events", (goal, label, filter) => {
    expect(goalLabel(goal)).toBe(label);
    expect(goalFilter(goal)).toEqual(filter);
  });
});
