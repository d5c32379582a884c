// The Express middleware over real HTTP on loopback: form and JSON webhooks, before and after the body
// parsers, and its statuses (400, 403, 413, 500) with twilio-node's texts.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import express from "express";

import { cjs as twilio, recorder } from "./support.mjs";

const TOKEN = "express-token";

/** Serves `app` on a free loopback port: its base URL, and a way to stop it. */
async function serve(app) {
  const server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  const { port } = server.address();
  return { base: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) };
}

function signedForm(url, params, token = TOKEN) {
  return {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": twilio.getExpectedTwilioSignature(token, url, params) },
    body: new URLSearchParams(params).toString(),
  };
}

function signedJson(base, path, payload, token = TOKEN) {
  const body = JSON.stringify(payload);
  const url = `${base}${path}?bodySHA256=${twilio.getExpectedBodyHash(body)}`;
  return {
    url,
    init: {
      method: "POST",
      headers: { "content-type": "application/json", "x-twilio-signature": twilio.getExpectedTwilioSignature(token, url, {}) },
      body,
    },
  };
}

const PARAMS = { From: "+15551234567", Body: "héllo 👋", NumMedia: "0" };

describe("webhook() before the body parsers", () => {
  const log = recorder();
  let server;
  before(async () => {
    const app = express();
    app.use(twilio.webhook(TOKEN, { logger: log, bodyLimit: 4096 }));
    app.use(express.json());
    app.use(express.urlencoded({ extended: false }));
    app.post("/sms", (req, res) => res.type("text/xml").send(`<Response><Message>${req.body.Body}</Message></Response>`));
    app.post("/events", (req, res) => res.json({ got: req.body, raw: Buffer.isBuffer(req.rawBody) }));
    server = await serve(app);
  });
  after(() => server.close());

  it("verifies a form webhook, and the app gets its parameters", async () => {
    const res = await fetch(`${server.base}/sms`, signedForm(`${server.base}/sms`, PARAMS));
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "<Response><Message>héllo 👋</Message></Response>");
  });

  it("verifies a JSON webhook against its bodySHA256, with no set-up", async () => {
    const { url, init } = signedJson(server.base, "/events", { type: "com.twilio.event", n: 1 });
    const res = await fetch(url, init);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { got: { type: "com.twilio.event", n: 1 }, raw: true });
  });

  it("refuses a tampered JSON body with 403 and explains it in the log", async () => {
    const { url, init } = signedJson(server.base, "/events", { type: "com.twilio.event", n: 1 });
    const res = await fetch(url, { ...init, body: init.body.replace("1", "2") });
    assert.equal(res.status, 403);
    assert.equal(await res.text(), "Twilio Request Validation Failed.");
    assert.match(log.lines.at(-1), /rejected POST \/events \(body_hash_mismatch\)/);
  });

  it("refuses a tampered form with 403, logging the URL it checked", async () => {
    const init = signedForm(`${server.base}/sms`, PARAMS);
    const res = await fetch(`${server.base}/sms`, { ...init, body: init.body.replace("0", "1") });
    assert.equal(res.status, 403);
    assert.ok(log.lines.at(-1).includes(`${server.base}/sms`), log.lines.at(-1));
  });

  it("answers 400 without a signature, with twilio-node's text", async () => {
    const res = await fetch(`${server.base}/sms`, { method: "POST", body: "a=b", headers: { "content-type": "application/x-www-form-urlencoded" } });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /^No signature header error - X-Twilio-Signature header does not exist/);
  });

  it("answers 413 to a body over the limit, declared or not", async () => {
    const big = { ...PARAMS, Body: "x".repeat(10_000) };
    const declared = await fetch(`${server.base}/sms`, signedForm(`${server.base}/sms`, big));
    assert.equal(declared.status, 413);
    assert.match(await declared.text(), /body_too_large/);
    // Chunked, so that only reading finds it out.
    const init = signedForm(`${server.base}/sms`, big);
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(init.body));
        controller.close();
      },
    });
    const chunked = await fetch(`${server.base}/sms`, { ...init, body: stream, duplex: "half" });
    assert.equal(chunked.status, 413);
  });
});

