// Sixth outside attack, A5-F7 and A5-F8: Express webhook() and validateExpressRequest after a multipart
// parser (multer: the text fields in req.body, the files in req.files, the stream read, no req._body),
// and webhook()'s verifier cache, against real Express servers over TCP.
//
// A5-F7: the parsed text fields were verified as a form although the body was multipart/form-data (a
// body Twilio never sends), and the handler got the files beside them, which no signature covers: a
// captured SMS re-sent as multipart with an extra file ran the handler with the file, and a URL-only
// signature (any captured GET webhook) with a multipart body of files only did too.
// A5-F8: webhook({ url }) built per request from the request's host kept one verifier per distinct
// Host, never freed; the cache is now bounded, and an evicted verifier is freed only once no request
// holds it (issue 28 finding 7: one freed under a request reading its body was a 500).
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";

import express from "express";
import multer from "multer";

import { requestBytes, send, sendInPieces, serve } from "./servers.mjs";
import { esm as ours, require } from "./support.mjs";

const twilioNode = require("twilio");
const TOKEN = "parsed-body-token";
const SMS = { From: "+15551234567", Body: "hi" };
const FORM_TYPE = "application/x-www-form-urlencoded";
const quiet = { warn() {} };

/** A multipart/form-data body of text fields and files (`[name, filename, content]`). */
function multipart(fields, files = []) {
  const boundary = "----attack5f7boundary";
  const parts = [
    ...Object.entries(fields).map(([name, value]) => `Content-Disposition: form-data; name="${name}"\r\n\r\n${value}`),
    ...files.map(
      ([name, filename, content]) =>
        `Content-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n${content}`,
    ),
  ];
  const body = parts.map((p) => `--${boundary}\r\n${p}\r\n`).join("") + `--${boundary}--\r\n`;
  return { contentType: `multipart/form-data; boundary=${boundary}`, body };
}

/** A request to `path` on `host`, signed by Twilio for `http://host<path>` and `params`. */
function signed(path, params, { contentType, body, method = "POST" }) {
  const signature = twilioNode.getExpectedTwilioSignature(TOKEN, `http://host${path}`, params);
  const headers = { "X-Twilio-Signature": signature };
  if (contentType) headers["Content-Type"] = contentType;
  return { method, path, host: "host", headers, body };
}

const EVIL = ["evil", "payload.sh", "#!/bin/sh\nrm -rf /\n"];

describe("webhook() and validateExpressRequest after a multipart parser (A5-F7)", () => {
  let server;
  const ran = [];
  before(async () => {
    const app = express();
    const upload = multer({ storage: multer.memoryStorage() }).any();
    const handler = (req, res) => {
      ran.push({ body: { ...req.body }, files: (req.files ?? []).map((f) => f.originalname) });
      res.send("ran");
    };
    app.all("/sms", upload, ours.webhook(TOKEN, { logger: quiet }), handler);
    app.all("/drop-in", upload, express.urlencoded({ extended: false }), (req, res) =>
      ours.validateExpressRequest(req, TOKEN) ? handler(req, res) : res.status(403).send("refused"),
    );
    server = await serve(app);
  });
  after(() => server.close());

  it("refuses a captured SMS re-sent as multipart with an extra file (400 ambiguous_form)", async () => {
    ran.length = 0;
    const res = await send(server.port, signed("/sms", SMS, multipart(SMS, [EVIL])));
    assert.deepEqual([res.status, res.body], [400, "Twilio webhook rejected: ambiguous_form\n"]);
    // Its text fields alone, as multipart: no form Twilio sends either.
    const fields = await send(server.port, signed("/sms", SMS, multipart(SMS)));
    assert.deepEqual([fields.status, fields.body], [400, "Twilio webhook rejected: ambiguous_form\n"]);
    assert.deepEqual(ran, [], "no handler ran");
  });

  it("refuses a URL-only signature (a captured GET) with a multipart body of files only", async () => {
    ran.length = 0;
    const res = await send(server.port, signed("/sms", {}, multipart({}, [EVIL])));
    assert.deepEqual([res.status, res.body], [400, "Twilio webhook rejected: ambiguous_form\n"]);
    assert.deepEqual(ran, [], "no handler ran");
  });

  it("still verifies the genuine form and the genuine GET on the same route", async () => {
    ran.length = 0;
    const form = await send(server.port, signed("/sms", SMS, { contentType: FORM_TYPE, body: new URLSearchParams(SMS).toString() }));
    assert.deepEqual([form.status, form.body], [200, "ran"]);
    const get = await send(server.port, signed(`/sms?${new URLSearchParams(SMS)}`, {}, { method: "GET", body: "" }));
    assert.deepEqual([get.status, get.body], [200, "ran"]);
    assert.deepEqual(ran, [
      { body: SMS, files: [] },
      { body: {}, files: [] },
    ]);
  });

  it("validateExpressRequest is false for both, and true for the genuine form", async () => {
    ran.length = 0;
    for (const request of [signed("/drop-in", SMS, multipart(SMS, [EVIL])), signed("/drop-in", {}, multipart({}, [EVIL]))]) {
      const res = await send(server.port, request);
      assert.deepEqual([res.status, res.body], [403, "refused"]);
    }
    assert.deepEqual(ran, [], "no handler ran");
    const form = await send(server.port, signed("/drop-in", SMS, { contentType: FORM_TYPE, body: new URLSearchParams(SMS).toString() }));
    assert.deepEqual([form.status, form.body], [200, "ran"]);
  });
});

