// The README's table of differences from twilio-node, row by row, against twilio-node 6.3.1 itself (a
// dev dependency): where they differ, both answers are asserted; where they agree, that they do.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { cjs as ours, require } from "./support.mjs";

const node = require("twilio");
const TOKEN = "12345";
const URL_ = "https://mycompany.com/myapp.php?foo=1&bar=2";

describe("differences from twilio-node 6.3.1", () => {
  it("is twilio-node 6.3.1", () => assert.equal(require("twilio/package.json").version, "6.3.1"));

  it("a URL new URL() cannot parse: twilio-node throws, the drop-in answers false", () => {
    for (const url of ["not a url", "http://[::1"]) {
      assert.throws(() => node.validateRequest(TOKEN, "x", url, {}), TypeError);
      assert.equal(ours.validateRequest(TOKEN, "x", url, {}), false);
    }
  });

  it("keys that differ past U+FFFF: UTF-16 order against byte order", () => {
    const params = { "\uFF21": "a", "\u{1F600}": "b" };
    const theirs = node.getExpectedTwilioSignature(TOKEN, URL_, params);
    const mine = ours.getExpectedTwilioSignature(TOKEN, URL_, params);
    assert.notEqual(theirs, mine);
    assert.equal(node.validateRequest(TOKEN, theirs, URL_, params), true);
    assert.equal(ours.validateRequest(TOKEN, theirs, URL_, params), false);
    assert.equal(ours.validateRequest(TOKEN, mine, URL_, params), true);
  });

  it("wss with its default port 443", () => {
    const at443 = node.getExpectedTwilioSignature(TOKEN, "wss://example.com:443/ws", {});
    const at80 = node.getExpectedTwilioSignature(TOKEN, "wss://example.com:80/ws", {});
    assert.deepEqual([node.validateRequest(TOKEN, at443, "wss://example.com/ws", {}), ours.validateRequest(TOKEN, at443, "wss://example.com/ws", {})], [false, true]);
    assert.deepEqual([node.validateRequest(TOKEN, at80, "wss://example.com/ws", {}), ours.validateRequest(TOKEN, at80, "wss://example.com/ws", {})], [true, false]);
  });

  it("a bodySHA256 URL given {} instead of its body", () => {
    const hashed = `${URL_}&bodySHA256=${node.getExpectedBodyHash('{"a":1}')}`;
    const signature = node.getExpectedTwilioSignature(TOKEN, hashed, {});
    assert.deepEqual([node.validateRequest(TOKEN, signature, hashed, {}), ours.validateRequest(TOKEN, signature, hashed, {})], [true, false]);
    assert.equal(ours.validateRequestWithBody(TOKEN, signature, hashed, '{"a":1}'), true);
  });

  it("validateRequestWithBody without bodySHA256: an empty body is a form", () => {
    const signature = node.getExpectedTwilioSignature(TOKEN, URL_, {});
    assert.deepEqual([node.validateRequestWithBody(TOKEN, signature, URL_, ""), ours.validateRequestWithBody(TOKEN, signature, URL_, "")], [false, true]);
    assert.deepEqual([node.validateRequestWithBody(TOKEN, signature, URL_, "{}"), ours.validateRequestWithBody(TOKEN, signature, URL_, "{}")], [false, false]);
  });

  it("an empty token", () => {
    const signature = node.getExpectedTwilioSignature("", URL_, {});
    assert.deepEqual([node.validateRequest("", signature, URL_, {}), ours.validateRequest("", signature, URL_, {})], [true, false]);
  });

  it("the query re-encoded: both accept it", () => {
    const signature = node.getExpectedTwilioSignature(TOKEN, "https://example.com/path?test=param'WithQuote", {});
    for (const lib of [node, ours]) assert.equal(lib.validateRequest(TOKEN, signature, "https://example.com/path?test=param%27WithQuote", {}), true);
    assert.equal(new ours.Validator({ authTokens: TOKEN }).verify({ url: "https://example.com/path?test=param%27WithQuote", params: {}, signature }).valid, false);
  });

  it("validateExpressRequest on a form replayed with another method, or a charset other than UTF-8", () => {
    const params = { From: "+15551234567", Body: "hello" };
    const signature = node.getExpectedTwilioSignature(TOKEN, "https://example.com/sms", params);
    const request = (method, contentType) => ({
      method,
      protocol: "https",
      headers: { host: "example.com", "x-twilio-signature": signature, "content-type": contentType },
      header: (name) => (name.toLowerCase() === "x-twilio-signature" ? signature : undefined),
      originalUrl: "/sms",
      body: { ...params },
    });
    const form = "application/x-www-form-urlencoded";
    for (const [method, contentType] of [["DELETE", form], ["GET", form], ["POST", `${form}; charset=utf-7`]]) {
      const what = `${method} ${contentType}`;
      assert.deepEqual([node.validateExpressRequest(request(method, contentType), TOKEN), ours.validateExpressRequest(request(method, contentType), TOKEN)], [true, false], what);
    }
    assert.deepEqual([node.validateExpressRequest(request("POST", form), TOKEN), ours.validateExpressRequest(request("POST", form), TOKEN)], [true, true]);
  });

  it("validateExpressRequest with the app's trust proxy: the Host header against the host the app reads", () => {
    const params = { Body: "hello" };
    const signedFor = (host) => node.getExpectedTwilioSignature(TOKEN, `https://${host}/sms`, params);
    // What Express gives the app behind `app.set("trust proxy", true)`: req.hostname from X-Forwarded-Host.
    const request = (signature) => ({
      method: "POST",
      protocol: "https",
      hostname: "victim.example.com",
      app: { get: (setting) => (setting === "trust proxy fn" ? () => true : undefined) },
      socket: { remoteAddress: "127.0.0.1" },
      headers: { host: "acme.example.com", "x-forwarded-host": "victim.example.com", "x-twilio-signature": signature },
      header: (name) => (name.toLowerCase() === "x-twilio-signature" ? signature : undefined),
      originalUrl: "/sms",
      body: { ...params },
    });
    const forAcme = request(signedFor("acme.example.com"));
    const forVictim = request(signedFor("victim.example.com"));
    assert.deepEqual([node.validateExpressRequest(forAcme, TOKEN), ours.validateExpressRequest(forAcme, TOKEN)], [true, false]);
    assert.deepEqual([node.validateExpressRequest(forVictim, TOKEN), ours.validateExpressRequest(forVictim, TOKEN)], [false, true]);
  });

  it("getExpectedTwilioSignature signs the URL as given, as twilio-node does", () => {
    for (const url of ["https://Example.com:443/a b?x=1&y=O'Brien#frag", "https://example.com/sms?q=%7e", "http://user:pw@EXAMPLE.com:80/x/../y"]) {
      assert.equal(ours.getExpectedTwilioSignature(TOKEN, url, { B: "2", A: ["1", "3"] }), node.getExpectedTwilioSignature(TOKEN, url, { B: "2", A: ["1", "3"] }));
    }
  });
});
