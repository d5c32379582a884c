// twilio-node's Express middleware, `webhook(opts?, authToken?)`, on the core: the same options,
// statuses and texts; the raw body read by the middleware itself, so JSON webhooks need no set-up.
import { WasmVerifier } from "./glue.js";
import { type Request as ExpressLike, type RequestValidatorOptions, dropInValidator, requestUrl } from "./dropin.js";
import { headerOf, pack, packHeaders } from "./params.js";
import { type HttpVerdict, type Logger, httpVerdict } from "./settings.js";
import { wasmValidator } from "./validator.js";

export interface WebhookMiddlewareOptions extends RequestValidatorOptions {
  /** Whether to validate (default `true`). */
  validate?: boolean;
  /** twilio-node's TwiML helpers; accepted and ignored. */
  includeHelpers?: boolean;
  /** The Auth Token; default `TWILIO_AUTH_TOKEN`. */
  authToken?: string;
  /** Where a refusal is explained (default `console`). */
  logger?: Logger;
  /** The largest body the middleware reads itself, in bytes (default 1 MiB: 413 above). */
  bodyLimit?: number;
}

const NO_SIGNATURE =
  "No signature header error - X-Twilio-Signature header does not exist, maybe this request is not coming from Twilio.";
const NO_TOKEN = "Webhook Error - we attempted to validate this request without first configuring our auth token.";
const FAILED = "Twilio Request Validation Failed.";

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

/** The body as the parsers behind would have parsed it, for the app: forms as twilio-node's objects. */
function parsed(contentType: string | undefined, body: Uint8Array): unknown {
  const text = new TextDecoder().decode(body);
  if (/^application\/x-www-form-urlencoded/i.test(contentType ?? "")) {
    const out: Record<string, string | string[]> = {};
    for (const [key, value] of new URLSearchParams(text)) {
      const seen = out[key];
      out[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
    }
    return out;
  }
  if (/^application\/json/i.test(contentType ?? "")) {
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** `scheme://host[:port]` and the path and query of a URL: what the core's policy joins again. */
function splitUrl(url: string): [string, string] | undefined {
  const match = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]+)([/?][^#]*)?$/i.exec(url);
  if (!match) return undefined;
  const target = match[2] ?? "/";
  return [match[1]!, target.startsWith("/") ? target : `/${target}`];
}

/**
 * Express middleware for Twilio webhooks, with twilio-node's options (`validate`, `url`, `host`,
 * `protocol`, `authToken`, falling back to `TWILIO_AUTH_TOKEN`), statuses and texts: `400` without a
 * signature header, `403` for an invalid request, `500` without a token.
 *
 * The middleware reads the raw body itself when no parser has yet (put it before `express.json()` and
 * `express.urlencoded()`, or on the route), sets `req.rawBody` and `req.body` as those parsers would, and
 * marks the body parsed so they skip it: form and JSON (`bodySHA256`) webhooks are verified exactly, with
 * no set-up. After a parser, it uses `req.rawBody` when the parser's `verify` kept it; otherwise form
 * parameters from `req.body`, and a JSON webhook is refused (its raw bytes are gone), with a log line
 * saying why.
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
  const verifiers = new Map<string, WasmVerifier>();
  const verifierFor = (base: string): WasmVerifier | undefined => {
    let verifier = verifiers.get(base);
    if (!verifier) {
      try {
        const validator = wasmValidator({ authTokens: token, allowQueryReencoding: true });
        verifier = new WasmVerifier(validator, [base], [], limit, undefined, 10);
        validator.free();
      } catch {
        return undefined;
      }
      if (verifiers.size >= 8) {
        const [oldest, evicted] = verifiers.entries().next().value as [string, WasmVerifier];
        verifiers.delete(oldest);
        evicted.free();
      }
      verifiers.set(base, verifier);
    }
    return verifier;
  };

  return async function hook(req: NodeRequest, res: Response, next: (err?: unknown) => void) {
    if (!validate) return next();
    // A refusal of the core (400, 413) keeps its status and reason; a rejected signature is
    // twilio-node's 403. Each is explained in the log.
    const refuse = (verdict: HttpVerdict) => {
      logger.warn(verdict.explanation ?? `rejected ${req.method} ${req.originalUrl} (${verdict.reason})`);
      if (verdict.status !== 400 && verdict.status !== 413) return res.type("text/plain").status(403).send(FAILED);
      // The body of a 413 is left unread: the connection closes after the answer.
      if (verdict.status === 413) res.set?.("Connection", "close");
      return res.type("text/plain").status(verdict.status).send(verdict.message ?? "");
    };
    const signature = headerOf(req.headers, "x-twilio-signature");
    if (!signature) return res.type("text/plain").status(400).send(NO_SIGNATURE);
    if (!token) {
      console.error("[Twilio]: Error - Twilio auth token is required for webhook request validation.");
      return res.type("text/plain").status(500).send(NO_TOKEN);
    }
    try {
      const headers = packHeaders(req.headers);
      const url = requestUrl(req, options);
      const parts = url === undefined ? undefined : splitUrl(url);
      const verifier = parts && verifierFor(parts[0]);
      if (!url || !parts || !verifier) {
        logger.warn(`rejected ${req.method} ${req.originalUrl}: no URL to check (${url ?? "no Host header"})`);
        return res.type("text/plain").status(403).send(FAILED);
      }
      // Before the body: a declared length over the limit (413), an upgrade that is not a handshake.
      const head = verifier.checkHead(req.method, req.originalUrl, headers.bytes, headers.lengths);
      if (head) return refuse(httpVerdict(head));
      const contentType = headerOf(req.headers, "content-type");
      let raw = req.rawBody === undefined ? undefined : toBytesOrString(req.rawBody);
      // The stream is still unread unless a parser took it (`_body`) or it is not one (a mock).
      if (raw === undefined && req._body !== true && req.readable === true) {
        raw = await readStream(req, limit);
        if (raw === undefined) return refuse(httpVerdict(verifier.tooLarge()));
        req.rawBody = Buffer.from(raw);
        req.body = parsed(contentType, raw) ?? req.body;
        req._body = true;
      }
      if (raw === undefined) {
        // A parser ran first and kept no raw body: the decoded parameters (as twilio-node), never a JSON body.
        const packed = pack(req.body ?? {});
        const validator = dropInValidator(token);
        const verdict = packed && validator?.verifyForm(url, packed.bytes, packed.lengths, signature, undefined);
        const valid = verdict?.valid ?? false;
        const reason = verdict?.reason;
        verdict?.free();
        if (valid) return next();
        logger.warn(
          `rejected ${req.method} ${req.originalUrl} (${reason ?? "unreadable body"}): checked ${url} with the parsed body; ` +
            (reason === "body_not_hashed"
              ? "a JSON webhook needs its raw bytes: put webhook() before express.json(), or keep them with express.json({ verify: (req, res, buf) => { req.rawBody = buf } })"
              : "put webhook() before the body parsers to verify the raw body"),
        );
        return res.type("text/plain").status(403).send(FAILED);
      }
      const verdict = httpVerdict(
        verifier.check(req.method, parts[1], headers.bytes, headers.lengths, raw, req.socket?.remoteAddress, undefined, undefined),
      );
      if (verdict.valid) return next();
      return refuse(verdict);
    } catch (error) {
      return next(error);
    }
  };
}

function toBytesOrString(body: unknown): Uint8Array | undefined {
  if (typeof body === "string") return new TextEncoder().encode(body);
  if (body instanceof Uint8Array) return body;
  return undefined;
}
