// twilio-node 6.x's webhook functions, with their names, arguments and shapes, on the exact core.
// Where they answer differently from twilio-node it is on purpose (the README's differences table):
// keys in byte order, `wss` default ports, the body mode decided by the URL, no exception on any input.
import { WasmValidator, bodyMatches, bodySha256Hex, requestUrl as coreRequestUrl, signForm } from "./glue.js";
import { headerOf, pack, toBytes } from "./params.js";

/** The header that carries the webhook signature (twilio-node's `SIGNATURE_HEADER`). */
export const SIGNATURE_HEADER = "X-Twilio-Signature";
/**
 * The header Twilio adds to webhooks signed with a SharedKey, `key=<sharedKeyId>,algorithm=<algorithm>`
 * (twilio-node's `SIGNATURE_SETTINGS_HEADER`).
 */
export const SIGNATURE_SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings";
/** The legacy Auth Token algorithm, the default. */
export const HMAC_SHA1 = "HMAC_SHA1";
/** The algorithm of SharedKey webhooks that name it. */
export const HMAC_SHA256 = "HMAC_SHA256";

/**
 * The SharedKey id the drop-in's validators hold their secret under a second time: twilio-node's
 * `algorithm` argument reaches the core as a settings header naming it (the core chooses the secret and
 * the algorithm from that header, as for any request).
 */
export const DROP_IN_KEY = "dropin";

/** Validators by Auth Token, keyed once: a server validates with the same token request after request. */
const validators = new Map<string, WasmValidator>();
const MAX_VALIDATORS = 16;

/**
 * The drop-in's validator for `authToken`: twilio-node 6.2+ also accepts the query re-encoded the way
 * WHATWG parsers do, so this one does too. The token is both an Auth Token and a SharedKey secret
 * (for `HMAC_SHA256`, see {@link settingsFor}). `undefined` for a token that validates nothing (empty,
 * not a string). Use it at once: a validator evicted from the cache is freed, so none is held across
 * an `await`.
 */
