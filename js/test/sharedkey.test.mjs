// Issue 28 finding 9: twilio-node 6.3's SharedKey API, exactly, checked against twilio-node's own
// implementation (the dev dependency): the constants, getSignatureAlgorithm, the `algorithm` argument of
// every validation function, and webhook({ sharedKeySecret }) on a real Express server beside
// twilio-node's own middleware on another, answering the same requests with the same statuses and texts.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import express from "express";

import { send, serve } from "./servers.mjs";
import { cjs, esm as ours, require } from "./support.mjs";

const twilioNode = require("twilio");
const TOKEN = "auth-token-secret";
const SECRET = "shared-key-secret";
const PARAMS = { From: "+15551234567", Body: "héllo 👋", MediaUrl: ["b", "a"] };
const ALGORITHMS = [undefined, null, "", "HMAC_SHA1", "HMAC_SHA256", "hmac_sha256", "Hmac_Sha1"];
const UNSUPPORTED = ["HMAC_SHA512", "HMAC-SHA256", "none", " HMAC_SHA256"];

describe("the SharedKey API, beside twilio-node's", () => {
  it("exports the same constants, from both builds and the default object", () => {
    for (const name of ["SIGNATURE_HEADER", "SIGNATURE_SETTINGS_HEADER", "HMAC_SHA1", "HMAC_SHA256"]) {
      assert.equal(ours[name], twilioNode[name], name);
      assert.equal(cjs[name], twilioNode[name], name);
      assert.equal(ours.default[name], twilioNode[name], name);
    }
    assert.equal(typeof ours.default.getSignatureAlgorithm, "function");
  });

  it("getSignatureAlgorithm reads every header as twilio-node does", () => {
    const headers = [
      undefined, null, "", "key=KS1", "key=KS1,algorithm=HMAC_SHA256", "algorithm=HMAC_SHA256,key=KS1",
      " algorithm = hmac_sha256 ,key=KS1", "algorithm=,algorithm=HMAC_SHA256", "Algorithm=HMAC_SHA256",
      "algorithm=HMAC_SHA512", "algorithm", "algorithm==x", "a=b,algorithm=HMAC_SHA1,algorithm=HMAC_SHA256",
      "algorithm=\uD800", ",,,",
    ];
    for (const header of headers) assert.equal(ours.getSignatureAlgorithm(header), twilioNode.getSignatureAlgorithm(header), String(header));
  });

  it("getExpectedTwilioSignature signs with every algorithm as twilio-node does, and throws as it does", () => {
    const url = "https://example.com/sms?x=1";
    for (const algorithm of ALGORITHMS) {
      for (const secret of [TOKEN, SECRET]) {
        assert.equal(
          ours.getExpectedTwilioSignature(secret, url, PARAMS, algorithm),
          twilioNode.getExpectedTwilioSignature(secret, url, PARAMS, algorithm),
          String(algorithm),
        );
      }
    }
    for (const algorithm of UNSUPPORTED) {
      assert.throws(() => twilioNode.getExpectedTwilioSignature(TOKEN, url, PARAMS, algorithm), { message: `Unsupported webhook signature algorithm: ${algorithm}` });
      assert.throws(() => ours.getExpectedTwilioSignature(TOKEN, url, PARAMS, algorithm), { message: `Unsupported webhook signature algorithm: ${algorithm}` });
    }
  });

  it("validateRequest, validateRequestWithBody and validateIncomingRequest take the algorithm as twilio-node does", (t) => {
    const warnings = [];
    t.mock.method(console, "warn", (line) => warnings.push(line));
    const url = "https://example.com/sms";
    const body = '{"a":1}';
    const bodyUrl = `${url}?bodySHA256=${twilioNode.getExpectedBodyHash(body)}`;
    for (const signedWith of ["HMAC_SHA1", "HMAC_SHA256"]) {
      const signature = twilioNode.getExpectedTwilioSignature(SECRET, url, PARAMS, signedWith);
      const bodySignature = twilioNode.getExpectedTwilioSignature(SECRET, bodyUrl, {}, signedWith);
      for (const algorithm of [...ALGORITHMS, ...UNSUPPORTED]) {
        const what = `signed ${signedWith}, checked ${algorithm}`;
        for (const secret of [SECRET, TOKEN]) {
          assert.equal(ours.validateRequest(secret, signature, url, PARAMS, algorithm), twilioNode.validateRequest(secret, signature, url, PARAMS, algorithm), what);
          assert.equal(
            ours.validateRequestWithBody(secret, bodySignature, bodyUrl, body, algorithm),
            twilioNode.validateRequestWithBody(secret, bodySignature, bodyUrl, body, algorithm),
            what,
          );
          const request = {
            protocol: "https",
            headers: { host: "example.com", "x-twilio-signature": signature },
            header: (name) => (name.toLowerCase() === "x-twilio-signature" ? signature : undefined),
            originalUrl: "/sms",
            body: PARAMS,
          };
          assert.equal(
            ours.validateIncomingRequest(request, secret, { algorithm }),
            twilioNode.validateIncomingRequest(request, secret, { algorithm }),
            what,
          );
          assert.equal(ours.validateExpressRequest(request, secret, { algorithm }), twilioNode.validateExpressRequest(request, secret, { algorithm }), what);
        }
      }
    }
    // The same warning for an unsupported algorithm, word for word.
    const theirs = warnings.filter((_, i) => i % 2 === 1);
    const mine = warnings.filter((_, i) => i % 2 === 0);
    assert.ok(warnings.length > 0);
    assert.deepEqual(mine.slice(0, theirs.length), theirs.slice(0, mine.length));
  });
});

