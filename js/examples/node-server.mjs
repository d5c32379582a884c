// The example app on Node's own HTTP server: `npm --prefix js run example:node`.
//
// TWILIO_AUTH_TOKEN (required), PORT (3000), TWILIO_PUBLIC_URL (the URL Twilio calls, up to the path;
// a comma-separated list), TWILIO_TRUSTED_PROXIES (proxies whose Forwarded / X-Forwarded-* count).
import { createServer } from "node:http";

import { toNodeListener, withTwilioWebhook } from "twilio-webhook";

import { app } from "./app.mjs";
import { port, requireSettings, requireToken } from "./settings.mjs";

requireToken();
await requireSettings();
const listen = port();
const server = createServer(toNodeListener(withTwilioWebhook(app)));
server.listen(listen, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${listen} (POST /sms, POST /events, POST /nested/sms, GET /ws)`);
});