export function dropInValidator(authToken: unknown): WasmValidator | undefined {
  if (typeof authToken !== "string" || authToken.length === 0) return undefined;
  let validator = validators.get(authToken);
  if (!validator) {
    try {
      validator = new WasmValidator(["primary"], [authToken], [DROP_IN_KEY], [authToken], false, true);
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
 * twilio-node's algorithm argument as the core's name: missing or empty is `HMAC_SHA1`; any case of
 * `HMAC_SHA1` or `HMAC_SHA256` (as `toUpperCase` sees it) is that one; anything else `undefined`.
 */
export function algorithmOf(algorithm: unknown): typeof HMAC_SHA1 | typeof HMAC_SHA256 | undefined {
  if (!algorithm) return HMAC_SHA1;
  if (typeof algorithm !== "string") return undefined;
  const upper = algorithm.toUpperCase();
  return upper === HMAC_SHA1 ? HMAC_SHA1 : upper === HMAC_SHA256 ? HMAC_SHA256 : undefined;
}

/**
 * The settings header the core is given for a drop-in `algorithm`: none for `HMAC_SHA1` (the Auth
 * Token) unless `shared`, else the drop-in's SharedKey with the algorithm.
 */
export function settingsFor(algorithm: typeof HMAC_SHA1 | typeof HMAC_SHA256, shared = false): string | undefined {
  return algorithm === HMAC_SHA1 && !shared ? undefined : `key=${DROP_IN_KEY},algorithm=${algorithm}`;
}

/** twilio-node's warning for an algorithm it does not support, with which validation fails. */
export function warnUnsupported(algorithm: unknown): void {
  console.warn(
    `[Twilio]: Unsupported webhook signature algorithm '${String(algorithm)}'. ` +
      `Supported: ${HMAC_SHA1}, ${HMAC_SHA256}. Upgrade twilio if Twilio added a new one.`,
  );
}

/**
 * The signing algorithm named in the `X-Twilio-Webhooks-Signature-Settings` header: its first
 * non-empty `algorithm=` part, as written; `HMAC_SHA1` for a missing or empty header, or one without
 * it (twilio-node's `getSignatureAlgorithm`). Never throws.
 */
export function getSignatureAlgorithm(signatureSettingsHeader?: string | null): string {
  const header = typeof signatureSettingsHeader === "string" ? signatureSettingsHeader : "";
  for (const part of header.split(",")) {
    const separator = part.indexOf("=");
    if (separator !== -1 && part.slice(0, separator).trim() === "algorithm") {
      const algorithm = part.slice(separator + 1).trim();
      if (algorithm) return algorithm;
    }
  }
  return HMAC_SHA1;
}

/**
 * Whether a request with these decoded `params` came from Twilio: the signature over `url` (as
 * received, without its port, with the default port, without its fragment, or with its query
 * re-encoded) and the parameters, made with `algorithm` (`HMAC_SHA1` by default, or `HMAC_SHA256`: pass
 * {@link getSignatureAlgorithm} of the settings header, and the SharedKey secret as `authToken`). An
 * unsupported algorithm is `false`, with twilio-node's warning. Never throws: any input that is not a
 * request (a URL that is not a string, params that are not form parameters, a value that is not text)
 * is `false`.
 */
export function validateRequest(authToken: string, twilioHeader: string, url: string, params: object, algorithm?: string): boolean {
  const name = algorithmOf(algorithm);
  if (!name) {
    warnUnsupported(algorithm);
    return false;
  }
  const validator = dropInValidator(authToken);
  if (!validator || typeof url !== "string" || typeof twilioHeader !== "string") return false;
  const packed = pack(params, [url, twilioHeader], true);
  return packed !== undefined && validator.validateForm(packed.bytes, packed.lengths, settingsFor(name));
}

/**
 * The signature Twilio would send for `url` (exactly as given) and `params`, made with `algorithm`
 * (`HMAC_SHA1` by default, or `HMAC_SHA256`). `""` when it cannot be made (a token that is not one,
 * params that are not form parameters); like twilio-node, an unsupported algorithm throws, and nothing
 * else does.
 */
export function getExpectedTwilioSignature(authToken: string, url: string, params: object, algorithm?: string): string {
  const name = algorithmOf(algorithm);
  if (!name) throw new Error(`Unsupported webhook signature algorithm: ${String(algorithm)}`);
  const validator = dropInValidator(authToken);
  const packed = pack(params ?? {});
  if (!validator || !packed || typeof url !== "string") return "";
  return name === HMAC_SHA1
    ? validator.computeSignature(url, packed.bytes, packed.lengths)
    : signForm(authToken, name, url, packed.bytes, packed.lengths);
}

/**
 * Whether a request with a raw body came from Twilio. A URL with `bodySHA256` is in body mode: its
 * signature covers the URL alone and the body must hash to it (spec §5). Without `bodySHA256`, a body
 * that is not empty is unauthenticated: `false`. `algorithm` as for {@link validateRequest}.
 */
export function validateRequestWithBody(
  authToken: string,
  twilioHeader: string,
  url: string,
  body: string | Uint8Array,
  algorithm?: string,
): boolean {
  const name = algorithmOf(algorithm);
  if (!name) {
    warnUnsupported(algorithm);
    return false;
  }
  const validator = dropInValidator(authToken);
  const bytes = toBytes(body);
  if (!validator || !bytes || typeof url !== "string" || typeof twilioHeader !== "string") return false;
  const verdict = validator.verifyRequest(url, undefined, bytes, twilioHeader, settingsFor(name));
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

/**
 * What twilio-node's request validators read of an Express-like request, and what an Express app reads
 * of it besides: its method, the `hostname` and `protocol` Express derives, and the app whose
 * `trust proxy` setting decides whether they come from `X-Forwarded-Host` and `-Proto`.
 */
export interface Request {
  method?: string;
  protocol?: string;
  hostname?: string;
  header?(name: string): string | undefined;
  headers: Record<string, string | string[] | undefined>;
  originalUrl: string;
  rawBody?: unknown;
  body?: unknown;
  app?: { get?(setting: string): unknown };
  socket?: { remoteAddress?: string };
}

export interface RequestValidatorOptions {
  /** The full URL (with query string) configured in Twilio: overrides host and protocol. */
  url?: string;
  /** The host name Twilio calls, when the request's `Host` is not it. */
  host?: string;
  /** The protocol Twilio calls (`https`), when the request's is not it. */
  protocol?: string;
  /** `HMAC_SHA1` (default) or `HMAC_SHA256`: pass {@link getSignatureAlgorithm} for SharedKey webhooks. */
  algorithm?: string;
}

/**
 * The URL twilio-node validates an Express request against: `url`, or else the protocol, the host and
 * the original URL, joined by the core's public-URL policy (spec §4.5). `undefined` when there is no
 * host, or it is not a plain host and port (`Host: host/voice#` names no host: it must never move the
 * path the signature is checked for).
 */
export function requestUrl(request: Request, opts: RequestValidatorOptions = {}): string | undefined {
  if (typeof opts.url === "string") return opts.url;
  const protocol = opts.protocol || request.protocol || "http";
  const host = opts.host || appAuthority(request);
  if (typeof host !== "string" || typeof request.originalUrl !== "string" || typeof protocol !== "string") return undefined;
  return coreRequestUrl(protocol.replace(/:$/, ""), host, request.originalUrl);
}

/**
 * The host (with its port) an Express app reads of a request, as Express reads it for `req.hostname`
 * (and Express 5's `req.host`): the first entry of `X-Forwarded-Host` when the app's `trust proxy`
 * setting trusts the peer, else the `Host` header. The app's own setting decides, asked as Express asks
 * it; a request that is not an Express app's has only its `Host`.
 */
export function appAuthority(request: Request): string | undefined {
  const forwarded = headerOf(request.headers, "x-forwarded-host");
  if (forwarded && appTrustsPeer(request)) {
    const comma = forwarded.indexOf(",");
    return comma === -1 ? forwarded : forwarded.slice(0, comma).trimEnd();
  }
  return headerOf(request.headers, "host");
}

/** Whether the app's `trust proxy` setting trusts the request's peer (`X-Forwarded-*` then count for it). */
function appTrustsPeer(request: Request): boolean {
  const app = request.app;
  const trust = app && typeof app.get === "function" ? app.get("trust proxy fn") : undefined;
  return typeof trust === "function" && Boolean(trust(request.socket?.remoteAddress, 0));
}

/** The host name of an authority (`[::1]:80` is `[::1]`), as Express cuts `req.hostname` from it. */
export function hostnameOf(authority: string): string {
  const offset = authority.startsWith("[") ? authority.indexOf("]") + 1 : 0;
  const colon = authority.indexOf(":", offset);
  return colon === -1 ? authority : authority.slice(0, colon);
}

/**
 * Whether the app reads of a request the host and scheme of the URL that verified it: `req.hostname`
 * and `req.protocol`, where Express gives them and they are not configured (`host`, `protocol`, `url`:
 * a configured URL is the one Twilio called, whatever the request says). A request signed for one host
 * must never run as another that the app picks by `req.hostname` (a tenant), nor as `https` when it
 * was verified as `http`.
 */
export function appSeesVerified(
  request: Request,
  matchedUrl: string | null | undefined,
  opts: { url?: unknown; host?: unknown; protocol?: unknown } = {},
): boolean {
  const verified = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)/i.exec(matchedUrl ?? "");
  if (!verified) return false;
  const [, scheme, authority] = verified as unknown as [string, string, string];
  if (opts.url === undefined && !opts.host && typeof request.hostname === "string" && request.hostname !== "") {
    if (hostnameOf(authority).toLowerCase() !== request.hostname.toLowerCase()) return false;
  }
  if (opts.url === undefined && !opts.protocol && typeof request.protocol === "string") {
    const http = { ws: "http", wss: "https" }[scheme.toLowerCase()] ?? scheme.toLowerCase();
    // As the URL was built: `https:` (a URL's protocol, which twilio-node's tests pass) is `https`.
    if (http !== request.protocol.replace(/:$/, "")) return false;
  }
  return true;
}

function signatureOf(request: Request): string {
  const viaMethod = typeof request.header === "function" ? request.header("X-Twilio-Signature") : undefined;
  return viaMethod ?? headerOf(request.headers, "x-twilio-signature") ?? "";
}

/**
 * The raw body of an Express-like request, if it has one: `rawBody` (a parser's `verify` kept it), or a
 * `body` that is still bytes (`express.raw()` ran first). `null` for a `rawBody` that is not a body.
 */
export function rawBodyOf(request: { rawBody?: unknown; body?: unknown }): Uint8Array | null | undefined {
  if (request.rawBody !== undefined) return toBytes(request.rawBody) ?? null;
  if (request.body instanceof Uint8Array) return toBytes(request.body) ?? null;
  return undefined;
}

/**
 * Whether a parser left parts of the request's body beside its `body`: multer's `req.files` and
 * `req.file`, express-fileupload's and formidable's `req.files`. No signature covers them (sixth
 * outside attack, A5-F7): a request that has any is never verified.
 */
export function filesBeside(request: object): boolean {
  const { files, file } = request as { files?: unknown; file?: unknown };
  const some = (value: unknown) =>
    value !== undefined &&
    value !== null &&
    !(Array.isArray(value) ? value.length === 0 : typeof value === "object" && Object.keys(value).length === 0);
  return some(files) || some(file);
}

/**
 * Whether an Express-like request came from Twilio. The raw body is used when the request has one
 * (`rawBody`, or a `body` that `express.raw()` left as bytes: every form and JSON webhook is then
 * exact); otherwise its decoded `body` as form parameters, whose values must all be text, decoded from
 * a form: with a `Content-Type` other than `application/x-www-form-urlencoded` (a multipart parser's
 * text fields), or files beside the body (`req.files`, `req.file`), it is `false` (Twilio sends no such
 * body, and nothing signs the files). A URL with `bodySHA256` needs the raw body: without one it is
 * `false` (twilio-node checks it against `"{}"`).
 * The URL is built by the core from the `Host` header (or `opts`); one that is not a plain host is
 * `false`. `opts.algorithm` as for {@link validateRequest}. Never throws.
 */
export function validateIncomingRequest(request: Request, authToken: string, opts?: RequestValidatorOptions): boolean {
  try {
    const name = algorithmOf(opts?.algorithm);
    if (!name) {
      warnUnsupported(opts?.algorithm);
      return false;
    }
    const settings = settingsFor(name);
    const url = requestUrl(request, opts);
    const validator = dropInValidator(authToken);
    if (!validator || url === undefined) return false;
    const signature = signatureOf(request);
    const raw = rawBodyOf(request);
    if (raw === null || filesBeside(request)) return false;
    // The core's rules on the request's shape come with the method (twilio-node reads none: a request
    // object without one stands for the POST it was). A captured POST replayed as a GET or a DELETE
    // with its body, or with `charset=utf-7`, is no webhook Twilio sends.
    const method = typeof request.method === "string" ? request.method : "POST";
    const contentType = headerOf(request.headers, "content-type");
    let verdict;
    if (raw) verdict = validator.verifyReceived(method, url, contentType, raw, signature, settings);
    else {
      const packed = pack(request.body ?? {}, undefined, true);
      if (!packed) return false;
      verdict = validator.verifyReceivedForm(method, url, contentType, packed.bytes, packed.lengths, signature, settings);
    }
    const valid = verdict.valid && appSeesVerified(request, verdict.matchedUrl, opts);
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
