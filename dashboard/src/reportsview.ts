/**
 * The reports on screen: the breakdown panels, goals, funnel, visit figures, visitors now,
 * and the filter chips. Clicks become actions; the dashboard decides what they load.
 */

import { showState } from "./bars";
import { BreakdownPanel } from "./breakdown";
import { h, setAttribute, setText } from "./dom";
import { describeFilter, type Dimension, type Filter, parseFilter } from "./filters";
import { formatCount } from "./format";
import { renderFunnel, renderGoals } from "./goals";
import { visitKpis } from "./kpi";
import { PANELS } from "./panels";
import type { Reports } from "./reports";
import { renderKpis } from "./view";

export interface ReportsElements {
  /** The reports' section: the breakdown panels go first in it, before goals and funnel. */
  readonly section: HTMLElement;
  readonly goals: HTMLElement;
  readonly funnel: HTMLElement;
  readonly visitKpis: HTMLElement;
  readonly realtime: HTMLElement;
  readonly chips: HTMLElement;
}

export interface ReportsActions {
  /** A row was clicked: narrow the dashboard to it. */
  filter(added: Filter): void;
  /** A chip's remove button: the filter at `index` goes. */
  unfilter(index: number): void;
  /** A panel switched tabs: its new dimension is to be loaded. */
  reload(): void;
}

export class ReportsView {
  private readonly panels: BreakdownPanel[];

  constructor(
    private readonly el: ReportsElements,
    actions: ReportsActions,
  ) {
    this.panels = PANELS.map((spec) => new BreakdownPanel(spec, () => actions.reload()));
    el.section.prepend(...this.panels.map((panel) => panel.element));
    // one listener for every row that filters, however often the rows are redrawn
    el.section.addEventListener("click", (event) => {
      const target = event.target instanceof Element ? event.target : null;
      const button = target?.closest<HTMLElement>("[data-filter]");
      const filter = parseFilter(button?.dataset.filter ?? "");
      if (filter) actions.filter(filter);
    });
    el.chips.addEventListener("click", (event) => {
      const target = event.target instanceof Element ? event.target : null;
      const index = Number(target?.closest<HTMLElement>("[data-remove]")?.dataset.remove);
      if (Number.isInteger(index)) actions.unfilter(index);
    });
  }

  /** The breakdowns on screen: each panel's chosen tab. */
  get dimensions(): Dimension[] {
    return this.panels.map((panel) => panel.dimension);
  }

  /** A removable chip per filter; shown at once, before the filtered figures arrive. */
  showFilters(filters: readonly Filter[]): void {
    this.el.chips.hidden = filters.length === 0;
    this.el.chips.replaceChildren(
      ...filters.map((filter, index) => {
        const words = describeFilter(filter);
        return h(
          "span",
          { class: "chip", "data-dimension": filter.dimension, "data-value": filter.value },
          h("span", { class: "chip-text" }, words),
          h(
            "button",
            {
              type: "button",
              "data-remove": String(index),
              "aria-label": `Remove filter: ${words}`,
            },
            "\u00d7",
          ),
        );
      }),
    );
  }

  setBusy(): void {
    for (const card of this.cards()) setAttribute(card, "aria-busy", "true");
  }

  render(reports: Reports): void {
    for (const panel of this.panels) panel.render(reports.breakdowns.get(panel.dimension));
    renderGoals(this.el.goals, reports.goals);
    renderFunnel(this.el.funnel, reports.funnel);
    this.renderVisits(reports.visits);
    this.renderRealtime(reports.realtime);
  }

  private cards(): HTMLElement[] {
    const { goals, funnel, visitKpis } = this.el;
    return [...this.panels.map((panel) => panel.element), goals, funnel, visitKpis];
  }

  private renderVisits(outcome: Reports["visits"]): void {
    const box = this.el.visitKpis;
    if (outcome.ok) {
      renderKpis(box, visitKpis(outcome.value.now, outcome.value.before));
      showState(box, { kind: "rows" });
    } else {
      showState(box, { kind: "error", error: outcome.error });
    }
    for (const card of box.querySelectorAll<HTMLElement>(".kpi")) card.hidden = !outcome.ok;
  }

  private renderRealtime(outcome: Reports["realtime"]): void {
    const box = this.el.realtime;
    setAttribute(box, "data-state", outcome.ok ? "ok" : "error");
    if (!outcome.ok) {
      setText(box, "Visitors now: unavailable");
      setAttribute(box, "title", outcome.error.message);
      setAttribute(box, "data-visitors", "");
      return;
    }
    const { visitors, pages } = outcome.value;
    setText(box, `${formatCount(visitors)} visitor${visitors === 1 ? "" : "s"} now`);
    setAttribute(box, "data-visitors", String(visitors));
    setAttribute(
      box,
      "title",
      pages.length > 0
        ? `In the last 5 minutes: ${pages.map((page) => `${page.page_url} (${formatCount(page.visitors)})`).join(", ")}`
        : "Nobody in the last 5 minutes",
    );
  }
}
