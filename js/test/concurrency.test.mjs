// Issue 28 finding 7: no state shared across an `await`. 1,000 genuine requests at once, against real
// servers, each body arriving in two pieces while the others wait on theirs: every one is verified with
// its own headers (the packed headers were once a module-wide buffer, refilled by the next request
// while one awaited its body), and no verifier is freed while a request holds it (webhook() once kept
// eight verifiers by Host and freed the one evicted: 500).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import express from "express";
import { Hono } from "hono";

import { sendInPieces, serve } from "./servers.mjs";
import { esm as ours, require } from "./support.mjs";

const twilioNode = require("twilio");
const TOKEN = "concurrency-token";
const N = 1000;
/** More Hosts than webhook() once kept verifiers for. */
const HOSTS = 24;

/** Request `i`: its own Host, path, query and parameters, signed by Twilio for exactly them. */
function genuine(i, route) {
  const host = `h${i % HOSTS}.example:8080`;
  const path = `${route}?n=${i}`;
  const params = { From: `+1555${String(i).padStart(7, "0")}`, Body: `message ${i} ${"x".repeat(i % 97)}`, N: String(i) };
  const signature = twilioNode.getExpectedTwilioSignature(TOKEN, `http://${host}${path}`, params);
  return {
    path,
    host,
    headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature },
    body: new URLSearchParams(params).toString(),
  };
}

/** Every request answered 200 with its own number. */
function assertAllVerified(answers) {
  const wrong = answers
    .map((a, i) => ({ i, status: a.status, body: a.body }))
    .filter(({ i, status, body }) => status !== 200 || body !== `ok ${i}`);
  assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} of ${answers.length} requests were not verified as themselves`);
}

describe(`${N} concurrent genuine requests, bodies in pieces`, () => {
  const servers = [];
  after(() => Promise.all(servers.map((s) => s.close())));

  it("webhook() on Express verifies each with its own headers", async () => {
    const app = express();
    app.post("/sms", ours.webhook(TOKEN, { logger: { warn() {} } }), (req, res) => res.send(`ok ${req.body.N}`));
    const server = await serve(app);
    servers.push(server);
    assertAllVerified(await sendInPieces(server.port, Array.from({ length: N }, (_, i) => genuine(i, "/sms"))));
  });

  it("withTwilioWebhook (verifyRequest) behind toNodeListener verifies each with its own headers", async () => {
    const handler = ours.withTwilioWebhook(async (request) => new Response(`ok ${new URLSearchParams(await request.text()).get("N")}`), {
      authToken: TOKEN,
      logger: { warn() {} },
    });
    const server = await serve(ours.toNodeListener(handler));
    servers.push(server);
    assertAllVerified(await sendInPieces(server.port, Array.from({ length: N }, (_, i) => genuine(i, "/sms"))));
  });

  it("the Hono middleware verifies each with its own headers", async () => {
    const app = new Hono();
    app.use("/sms", ours.twilioWebhook({ authToken: TOKEN, logger: { warn() {} } }));
    app.post("/sms", async (c) => c.text(`ok ${(await c.req.parseBody()).N}`));
    const server = await serve(ours.toNodeListener((request) => app.fetch(request)));
    servers.push(server);
    assertAllVerified(await sendInPieces(server.port, Array.from({ length: N }, (_, i) => genuine(i, "/sms"))));
  });
});
