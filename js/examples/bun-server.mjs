// The example app on Bun.serve: `bun js/examples/bun-server.mjs` (the bun npm package ships Bun).
// The same environment as node-server.mjs; the peer address comes from Bun (server.requestIP).
import { withTwilioWebhook } from "twilio-webhook";

import { app } from "./app.mjs";
import { port, requireSettings, requireToken } from "./settings.mjs";

requireToken();
await requireSettings();
const server = Bun.serve({ hostname: "127.0.0.1", port: port(), fetch: withTwilioWebhook(app) });
console.log(`listening on http://127.0.0.1:${server.port}`);
