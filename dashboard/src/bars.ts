/**
 * A report's rows as a table with a bar behind each label; a row that can filter the
 * dashboard is a button carrying its filter. Or, in the table's place, why there are no rows.
 */

import type { ApiError } from "./api";
import { h, setAttribute, setText } from "./dom";
import { describeFilter, type Filter, formatFilter } from "./filters";

export interface BarRow {
  /** The row's identity, kept in `data-key` (the API's value, for tests and reuse). */
  readonly key: string;
  readonly label: string;
  /** The cells after the label. */
  readonly cells: readonly string[];
  /** The bar's length, 0..1. */
  readonly share: number;
  /** What a click on the row adds to the dashboard's filters; null: not clickable. */
  readonly filter: Filter | null;
}

/** Shares of the largest value: the top row's bar is full length. */
export function sharesOf(values: readonly number[]): number[] {
  const top = Math.max(0, ...values);
  return values.map((value) => (top > 0 ? value / top : 0));
}

/** Fills `body`, reusing its rows, so a live refresh does not rebuild an unchanged table. */
export function renderBars(body: HTMLTableSectionElement, rows: readonly BarRow[]): void {
  while (body.rows.length > rows.length) body.deleteRow(-1);
  rows.forEach((row, index) => {
    const tr = body.rows[index] ?? body.insertRow();
    setAttribute(tr, "data-key", row.key);
    const first = tr.cells[0] ?? tr.insertCell();
    let label = first.querySelector(".bar-label");
    const clickable = row.filter !== null;
    if (!label || label instanceof HTMLButtonElement !== clickable) {
      label = clickable
        ? h("button", { type: "button", class: "bar-label" })
        : h("span", { class: "bar-label" });
      first.replaceChildren(h("span", { class: "bar-fill", "aria-hidden": "true" }), label);
    }
    setText(label, row.label);
    if (row.filter) {
      setAttribute(label, "data-filter", formatFilter(row.filter));
      setAttribute(label, "title", `Filter: ${describeFilter(row.filter)}`);
    }
    const fill = first.querySelector<HTMLElement>(".bar-fill");
    if (fill) fill.style.width = `${Math.max(0, Math.min(1, row.share)) * 100}%`;
    while (tr.cells.length > row.cells.length + 1) tr.deleteCell(-1);
    row.cells.forEach((text, column) => {
      setText(tr.cells[column + 1] ?? tr.insertCell(), text);
    });
  });
}

/**
 * A report card's state: its rows (`table`), or instead a note saying why there are none,
 * the API's error in `data-state="error"` so it reads as a failure of this card only.
 */
export function showState(
  card: HTMLElement,
  state: { kind: "rows" } | { kind: "empty"; text: string } | { kind: "error"; error: ApiError },
): void {
  const table = card.querySelector("table");
  const note = card.querySelector(".report-note");
  if (table) table.hidden = state.kind !== "rows";
  if (note instanceof HTMLElement) {
    note.hidden = state.kind === "rows";
    setText(
      note,
      state.kind === "error" ? state.error.message : state.kind === "empty" ? state.text : "",
    );
  }
  setAttribute(card, "data-state", state.kind);
  setAttribute(card, "aria-busy", "false");
}
