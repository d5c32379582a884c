// The example app as a Cloudflare Worker: `npm --prefix js run example:worker` runs it in workerd.
// Its settings come from the Worker's env (TWILIO_AUTH_TOKEN, TWILIO_PUBLIC_URL); a Worker has no peer
// address, so it takes no trusted proxies: behind Cloudflare, set TWILIO_PUBLIC_URL.
import { withTwilioWebhook } from "twilio-webhook";

import { app } from "../app.mjs";

export default { fetch: withTwilioWebhook(app) };
