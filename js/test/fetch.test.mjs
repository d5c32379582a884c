// The Fetch adapter (withTwilioWebhook, verifyRequest) and the Hono middleware, with the runtime's own
// Request and Response: statuses and reasons, the verified body handed on, the public-URL policy and
// the environment, path rules, the log line of a refusal.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Hono } from "hono";

import { cjs, esm, jsonl, recorder } from "./support.mjs";

const { getExpectedTwilioSignature, getExpectedBodyHash, withTwilioWebhook, verifyRequest, verdictOf } = esm;
const TOKEN = "fetch-token";
const PARAMS = { From: "+15551234567", Body: "héllo 👋", To: "+15557654321" };

function signed(url, params = PARAMS, extra = {}) {
  return new Request(url, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-twilio-signature": getExpectedTwilioSignature(TOKEN, extra.signedUrl ?? url, params),
      ...extra.headers,
    },
    body: new URLSearchParams(params).toString(),
  });
}

const echo = async (request) => new Response(`${request.method} ${await request.text()}`);

describe("withTwilioWebhook", () => {
  const log = recorder();
  const handler = withTwilioWebhook(echo, { authToken: TOKEN, logger: log });

  it("hands a verified request on with its verified body", async () => {
    const res = await handler(signed("http://localhost:8787/sms"));
    assert.equal(res.status, 200);
    assert.equal(await res.text(), `POST ${new URLSearchParams(PARAMS)}`);
  });

  it("answers 400, 403 and 413 with the core's reason, and logs the refusal explained", async () => {
    const missing = await handler(new Request("http://localhost:8787/sms", { method: "POST", body: "a=b" }));
    assert.deepEqual([missing.status, await missing.text()], [400, "Twilio webhook rejected: missing_signature\n"]);
    // Behind a tunnel: the runtime builds the URL from the tunnel's Host, over http.
    const forged = await handler(signed("http://abc.ngrok.app/sms", PARAMS, { signedUrl: "https://abc.ngrok.app/sms" }));
    assert.deepEqual([forged.status, await forged.text()], [403, "Twilio webhook rejected: signature_mismatch\n"]);
    assert.match(log.lines.at(-1), /Twilio signed https:\/\/abc\.ngrok\.app\/sms; this server checked http:\/\/abc\.ngrok\.app\/sms/);
    assert.match(log.lines.at(-1), /TWILIO_PUBLIC_URL=https:\/\/abc\.ngrok\.app/);
    const big = await withTwilioWebhook(echo, { authToken: TOKEN, bodyLimit: 64, logger: log })(signed("http://localhost:8787/sms", { Body: "x".repeat(100) }));
    assert.equal(big.status, 413);
    assert.match(await big.text(), /body_too_large/);
  });

  it("reads a body of unknown length only up to the limit", async () => {
    let pulled = 0;
    const body = new ReadableStream({
      pull(controller) {
        pulled += 1;
        controller.enqueue(new Uint8Array(1024));
        if (pulled > 1000) controller.close();
      },
    });
    const request = new Request("http://localhost:8787/sms", { method: "POST", body, duplex: "half", headers: { "x-twilio-signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA=" } });
    const res = await withTwilioWebhook(echo, { authToken: TOKEN, bodyLimit: 4096, logger: log })(request);
    assert.equal(res.status, 413);
    assert.ok(pulled < 20, `read ${pulled} KiB`);
  });

  it("verifies JSON webhooks against bodySHA256", async () => {
    const body = JSON.stringify({ type: "com.twilio.event" });
    const url = `http://localhost:8787/events?bodySHA256=${getExpectedBodyHash(body)}`;
    const request = (b) =>
      new Request(url, { method: "POST", body: b, headers: { "content-type": "application/json", "x-twilio-signature": getExpectedTwilioSignature(TOKEN, url, {}) } });
    assert.equal((await handler(request(body))).status, 200);
    const tampered = await handler(request(body.replace("event", "evil")));
    assert.deepEqual([tampered.status, await tampered.text()], [403, "Twilio webhook rejected: body_hash_mismatch\n"]);
  });

  it("uses the public URL, and trusts forwarded headers only from a trusted peer", async () => {
    const behind = withTwilioWebhook(echo, { authToken: TOKEN, publicUrl: "https://abc.ngrok.app", logger: log });
    assert.equal((await behind(signed("http://localhost:8787/sms", PARAMS, { signedUrl: "https://abc.ngrok.app/sms" }))).status, 200);
    const proxied = signed("http://10.0.0.5:8080/sms", PARAMS, {
      signedUrl: "https://hooks.example.com/sms",
      headers: { "x-forwarded-proto": "https", "x-forwarded-host": "hooks.example.com" },
    });
    const trusting = withTwilioWebhook(echo, { authToken: TOKEN, trustedProxies: "10.0.0.0/8", logger: log });
    assert.equal((await trusting(proxied.clone(), { remoteAddress: "10.0.0.9" })).status, 200);
    assert.equal((await trusting(proxied.clone(), { remoteAddress: "203.0.113.9" })).status, 403);
    const quiet = recorder();
    const noPeer = withTwilioWebhook(echo, { authToken: TOKEN, trustedProxies: "10.0.0.0/8", logger: quiet, bodyLimit: 12345 });
    assert.equal((await noPeer(proxied.clone())).status, 403, "no peer address: no proxy is trusted");
    await noPeer(proxied.clone());
    assert.equal(quiet.lines.filter((l) => l.includes("gives no peer address")).length, 1, "said once");
  });

  it("reads its settings from a Worker's env, and answers 500 without a token", async () => {
    const wrapped = withTwilioWebhook(echo, { logger: log });
    const env = { TWILIO_AUTH_TOKEN: TOKEN, TWILIO_PUBLIC_URL: "https://worker.example.com" };
    assert.equal((await wrapped(signed("http://127.0.0.1/sms", PARAMS, { signedUrl: "https://worker.example.com/sms" }), env, {})).status, 200);
    const saved = process.env.TWILIO_AUTH_TOKEN;
    delete process.env.TWILIO_AUTH_TOKEN;
    try {
      const res = await wrapped(signed("http://127.0.0.1/sms"), {}, {});
      assert.equal(res.status, 500);
      assert.match(log.lines.at(-1), /TWILIO_AUTH_TOKEN is not set/);
    } finally {
      if (saved !== undefined) process.env.TWILIO_AUTH_TOKEN = saved;
    }
  });

  it("never shares a verifier between configurations that differ", async () => {
    // A request signed with a SharedKey (a conformance case): the handler configured with that key
    // accepts it; another with the same Auth Token but no SharedKey must not, even after the first.
    const c = jsonl("public-extra.jsonl").find((x) => x.key_id && x.kind === "form" && x.expected);
    const request = () =>
      new Request(c.url, {
        method: "POST",
        headers: { ...c.headers, "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": c.signature },
        body: new URLSearchParams(c.params).toString(),
      });
    const withKey = withTwilioWebhook(echo, { authToken: TOKEN, sharedKeys: { [c.key_id]: c.auth_token }, logger: recorder() });
    const without = withTwilioWebhook(echo, { authToken: TOKEN, logger: recorder() });
    assert.equal((await withKey(request())).status, 200);
    assert.equal((await without(request())).status, 403);
    const small = withTwilioWebhook(echo, { authToken: TOKEN, bodyLimit: 10, logger: recorder() });
    assert.equal((await small(signed("http://localhost/sms"))).status, 413, "its own body limit, not another handler's");
  });

  it("verifies only under its paths, and refuses a target it cannot decide", async () => {
    const only = withTwilioWebhook(echo, { authToken: TOKEN, paths: ["/twilio/"], logger: log });
    assert.equal((await only(new Request("http://localhost/health"))).status, 200, "outside the paths");
    assert.equal((await only(new Request("http://localhost/twilio/sms", { method: "POST", body: "a=b" }))).status, 400);
    assert.equal((await only(signed("http://localhost/twilio/sms"))).status, 200);
  });

  it("gives the handler the verdict", async () => {
    let seen;
    const wrapped = withTwilioWebhook((request) => ((seen = verdictOf(request)), new Response("ok")), { authToken: TOKEN });
    await wrapped(signed("http://localhost:8787/sms"));
    assert.equal(seen.valid, true);
    assert.equal(seen.matchedUrl, "http://localhost:8787/sms");
    assert.equal(seen.secret, "primary");
  });
});

