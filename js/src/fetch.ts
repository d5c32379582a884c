// The Fetch-standard adapter, for every edge and modern runtime: Cloudflare Workers, Vercel Edge and
// Next.js route handlers, Bun.serve, Deno.serve, Node with a Fetch server. Every decision is the
// core's: the path rules, whether the body is read, the URL Twilio signed, the verdict and its status.
import { type HttpVerdict, type WebhookOptions, applyHandOver, httpVerdict, settings, verifierFor } from "./settings.js";
import { runtimePeer } from "./node.js";
import { packHeaders } from "./params.js";

export type { HttpVerdict, WebhookOptions };

/** Reads a request's body, at most `limit` bytes: `undefined` past it. */
async function readBody(request: Request, limit: number): Promise<Uint8Array<ArrayBuffer> | undefined> {
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/** The configurations already warned that no peer address comes. */
const warnedNoPeer = new Set<string>();

/** A refusal, explained in the log (the core's line: what Twilio signed and the setting to change). */
function explain(verdict: HttpVerdict, request: Request, logger: { warn(message: string): void }) {
  if (verdict.valid) return;
  const path = new URL(request.url).pathname;
  logger.warn(verdict.explanation ?? `rejected ${request.method} ${path} (${verdict.reason})`);
}

/**
 * Verifies a request: reads its body once (up to the limit, 1 MiB by default, else 413) and checks it
 * against the URL Twilio signed (the public-URL policy: `publicUrl`, trusted proxies, or the URL as
 * received). The verified bytes go on to the handler (`body`, `null` for a refusal): the request's own
 * body is consumed.
 */
export async function verifyRequest(
  request: Request,
  options: WebhookOptions = {},
  ...rest: unknown[]
): Promise<{ verdict: HttpVerdict; body: Uint8Array<ArrayBuffer> | null }> {
  const s = settings(options);
  const verifier = verifierFor(s);
  if (request.bodyUsed) {
    throw new TypeError(
      "Twilio webhook: the request body was already read, so what Twilio signed cannot be checked: verify the " +
        "request before anything reads its body (put the middleware first)",
    );
  }
  const url = new URL(request.url);
  const target = url.pathname + url.search;
  // Packed headers are the packer's buffer: used at once, and packed again after the body's await.
  const before = packHeaders(request.headers);
  const head = before ? verifier.checkHead(request.method, target, before.bytes, before.lengths) : verifier.tooLarge();
  if (head) {
    const verdict = httpVerdict(head);
    explain(verdict, request, s.logger);
    return { verdict, body: null };
  }
  const body = await readBody(request, verifier.bodyLimit);
  if (!body) {
    const verdict = httpVerdict(verifier.tooLarge());
    explain(verdict, request, s.logger);
    return { verdict, body: null };
  }
  const peer = (options.peer ?? runtimePeer)(request, ...rest);
  if (peer === undefined && s.trustedProxies.length > 0 && !warnedNoPeer.has(s.key)) {
    // The core says this in its own log, which WebAssembly does not have: said here, once.
    warnedNoPeer.add(s.key);
    s.logger.warn(
      "trusted proxies are configured, but this runtime gives no peer address: every Forwarded / X-Forwarded-* " +
        "header is ignored. Pass `peer` in the options, or set TWILIO_PUBLIC_URL to the URL Twilio calls.",
    );
  }
  const scheme = url.protocol.replace(/:$/, "");
  const headers = packHeaders(request.headers);
  const verdict = httpVerdict(
    headers
      ? verifier.check(request.method, target, headers.bytes, headers.lengths, body, peer, scheme, url.host)
      : verifier.tooLarge(),
  );
  explain(verdict, request, s.logger);
  // Unverified bytes are nobody's business: a refusal comes without them.
  return { verdict, body: verdict.valid ? body : null };
}

/**
 * The origin (`https://host[:port]`) of the URL a valid verdict was verified against, as a request's URL
 * has it (`ws`/`wss` of a handshake as `http`/`https`); `undefined` if it has none.
 */
function verifiedOrigin(verdict: HttpVerdict): string | undefined {
  const match = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]+)/i.exec(verdict.urlsTried[0] ?? "");
  if (!match) return undefined;
  const scheme = match[1]!.toLowerCase();
  try {
    return new URL(`${{ ws: "http", wss: "https" }[scheme] ?? scheme}://${match[2]}/`).origin;
  } catch {
    return undefined;
  }
}

/** The verdict of a request a wrapped handler received. */
const verdicts = new WeakMap<Request, HttpVerdict>();

/** The verdict of a verified request, inside a handler wrapped by {@link withTwilioWebhook}. */
export function verdictOf(request: Request): HttpVerdict | undefined {
  return verdicts.get(request);
}

