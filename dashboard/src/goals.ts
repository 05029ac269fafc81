/** The goals card and the funnel card: conversions as bars, each goal a filter too. */

import type { Funnel, Goals } from "./api";
import { type BarRow, renderBars, showState } from "./bars";
import { h, setAttribute, setText } from "./dom";
import { goalFilter, goalLabel } from "./filters";
import { formatCount, formatPercent } from "./format";
import type { Outcome } from "./reports";

export function goalRows(goals: Goals): BarRow[] {
  return goals.goals.map((goal) => ({
    key: goal.goal,
    label: goalLabel(goal.goal),
    cells: [formatCount(goal.visitors), formatPercent(goal.conversion_rate)],
    share: goal.conversion_rate,
    filter: goalFilter(goal.goal),
  }));
}

export function renderGoals(card: HTMLElement, outcome: Outcome<Goals>): void {
  if (!outcome.ok) {
    showState(card, { kind: "error", error: outcome.error });
    return;
  }
  const body = card.querySelector("tbody");
  if (body) renderBars(body, goalRows(outcome.value));
  showState(
    card,
    outcome.value.goals.length > 0
      ? { kind: "rows" }
      : { kind: "empty", text: "No goals: no events in this range." },
  );
}

export interface FunnelStep {
  readonly key: string;
  readonly label: string;
  readonly share: number;
  readonly figures: string;
}

export function funnelSteps(funnel: Funnel): FunnelStep[] {
  return funnel.steps.map((step, index) => ({
    key: step.goal,
    label: `${index + 1}. ${goalLabel(step.goal)}`,
    share: step.conversion_rate,
    figures:
      `${formatCount(step.visitors)} visitor${step.visitors === 1 ? "" : "s"}` +
      ` \u00b7 ${formatPercent(step.conversion_rate)}` +
      (index > 0 ? ` \u00b7 ${formatCount(step.dropoff)} dropped off` : ""),
  }));
}

export const NO_FUNNEL =
  "No funnel chosen: add 2\u20138 steps to the address, e.g. " +
  "?step=page:/pricing&step=event_type:signup";

/** One bar per step, its length the conversion from step 1; null: no steps chosen. */
export function renderFunnel(card: HTMLElement, outcome: Outcome<Funnel> | null): void {
  const list = card.querySelector("ol");
  if (!list) return;
  if (!outcome || !outcome.ok) {
    list.hidden = true;
    showState(
      card,
      outcome ? { kind: "error", error: outcome.error } : { kind: "empty", text: NO_FUNNEL },
    );
    return;
  }
  const steps = funnelSteps(outcome.value);
  while (list.children.length > steps.length) list.lastElementChild?.remove();
  steps.forEach((step, index) => {
    const item =
      list.children[index] ??
      list.appendChild(
        h(
          "li",
          {},
          h("span", { class: "funnel-label" }),
          h(
            "span",
            { class: "funnel-track", "aria-hidden": "true" },
            h("span", { class: "bar-fill" }),
          ),
          h("span", { class: "funnel-figures" }),
        ),
      );
    setAttribute(item, "data-key", step.key);
    const [label, track, figures] = item.children;
    if (label) setText(label, step.label);
    if (figures) setText(figures, step.figures);
    const fill = track?.firstElementChild;
    if (fill instanceof HTMLElement) fill.style.width = `${Math.min(1, step.share) * 100}%`;
  });
  list.hidden = false;
  showState(card, { kind: "rows" });
}
