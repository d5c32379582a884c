// The shapes of form parameters twilio-node accepts, as two parallel arrays for the core.

/** Form parameters: an object (an array value is a repeated key), `URLSearchParams`, a `Map`, or pairs. */
export type Params =
  | Record<string, unknown>
  | URLSearchParams
  | Map<string, unknown>
  | ReadonlyArray<readonly [string, unknown]>;

/** Keys and values, in order, repeated keys kept. */
export interface Pairs {
  keys: string[];
  values: string[];
}

/** A value as a form holds it: text, or a number or boolean written out; anything else is not one. */
function scalar(value: unknown): string | undefined {
  switch (typeof value) {
    case "string":
      return value;
    case "number":
    case "boolean":
    case "bigint":
      return String(value);
    default:
      return undefined;
  }
}

/**
 * The pairs of `params`, or `undefined` when they are not form parameters (a value that is an object,
 * `null`, a function): a request with such input is rejected, never an exception.
 */
export function toPairs(params: unknown): Pairs | undefined {
  const keys: string[] = [];
  const values: string[] = [];
  const add = (key: unknown, value: unknown): boolean => {
    if (typeof key !== "string") return false;
    if (Array.isArray(value)) return value.every((v) => add(key, v) || false);
    const text = scalar(value);
    if (text === undefined) return false;
    keys.push(key);
    values.push(text);
    return true;
  };
  if (params === undefined || params === null) return { keys, values };
  if (typeof URLSearchParams !== "undefined" && params instanceof URLSearchParams) {
    params.forEach((value, key) => {
      keys.push(key);
      values.push(value);
    });
    return { keys, values };
  }
  if (params instanceof Map) {
    for (const [key, value] of params) if (!add(key, value)) return undefined;
    return { keys, values };
  }
  if (Array.isArray(params)) {
    for (const pair of params) {
      if (!Array.isArray(pair) || pair.length !== 2 || !add(pair[0], pair[1])) return undefined;
    }
    return { keys, values };
  }
  if (typeof params === "object") {
    const record = params as Record<string, unknown>;
    for (const key of Object.keys(record)) if (!add(key, record[key])) return undefined;
    return { keys, values };
  }
  return undefined;
}

const encoder = new TextEncoder();

/** A body as bytes: text as UTF-8, bytes as they are; anything else is not a body. */
export function toBytes(body: unknown): Uint8Array | undefined {
  if (typeof body === "string") return encoder.encode(body);
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  return undefined;
}

/** A header lookup on a `Headers`, a plain object (any case), or pairs; the first value. */
export function headerOf(headers: unknown, name: string): string | undefined {
  if (!headers) return undefined;
  const wanted = name.toLowerCase();
  if (typeof Headers !== "undefined" && headers instanceof Headers) return headers.get(wanted) ?? undefined;
  const first = (value: unknown): string | undefined =>
    Array.isArray(value) ? first(value[0]) : typeof value === "string" ? value : undefined;
  if (Array.isArray(headers)) {
    for (const pair of headers) if (Array.isArray(pair) && String(pair[0]).toLowerCase() === wanted) return first(pair[1]);
    return undefined;
  }
  if (typeof headers === "object") {
    const record = headers as Record<string, unknown>;
    for (const key of Object.keys(record)) if (key.toLowerCase() === wanted) return first(record[key]);
  }
  return undefined;
}

/** Every header as parallel arrays of names and values (a repeated header once per value). */
export function headerLists(headers: unknown): Pairs {
  const keys: string[] = [];
  const values: string[] = [];
  const add = (name: unknown, value: unknown) => {
    if (Array.isArray(value)) for (const v of value) add(name, v);
    else if (typeof value === "string") {
      keys.push(String(name));
      values.push(value);
    }
  };
  if (!headers) return { keys, values };
  if (typeof Headers !== "undefined" && headers instanceof Headers) headers.forEach((value, name) => add(name, value));
  else if (Array.isArray(headers)) for (const pair of headers) add(pair?.[0], pair?.[1]);
  else if (typeof headers === "object") for (const [name, value] of Object.entries(headers)) add(name, value);
  return { keys, values };
}