describe("verifyRequest", () => {
  it("returns the verdict and the verified bytes, from ESM and CommonJS alike", async () => {
    for (const lib of [esm, cjs]) {
      const { verdict, body } = await lib.verifyRequest(signed("http://localhost:8787/sms"), { authToken: TOKEN });
      assert.equal(verdict.valid, true);
      assert.equal(verdict.status, 200);
      assert.equal(new TextDecoder().decode(body), new URLSearchParams(PARAMS).toString());
    }
    const { verdict, body } = await verifyRequest(signed("http://localhost:8787/other", PARAMS, { signedUrl: "http://localhost:8787/sms" }), {
      authToken: TOKEN,
      logger: recorder(),
    });
    assert.deepEqual([verdict.valid, verdict.status, verdict.reason, body], [false, 403, "signature_mismatch", null]);
    assert.deepEqual(verdict.urlsTried, ["http://localhost:8787/other"]);
  });
});

describe("Hono: twilioWebhook()", () => {
  it("verifies before the route, which reads the verified body and the verdict", async () => {
    const { twilioWebhook } = await import("twilio-webhook/hono");
    const log = recorder();
    const app = new Hono();
    app.use("/twilio/*", twilioWebhook({ authToken: TOKEN, logger: log }));
    app.post("/twilio/sms", async (c) => {
      const form = await c.req.parseBody();
      return c.text(`Verified: ${form.Body} (${c.get("twilioVerdict").secret})`);
    });
    app.get("/health", (c) => c.text("up"));
    const ok = await app.request(signed("http://localhost/twilio/sms"));
    assert.deepEqual([ok.status, await ok.text()], [200, "Verified: héllo 👋 (primary)"]);
    const forged = await app.request(signed("http://localhost/twilio/sms", PARAMS, { signedUrl: "http://localhost/sms" }));
    assert.deepEqual([forged.status, await forged.text()], [403, "Twilio webhook rejected: signature_mismatch\n"]);
    assert.equal(log.lines.length, 1);
    assert.equal((await app.request("http://localhost/health")).status, 200);
  });

  it("reads a Worker's env from the context", async () => {
    const { twilioWebhook } = cjs.require ? await import("twilio-webhook/hono") : await import("twilio-webhook/hono");
    const app = new Hono();
    app.use("*", twilioWebhook({ logger: recorder() }));
    app.post("/sms", (c) => c.text("ok"));
    const saved = process.env.TWILIO_AUTH_TOKEN;
    delete process.env.TWILIO_AUTH_TOKEN;
    try {
      const res = await app.request(signed("http://localhost/sms"), undefined, { TWILIO_AUTH_TOKEN: TOKEN });
      assert.equal(res.status, 200);
    } finally {
      if (saved !== undefined) process.env.TWILIO_AUTH_TOKEN = saved;
    }
  });
});
