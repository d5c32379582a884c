// The Fetch-standard adapter, for every edge and modern runtime: Cloudflare Workers, Vercel Edge and
// Next.js route handlers, Bun.serve, Deno.serve, Node with a Fetch server. Every decision is the
// core's: the path rules, whether the body is read, the URL Twilio signed, the verdict and its status.
import { type HttpVerdict, type WebhookOptions, httpVerdict, settings, verifierFor } from "./settings.js";
import { headerLists } from "./params.js";

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

/** A refusal, explained in the log (the core's line: what Twilio signed and the setting to change). */
function explain(verdict: HttpVerdict, request: Request, logger: { warn(message: string): void }) {
  if (verdict.valid) return;
  const path = new URL(request.url).pathname;
  logger.warn(verdict.explanation ?? `rejected ${request.method} ${path} (${verdict.reason})`);
}

/**
 * Verifies a request: reads its body once (up to the limit, 1 MiB by default, else 413) and checks it
 * against the URL Twilio signed (the public-URL policy: `publicUrl`, trusted proxies, or the URL as
 * received). The verified bytes go on to the handler: the request's own body is consumed.
 */
export async function verifyRequest(
  request: Request,
  options: WebhookOptions = {},
  ...rest: unknown[]
): Promise<{ verdict: HttpVerdict; body: Uint8Array<ArrayBuffer> | null }> {
  const s = settings(options);
  const verifier = verifierFor(s);
  const url = new URL(request.url);
  const target = url.pathname + url.search;
  const { keys, values } = headerLists(request.headers);
  const head = verifier.checkHead(request.method, target, keys, values);
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
  const peer = options.peer?.(request, ...rest);
  const scheme = url.protocol.replace(/:$/, "");
  const verdict = httpVerdict(verifier.check(request.method, target, keys, values, body, peer, scheme, url.host));
  explain(verdict, request, s.logger);
  return { verdict, body };
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
function workerEnv(arg: unknown): Record<string, unknown> | undefined {
  return arg && typeof arg === "object" && "TWILIO_AUTH_TOKEN" in arg ? (arg as Record<string, unknown>) : undefined;
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
    let s;
    try {
      s = settings(opts);
      const verifier = verifierFor(s);
      const url = new URL(request.url);
      const decision = verifier.decide(url.pathname + url.search);
      if (decision.refusal) {
        const verdict = httpVerdict(decision.refusal);
        decision.free();
        explain(verdict, request, s.logger);
        return refusal(verdict);
      }
      const verify = decision.verify;
      decision.free();
      if (!verify) return handler(request, ...rest);
    } catch (e) {
      (options.logger ?? console).warn(`Twilio webhook: ${e instanceof Error ? e.message : String(e)}`);
      return new Response("Twilio webhook: not configured\n", { status: 500 });
    }
    const { verdict, body } = await verifyRequest(request, opts, ...rest);
    if (!verdict.valid || !body) return refusal(verdict);
    const hasBody = request.method !== "GET" && request.method !== "HEAD";
    const verified = new Request(request, { body: hasBody ? body : null });
    verdicts.set(verified, verdict);
    return handler(verified, ...rest);
  };
}
