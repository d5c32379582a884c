// Sixth outside attack, A5-F7: Express webhook() and validateExpressRequest after a multipart parser
// (multer: the text fields in req.body, the files in req.files, the stream read, no req._body), against
// real Express servers over TCP.
//
// A5-F7: the parsed text fields were verified as a form although the body was multipart/form-data (a
// body Twilio never sends), and the handler got the files beside them, which no signature covers: a
// captured SMS re-sent as multipart with an extra file ran the handler with the file, and a URL-only
// signature (any captured GET webhook) with a multipart body of files only did too.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import express from "express";
import multer from "multer";

import { send, serve } from "./servers.mjs";
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
