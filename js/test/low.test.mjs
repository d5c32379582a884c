// Issue 28's JS LOW items: every "never throws" promise fuzzed (split surrogates once threw), a body
// past what WebAssembly can hold refused instead of trapping, express.raw() before webhook(), a Hono
// body read before the middleware, and an app's own error behind toNodeListener.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import express from "express";
import { Hono } from "hono";

import { send, serve } from "./servers.mjs";
import { esm as ours, require } from "./support.mjs";

const twilioNode = require("twilio");
const TOKEN = "low-token";

/** A small seeded generator: the same inputs on every run. */
function random(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Text made of the units that break things: halves of surrogate pairs, pairs, BOMs, NUL, ASCII. */
function text(rand, max = 6) {
  const units = ["\uD83D", "\uDE00", "\uD83D\uDE00", "\uFEFF", "\u0000", "a", "=", "&", "%", "é", "\uFFFF", "\uDBFF", "\uDC00"];
  let out = "";
  const n = Math.floor(rand() * max);
  for (let i = 0; i < n; i++) out += units[Math.floor(rand() * units.length)];
  return out;
}

describe("every never-throws promise, fuzzed", () => {
  const rand = random(28);
  const validator = new ours.Validator({ authTokens: TOKEN, sharedKeys: { KS1: "shared" } });
  const inputs = Array.from({ length: 3000 }, () => {
    const params = {};
    for (let i = 0, n = Math.floor(rand() * 4); i < n; i++) params[text(rand)] = rand() < 0.2 ? [text(rand), text(rand)] : text(rand);
    return { url: `https://example.com/${text(rand)}?${text(rand)}`, params, signature: text(rand, 30), body: text(rand, 20) };
  });

  it("split surrogates at the joins of keys and values are verified, never thrown", () => {
    // A key that ends in half a pair, a value that starts with the other half.
    const params = { "a\uD83D": "\uDE00b", c: "\uD83D" };
    const url = "https://example.com/sms";
    const signature = ours.getExpectedTwilioSignature(TOKEN, url, params);
    assert.notEqual(signature, "");
    assert.equal(validator.verify({ url, params, signature }).valid, true);
    assert.equal(ours.validateRequest(TOKEN, signature, url, params), true);
    // The halves are what TextEncoder writes for them, U+FFFD, each on its own side of the join.
    assert.equal(signature, twilioNode.getExpectedTwilioSignature(TOKEN, url, { "a\uFFFD": "\uFFFDb", c: "\uFFFD" }));
  });

  it("Validator.verify, getExpectedTwilioSignature and the validate functions never throw", () => {
    for (const { url, params, signature, body } of inputs) {
      const what = JSON.stringify({ url, params, signature, body });
      assert.doesNotThrow(() => validator.verify({ url, params, signature }), what);
      assert.doesNotThrow(() => validator.verify({ url, body, signature, contentType: "application/x-www-form-urlencoded" }), what);
      assert.doesNotThrow(() => validator.verify({ url, params, headers: { "x-twilio-signature": signature, "x-twilio-webhooks-signature-settings": `key=KS1,algorithm=${text(rand)}` } }), what);
      assert.doesNotThrow(() => ours.getExpectedTwilioSignature(TOKEN, url, params), what);
      assert.doesNotThrow(() => ours.getExpectedTwilioSignature(TOKEN, url, params, "HMAC_SHA256"), what);
      assert.doesNotThrow(() => ours.validateRequest(TOKEN, signature, url, params, rand() < 0.5 ? "HMAC_SHA256" : undefined), what);
      assert.doesNotThrow(() => ours.validateRequestWithBody(TOKEN, signature, url, body), what);
      assert.doesNotThrow(() => ours.validateBody(body, signature), what);
      assert.doesNotThrow(() => ours.getSignatureAlgorithm(body), what);
      const request = { protocol: "https", headers: { host: text(rand), "x-twilio-signature": signature }, originalUrl: `/${text(rand)}`, body: params };
      assert.doesNotThrow(() => ours.validateIncomingRequest(request, TOKEN), what);
    }
  });

  it("what it signs, it verifies: one view of every string", () => {
    for (const { url, params } of inputs.slice(0, 500)) {
      const signature = ours.getExpectedTwilioSignature(TOKEN, url, params);
      assert.equal(validator.verify({ url, params, signature }).valid, !url.includes("bodySHA256"), JSON.stringify({ url, params }));
    }
  });
});

describe("a body past what WebAssembly holds", () => {
  it("is refused, not trapped on (2 GiB and more)", () => {
    // Zero pages the system commits only when written: nothing here writes them.
    const huge = new Uint8Array(2 ** 31 + 16);
    const validator = new ours.Validator({ authTokens: TOKEN });
    assert.equal(validator.verify({ url: "https://example.com/hook?bodySHA256=00", body: huge, signature: "x" }).reason, "malformed_body");
    assert.equal(ours.validateRequestWithBody(TOKEN, "x", "https://example.com/hook?bodySHA256=00", huge), false);
    assert.equal(ours.validateBody(huge, "00"), false);
    // The module still answers afterwards.
    const url = "https://example.com/sms";
    assert.equal(ours.validateRequest(TOKEN, ours.getExpectedTwilioSignature(TOKEN, url, { a: "b" }), url, { a: "b" }), true);
  });

  it("a body limit the module cannot hold is a configuration mistake", async () => {
    assert.throws(() => ours.webhook(TOKEN, { bodyLimit: 2 ** 32 }), RangeError);
    await assert.rejects(ours.verifyRequest(new Request("http://x/", { method: "POST" }), { authToken: TOKEN, bodyLimit: 2 ** 32 }), RangeError);
  });
});

describe("express.raw() before webhook()", () => {
  let server;
  before(async () => {
    const app = express();
    app.post("/events", express.raw({ type: "*/*" }), ours.webhook(TOKEN, { logger: { warn() {} } }), (req, res) =>
      res.send(`ran ${Buffer.isBuffer(req.body) ? req.body.toString() : typeof req.body}`),
    );
    server = await serve(app);
  });
  after(() => server.close());

  it("verifies the Buffer it left as the raw body: form and JSON webhooks pass, tampered ones do not", async () => {
    const host = `127.0.0.1:${server.port}`;
    const form = new URLSearchParams({ From: "+1", Body: "hi" }).toString();
    const formSig = twilioNode.getExpectedTwilioSignature(TOKEN, `http://${host}/events`, { From: "+1", Body: "hi" });
    const ok = await send(server.port, { path: "/events", host, headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": formSig }, body: form });
    assert.deepEqual([ok.status, ok.body], [200, `ran ${form}`]);
    const json = '{"a":1}';
    const path = `/events?bodySHA256=${twilioNode.getExpectedBodyHash(json)}`;
    const jsonSig = twilioNode.getExpectedTwilioSignature(TOKEN, `http://${host}${path}`, {});
    const headers = { "Content-Type": "application/json", "X-Twilio-Signature": jsonSig };
    const good = await send(server.port, { path, host, headers, body: json });
    assert.deepEqual([good.status, good.body], [200, `ran ${json}`]);
    const bad = await send(server.port, { path, host, headers, body: '{"a":2}' });
    assert.equal(bad.status, 403);
  });
});

describe("a Hono body read before the middleware", () => {
  it("is answered 500 with a clear reason, in the response and the log", async () => {
    const lines = [];
    const app = new Hono();
    app.use("/sms", async (c, next) => {
      await c.req.text();
      await next();
    });
    app.use("/sms", ours.twilioWebhook({ authToken: TOKEN, logger: { warn: (l) => lines.push(l) } }));
    app.post("/sms", (c) => c.text("ran"));
    const res = await app.fetch(new Request("http://example.com/sms", { method: "POST", headers: { "x-twilio-signature": "x" }, body: "a=b" }));
    assert.equal(res.status, 500);
    assert.equal(await res.text(), "Twilio webhook: the request body was read before it was verified\n");
    assert.match(lines.join("\n"), /already read before the middleware/);
  });
});

describe("toNodeListener and the app's own errors", () => {
  let server;
  before(async () => {
    server = await serve(
      ours.toNodeListener(async (request) => {
        if (new URL(request.url).pathname === "/boom") throw new Error("the app failed");
        return new Response("fine");
      }),
    );
  });
  after(() => server.close());

  it("answers an error the handler throws with 500, not an empty 400", async (t) => {
    t.mock.method(console, "error", () => {});
    const res = await send(server.port, { method: "GET", path: "/boom", host: "example.com" });
    assert.equal(res.status, 500);
    const fine = await send(server.port, { method: "GET", path: "/", host: "example.com" });
    assert.deepEqual([fine.status, fine.body], [200, "fine"]);
  });
});