describe("webhook({ sharedKeySecret }) on Express, beside twilio-node's webhook()", () => {
  let mine;
  let theirs;
  before(async () => {
    const app = (middleware, parsersFirst) => {
      const a = express();
      if (parsersFirst) a.use(express.urlencoded({ extended: false }));
      a.post("/sms", middleware, (req, res) => res.type("text/plain").send(`ran ${req.body.From}`));
      return a;
    };
    mine = await serve(app(ours.webhook(TOKEN, { sharedKeySecret: SECRET, logger: { warn() {} } }), false));
    theirs = await serve(app(twilioNode.webhook(TOKEN, { sharedKeySecret: SECRET }), true));
  });
  after(() => Promise.all([mine.close(), theirs.close()]));

  /** One request to both servers, signed for the server it goes to. */
  async function both(sign, settings) {
    const out = [];
    for (const server of [mine, theirs]) {
      const url = `http://127.0.0.1:${server.port}/sms`;
      const headers = { "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sign(url) };
      if (settings !== undefined) headers["X-Twilio-Webhooks-Signature-Settings"] = settings;
      const res = await send(server.port, { path: "/sms", host: `127.0.0.1:${server.port}`, headers, body: new URLSearchParams({ From: "+1555" }).toString() });
      out.push([res.status, res.body]);
    }
    return out;
  }

  const form = { From: "+1555" };
  const cases = [
    ["a SharedKey HMAC_SHA256 webhook", (u) => twilioNode.getExpectedTwilioSignature(SECRET, u, form, "HMAC_SHA256"), "key=KS1,algorithm=HMAC_SHA256", 200],
    ["a SharedKey webhook that names no algorithm", (u) => twilioNode.getExpectedTwilioSignature(SECRET, u, form), "key=KS1", 200],
    ["a SharedKey webhook, lowercase algorithm", (u) => twilioNode.getExpectedTwilioSignature(SECRET, u, form, "HMAC_SHA256"), "algorithm=hmac_sha256", 200],
    ["an Auth Token webhook", (u) => twilioNode.getExpectedTwilioSignature(TOKEN, u, form), undefined, 200],
    ["an Auth Token signature under a settings header", (u) => twilioNode.getExpectedTwilioSignature(TOKEN, u, form, "HMAC_SHA256"), "key=KS1,algorithm=HMAC_SHA256", 403],
    ["a SharedKey signature without the header", (u) => twilioNode.getExpectedTwilioSignature(SECRET, u, form, "HMAC_SHA256"), undefined, 403],
    ["an SHA1 signature claimed as SHA256", (u) => twilioNode.getExpectedTwilioSignature(SECRET, u, form), "key=KS1,algorithm=HMAC_SHA256", 403],
    ["an unsupported algorithm", (u) => twilioNode.getExpectedTwilioSignature(SECRET, u, form), "key=KS1,algorithm=HMAC_SHA512", 403],
    ["an empty settings header", (u) => twilioNode.getExpectedTwilioSignature(TOKEN, u, form), "", 200],
  ];
  for (const [what, sign, settings, status] of cases) {
    it(`answers ${what} as twilio-node does (${status})`, async (t) => {
      t.mock.method(console, "warn", () => {});
      const [ours_, theirs_] = await both(sign, settings);
      assert.deepEqual(ours_, theirs_);
      assert.equal(ours_[0], status);
    });
  }

  it("answers 500 as twilio-node does when the secret a request needs is not configured", async (t) => {
    t.mock.method(console, "error", () => {});
    const withoutKey = await serve(express().post("/sms", ours.webhook(TOKEN), (req, res) => res.send("ran")));
    const theirsWithoutKey = await serve(express().use(express.urlencoded({ extended: false })).post("/sms", twilioNode.webhook(TOKEN), (req, res) => res.send("ran")));
    try {
      const answers = [];
      for (const server of [withoutKey, theirsWithoutKey]) {
        const headers = { "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x", "X-Twilio-Webhooks-Signature-Settings": "key=KS1,algorithm=HMAC_SHA256" };
        const res = await send(server.port, { path: "/sms", host: "example.com", headers, body: "From=x" });
        answers.push([res.status, res.body]);
      }
      assert.deepEqual(answers[0], answers[1]);
      assert.equal(answers[0][0], 500);
    } finally {
      await Promise.all([withoutKey.close(), theirsWithoutKey.close()]);
    }
  });
});