/** A refusal as a response: its status and `Twilio webhook rejected: <reason>`, as the Rust crates answer. */
export function refusal(verdict: HttpVerdict): Response {
  return new Response(verdict.message ?? `Twilio webhook rejected: ${verdict.reason}\n`, {
    status: verdict.status,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

type Handler<Rest extends unknown[]> = (request: Request, ...rest: Rest) => Response | Promise<Response>;

/** A Worker's `env`: an object of bindings holding the token (a Bun `Server` is not one). */
export function workerEnv(arg: unknown): Record<string, unknown> | undefined {
  return arg && typeof arg === "object" && "TWILIO_AUTH_TOKEN" in arg ? (arg as Record<string, unknown>) : undefined;
}

/** What a wrapper does with a request: hand it on (verified, or outside the paths) or answer. */
export type Screened =
  | { kind: "pass"; request: Request; verdict: HttpVerdict | null }
  | { kind: "answer"; response: Response };

/**
 * The wrappers' one path: the path rules (`paths`), then {@link verifyRequest}. A verified request is
 * handed on as a new `Request` carrying the verified bytes; one outside the paths as it came; a
 * refusal is answered with its status, and a configuration mistake with 500 (logged).
 */
export async function screen(request: Request, options: WebhookOptions, rest: unknown[]): Promise<Screened> {
  let s;
  try {
    s = settings(options);
    const verifier = verifierFor(s);
    const url = new URL(request.url);
    const decision = verifier.decide(url.pathname + url.search);
    const refused = decision.refusal;
    const verify = decision.verify;
    decision.free();
    if (refused) {
      const verdict = httpVerdict(refused);
      explain(verdict, request, s.logger);
      return { kind: "answer", response: refusal(verdict) };
    }
    if (!verify) return { kind: "pass", request, verdict: null };
  } catch (e) {
    (options.logger ?? console).warn(`Twilio webhook: ${e instanceof Error ? e.message : String(e)}`);
    return { kind: "answer", response: new Response("Twilio webhook: not configured\n", { status: 500 }) };
  }
  if (request.bodyUsed) {
    // A mistake of the app's set-up, said as such: what Twilio signed is gone.
    s.logger.warn(
      "Twilio webhook: the request body was already read before the middleware, so what Twilio signed cannot be " +
        "checked: put the middleware before anything that reads the body",
    );
    return { kind: "answer", response: new Response("Twilio webhook: the request body was read before it was verified\n", { status: 500 }) };
  }
  const { verdict, body } = await verifyRequest(request, options, ...rest);
  if (!verdict.valid || !body) return { kind: "answer", response: refusal(verdict) };
  // The Fetch API allows no body on GET and HEAD (a WebSocket handshake): the bytes read were none.
  const hasBody = request.method !== "GET" && request.method !== "HEAD";
  // The handler reads the scheme and host of the URL that verified, never another (a configured public
  // URL while `Host` named another tenant, or a trusted proxy's forwarded host while `Host` was the
  // proxy's), in its URL and its headers: its path and query stay the ones it was sent to.
  const origin = verifiedOrigin(verdict);
  const received = new URL(request.url);
  let verified: Request;
  // (A valid verdict always names its URL: without one, nothing says what the handler may read.)
  if (origin === undefined) return { kind: "answer", response: new Response("Twilio webhook rejected: bad_host\n", { status: 400 }) };
  // Its headers name the verified origin, and no other: the core's hand-over (every header that tells an app
  // where or how a request was sent, in every spelling, removed or set to the verified one; sixth outside
  // attack, A5-F10).
  const headers = new Headers(request.headers);
  headers.set("host", new URL(origin).host);
  applyHandOver(verdict.handOver, (name) => headers.delete(name), (name, value) => headers.set(name, value));
  if (origin === received.origin) verified = new Request(request, { body: hasBody ? body : null, headers });
  else {
    verified = new Request(origin + received.pathname + received.search, {
      method: request.method,
      headers,
      body: hasBody ? body : null,
      redirect: request.redirect,
      signal: request.signal,
    });
  }
  verdicts.set(verified, verdict);
  return { kind: "pass", request: verified, verdict };
}

/**
 * Wraps a `fetch`-style handler (`(request, env, ctx)` for Workers, a Next.js route handler,
 * `Bun.serve`, `Deno.serve`): only verified requests reach it, with the verified body; refusals get
 * `400`, `403` or `413` with the core's reason. Settings come from `options`, else from the Worker's
 * `env` or `process.env` (`TWILIO_AUTH_TOKEN`, `TWILIO_PUBLIC_URL`, `TWILIO_TRUSTED_PROXIES`,
 * `TWILIO_DIAGNOSE`). Without a token, `500`.
 */
export function withTwilioWebhook<Rest extends unknown[]>(handler: Handler<Rest>, options: WebhookOptions = {}): Handler<Rest> {
  return async (request: Request, ...rest: Rest) => {
    const opts = options.env ? options : { ...options, env: workerEnv(rest[0]) };
    const screened = await screen(request, opts, rest);
    return screened.kind === "pass" ? handler(screened.request, ...rest) : screened.response;
  };
}
