/**
 * Dimensions, filters and goals as data (DESIGN.md "Visits and reports"): their names, their
 * wire form `<dimension>:<op>:<value>`, and their words on screen. No I/O.
 */

export const DIMENSIONS = [
  "page",
  "entry_page",
  "exit_page",
  "event_type",
  "referrer",
  "utm_source",
  "utm_medium",
  "utm_campaign",
  "browser",
  "os",
  "device",
  "country",
] as const;

export type Dimension = (typeof DIMENSIONS)[number] | `prop:${string}`;

const DIMENSION_LABELS: Record<(typeof DIMENSIONS)[number], string> = {
  page: "Page",
  entry_page: "Entry page",
  exit_page: "Exit page",
  event_type: "Event type",
  referrer: "Source",
  utm_source: "UTM source",
  utm_medium: "UTM medium",
  utm_campaign: "UTM campaign",
  browser: "Browser",
  os: "OS",
  device: "Device",
  country: "Country",
};

const PROP = "prop:";

export function isDimension(text: string): text is Dimension {
  if (text.startsWith(PROP)) return text.length > PROP.length && !text.includes(":", PROP.length);
  return (DIMENSIONS as readonly string[]).includes(text);
}

export function dimensionLabel(dimension: Dimension): string {
  return dimension.startsWith(PROP)
    ? `Property ${dimension.slice(PROP.length)}`
    : DIMENSION_LABELS[dimension as (typeof DIMENSIONS)[number]];
}

export const OPERATORS = { is: "is", is_not: "is not", contains: "contains" } as const;
export type Operator = keyof typeof OPERATORS;

function isOperator(text: string): text is Operator {
  return Object.hasOwn(OPERATORS, text);
}

export interface Filter {
  readonly dimension: Dimension;
  readonly op: Operator;
  readonly value: string;
}

/**
 * `<dimension>:<op>:<value>`, or null when it is not one. The value keeps any colons of its
 * own (a URL, a time); a `prop:<key>` dimension holds one colon itself.
 */
export function parseFilter(text: string): Filter | null {
  const parts = text.split(":");
  const head = parts[0] === "prop" ? 2 : 1;
  const dimension = parts.slice(0, head).join(":");
  const op = parts[head] ?? "";
  if (parts.length < head + 2 || !isDimension(dimension) || !isOperator(op)) return null;
  return { dimension, op, value: parts.slice(head + 1).join(":") };
}

export function formatFilter(filter: Filter): string {
  return `${filter.dimension}:${filter.op}:${filter.value}`;
}

/** "Page is /pricing": a chip's words. */
export function describeFilter(filter: Filter): string {
  return `${dimensionLabel(filter.dimension)} ${OPERATORS[filter.op]} ${filter.value}`;
}

/**
 * The filters with `added` in place of any filter on its dimension: a click on a row of a
 * filtered dimension narrows to that row instead of ANDing two values into nothing.
 */
export function withFilter(filters: readonly Filter[], added: Filter): Filter[] {
  return [...filters.filter((filter) => filter.dimension !== added.dimension), added];
}

export function withoutFilter(filters: readonly Filter[], index: number): Filter[] {
  return filters.filter((_, at) => at !== index);
}

/** The kinds of goal: a goal is `event_type:<name>` or `page:<path>`. */
const GOAL_KINDS = ["event_type", "page"] as const satisfies readonly Dimension[];

export function eventGoal(eventType: string): string {
  return `event_type:${eventType}`;
}

/** A goal's words: its event name, or "Visit <path>". */
export function goalLabel(goal: string): string {
  const filter = goalFilter(goal);
  if (!filter) return goal;
  return filter.dimension === "page" ? `Visit ${filter.value}` : filter.value;
}

/** The filter that keeps a goal's events, or null for text that is not a goal. */
export function goalFilter(goal: string): Filter | null {
  const at = goal.indexOf(":");
  const kind = GOAL_KINDS.find((name) => name === goal.slice(0, at));
  return at > 0 && kind ? { dimension: kind, op: "is", value: goal.slice(at + 1) } : null;
}
