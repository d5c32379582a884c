// The shapes of form parameters twilio-node accepts, as two parallel arrays for the core.

/** Form parameters: an object (an array value is a repeated key), `URLSearchParams`, a `Map`, or pairs. */
export type Params =
  | Record<string, unknown>
  | URLSearchParams
  | Map<string, unknown>
  | ReadonlyArray<readonly [string, unknown]>;

/**
 * Keys and values in turn, joined and encoded as UTF-8, with their lengths (UTF-16 code units): how
 * strings cross into WebAssembly. One crossing instead of one per string, which would cost more than
 * the HMAC. The arrays are the packer's own buffers: valid until its next `done`, so they go straight
 * to the module.
 */
export interface Packed {
  bytes: Uint8Array;
  lengths: Uint32Array;
}

const encoder = new TextEncoder();
/** The signature settings header, as the core reads it. */
const SETTINGS = "x-twilio-webhooks-signature-settings";
/** Buffers up to this size are kept for the next request (allocating a typed array costs about a µs). */
const KEPT = 64 * 1024;

/** Packs strings given as `add(key, value)` calls into buffers it reuses. */
class Packer {
  #bytes = new Uint8Array(4096);
  #lengths = new Uint32Array(128);
  #text = "";
  #count = 0;

  add(key: string, value: string): void {
    // A string that ends in a high surrogate or starts with a low one holds it alone: joined with its
    // neighbour it would pair up, and the two would no longer be cut where they were joined. Alone,
    // each is U+FFFD, as TextEncoder writes it.
    if (lonelyEnd(key)) key = wellFormed(key);
    if (lonelyEnd(value)) value = wellFormed(value);
    if (this.#count + 2 > this.#lengths.length) {
      const grown = new Uint32Array(this.#lengths.length * 2);
      grown.set(this.#lengths);
      this.#lengths = grown;
    }
    // Concatenation measured faster than collecting the parts and joining them.
    this.#text += key;
    this.#text += value;
    this.#lengths[this.#count++] = key.length;
    this.#lengths[this.#count++] = value.length;
  }

  /** Forgets what was added (a packing abandoned half-way). */
  reset(): void {
    this.#text = "";
    this.#count = 0;
  }

  /** What was added, packed; `undefined` past {@link MAX_BYTES} (the module could not hold it). */
  done(): Packed | undefined {
    const text = this.#text;
    const count = this.#count;
    this.reset();
    if (text.length > MAX_BYTES / 3) return undefined;
    // UTF-8 takes at most three bytes per UTF-16 unit.
    let bytes = this.#bytes;
    if (text.length * 3 > bytes.length) {
      bytes = new Uint8Array(text.length * 3);
      if (bytes.length <= KEPT) this.#bytes = bytes;
    }
    const { written } = encoder.encodeInto(text, bytes);
    let lengths = this.#lengths;
    if (lengths.length > KEPT / 4) {
      lengths = lengths.slice(0, count);
      this.#lengths = new Uint32Array(128);
    }
    return { bytes: bytes.subarray(0, written), lengths: lengths.subarray(0, count) };
  }
}

/** Whether `s` ends in a high surrogate or starts with a low one (a half that the next string could complete). */
function lonelyEnd(s: string): boolean {
  const last = s.charCodeAt(s.length - 1);
  const first = s.charCodeAt(0);
  return (last >= 0xd800 && last <= 0xdbff) || (first >= 0xdc00 && first <= 0xdfff);
}

/** `s` with every lone surrogate replaced by U+FFFD (what TextEncoder writes for one). */
function wellFormed(s: string): string {
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
}

/**
 * The most bytes that cross into the module at once: a body or packed strings past it are refused,
 * never copied (WebAssembly's 32-bit memory traps on a copy of 2 GiB and more).
 */
export const MAX_BYTES = 1024 * 1024 * 1024;

/**
 * Packers are module-wide, and what `done` returns is the packer's own buffer, overwritten by the next
 * packing: pack right before the call that reads it, with no `await` in between (another request
 * packs in the meantime).
 */
const paramsPacker = new Packer();
const headersPacker = new Packer();

/**
 * A value as a form holds it: text, or (only when `strings` is false) a number or boolean written out;
 * anything else is not one.
 */
function scalar(value: unknown, strings: boolean): string | undefined {
  if (strings) return typeof value === "string" ? value : undefined;
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
 * `params` packed (after `head`, if given), or `undefined` when they are not form parameters (a value
 * that is an object, `null`, a function): a request with such input is rejected, never an exception.
 * `strings`: only text values (arrays of them for a repeated key) are form parameters. Params decoded
 * from a request are checked so: a form decodes to text alone, and `{"Flag": true}` from a JSON parser
 * is not the form `Flag=true` it would be signed as.
 */
export function pack(params: unknown, head?: readonly [string, string], strings = false): Packed | undefined {
  const out = paramsPacker;
  out.reset();
  // Strings that cross with the parameters, first (the drop-in's URL and signature).
  if (head) out.add(head[0], head[1]);
  const add = (key: unknown, value: unknown): boolean => {
    if (typeof key !== "string") return false;
    if (Array.isArray(value)) {
      for (const v of value) if (!add(key, v)) return false;
      return true;
    }
    const text = scalar(value, strings);
    if (text === undefined) return false;
    out.add(key, text);
    return true;
  };
  if (params === undefined || params === null) return out.done();
  if (typeof URLSearchParams !== "undefined" && params instanceof URLSearchParams) {
    params.forEach((value, key) => out.add(key, value));
    return out.done();
  }
  if (params instanceof Map) {
    for (const [key, value] of params) if (!add(key, value)) return undefined;
    return out.done();
  }
  if (Array.isArray(params)) {
    for (const pair of params) {
      if (!Array.isArray(pair) || pair.length !== 2 || !add(pair[0], pair[1])) return undefined;
    }
    return out.done();
  }
  if (typeof params === "object") {
    // The common case, a body parser's object of strings, in a loop without calls.
    const record = params as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const value = record[key];
      if (typeof value === "string") out.add(key, value);
      else if (!add(key, value)) return undefined;
    }
    return out.done();
  }
  return undefined;
}

/**
 * A body as bytes: text as UTF-8, bytes as they are; anything else is not a body, and neither is one
 * past {@link MAX_BYTES}.
 */
export function toBytes(body: unknown): Uint8Array | undefined {
  let bytes: Uint8Array | undefined;
  if (typeof body === "string") bytes = body.length > MAX_BYTES ? undefined : encoder.encode(body);
  else if (body instanceof Uint8Array) bytes = body;
  else if (body instanceof ArrayBuffer) bytes = new Uint8Array(body);
  else if (ArrayBuffer.isView(body)) bytes = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  return bytes && bytes.byteLength <= MAX_BYTES ? bytes : undefined;
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

/**
 * Every header, packed as names and values (a repeated header once per value). `settings`: a value
 * that replaces the signature settings header's (twilio-node's `algorithm` argument, as the header
 * the core reads); the header is then sent once, with it. Like every packing, read it before any
 * `await`. `undefined` past {@link MAX_BYTES}.
 */
export function packHeaders(headers: unknown, settings?: string): Packed | undefined {
  const out = headersPacker;
  out.reset();
  const add = (name: unknown, value: unknown) => {
    if (Array.isArray(value)) for (const v of value) add(name, v);
    else if (typeof value === "string" && !(settings !== undefined && String(name).toLowerCase() === SETTINGS)) {
      out.add(String(name), value);
    }
  };
  if (settings !== undefined) out.add(SETTINGS, settings);
  if (!headers) return out.done();
  if (typeof Headers !== "undefined" && headers instanceof Headers) headers.forEach((value, name) => add(name, value));
  else if (Array.isArray(headers)) for (const pair of headers) add(pair?.[0], pair?.[1]);
  else if (typeof headers === "object") for (const [name, value] of Object.entries(headers)) add(name, value);
  return out.done();
}
