// Issue 28 finding 5: a `Host` that is not a host must never move the path a signature is checked for.
// `Host: host/voice#` on a request to `/sms` once gave the URL `http://host/voice#/sms`, whose fragment
// the core cut: a request Twilio signed for `/voice` ran the `/sms` handler. Every URL is now the
// core's (spec §4.5), so such a request is refused. Each attack goes to a real server over TCP.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import express from "express";

import { send, serve } from "./servers.mjs";
import { esm as ours, require } from "./support.mjs";

const twilioNode = require("twilio");
const TOKEN = "host-token";
const PARAMS = { From: "+15551234567", Body: "hello" };
const FORM = new URLSearchParams(PARAMS).toString();
/** Twilio's signature for `/voice` on `host`: the one request an attacker has captured. */
const VOICE = twilioNode.getExpectedTwilioSignature(TOKEN, "http://host/voice", PARAMS);
const headers = { "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": VOICE };

/** The Host spellings that smuggle a path, a query or a fragment into the authority. */
const BAD_HOSTS = ["host/voice#", "host/voice?", "host/voice", "host/voice#x", "host/voice;", "host\\voice#"];

describe("a Host that is not a host, against the drop-in on Express", () => {
  let server;
  const ran = [];
  before(async () => {
    const app = express();
    app.post("/sms-express", express.urlencoded({ extended: false }), (req, res) => {
      if (!ours.validateExpressRequest(req, TOKEN)) return res.status(403).send("refused");
      ran.push(req.originalUrl);
      res.send("sms ran");
    });
    app.post("/sms-incoming", express.urlencoded({ extended: false }), (req, res) => {
      if (!ours.validateIncomingRequest(req, TOKEN, { protocol: "http" })) return res.status(403).send("refused");
      ran.push(req.originalUrl);
      res.send("sms ran");
    });
    app.post("/sms-webhook", ours.webhook(TOKEN, { logger: { warn() {} } }), (req, res) => {
      ran.push(req.originalUrl);
      res.send("sms ran");
    });
    app.post("/voice", express.urlencoded({ extended: false }), (req, res) =>
      res.status(ours.validateExpressRequest(req, TOKEN) ? 200 : 403).send("voice"),
    );
    server = await serve(app);
  });
  after(() => server.close());

  it("accepts the genuine request, on the path it was signed for", async () => {
    const res = await send(server.port, { path: "/voice", host: "host", headers, body: FORM });
    assert.equal(res.status, 200);
  });

  for (const route of ["/sms-express", "/sms-incoming", "/sms-webhook"]) {
    it(`refuses ${route} reached with a Host that carries /voice`, async () => {
      for (const host of BAD_HOSTS) {
        const res = await send(server.port, { path: route, host, headers, body: FORM });
        assert.ok([400, 403].includes(res.status), `${route} with Host ${host}: ${res.status} ${res.body}`);
      }
      assert.deepEqual(ran, [], "no handler ran");
    });
  }
});

describe("a Host that is not a host, against toNodeListener and withTwilioWebhook", () => {
  let server;
  const ran = [];
  before(async () => {
    const handler = ours.withTwilioWebhook(
      async (request) => {
        ran.push(request.url);
        return new Response(`ran ${new URL(request.url).pathname}`);
      },
      { authToken: TOKEN, logger: { warn() {} } },
    );
    server = await serve(ours.toNodeListener(handler));
  });
  after(() => server.close());

  it("accepts the genuine request", async () => {
    const res = await send(server.port, { path: "/voice", host: "host", headers, body: FORM });
    assert.deepEqual([res.status, res.body], [200, "ran /voice"]);
    ran.length = 0;
  });

  it("answers 400 bad_host to a request for /sms whose Host carries /voice", async () => {
    for (const host of BAD_HOSTS) {
      const res = await send(server.port, { path: "/sms", host, headers, body: FORM });
      assert.deepEqual([res.status, res.body], [400, "Twilio webhook rejected: bad_host\n"], `Host ${host}`);
    }
    assert.deepEqual(ran, [], "the handler never ran");
  });
});

describe("the drop-in's URL is the core's", () => {
  const request = (host, extra = {}) => ({
    protocol: "http",
    headers: { host, "x-twilio-signature": VOICE },
    header: (name) => (name.toLowerCase() === "x-twilio-signature" ? VOICE : undefined),
    originalUrl: "/sms",
    body: { ...PARAMS },
    ...extra,
  });

  it("is false for every Host that is not a host, and for a configured host that is not one", () => {
    for (const host of BAD_HOSTS) assert.equal(ours.validateExpressRequest(request(host), TOKEN), false, host);
    assert.equal(ours.validateIncomingRequest(request("host"), TOKEN, { host: "host/voice#" }), false);
  });

  it("still takes the configured url as it is, as twilio-node does", () => {
    assert.equal(ours.validateIncomingRequest(request("elsewhere"), TOKEN, { url: "http://host/voice" }), true);
    assert.equal(ours.validateExpressRequest(request("host", { originalUrl: "/voice" }), TOKEN), true);
  });
});
