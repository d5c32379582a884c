// Issue 28, "Trust, round two", F20: twilio-node's validateExpressRequest / validateIncomingRequest
// are handed a request a server received, so the core's rules on its shape apply to them as to every
// adapter: GET or POST only, a body on POST alone, no charset but UTF-8, no raw line break in a form.
// A captured form POST replayed as a GET or a DELETE with its body, or sent with `charset=utf-7`, was
// valid. Against real Express servers over TCP, with the raw body (express.raw()) and the parsed one.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import express from "express";

import { send, serve } from "./servers.mjs";
import { esm as ours, require } from "./support.mjs";

const twilioNode = require("twilio");
const TOKEN = "received-token";
const PARAMS = { From: "+15551234567", Body: "hello" };
const FORM = new URLSearchParams(PARAMS).toString();
const FORM_TYPE = "application/x-www-form-urlencoded";

/** A request to `path` on `host` signed for `http://host<path>` with `params`. */
function signed(path, { method = "POST", contentType = FORM_TYPE, params = PARAMS, body = FORM } = {}) {
  const signature = twilioNode.getExpectedTwilioSignature(TOKEN, `http://host${path}`, params);
  const headers = { "X-Twilio-Signature": signature };
  if (contentType) headers["Content-Type"] = contentType;
  return { method, path, host: "host", headers, body };
}

describe("the drop-in on a received request: the core's rules on its shape (F20)", () => {
  let server;
  before(async () => {
    const app = express();
    const answer = (valid) => (req, res) => res.status(valid(req) ? 200 : 403).send(`${req.method} ${typeof req.body}`);
    app.all("/raw-express", express.raw({ type: "*/*" }), answer((req) => ours.validateExpressRequest(req, TOKEN)));
    app.all("/raw-incoming", express.raw({ type: "*/*" }), answer((req) => ours.validateIncomingRequest(req, TOKEN)));
    app.all("/parsed", express.urlencoded({ extended: false }), answer((req) => ours.validateExpressRequest(req, TOKEN)));
    server = await serve(app);
  });
  after(() => server.close());

  const paths = ["/raw-express", "/raw-incoming", "/parsed"];

  it("accepts Twilio's form POST, with or without charset=utf-8", async () => {
    for (const path of paths) {
      // body-parser's urlencoded() answers 415 to the spelling utf8 itself.
      const spellings = path === "/parsed" ? [] : [`${FORM_TYPE};charset=utf8`];
      for (const contentType of [FORM_TYPE, `${FORM_TYPE}; charset=UTF-8`, ...spellings]) {
        const res = await send(server.port, signed(path, { contentType }));
        assert.equal(res.status, 200, `${path} ${contentType}: ${res.body}`);
      }
    }
  });

  it("accepts Twilio's GET, its parameters in the signed query", async () => {
    for (const path of paths) {
      const query = `${path}?${FORM}`;
      const res = await send(server.port, signed(query, { method: "GET", contentType: null, params: {}, body: "" }));
      assert.equal(res.status, 200, `${path}: ${res.body}`);
    }
  });

  it("refuses a captured form POST replayed with another method and its body", async () => {
    for (const path of paths) {
      for (const method of ["GET", "DELETE", "PUT", "PATCH"]) {
        const res = await send(server.port, signed(path, { method }));
        assert.equal(res.status, 403, `${path} ${method}: ${res.body}`);
      }
    }
  });

  it("refuses a form whose Content-Type names another charset", async () => {
    for (const path of ["/raw-express", "/raw-incoming"]) {
      for (const charset of ["utf-7", "latin1", "us-ascii", '"utf-7"']) {
        const res = await send(server.port, signed(path, { contentType: `${FORM_TYPE}; charset=${charset}` }));
        assert.equal(res.status, 403, `${path} ${charset}: ${res.body}`);
      }
    }
  });

  it("refuses a form with a raw line break, which Twilio percent-encodes", async () => {
    const params = { Body: "a\nb", From: "+15551234567" };
    for (const path of ["/raw-express", "/raw-incoming"]) {
      const res = await send(server.port, signed(path, { params, body: "Body=a\nb&From=%2B15551234567" }));
      assert.equal(res.status, 403, `${path}: ${res.body}`);
      const encoded = await send(server.port, signed(path, { params, body: new URLSearchParams(params).toString() }));
      assert.equal(encoded.status, 200, `${path}: ${encoded.body}`);
    }
  });
});

describe("the drop-in on a request object without a method (twilio-node reads none)", () => {
  it("takes it as the POST it stands for, its rules on the body and Content-Type still applied", () => {
    const signature = twilioNode.getExpectedTwilioSignature(TOKEN, "http://host/sms", PARAMS);
    const request = (contentType) => ({
      headers: { host: "host", "x-twilio-signature": signature, "content-type": contentType },
      originalUrl: "/sms",
      body: Buffer.from(FORM),
    });
    assert.equal(ours.validateExpressRequest(request(FORM_TYPE), TOKEN), true);
    assert.equal(ours.validateExpressRequest(request(`${FORM_TYPE}; charset=utf-7`), TOKEN), false);
    assert.equal(ours.validateExpressRequest({ ...request(FORM_TYPE), method: "DELETE" }, TOKEN), false);
  });
});
