import { describe, expect, it } from "vitest";
import { isSiteName, siteOptions } from "./sites";

describe("isSiteName", () => {
  it.each(["default", "example.com", "a", "shop-2.example.co.uk", "a".repeat(253)])(
    "accepts %j",
    (name) => {
      expect(isSiteName(name)).toBe(true);
    },
  );

  it.each(["", "Example.com", "a_b", "a b", "a/b", "a\n", "<b>x</b>", "a".repeat(254)])(
    "rejects %j",
    (name) => {
      expect(isSiteName(name)).toBe(false);
    },
  );
});

describe("siteOptions", () => {
  it("lists the gateway's sites in its order", () => {
    expect(siteOptions(["b.example", "default"], "default")).toEqual([
      { value: "b.example", label: "b.example" },
      { value: "default", label: "default" },
    ]);
  });

  it("keeps a chosen site the gateway does not list, last and marked", () => {
    expect(siteOptions(["default"], "old.example")).toEqual([
      { value: "default", label: "default" },
      { value: "old.example", label: "old.example (not listed)" },
    ]);
    expect(siteOptions([], "default")).toEqual([
      { value: "default", label: "default (not listed)" },
    ]);
  });
});