describe("webhook() after the body parsers", () => {
  const log = recorder();
  let server;
  before(async () => {
    const app = express();
    app.use("/kept", express.json({ verify: (req, _res, buf) => (req.rawBody = buf) }));
    app.use(express.json());
    app.use(express.urlencoded({ extended: false }));
    app.use(twilio.webhook({ authToken: TOKEN, logger: log }));
    app.post("/sms", (req, res) => res.send(`Verified: ${Object.keys(req.body).length} parameters`));
    app.post(["/events", "/kept/events"], (req, res) => res.json(req.body));
    server = await serve(app);
  });
  after(() => server.close());

  it("verifies a form from the parsed parameters (twilio-node's way)", async () => {
    const res = await fetch(`${server.base}/sms`, signedForm(`${server.base}/sms`, PARAMS));
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "Verified: 3 parameters");
  });

  it("refuses a JSON webhook whose raw bytes a parser took, and says how to fix it", async () => {
    const { url, init } = signedJson(server.base, "/events", { a: 1 });
    const res = await fetch(url, init);
    assert.equal(res.status, 403);
    assert.match(log.lines.at(-1), /body_not_hashed.*put webhook\(\) before express\.json\(\)/);
  });

  it("verifies a JSON webhook when the parser kept the raw body (verify: rawBody)", async () => {
    const { url, init } = signedJson(server.base, "/kept/events", { a: 1 });
    const res = await fetch(url, init);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { a: 1 });
  });
});

describe("webhook() configuration", () => {
  it("answers 500 without a token, and reads TWILIO_AUTH_TOKEN when it is set", async () => {
    const saved = process.env.TWILIO_AUTH_TOKEN;
    delete process.env.TWILIO_AUTH_TOKEN;
    const errors = [];
    const consoleError = console.error;
    console.error = (line) => errors.push(line);
    try {
      const without = express().use(twilio.webhook()).post("/sms", (_q, r) => r.send("ok"));
      process.env.TWILIO_AUTH_TOKEN = TOKEN;
      const withEnv = express().use(twilio.webhook({ logger: recorder() })).post("/sms", (_q, r) => r.send("ok"));
      const a = await serve(without);
      const b = await serve(withEnv);
      try {
        const res = await fetch(`${a.base}/sms`, signedForm(`${a.base}/sms`, PARAMS));
        assert.equal(res.status, 500);
        assert.match(await res.text(), /^Webhook Error - we attempted to validate this request without first configuring our auth token/);
        assert.match(errors.join("\n"), /auth token is required/);
        const ok = await fetch(`${b.base}/sms`, signedForm(`${b.base}/sms`, PARAMS));
        assert.equal(ok.status, 200);
      } finally {
        await a.close();
        await b.close();
      }
    } finally {
      console.error = consoleError;
      if (saved === undefined) delete process.env.TWILIO_AUTH_TOKEN;
      else process.env.TWILIO_AUTH_TOKEN = saved;
    }
  });

  it("uses the url, host and protocol options for the URL Twilio called", async () => {
    const app = express()
      .use("/a", twilio.webhook(TOKEN, { host: "abc.ngrok.app", protocol: "https", logger: recorder() }))
      .use("/b", twilio.webhook(TOKEN, { url: "https://hooks.example.com/b/sms?x=1", logger: recorder() }))
      .post(["/a/sms", "/b/sms"], (_q, r) => r.send("ok"));
    const server = await serve(app);
    try {
      const a = await fetch(`${server.base}/a/sms`, signedForm("https://abc.ngrok.app/a/sms", PARAMS));
      assert.equal(a.status, 200);
      // The url's scheme and host, the request's own path and query.
      const b = await fetch(`${server.base}/b/sms?x=1`, signedForm("https://hooks.example.com/b/sms?x=1", PARAMS));
      assert.equal(b.status, 200);
      const otherQuery = await fetch(`${server.base}/b/sms`, signedForm("https://hooks.example.com/b/sms?x=1", PARAMS));
      assert.equal(otherQuery.status, 403);
      const wrong = await fetch(`${server.base}/a/sms`, signedForm(`${server.base}/a/sms`, PARAMS));
      assert.equal(wrong.status, 403);
    } finally {
      await server.close();
    }
  });
});
