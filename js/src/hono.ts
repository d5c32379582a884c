// A Hono middleware: one factory that returns a handler. `import { twilioWebhook } from "twilio-webhook/hono"`.
import { refusal, verifyRequest } from "./fetch.js";
import type { HttpVerdict, WebhookOptions } from "./settings.js";

/** What the middleware needs of Hono's context. */
interface Context {
  req: { raw: Request };
  env?: unknown;
  set(key: string, value: unknown): void;
}

/**
 * Verifies every request of the routes it is used on: a refused one gets `400`, `403` or `413` with the
 * core's reason, a verified one goes on with its verified body (`c.req.text()`, `c.req.parseBody()`) and
 * its verdict as `c.get("twilioVerdict")`. Settings as for `withTwilioWebhook`; a Worker's `c.env` counts.
 */
export function twilioWebhook(options: WebhookOptions = {}) {
  return async (c: Context, next: () => Promise<void>): Promise<Response | void> => {
    const env = options.env ?? (c.env && typeof c.env === "object" ? (c.env as Record<string, unknown>) : undefined);
    const raw = c.req.raw;
    let result: { verdict: HttpVerdict; body: Uint8Array<ArrayBuffer> | null };
    try {
      result = await verifyRequest(raw, env && "TWILIO_AUTH_TOKEN" in env ? { ...options, env } : options);
    } catch (e) {
      (options.logger ?? console).warn(`Twilio webhook: ${e instanceof Error ? e.message : String(e)}`);
      return new Response("Twilio webhook: not configured\n", { status: 500 });
    }
    const { verdict, body } = result;
    if (!verdict.valid || !body) return refusal(verdict);
    const hasBody = raw.method !== "GET" && raw.method !== "HEAD";
    c.req.raw = new Request(raw, { body: hasBody ? body : null });
    c.set("twilioVerdict", verdict);
    await next();
  };
}
