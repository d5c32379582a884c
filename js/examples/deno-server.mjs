// The example app on Deno.serve: `deno run --allow-net --allow-env --allow-read js/examples/deno-server.mjs`.
// The same environment as node-server.mjs; the peer address comes from Deno (info.remoteAddr).
import process from "node:process";

import { withTwilioWebhook } from "twilio-webhook";

import { app } from "./app.mjs";
import { port, requireSettings, requireToken } from "./settings.mjs";

requireToken(process.env);
await requireSettings(process.env);
Deno.serve({ hostname: "127.0.0.1", port: port(process.env), onListen: () => {} }, withTwilioWebhook(app));
