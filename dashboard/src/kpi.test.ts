import { describe, expect, it } from "vitest";
import { kpis, visitKpis } from "./kpi";
import { overview, snapshot, visits } from "./test-support";

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

describe("visitKpis", () => {
  it("shows the visits' figures, each against the previous period", () => {
    const cards = visitKpis(visits(8, 0.25, 95, 3.5), visits(10, 0.5, 60, 3.5));
    expect(cards.map((card) => [card.id, card.raw, card.display, card.change.text])).toEqual([
      ["visits", "8", "8", "\u221220%"],
      ["bounce_rate", "0.25", "25%", "\u221225 pp"],
      ["mean_duration_s", "95", "1 min 35 s", "+58%"],
      ["views_per_visit", "3.5", "3.5", "no change"],
    ]);
    expect(cards.map((card) => card.versus)).toEqual([
      "previous period: 10",
      "previous period: 50%",
      "previous period: 1 min",
      "previous period: 3.5",
    ]);
  });
});