describe("files beside a verified form are never handed on (A5-F7)", () => {
  let server;
  const ran = [];
  before(async () => {
    const app = express();
    // A parser that leaves files beside a form it decoded, whatever its Content-Type said.
    const withFiles = (req, _res, next) => {
      req.files = [{ fieldname: "evil", originalname: "payload.sh" }];
      next();
    };
    app.post("/sms", express.urlencoded({ extended: false }), withFiles, ours.webhook(TOKEN, { logger: quiet }), (req, res) => {
      ran.push(req.files);
      res.send("ran");
    });
    app.post("/drop-in", express.urlencoded({ extended: false }), withFiles, (req, res) =>
      res.status(ours.validateExpressRequest(req, TOKEN) ? 200 : 403).send("answered"),
    );
    server = await serve(app);
  });
  after(() => server.close());

  it("webhook() answers 400 ambiguous_form, validateExpressRequest false", async () => {
    const request = (path) => signed(path, SMS, { contentType: FORM_TYPE, body: new URLSearchParams(SMS).toString() });
    const hook = await send(server.port, request("/sms"));
    assert.deepEqual([hook.status, hook.body], [400, "Twilio webhook rejected: ambiguous_form\n"]);
    assert.deepEqual(ran, [], "no handler ran");
    const dropIn = await send(server.port, request("/drop-in"));
    assert.equal(dropIn.status, 403);
  });
});

/** Sends the head and the first half of the body of `request`: `finish()` sends the rest and answers. */
async function sendHalf(port, request) {
  const { head, body } = requestBytes(request);
  const socket = await new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => resolve(s));
    s.on("error", reject);
  });
  const chunks = [];
  socket.on("data", (c) => chunks.push(c));
  const closed = new Promise((resolve) => socket.on("close", resolve));
  socket.write(Buffer.concat([head, body.subarray(0, body.length >> 1)]));
  return async () => {
    socket.write(body.subarray(body.length >> 1));
    await closed;
    const text = Buffer.concat(chunks).toString("utf8");
    return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), body: text.slice(text.indexOf("\r\n\r\n") + 4) };
  };
}

describe("webhook({ url }) built per request from the Host (A5-F8)", () => {
  /** A genuine SMS to `host`, numbered `n`. */
  const genuine = (host, n) => {
    const params = { ...SMS, N: String(n) };
    const signature = twilioNode.getExpectedTwilioSignature(TOKEN, `http://${host}/sms`, params);
    return {
      path: "/sms",
      host,
      headers: { "Content-Type": FORM_TYPE, "X-Twilio-Signature": signature },
      body: new URLSearchParams(params).toString(),
    };
  };
  let server;
  before(async () => {
    const app = express();
    // twilio-node's options for an app on several hosts: a middleware per request, its url from the Host.
    app.post(
      "/sms",
      (req, res, next) => ours.webhook(TOKEN, { url: `http://${req.headers.host}/sms`, logger: quiet })(req, res, next),
      (req, res) => res.send(`ok ${req.body.N}`),
    );
    server = await serve(app);
  });
  after(() => server.close());

  it("keeps the verifier of a request reading its body while more Hosts than the cache holds come and go", async () => {
    // The first request holds its verifier while it waits for the rest of its body ...
    const finish = await sendHalf(server.port, genuine("first.example", 0));
    await new Promise((resolve) => setTimeout(resolve, 100));
    // ... while 100 requests to other Hosts each evict an older verifier from the cache.
    for (let i = 1; i <= 100; i++) {
      const res = await send(server.port, genuine(`h${i}.example`, i));
      assert.deepEqual([res.status, res.body], [200, `ok ${i}`]);
    }
    // Its verifier was evicted, never freed under it: verified, not a 500.
    assert.deepEqual(await finish(), { status: 200, body: "ok 0" });
  });

  it("verifies every request of many Hosts at once, bodies in pieces", async () => {
    const requests = Array.from({ length: 300 }, (_, i) => genuine(`h${i % 150}.example`, i));
    const answers = await sendInPieces(server.port, requests);
    const wrong = answers.map((a, i) => [i, a.status, a.body]).filter(([i, status, body]) => status !== 200 || body !== `ok ${i}`);
    assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} of ${answers.length} not verified`);
  });
});
