import { describe, expect, it } from "vitest";
import { kpis } from "./kpi";
import { overview, snapshot } from "./test-support";

describe("kpis", () => {
  it("compares each figure with the previous period", () => {
    const cards = kpis(snapshot());
    expect(cards.map((card) => [card.id, card.raw, card.display, card.change.text])).toEqual([
      ["total_events", "120", "120", "+20%"],
      ["distinct_users", "7", "7", "no change"],
      ["events_per_minute", "2", "2", "+20%"],
      ["top_page", "/home", "/home", "+25%"],
    ]);
    expect(cards[0]?.versus).toBe("previous period: 100");
    expect(cards[3]?.detail).toBe("50 events");
    expect(cards[3]?.versus).toBe("previous period: 40 events, also top");
  });

  it("names the previous top page when the top page changed", () => {
    const card = kpis(
      snapshot({ previousOverview: overview(10, 2, { page_url: "/old", count: 9 }) }),
    )[3];
    expect(card?.change).toEqual({ text: "new top page", trend: "up" });
    expect(card?.versus).toBe("previous top: /old");
  });

  it("says so when there was nothing before", () => {
    const cards = kpis(snapshot({ previousOverview: overview(0, 0, null) }));
    expect(cards[0]?.change.text).toBe("new");
    expect(cards[3]?.change.text).toBe("new");
    expect(cards[3]?.versus).toBe("previous period: no events");
  });

  it("shows a dash when there is no top page now", () => {
    const card = kpis(snapshot({ overview: overview(0, 0, null) }))[3];
    expect(card?.display).toBe("\u2014");
    expect(card?.raw).toBe("");
    expect(card?.change).toEqual({ text: "none now", trend: "down" });
  });
});
