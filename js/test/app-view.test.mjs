// Issue 28 finding 8: what the app sees is what was verified. Against a real Express server: form keys
// that an object's prototype has (`constructor`, `toString`, `__proto__`) reach the app as the signed
// text, a leading BOM stays part of the first key, and parsed values that are not text (a JSON
// parser's `true`) are not the form parameters they would be signed as.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import express from "express";

import { send, serve } from "./servers.mjs";
import { esm as ours, require } from "./support.mjs";

const twilioNode = require("twilio");
const TOKEN = "view-token";

/** The request Twilio would send to `path` with these form pairs (a key may repeat). */
function form(port, path, pairs) {
  const body = pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
  const params = {};
  for (const [k, v] of pairs) Object.defineProperty(params, k, { value: k in params && Object.hasOwn(params, k) ? [].concat(params[k], v) : v, enumerable: true, configurable: true, writable: true });
  const signature = twilioNode.getExpectedTwilioSignature(TOKEN, `http://127.0.0.1:${port}${path}`, params);
  return { path, host: `127.0.0.1:${port}`, headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature }, body };
}

/** What the app saw: each key with the type and value of what it holds, and the object's prototype. */
function describeBody(body) {
  const keys = Object.keys(body);
  return {
    nullPrototype: Object.getPrototypeOf(body) === null,
    entries: keys.map((k) => [k, typeof body[k], Array.isArray(body[k]) ? body[k] : String(body[k])]),
  };
}

describe("webhook() before the body parsers: the app's req.body", () => {
  let server;
  before(async () => {
    const app = express();
    app.post("/sms", ours.webhook(TOKEN, { logger: { warn() {} } }), (req, res) => res.json(describeBody(req.body)));
    server = await serve(app);
  });
  after(() => server.close());

  it("holds keys named after Object.prototype's members as the signed text", async () => {
    const pairs = [["constructor", "c"], ["toString", "t"], ["hasOwnProperty", "h"], ["From", "+1"]];
    const res = await send(server.port, form(server.port, "/sms", pairs));
    assert.equal(res.status, 200, res.body);
    const seen = JSON.parse(res.body);
    assert.equal(seen.nullPrototype, true);
    assert.deepEqual(seen.entries, pairs.map(([k, v]) => [k, "string", v]));
  });

  it("refuses __proto__ as a key: no name Twilio writes starts with `_` (the core's form rules)", async () => {
    const res = await send(server.port, form(server.port, "/sms", [["__proto__", "p"], ["From", "+1"]]));
    // Sixth outside attack (A5-F12): a key not written as Twilio writes its names is `ambiguous_form`,
    // so such a key never reaches req.body (which is a null-prototype object in any case).
    assert.equal(res.status, 400, res.body);
    assert.match(res.body, /ambiguous_form/);
  });

  it("refuses a leading BOM in the first key, encoded or raw", async () => {
    const request = form(server.port, "/sms", [["\uFEFFTo", "x"], ["From", "+1"]]);
    // The BOM percent-encoded, as Twilio encodes every byte that is not ASCII: no Twilio name is
    // escaped, so the core refuses it (`ambiguous_form`).
    request.body = `%EF%BB%BFTo=x&From=%2B1`;
    const res = await send(server.port, request);
    assert.equal(res.status, 400, res.body);
    assert.match(res.body, /ambiguous_form/);
    // As raw bytes it is refused before any HMAC (fourth outside attack: a raw byte that is not ASCII
    // is read as latin-1 by Starlette, so the app could read other text than was verified).
    request.body = `\uFEFFTo=x&From=%2B1`;
    const raw = await send(server.port, request);
    assert.equal(raw.status, 403, raw.body);
  });
});

describe("the decoded-parameters fallback refuses values that are not text", () => {
  let server;
  const ran = [];
  before(async () => {
    const app = express();
    // A JSON parser that takes a form's Content-Type: its `req.body` can hold values that are not text
    // under the Content-Type of a form (a JSON body sent as JSON is no form at all: see below).
    const parser = express.json({ type: "application/x-www-form-urlencoded" });
    app.post("/after-json", parser, ours.webhook(TOKEN, { logger: { warn() {} } }), (req, res) => {
      ran.push(req.body);
      res.send("ran");
    });
    app.post("/drop-in", parser, (req, res) => {
      if (!ours.validateExpressRequest(req, TOKEN)) return res.status(403).send("refused");
      ran.push(req.body);
      res.send("ran");
    });
    server = await serve(app);
  });
  after(() => server.close());

  for (const path of ["/after-json", "/drop-in"]) {
    it(`${path}: {"Flag": true} is not the signed form Flag=true`, async () => {
      // The forms Flag=true and Flag=1, signed, replayed as JSON whose values are a boolean and a number.
      for (const [value, body] of [["true", '{"Flag":true}'], ["1", '{"Flag":1}']]) {
        const signature = twilioNode.getExpectedTwilioSignature(TOKEN, `http://127.0.0.1:${server.port}${path}`, { Flag: value });
        const headers = { "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature };
        const seen = await send(server.port, { path, host: `127.0.0.1:${server.port}`, headers, body });
        assert.equal(seen.status, 403, `${body}: ${seen.body}`);
      }
      assert.deepEqual(ran, []);
      // The same request with text values is the signed form, and passes.
      const signature = twilioNode.getExpectedTwilioSignature(TOKEN, `http://127.0.0.1:${server.port}${path}`, { Flag: "true" });
      const headers = { "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature };
      const text = await send(server.port, { path, host: `127.0.0.1:${server.port}`, headers, body: '{"Flag":"true"}' });
      assert.equal(text.status, 200, text.body);
      ran.length = 0;
    });
  }
});

describe("the drop-in's pure functions refuse values that are not text", () => {
  it("validateRequest and Validator.verify", () => {
    const url = "https://example.com/sms";
    const signature = twilioNode.getExpectedTwilioSignature(TOKEN, url, { Flag: "true" });
    assert.equal(ours.validateRequest(TOKEN, signature, url, { Flag: "true" }), true);
    assert.equal(ours.validateRequest(TOKEN, signature, url, { Flag: true }), false);
    const validator = new ours.Validator({ authTokens: TOKEN });
    assert.equal(validator.verify({ url, params: { Flag: "true" }, signature }).valid, true);
    assert.deepEqual(validator.verify({ url, params: { Flag: true }, signature }).reason, "malformed_body");
  });
});
