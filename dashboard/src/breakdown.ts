/**
 * The one breakdown panel every report of a dimension uses: tabs for its dimensions, a row
 * per value with its visitors and a bar, each row a filter for the whole dashboard.
 */

import type { Breakdown } from "./api";
import { type BarRow, renderBars, sharesOf, showState } from "./bars";
import { h, setAttribute, setText } from "./dom";
import type { Dimension } from "./filters";
import { formatCount } from "./format";
import type { PanelSpec, Tab } from "./panels";
import type { Outcome } from "./reports";

const regions = new Intl.DisplayNames(undefined, { type: "region", fallback: "code" });

/** A value as people read it: a country's name for its ISO code, anything else as it is. */
export function valueLabel(dimension: Dimension, value: string): string {
  return dimension === "country" && /^[A-Z]{2}$/.test(value) ? (regions.of(value) ?? value) : value;
}

export function breakdownRows(breakdown: Breakdown, dimension: Dimension): BarRow[] {
  const shares = sharesOf(breakdown.rows.map((row) => row.visitors));
  return breakdown.rows.map((row, index) => ({
    key: row.value,
    label: valueLabel(dimension, row.value),
    cells: [formatCount(row.visitors)],
    share: shares[index] ?? 0,
    filter: { dimension, op: "is", value: row.value },
  }));
}

export class BreakdownPanel {
  readonly element: HTMLElement;
  private chosen: Tab;
  private readonly body: HTMLTableSectionElement;
  private readonly column: HTMLTableCellElement;

  /** `switched` runs when a tab is chosen: its dimension is then to be loaded. */
  constructor(spec: PanelSpec, switched: () => void) {
    this.chosen = spec.tabs[0];
    const titleId = `report-${spec.id}-title`;
    const tabs = h("div", { class: "segmented tabs", role: "group", "aria-label": spec.title });
    for (const tab of spec.tabs) {
      const button = h("button", { type: "button", "data-dimension": tab.dimension }, tab.label);
      button.addEventListener("click", () => {
        if (tab === this.chosen) return;
        this.chosen = tab;
        this.showTab();
        setAttribute(this.element, "aria-busy", "true");
        switched();
      });
      tabs.append(button);
    }
    // one tab: its name is the title's, no switch to show
    tabs.hidden = spec.tabs.length === 1;
    this.column = h("th", { scope: "col" });
    this.body = h("tbody");
    this.element = h(
      "section",
      { class: "card report", id: `report-${spec.id}`, "aria-labelledby": titleId },
      h("header", { class: "report-head" }, h("h2", { id: titleId }, spec.title), tabs),
      h(
        "table",
        { class: "bars" },
        h("thead", {}, h("tr", {}, this.column, h("th", { scope: "col" }, "Visitors"))),
        this.body,
      ),
      h("p", { class: "report-note", role: "status" }),
    );
    setAttribute(this.element, "aria-busy", "true");
    this.showTab();
  }

  get dimension(): Dimension {
    return this.chosen.dimension;
  }

  /** `outcome`: the chosen dimension's, or undefined while it is still loading. */
  render(outcome: Outcome<Breakdown> | undefined): void {
    if (!outcome) return;
    if (!outcome.ok) {
      showState(this.element, { kind: "error", error: outcome.error });
      return;
    }
    renderBars(this.body, breakdownRows(outcome.value, this.dimension));
    showState(
      this.element,
      outcome.value.rows.length > 0 ? { kind: "rows" } : { kind: "empty", text: "No data." },
    );
  }

  private showTab(): void {
    setAttribute(this.element, "data-dimension", this.chosen.dimension);
    setText(this.column, this.chosen.column);
    for (const button of this.element.querySelectorAll<HTMLElement>("[data-dimension]")) {
      setAttribute(button, "aria-pressed", String(button.dataset.dimension === this.dimension));
    }
  }
}
