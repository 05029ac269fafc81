/**
 * The controls that choose what the dashboard shows: the site, the range, the page and the
 * user; live refresh and its interval; the CSV export. Each input becomes a call to the
 * dashboard (`ControlActions`), and `show` puts a selection back into them.
 */

import { byId, h, setAttribute, setText } from "./dom";
import {
  customRangeProblem,
  isPresetId,
  parseLocalInput,
  type TimeRange,
  toLocalInput,
} from "./range";
import type { Selection, Snapshot } from "./snapshot";
import { renderSites } from "./view";

/** The parts of the screen that load, each marked busy until its answer is drawn. */
export type Part = "kpis" | "series" | "pages" | "share" | "types" | "user" | "reports";
export const ALL_PARTS: readonly Part[] = [
  "kpis",
  "series",
  "pages",
  "share",
  "types",
  "user",
  "reports",
];

/** What the controls ask of the dashboard. */
export interface ControlActions {
  /** Change the selection; `loading`: the parts the change reloads. */
  select(change: Partial<Selection>, loading: readonly Part[]): void;
  /** Live refresh was paused (`true`) or resumed. */
  paused(paused: boolean): void;
  /** Another refresh interval was chosen. */
  intervalChanged(): void;
  exportCsv(): void;
  /** The range on screen: where the custom range form starts. */
  shownRange(): TimeRange;
}

export class Controls {
  private livePaused = false;

  private readonly el = {
    siteSwitch: byId("site-switch", HTMLElement),
    site: byId("site", HTMLSelectElement),
    pause: byId("pause", HTMLButtonElement),
    interval: byId("interval", HTMLSelectElement),
    rangeButtons: byId("range-buttons", HTMLElement),
    customForm: byId("custom-form", HTMLFormElement),
    customFrom: byId("custom-from", HTMLInputElement),
    customTo: byId("custom-to", HTMLInputElement),
    customProblem: byId("custom-problem", HTMLElement),
    pageForm: byId("page-form", HTMLFormElement),
    pageInput: byId("page-filter", HTMLInputElement),
    pageClear: byId("page-clear", HTMLButtonElement),
    pageOptions: byId("page-options", HTMLDataListElement),
    exportButton: byId("export", HTMLButtonElement),
    userForm: byId("user-form", HTMLFormElement),
    userInput: byId("user-id", HTMLInputElement),
    userClear: byId("user-clear", HTMLButtonElement),
  };

  constructor(private readonly actions: ControlActions) {
    this.bind();
  }

  /** Live refresh is paused. */
  get paused(): boolean {
    return this.livePaused;
  }

  /** The chosen seconds between live refreshes (not a number when none is). */
  get intervalS(): number {
    return Number(this.el.interval.value);
  }

  private bind(): void {
    const { actions, el } = this;
    el.site.addEventListener("change", () => {
      actions.select({ site: el.site.value }, ALL_PARTS);
    });
    el.rangeButtons.addEventListener("click", (event) => {
      const button = event.target instanceof Element ? event.target.closest("button") : null;
      const value = button?.dataset.range ?? "";
      if (value === "custom") {
        el.customForm.hidden = !el.customForm.hidden;
        if (!el.customForm.hidden) {
          const shown = actions.shownRange();
          el.customFrom.value = toLocalInput(shown.from);
          el.customTo.value = toLocalInput(shown.to);
          el.customFrom.focus();
        }
      } else if (isPresetId(value)) {
        el.customForm.hidden = true;
        actions.select({ range: { kind: "preset", preset: value } }, ALL_PARTS);
      }
    });
    el.customForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const from = parseLocalInput(el.customFrom.value);
      const to = parseLocalInput(el.customTo.value);
      const problem = customRangeProblem(from, to);
      setText(el.customProblem, problem ?? "");
      if (problem || !from || !to) return;
      actions.select({ range: { kind: "custom", from, to } }, ALL_PARTS);
    });
    el.pageForm.addEventListener("submit", (event) => {
      event.preventDefault();
      actions.select({ pageUrl: el.pageInput.value.trim() }, ["series"]);
    });
    el.pageClear.addEventListener("click", () => {
      el.pageInput.value = "";
      actions.select({ pageUrl: "" }, ["series"]);
    });
    el.userForm.addEventListener("submit", (event) => {
      event.preventDefault();
      actions.select({ userId: el.userInput.value.trim() }, ["user"]);
    });
    el.userClear.addEventListener("click", () => {
      el.userInput.value = "";
      actions.select({ userId: "" }, []);
    });
    el.pause.addEventListener("click", () => {
      this.livePaused = !this.livePaused;
      this.showLive();
      actions.paused(this.livePaused);
    });
    el.interval.addEventListener("change", () => actions.intervalChanged());
    el.exportButton.addEventListener("click", () => actions.exportCsv());
  }

  /** The controls show `selection` (also after a reload from the address bar). */
  show(selection: Selection): void {
    const range = selection.range;
    const current = range.kind === "preset" ? range.preset : "custom";
    for (const button of this.el.rangeButtons.querySelectorAll("button")) {
      setAttribute(button, "aria-pressed", String(button.dataset.range === current));
    }
    if (range.kind === "custom") {
      this.el.customFrom.value = toLocalInput(range.from);
      this.el.customTo.value = toLocalInput(range.to);
    }
    this.el.pageInput.value = selection.pageUrl;
    this.el.pageClear.hidden = !selection.pageUrl;
    this.el.userInput.value = selection.userId;
    this.el.userClear.hidden = !selection.userId;
    this.showLive();
  }

  /** What a loaded snapshot offers: its sites, its top pages to filter on, an export. */
  showSnapshot(snapshot: Snapshot): void {
    renderSites(this.el.siteSwitch, this.el.site, snapshot);
    this.el.pageOptions.replaceChildren(
      ...snapshot.topPages.map((top) => h("option", { value: top.page_url })),
    );
    this.el.exportButton.disabled = false;
  }

  private showLive(): void {
    setText(this.el.pause, this.livePaused ? "Resume" : "Pause");
    setAttribute(this.el.pause, "aria-pressed", String(this.livePaused));
    setAttribute(document.body, "data-live", this.livePaused ? "paused" : "on");
  }
}
