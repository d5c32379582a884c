// twilio-node 6.x's webhook functions, with their names, arguments and shapes, on the exact core.
// Where they answer differently from twilio-node it is on purpose (the README's differences table):
// keys in byte order, `wss` default ports, the body mode decided by the URL, no exception on any input.
import { WasmValidator, bodyMatches, bodySha256Hex } from "./glue.js";
import { headerOf, pack, toBytes } from "./params.js";

/** Validators by Auth Token, keyed once: a server validates with the same token request after request. */
const validators = new Map<string, WasmValidator>();
const MAX_VALIDATORS = 16;

/**
 * The drop-in's validator for `authToken`: twilio-node 6.2+ also accepts the query re-encoded the way
 * WHATWG parsers do, so this one does too. `undefined` for a token that validates nothing (empty, not
 * a string).
 */
export function dropInValidator(authToken: unknown): WasmValidator | undefined {
  if (typeof authToken !== "string" || authToken.length === 0) return undefined;
  let validator = validators.get(authToken);
  if (!validator) {
    try {
      validator = new WasmValidator(["primary"], [authToken], [], [], false, true);
    } catch {
      return undefined;
    }
    if (validators.size >= MAX_VALIDATORS) {
      const [oldest, evicted] = validators.entries().next().value as [string, WasmValidator];
      validators.delete(oldest);
      evicted.free();
    }
    validators.set(authToken, validator);
  }
  return validator;
}

/**
 * Whether a request with these decoded `params` came from Twilio: the signature over `url` (as
 * received, without its port, with the default port, without its fragment, or with its query
 * re-encoded) and the parameters. Never throws: any input that is not a request (a URL that is not a
 * string, params that are not form parameters) is `false`.
 */
export function validateRequest(authToken: string, twilioHeader: string, url: string, params: object): boolean {
  const validator = dropInValidator(authToken);
  if (!validator || typeof url !== "string" || typeof twilioHeader !== "string") return false;
  const packed = pack(params, [url, twilioHeader]);
  return packed !== undefined && validator.validateForm(packed.bytes, packed.lengths);
}

/** The signature Twilio would send for `url` (exactly as given) and `params`. `""` when it cannot be made. */
export function getExpectedTwilioSignature(authToken: string, url: string, params: object): string {
  const validator = dropInValidator(authToken);
  const packed = pack(params ?? {});
  if (!validator || !packed || typeof url !== "string") return "";
  return validator.computeSignature(url, packed.bytes, packed.lengths);
}

/**
 * Whether a request with a raw body came from Twilio. A URL with `bodySHA256` is in body mode: its
 * signature covers the URL alone and the body must hash to it (spec §5). Without `bodySHA256`, a body
 * that is not empty is unauthenticated: `false`.
 */
export function validateRequestWithBody(authToken: string, twilioHeader: string, url: string, body: string | Uint8Array): boolean {
  const validator = dropInValidator(authToken);
  const bytes = toBytes(body);
  if (!validator || !bytes || typeof url !== "string" || typeof twilioHeader !== "string") return false;
  const verdict = validator.verifyRequest(url, undefined, bytes, twilioHeader, undefined);
  const valid = verdict.valid;
  verdict.free();
  return valid;
}

/** Whether `bodyHash` (the URL's `bodySHA256`) is the lowercase hex SHA-256 of `body`, in constant time. */
export function validateBody(body: string | Uint8Array, bodyHash: string | Uint8Array | number[]): boolean {
  const bytes = toBytes(body);
  const hash =
    typeof bodyHash === "string"
      ? bodyHash
      : bodyHash instanceof Uint8Array || Array.isArray(bodyHash)
        ? new TextDecoder().decode(Uint8Array.from(bodyHash as ArrayLike<number>))
        : undefined;
  if (!bytes || hash === undefined) return false;
  return bodyMatches(bytes, hash);
}

/** The lowercase hex SHA-256 of a body, as Twilio puts it in `bodySHA256`. */
export function getExpectedBodyHash(body: string | Uint8Array): string {
  const bytes = toBytes(body);
  if (!bytes) throw new TypeError("getExpectedBodyHash: the body must be a string or bytes");
  return bodySha256Hex(bytes);
}

/** What twilio-node's request validators read of an Express-like request. */
export interface Request {
  protocol?: string;
  header?(name: string): string | undefined;
  headers: Record<string, string | string[] | undefined>;
  originalUrl: string;
  rawBody?: unknown;
  body?: unknown;
}

export interface RequestValidatorOptions {
  /** The full URL (with query string) configured in Twilio: overrides host and protocol. */
  url?: string;
  /** The host name Twilio calls, when the request's `Host` is not it. */
  host?: string;
  /** The protocol Twilio calls (`https`), when the request's is not it. */
  protocol?: string;
}

/** The URL twilio-node validates an Express request against: `url`, or protocol, host and original URL. */
export function requestUrl(request: Request, opts: RequestValidatorOptions = {}): string | undefined {
  if (typeof opts.url === "string") return opts.url;
  const protocol = (opts.protocol ?? request.protocol ?? "http").replace(/:$/, "");
  const host = opts.host ?? headerOf(request.headers, "host");
  if (typeof host !== "string" || typeof request.originalUrl !== "string") return undefined;
  return `${protocol}://${host}${request.originalUrl}`;
}

function signatureOf(request: Request): string {
  const viaMethod = typeof request.header === "function" ? request.header("X-Twilio-Signature") : undefined;
  return viaMethod ?? headerOf(request.headers, "x-twilio-signature") ?? "";
}

/**
 * Whether an Express-like request came from Twilio. The raw body is used when the request has one
 * (`rawBody`: every form and JSON webhook is then exact); otherwise its decoded `body` as form
 * parameters. A URL with `bodySHA256` needs the raw body: without one it is `false` (twilio-node checks
 * it against `"{}"`).
 */
export function validateIncomingRequest(request: Request, authToken: string, opts?: RequestValidatorOptions): boolean {
  try {
    const url = requestUrl(request, opts);
    const validator = dropInValidator(authToken);
    if (!validator || url === undefined) return false;
    const signature = signatureOf(request);
    const raw = request.rawBody === undefined ? undefined : toBytes(request.rawBody);
    if (raw) {
      const verdict = validator.verifyRequest(url, headerOf(request.headers, "content-type"), raw, signature, undefined);
      const valid = verdict.valid;
      verdict.free();
      return valid;
    }
    const packed = pack(request.body ?? {});
    if (!packed) return false;
    const verdict = validator.verifyForm(url, packed.bytes, packed.lengths, signature, undefined);
    const valid = verdict.valid;
    verdict.free();
    return valid;
  } catch {
    return false;
  }
}

/** The same as {@link validateIncomingRequest}, under twilio-node's other name. */
export function validateExpressRequest(request: Request, authToken: string, opts?: RequestValidatorOptions): boolean {
  return validateIncomingRequest(request, authToken, opts);
}
