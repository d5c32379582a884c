// twilio-node's Express middleware, `webhook(opts?, authToken?)`, on the core: the same options,
// statuses and texts; the raw body read by the middleware itself, so JSON webhooks need no set-up.
import { WasmVerifier, baseUrl, urlHandOver } from "./glue.js";
import {
  type Request as ExpressLike,
  type RequestValidatorOptions,
  DROP_IN_KEY,
  SIGNATURE_SETTINGS_HEADER,
  algorithmOf,
  appAuthority,
  appSeesVerified,
  dropInValidator,
  filesBeside,
  hostnameOf,
  getSignatureAlgorithm,
  rawBodyOf,
  requestUrl,
  settingsFor,
  warnUnsupported,
} from "./dropin.js";
import { MAX_BYTES, headerOf, pack, packHeaders } from "./params.js";
import { type HttpVerdict, type Logger, applyHandOver, httpVerdict } from "./settings.js";
import { wasmValidator } from "./validator.js";

export interface WebhookMiddlewareOptions extends RequestValidatorOptions {
  /** Whether to validate (default `true`). */
  validate?: boolean;
  /** twilio-node's TwiML helpers; accepted and ignored. */
  includeHelpers?: boolean;
  /** The Auth Token; default `TWILIO_AUTH_TOKEN`. */
  authToken?: string;
  /**
   * The SharedKey secret, used instead of the Auth Token for webhooks that carry the
   * `X-Twilio-Webhooks-Signature-Settings` header (signed with a SharedKey), with the algorithm that
   * header names (twilio-node 6.3).
   */
  sharedKeySecret?: string;
  /** Where a refusal is explained (default `console`). */
  logger?: Logger;
  /** The largest body the middleware reads itself, in bytes (default 1 MiB: 413 above). */
  bodyLimit?: number;
}

const NO_SIGNATURE =
  "No signature header error - X-Twilio-Signature header does not exist, maybe this request is not coming from Twilio.";
const FAILED = "Twilio Request Validation Failed.";
/** The core's answer to a form it cannot stand for (`ambiguous_form`). */
const AMBIGUOUS_FORM = "Twilio webhook rejected: ambiguous_form\n";

interface NodeRequest extends ExpressLike {
  method: string;
  readable?: boolean;
  _body?: boolean;
  socket?: { remoteAddress?: string };
  on(event: string, listener: (...args: any[]) => void): unknown;
}

interface Response {
  set?(field: string, value: string): Response;
  status(code: number): Response;
  type(type: string): Response;
  send(body: string): unknown;
}

/**
 * Reads the request's body from its stream, at most `limit` bytes: `undefined` as soon as it grows past
 * them (the rest is discarded, never kept, and the 413 closes the connection).
 */
function readStream(req: NodeRequest, limit: number): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    let over = false;
    req.on("data", (chunk: Uint8Array) => {
      if (over) return;
      size += chunk.byteLength;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        resolve(undefined);
      } else chunks.push(chunk);
    });
    req.on("end", () => {
      if (over) return;
      const body = new Uint8Array(size);
      let offset = 0;
      for (const c of chunks) {
        body.set(c, offset);
        offset += c.byteLength;
      }
      resolve(body);
    });
    req.on("error", reject);
  });
}

/** The value of a hex digit's byte, or -1. */
function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  const lower = b | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/**
 * One key or value of a form, decoded as the WHATWG form parser says and as the core decodes it: `+`
 * is a space, `%` and two hex digits a byte, any other `%` itself, and the bytes are then read as UTF-8
 * (a leading BOM kept). Node's `URLSearchParams` and `querystring` read `%zz%20é` as `%zz �`, where the
 * core verified `%zz é`.
 */
function formDecode(part: Uint8Array): string {
  const out = new Uint8Array(part.length);
  let n = 0;
  for (let i = 0; i < part.length; i++) {
    const b = part[i]!;
    const hi = b === 0x25 && i + 2 < part.length ? hexValue(part[i + 1]!) : -1;
    const lo = hi >= 0 ? hexValue(part[i + 2]!) : -1;
    if (lo >= 0) {
      out[n++] = (hi << 4) | lo;
      i += 2;
    } else out[n++] = b === 0x2b ? 0x20 : b;
  }
  return new TextDecoder("utf-8", { ignoreBOM: true }).decode(out.subarray(0, n));
}

