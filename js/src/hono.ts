// A Hono middleware: one factory that returns a handler. `import { twilioWebhook } from "twilio-webhook/hono"`.
import { screen, workerEnv } from "./fetch.js";
import type { WebhookOptions } from "./settings.js";

/** What the middleware needs of Hono's context. */
interface Context {
  req: { raw: Request };
  env?: unknown;
  set(key: string, value: unknown): void;
}

/**
 * Verifies every request of the routes it is used on (within `paths`, if given): a refused one gets
 * `400`, `403` or `413` with the core's reason, a verified one goes on with its verified body
 * (`c.req.text()`, `c.req.parseBody()`) and its verdict as `c.get("twilioVerdict")`. Settings as for
 * `withTwilioWebhook`; a Worker's `c.env` counts.
 */
export function twilioWebhook(options: WebhookOptions = {}) {
  return async (c: Context, next: () => Promise<void>): Promise<Response | void> => {
    const opts = options.env ? options : { ...options, env: workerEnv(c.env) };
    const screened = await screen(c.req.raw, opts, []);
    if (screened.kind === "answer") return screened.response;
    c.req.raw = screened.request;
    if (screened.verdict) c.set("twilioVerdict", screened.verdict);
    await next();
  };
}
