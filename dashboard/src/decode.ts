/** Typed run-time checks of JSON answers: a contract drift fails loudly, naming the field. */

export class DecodeError extends Error {
  constructor(
    readonly path: string,
    readonly expected: string,
  ) {
    super(`${path || "answer"} should be ${expected}`);
    this.name = "DecodeError";
  }
}

export type Decoder<T> = (value: unknown, path: string) => T;
export type Decoded<D> = D extends Decoder<infer T> ? T : never;

export const string: Decoder<string> = (value, path) => {
  if (typeof value !== "string") throw new DecodeError(path, "a string");
  return value;
};

export const number: Decoder<number> = (value, path) => {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new DecodeError(path, "a number");
  }
  return value;
};

export const count: Decoder<number> = (value, path) => {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new DecodeError(path, "a count (a non-negative integer)");
  }
  return value;
};

export const timestamp: Decoder<Date> = (value, path) => {
  const text = string(value, path);
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new DecodeError(path, "an RFC 3339 time");
  return date;
};

export function nullable<T>(decoder: Decoder<T>): Decoder<T | null> {
  return (value, path) => (value === null || value === undefined ? null : decoder(value, path));
}

export function array<T>(item: Decoder<T>): Decoder<T[]> {
  return (value, path) => {
    if (!Array.isArray(value)) throw new DecodeError(path, "an array");
    return value.map((element: unknown, index) => item(element, `${path}[${index}]`));
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** An object with at least these fields (extra fields are ignored: the API may grow). */
export function object<S extends Record<string, Decoder<unknown>>>(
  shape: S,
): Decoder<{ [K in keyof S]: Decoded<S[K]> }> {
  return (value, path) => {
    if (!isRecord(value)) throw new DecodeError(path, "an object");
    const result: Record<string, unknown> = {};
    for (const [key, decoder] of Object.entries(shape)) {
      result[key] = decoder(value[key], path ? `${path}.${key}` : key);
    }
    return result as { [K in keyof S]: Decoded<S[K]> };
  };
}