/** The pairs of a form body, split at `&` and the first `=` of each, empty parts skipped. */
function formPairs(body: Uint8Array): [string, string][] {
  const pairs: [string, string][] = [];
  let start = 0;
  while (start <= body.length) {
    let end = body.indexOf(0x26, start);
    if (end === -1) end = body.length;
    if (end > start) {
      const part = body.subarray(start, end);
      const eq = part.indexOf(0x3d);
      pairs.push(eq === -1 ? [formDecode(part), ""] : [formDecode(part.subarray(0, eq)), formDecode(part.subarray(eq + 1))]);
    }
    start = end + 1;
  }
  return pairs;
}

/**
 * The body as the parsers behind would have parsed it, for the app, from the very bytes that were
 * verified and decoded as the core decoded them: a leading BOM is kept (it is part of the first key),
 * and forms go into an object without a prototype, so that keys such as `__proto__`, `constructor` or
 * `toString` are plain keys holding what was signed.
 */
function parsed(contentType: string | undefined, body: Uint8Array): unknown {
  if (/^application\/x-www-form-urlencoded/i.test(contentType ?? "")) {
    const out: Record<string, string | string[]> = Object.create(null);
    for (const [key, value] of formPairs(body)) {
      const seen = out[key];
      out[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
    }
    return out;
  }
  if (/^application\/json/i.test(contentType ?? "")) {
    try {
      return JSON.parse(new TextDecoder("utf-8", { ignoreBOM: true }).decode(body));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * `scheme://host[:port]` of the configured `url`: the base the core joins the request's own target to.
 * The url's path and query are not taken for the request's: a signature for the configured url covers
 * the request made to it, never one made to another path of the app (a replay across routes).
 */
function originOf(url: string): string | undefined {
  return /^([a-z][a-z0-9+.-]*:\/\/[^/?#]+)(?:[/?][^#]*)?$/i.exec(url)?.[1];
}

/** The path and query of a URL (`/` when it has none), to say which path the `url` option names. */
function targetOf(url: string, origin: string): string {
  const target = url.slice(origin.length);
  return target.startsWith("/") ? target : `/${target}`;
}

/**
 * Shows the app the scheme and host of the URL that verified (where the options configured them, the
 * request's own `Host` and scheme are a proxy's, or a client's; else they are the ones verified, and
 * the routing headers still go): `req.hostname` and `req.protocol`
 * (so `req.secure`) as own properties over Express's getters, and the headers handed over as the core
 * decides (`Host`, `X-Forwarded-Host` and `-Proto` the verified ones, no other routing header). `false`
 * for a URL without a host.
 */
function showVerified(req: NodeRequest, verifiedUrl: string | null | undefined): boolean {
  const match = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]+)/i.exec(verifiedUrl ?? "");
  if (!match) return false;
  const [, scheme, authority] = match as unknown as [string, string, string];
  const protocol = { ws: "http", wss: "https" }[scheme.toLowerCase()] ?? scheme.toLowerCase();
  // The core's hand-over, as the other adapters': `Host` the verified authority, `X-Forwarded-Host` and
  // `-Proto` (`-Port`) the verified ones, every other header that tells an app where or how a request was sent
  // (`X-Original-URL`, `X-HTTP-Method-Override`, `X-Forwarded-Prefix`, …) gone, in every spelling.
  const packed = packHeaders(req.headers);
  const handOver = packed && urlHandOver(`${protocol}://${authority}/`, packed.bytes, packed.lengths);
  if (!handOver) return false;
  applyHandOver(handOver, (name) => delete req.headers[name], (name, value) => (req.headers[name] = value));
  // An absolute-form target names the client's authority in `req.url` and `req.originalUrl` too
  // (fifth outside attack, A4-F6): the verified one instead.
  const absolute = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i;
  const target = req as unknown as Record<string, unknown>;
  for (const name of ["url", "originalUrl"]) {
    const value = target[name];
    if (typeof value === "string" && absolute.test(value)) target[name] = value.replace(absolute, `${scheme}://${authority}`);
  }
  for (const [name, value] of [["hostname", hostnameOf(authority)], ["protocol", protocol]] as const) {
    Object.defineProperty(req, name, { value, configurable: true, enumerable: true, writable: true });
  }
  return true;
}

/** A cached verifier, with the requests in flight that hold it. */
interface Held {
  verifier: WasmVerifier;
  holders: number;
  evicted: boolean;
}

/**
 * The module's verifiers by configuration, the most recently used last: at most {@link MAX_VERIFIERS}.
 * An app that builds `webhook({ url })` per request from the request's host (twilio-node's options, one
 * app on several hosts) made one per distinct `Host` a client sent, never freed: 50,000 forged hosts
 * grew the process by 130 MiB before any signature check (sixth outside attack, A5-F8). An evicted
 * verifier is freed once no request in flight holds it (one freed under a request reading its body
 * was a 500: issue 28, finding 7).
 */
const verifiers = new Map<string, Held>();
const MAX_VERIFIERS = 32;

/**
 * The verifier for one secret of a middleware, held for one request until {@link release}: the secret
 * as an Auth Token (`token`) or as the drop-in's SharedKey (`shared`, chosen by the settings header the
 * middleware hands the core), the base of the configured `url` if any (else the core rebuilds the URL
 * from `Host`), and the body limit. Shared by every middleware with the same configuration while it is
 * cached, so that diagnoses share one budget; `undefined` for a secret the core refuses.
 */
function acquire(kind: "token" | "shared", secret: string, base: string | undefined, limit: number): Held | undefined {
  const key = JSON.stringify([kind, secret, base ?? null, limit]);
  let held = verifiers.get(key);
  if (held) verifiers.delete(key);
  else {
    try {
      const validator =
        kind === "token"
          ? wasmValidator({ authTokens: secret, allowQueryReencoding: true })
          : wasmValidator({ sharedKeys: [[DROP_IN_KEY, secret]], allowQueryReencoding: true });
      try {
        held = { verifier: new WasmVerifier(validator, base === undefined ? [] : [base], [], limit, undefined, 10), holders: 0, evicted: false };
      } finally {
        validator.free();
      }
    } catch {
      return undefined;
    }
    for (const [oldest, entry] of verifiers) {
      if (verifiers.size < MAX_VERIFIERS) break;
      verifiers.delete(oldest);
      entry.evicted = true;
      if (entry.holders === 0) entry.verifier.free();
    }
  }
  verifiers.set(key, held);
  held.holders += 1;
  return held;
}

/** A request is done with its verifier: freed now if it was evicted and no other request holds it. */
function release(held: Held): void {
  held.holders -= 1;
  if (held.evicted && held.holders === 0) held.verifier.free();
}

/**
 * Express middleware for Twilio webhooks, with twilio-node's options (`validate`, `url`, `host`,
 * `protocol`, `authToken`, falling back to `TWILIO_AUTH_TOKEN`, and `sharedKeySecret` for webhooks
 * signed with a SharedKey), statuses and texts: `400` without a signature header, `403` for an invalid
 * request, `500` without the secret the request needs.
 *
 * The middleware reads the raw body itself when no parser has yet (put it before `express.json()` and
 * `express.urlencoded()`, or on the route), sets `req.rawBody` and `req.body` as those parsers would, and
 * marks the body parsed so they skip it: form and JSON (`bodySHA256`) webhooks are verified exactly, with
 * no set-up. After a parser, it uses `req.rawBody` when the parser's `verify` kept it, or `req.body` when
 * `express.raw()` left it as bytes; otherwise form parameters from `req.body` (text values only) of a
 * request sent as `application/x-www-form-urlencoded`, and a JSON webhook is refused (its raw bytes are
 * gone), with a log line saying why. A body another parser took from any other type (multer's
 * `multipart/form-data`: its text fields in `req.body`, its files beside) is refused with `400`
 * (`ambiguous_form`), and so is any request with files beside its body (`req.files`, `req.file`).
 *
 * The URL is the core's: the request target as received, joined with the scheme and host of `url`, or
 * with `protocol` (else `req.protocol`) and `host` (else the `Host` header). A `Host` that is not a plain
 * host and port is refused. Unlike twilio-node, whose `url` stands for every request the middleware
 * sees, a request to another path or query than the url's is checked for the URL it was made to: a
 * signature for the url does not let a captured request run another route.
 */
export function webhook(opts?: string | WebhookMiddlewareOptions, authToken?: string | WebhookMiddlewareOptions) {
  let token: string | undefined;
  let options: WebhookMiddlewareOptions = {};
  for (const arg of [opts, authToken]) {
    if (typeof arg === "string") token = arg;
    else if (arg && typeof arg === "object") options = { ...options, ...arg };
  }
  const g = globalThis as { process?: { env?: Record<string, string | undefined> } };
  token = token ?? options.authToken ?? g.process?.env?.TWILIO_AUTH_TOKEN;
  const validate = options.validate ?? true;
  const logger = options.logger ?? console;
  const limit = options.bodyLimit ?? 1024 * 1024;
  if (!(Number.isSafeInteger(limit) && limit > 0 && limit <= MAX_BYTES)) {
    throw new RangeError(`bodyLimit must be a number of bytes from 1 to ${MAX_BYTES}`);
  }
  // A configured URL: its scheme and authority are the base the request's own target is joined to.
  const origin = typeof options.url === "string" ? originOf(options.url) : undefined;
  // The scheme or host Twilio called is configured: the app is shown the verified one.
  const configured = options.url !== undefined || Boolean(options.host) || Boolean(options.protocol);

  return async function hook(req: NodeRequest, res: Response, next: (err?: unknown) => void) {
    if (!validate) return next();
    // A refusal of the core (400, 413) keeps its status and reason; a rejected signature is
    // twilio-node's 403. Each is explained in the log.
    const refuse = (verdict: HttpVerdict, note = "") => {
      logger.warn((verdict.explanation ?? `rejected ${req.method} ${req.originalUrl} (${verdict.reason})`) + note);
      if (verdict.status !== 400 && verdict.status !== 413) return res.type("text/plain").status(403).send(FAILED);
      // The body of a 413 is left unread: the connection closes after the answer.
      if (verdict.status === 413) res.set?.("Connection", "close");
      return res.type("text/plain").status(verdict.status).send(verdict.message ?? "");
    };
    // Files a parser left beside the body (`req.files`, `req.file`) are in no parameter a signature
    // covers: never handed on as verified, whatever the Content-Type said.
    const refuseFiles = () => {
      logger.warn(`rejected ${req.method} ${req.originalUrl} (ambiguous_form): a parser left files beside the body (req.files, req.file), which no signature covers`);
      return res.type("text/plain").status(400).send(AMBIGUOUS_FORM);
    };
    const signature = headerOf(req.headers, "x-twilio-signature");
    if (!signature) return res.type("text/plain").status(400).send(NO_SIGNATURE);
    // As twilio-node: a settings header means a SharedKey signature, with the algorithm it names.
    const signatureSettings = headerOf(req.headers, SIGNATURE_SETTINGS_HEADER);
    const secret = signatureSettings ? options.sharedKeySecret : token;
    if (!secret) {
      const missing = signatureSettings ? "SharedKey secret" : "auth token";
      console.error(`[Twilio]: Error - Twilio ${missing} is required for webhook request validation.`);
      return res
        .type("text/plain")
        .status(500)
        .send(`Webhook Error - we attempted to validate this request without first configuring our ${missing}.`);
    }
    const requested = getSignatureAlgorithm(signatureSettings);
    const algorithm = algorithmOf(requested);
    if (!algorithm) {
      warnUnsupported(requested);
      return res.type("text/plain").status(403).send(FAILED);
    }
    // What the core reads as the settings header: none (the Auth Token), or the drop-in's SharedKey.
    const settings = signatureSettings ? settingsFor(algorithm, true) : undefined;
    const held = acquire(signatureSettings ? "shared" : "token", secret, origin, limit);
    try {
      const verifier = held?.verifier;
      if (!verifier || (options.url !== undefined && !origin)) {
        logger.warn(`rejected ${req.method} ${req.originalUrl}: no URL to check (the url option is not an absolute URL)`);
        return res.type("text/plain").status(403).send(FAILED);
      }
      // Before the body: a declared length over the limit (413), an upgrade that is not a handshake.
      // Headers are packed again after every await: the packer is shared by every request in flight.
      const before = packHeaders(req.headers, settings);
      if (!before) return res.type("text/plain").status(403).send(FAILED);
      const head = verifier.checkHead(req.method, req.originalUrl, before.bytes, before.lengths);
      if (head) return refuse(httpVerdict(head));
      const contentType = headerOf(req.headers, "content-type");
      let raw = rawBodyOf(req);
      if (raw === null) return res.type("text/plain").status(403).send(FAILED);
      // The stream is still unread unless a parser took it (`_body`) or it is not one (a mock).
      // Read here, the body is handed to the app (and the parsers behind told to skip it) only once
      // it is verified: nothing is decoded from bytes no signature covers.
      let read = false;
      if (raw === undefined && req._body !== true && req.readable === true) {
        raw = await readStream(req, limit);
        if (raw === undefined) return refuse(httpVerdict(verifier.tooLarge()));
        read = true;
      }
      const protocol = options.protocol || (req as { protocol?: string }).protocol || "http";
      // Said with a refusal: the url option names another path or query than this request's.
      const named = origin !== undefined && options.url !== undefined ? targetOf(options.url, origin) : req.originalUrl;
      const note =
        named === req.originalUrl
          ? ""
          : ` (the url option names ${named}; a request is checked for the URL it was made to: put webhook() on the route Twilio calls)`;
      if (raw === undefined) {
        // A parser ran first and kept no raw body: the decoded parameters (as twilio-node), text values
        // only, never a JSON body; and only as the core would take the raw body: on a POST, or a GET
        // without parameters (the method is not signed, and a body on any other method no signature
        // covers: a captured POST replayed as a PUT or DELETE ran that handler).
        const url =
          origin !== undefined
            ? baseUrl(origin, req.originalUrl)
            : requestUrl(req, { host: options.host, protocol: options.protocol });
        const packed = pack(req.body ?? {}, undefined, true);
        // Values that are not text are refused; the core still says why a bodySHA256 URL cannot pass.
        const probe = packed ?? pack({});
        const validator = dropInValidator(secret);
        const verdict =
          url !== undefined && probe
            ? validator?.verifyReceivedForm(req.method, url, contentType, probe.bytes, probe.lengths, signature, settings)
            : undefined;
        const seen = verdict?.valid === true && appSeesVerified(req, verdict.matchedUrl, { url: origin, host: options.host, protocol: options.protocol });
        const valid = packed !== undefined && seen;
        const reason =
          verdict?.valid && !seen
            ? "the host or scheme the app reads is not the verified one"
            : packed === undefined && verdict?.reason !== "body_not_hashed"
              ? "malformed_body"
              : verdict?.reason;
        // A refusal of the request's shape keeps the core's 400 and text, as for a raw body.
        const shape = !verdict?.valid && verdict?.status === 400 ? { status: 400, message: verdict.message } : undefined;
        verdict?.free();
        if (valid && filesBeside(req)) return refuseFiles();
        if (valid && showVerified(req, url)) return next();
        logger.warn(
          `rejected ${req.method} ${req.originalUrl} (${reason ?? (url === undefined ? "no URL: the Host header is not a host" : "unreadable body")}): ` +
            `checked ${url ?? "no URL"} with the parsed body; ` +
            (reason === "body_not_hashed"
              ? "a JSON webhook needs its raw bytes: put webhook() before express.json(), or keep them with express.json({ verify: (req, res, buf) => { req.rawBody = buf } })"
              : reason === "method_not_allowed" || reason === "body_not_allowed"
                ? "Twilio calls webhooks with GET or POST, and sends a body with POST alone"
                : reason === "ambiguous_form" && !/^application\/x-www-form-urlencoded\s*(;|$)/i.test(contentType ?? "application/x-www-form-urlencoded")
                  ? `a parser took a ${JSON.stringify(contentType)} body (Twilio sends forms as application/x-www-form-urlencoded): its parsed fields, and any files beside them, are not a signed form`
                  : "put webhook() before the body parsers to verify the raw body") +
            note,
        );
        if (shape) return res.type("text/plain").status(shape.status).send(shape.message ?? "");
        return res.type("text/plain").status(403).send(FAILED);
      }
      // The `host` option is the host Twilio called, configured (as a public URL would be): it is the
      // authority, and the request's own Host, which the core would otherwise hold it against, is not.
      // Without it, the host the app reads: `X-Forwarded-Host` when the app's `trust proxy` setting
      // trusts the peer (Express's `req.hostname` is then read from it), never a Host the app ignores.
      const seen = options.host ? undefined : appAuthority(req);
      const authority = options.host || (seen !== headerOf(req.headers, "host") ? seen : undefined);
      const headers = packHeaders(authority ? { ...req.headers, host: undefined } : req.headers, settings);
      const verdict =
        headers &&
        httpVerdict(
          verifier.check(
            req.method,
            req.originalUrl,
            headers.bytes,
            headers.lengths,
            raw,
            req.socket?.remoteAddress,
            String(protocol).replace(/:$/, ""),
            authority || undefined,
          ),
        );
      if (!verdict) return res.type("text/plain").status(403).send(FAILED);
      if (verdict.valid && !appSeesVerified(req, verdict.matchedUrl, { url: origin, host: options.host, protocol: options.protocol })) {
        logger.warn(
          `rejected ${req.method} ${req.originalUrl}: verified for ${verdict.matchedUrl}, but the app reads the host ` +
            `${JSON.stringify(req.hostname)} and the scheme ${JSON.stringify(req.protocol)}`,
        );
        return res.type("text/plain").status(403).send(FAILED);
      }
      if (verdict.valid) {
        if (filesBeside(req)) return refuseFiles();
        if (!showVerified(req, verdict.urlsTried[0])) return res.type("text/plain").status(403).send(FAILED);
        if (read) {
          req.rawBody = Buffer.from(raw);
          req.body = parsed(contentType, raw) ?? req.body;
          req._body = true;
        }
        return next();
      }
      return refuse(verdict, note);
    } catch (error) {
      return next(error);
    } finally {
      if (held) release(held);
    }
  };
}
