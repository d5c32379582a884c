// Issue 28, "Trust, round two", F6: the host and scheme an Express app reads are the ones that were
// verified. With the app's `trust proxy` setting, Express reads `req.hostname` and `req.protocol` from
// `X-Forwarded-Host` and `-Proto`; verifying on the `Host` header instead let a request signed for one
// tenant run as another that the app picks by `req.hostname`. Against real Express servers over TCP:
// webhook() before and after a body parser, and the drop-in.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import express from "express";

import { Hono } from "hono";

import { send, serve } from "./servers.mjs";
import { esm as ours, require } from "./support.mjs";

const twilioNode = require("twilio");
const TOKEN = "app-host-token";
const PARAMS = { From: "+15551234567", Body: "hello" };
const FORM = new URLSearchParams(PARAMS).toString();
const quiet = { warn() {} };
const ACME = "acme.hooks.example.com";
const VICTIM = "victim.hooks.example.com";
const PATHS = ["/before", "/after", "/drop-in", "/drop-in-raw"];

/** A form webhook to `path`, signed for `signedFor` (scheme and host), with these extra headers. */
function webhook(path, signedFor, headers, host = ACME) {
  const signature = twilioNode.getExpectedTwilioSignature(TOKEN, `${signedFor}${path}`, PARAMS);
  return {
    path,
    host,
    headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature, ...headers },
    body: FORM,
  };
}

/** An app with the four ways to verify, each answering with the host and scheme the app reads. */
function app(trustProxy, ran) {
  const a = express();
  if (trustProxy !== undefined) a.set("trust proxy", trustProxy);
  const handler = (req, res) => {
    ran.push(`${req.path} ${req.hostname}`);
    res.send(`${req.hostname} ${req.protocol}`);
  };
  const dropIn = (req, res, next) => (ours.validateExpressRequest(req, TOKEN) ? next() : res.status(403).send("refused"));
  a.post("/before", ours.webhook(TOKEN, { logger: quiet }), handler);
  a.post("/after", express.urlencoded({ extended: false }), ours.webhook(TOKEN, { logger: quiet }), handler);
  a.post("/drop-in", express.urlencoded({ extended: false }), dropIn, handler);
  a.post("/drop-in-raw", express.raw({ type: "*/*" }), dropIn, handler);
  return a;
}

describe("Express with trust proxy: the app's req.hostname and req.protocol are what was verified (F6)", () => {
  let server;
  const ran = [];
  before(async () => {
    server = await serve(app(true, ran));
  });
  after(() => server.close());

  it("refuses a request signed for one host that names another in X-Forwarded-Host", async () => {
    ran.length = 0;
    for (const path of PATHS) {
      const res = await send(server.port, webhook(path, `http://${ACME}`, { "X-Forwarded-Host": VICTIM }));
      assert.equal(res.status, 403, `${path}: ${res.body}`);
    }
    assert.deepEqual(ran, [], "no handler ran as the victim tenant");
  });

  it("refuses a scheme the app reads otherwise than the core (X-Forwarded-Proto: HTTPS is not req.secure)", async () => {
    ran.length = 0;
    for (const path of PATHS) {
      const headers = { "X-Forwarded-Host": ACME, "X-Forwarded-Proto": "HTTPS" };
      const res = await send(server.port, webhook(path, `https://${ACME}`, headers, "127.0.0.1"));
      assert.equal(res.status, 403, `${path}: ${res.body}`);
    }
    assert.deepEqual(ran, []);
  });

  it("verifies a genuine webhook through the proxy, for the host and scheme the app reads", async () => {
    for (const path of PATHS) {
      const headers = { "X-Forwarded-Host": ACME, "X-Forwarded-Proto": "https" };
      const res = await send(server.port, webhook(path, `https://${ACME}`, headers, `127.0.0.1:${server.port}`));
      assert.deepEqual([res.status, res.body], [200, `${ACME} https`], path);
    }
  });

  it("takes the first X-Forwarded-Host entry, as Express does", async () => {
    for (const path of PATHS) {
      const headers = { "X-Forwarded-Host": `${ACME}, ${VICTIM}` };
      const res = await send(server.port, webhook(path, `http://${ACME}`, headers, VICTIM));
      assert.deepEqual([res.status, res.body], [200, `${ACME} http`], path);
      const swapped = await send(server.port, webhook(path, `http://${ACME}`, { "X-Forwarded-Host": `${VICTIM}, ${ACME}` }));
      assert.equal(swapped.status, 403, path);
    }
  });

  it("still verifies on the Host header when no X-Forwarded-Host comes", async () => {
    for (const path of PATHS) {
      const res = await send(server.port, webhook(path, `http://${ACME}`, {}));
      assert.deepEqual([res.status, res.body], [200, `${ACME} http`], path);
    }
  });
});

describe("Express without trust proxy, or trusting another peer: X-Forwarded-Host counts for nobody", () => {
  for (const trustProxy of [undefined, false, "10.9.9.9"]) {
    it(`trust proxy ${JSON.stringify(trustProxy)}: the Host is both what verified and what the app reads`, async () => {
      const ran = [];
      const server = await serve(app(trustProxy, ran));
      try {
        for (const path of PATHS) {
          const res = await send(server.port, webhook(path, `http://${ACME}`, { "X-Forwarded-Host": VICTIM }));
          assert.deepEqual([res.status, res.body], [200, `${ACME} http`], path);
          const forVictim = await send(server.port, webhook(path, `http://${VICTIM}`, { "X-Forwarded-Host": VICTIM }));
          assert.equal(forVictim.status, 403, path);
        }
      } finally {
        await server.close();
      }
    });
  }
});

describe("Express webhook() with a configured url, host or protocol: the app reads the verified ones", () => {
  let server;
  before(async () => {
    const a = express();
    a.set("trust proxy", true);
    const handler = (req, res) => res.send(`${req.hostname} ${req.protocol} ${req.secure} ${req.get("host")} ${req.get("x-forwarded-host")}`);
    const routes = {
      "/host": { host: ACME },
      "/url": { url: `https://${ACME}/url` },
      "/protocol": { protocol: "https" },
    };
    const target = (req, res) => res.send(req.originalUrl);
    a.post("/target", ours.webhook(TOKEN, { logger: quiet, host: ACME }), target);
    a.post("/after/target", express.urlencoded({ extended: false }), ours.webhook(TOKEN, { logger: quiet, host: ACME }), target);
    for (const [path, options] of Object.entries(routes)) {
      a.post(path, ours.webhook(TOKEN, { logger: quiet, ...options }), handler);
      a.post(`/after${path}`, express.urlencoded({ extended: false }), ours.webhook(TOKEN, { logger: quiet, ...options }), handler);
    }
    server = await serve(a);
  });
  after(() => server.close());

  it("a request signed for the configured host, sent with another Host or X-Forwarded-Host, reads as the configured host", async () => {
    for (const path of ["/host", "/after/host"]) {
      const res = await send(server.port, webhook(path, `http://${ACME}`, { "X-Forwarded-Host": VICTIM }, VICTIM));
      // The client's X-Forwarded-Host is handed over as the verified one (the core's hand-over).
      assert.deepEqual([res.status, res.body], [200, `${ACME} http false ${ACME} ${ACME}`], path);
    }
    for (const path of ["/url", "/after/url"]) {
      const res = await send(server.port, webhook(path, `https://${ACME}`, { "X-Forwarded-Host": VICTIM }, VICTIM));
      assert.deepEqual([res.status, res.body], [200, `${ACME} https true ${ACME} ${ACME}`], path);
    }
  });

  it("an absolute-form target names the verified authority in req.originalUrl too (fifth outside attack, A4-F6)", async () => {
    for (const path of ["/target", "/after/target"]) {
      const request = webhook(path, `http://${ACME}`, {}, VICTIM);
      const res = await send(server.port, { ...request, path: `http://${VICTIM}${path}` });
      assert.equal(res.status, 200, `${path}: ${res.body}`);
      assert.equal(res.body, `http://${ACME}${path}`, path);
    }
  });

  it("a configured protocol is the scheme the app reads", async () => {
    for (const path of ["/protocol", "/after/protocol"]) {
      const res = await send(server.port, webhook(path, `https://${ACME}`, {}));
      assert.deepEqual([res.status, res.body], [200, `${ACME} https true ${ACME} undefined`], path);
    }
  });
});

describe("the drop-in: what the app reads of a request object is held against the verified URL", () => {
  const signature = twilioNode.getExpectedTwilioSignature(TOKEN, `http://${ACME}/sms`, PARAMS);
  const request = (extra) => ({
    method: "POST",
    protocol: "http",
    hostname: ACME,
    headers: { host: ACME, "x-twilio-signature": signature },
    originalUrl: "/sms",
    body: { ...PARAMS },
    ...extra,
  });

  it("is true when req.hostname and req.protocol are the verified URL's", () => {
    assert.equal(ours.validateExpressRequest(request(), TOKEN), true);
    assert.equal(ours.validateExpressRequest(request({ hostname: ACME.toUpperCase() }), TOKEN), true);
  });

  it("is false when the app reads another host or scheme than the one verified", () => {
    assert.equal(ours.validateExpressRequest(request({ hostname: VICTIM }), TOKEN), false);
    assert.equal(ours.validateExpressRequest(request({ protocol: "HTTP" }), TOKEN), false);
  });

  it("takes configured host, protocol and url as the URL Twilio called, as twilio-node does", () => {
    const behind = request({ hostname: "internal", protocol: "http", headers: { host: "internal:3000", "x-twilio-signature": signature } });
    assert.equal(ours.validateExpressRequest(behind, TOKEN), false);
    assert.equal(ours.validateExpressRequest(behind, TOKEN, { host: ACME }), true);
    assert.equal(ours.validateExpressRequest(behind, TOKEN, { url: `http://${ACME}/sms` }), true);
  });
});

describe("the Fetch adapters: the handler reads the scheme and host of the URL that verified", () => {
  /** The app reads request.url and its Host header. */
  const seen = (request) => new Response(`${request.url} ${request.headers.get("host")}`);
  const adapters = {
    withTwilioWebhook: (options) => ours.toNodeListener(ours.withTwilioWebhook(seen, options)),
    hono: (options) => {
      const app = new Hono();
      app.use("*", ours.twilioWebhook(options));
      app.post("/sms", (c) => seen(c.req.raw));
      return ours.toNodeListener((request, connection) => app.fetch(request, connection));
    },
  };
  const sms = (signedFor, host, headers = {}) => webhook("/sms", signedFor, headers, host);

  for (const [name, listener] of Object.entries(adapters)) {
    it(`${name}, one public URL: a request signed for it with another Host is handed on with the public URL's host`, async () => {
      const server = await serve(listener({ authToken: TOKEN, publicUrl: `http://${ACME}`, logger: quiet }));
      try {
        const res = await send(server.port, sms(`http://${ACME}`, VICTIM));
        assert.deepEqual([res.status, res.body], [200, `http://${ACME}/sms ${ACME}`]);
      } finally {
        await server.close();
      }
    });

    it(`${name}, a trusted proxy: the handler reads the forwarded host and scheme that verified, not the proxy's Host`, async () => {
      // Hono's middleware is handed no peer address: the option gives it.
      const peer = name === "hono" ? { peer: () => "127.0.0.1" } : {};
      const server = await serve(listener({ authToken: TOKEN, trustedProxies: "127.0.0.1", logger: quiet, ...peer }));
      try {
        const headers = { "X-Forwarded-Host": ACME, "X-Forwarded-Proto": "https" };
        const res = await send(server.port, sms(`https://${ACME}`, `127.0.0.1:${server.port}`, headers));
        assert.deepEqual([res.status, res.body], [200, `https://${ACME}/sms ${ACME}`]);
      } finally {
        await server.close();
      }
    });

    it(`${name}, the URL rebuilt from Host: the request is handed on as it came`, async () => {
      const server = await serve(listener({ authToken: TOKEN, logger: quiet }));
      try {
        const res = await send(server.port, sms(`http://${ACME}`, ACME));
        assert.deepEqual([res.status, res.body], [200, `http://${ACME}/sms ${ACME}`]);
        const other = await send(server.port, sms(`http://${ACME}`, VICTIM));
        assert.equal(other.status, 403);
      } finally {
        await server.close();
      }
    });
  }
});

describe("the Fetch adapters: the handler reads no client's routing header (sixth outside attack, A5-F10)", () => {
  /** The app reads request.url and every header. */
  const seen = (request) => new Response(`${request.url}\n${[...request.headers].map(([n, v]) => `${n}=${v}`).join("\n")}`);
  const adapters = {
    withTwilioWebhook: (options) => ours.toNodeListener(ours.withTwilioWebhook(seen, options)),
    hono: (options) => {
      const app = new Hono();
      app.use("*", ours.twilioWebhook(options));
      app.post("/sms", (c) => seen(c.req.raw));
      return ours.toNodeListener((request, connection) => app.fetch(request, connection));
    },
  };
  // A genuine SMS sent with another Host, forwarded host and scheme, prefix, URL and method.
  const forged = {
    "X-Forwarded-Host": "admin.internal",
    "X-Forwarded-Proto": "http",
    Forwarded: "host=admin.internal;proto=http",
    "X-Forwarded-Port": "8443",
    "X-Forwarded-Prefix": "/admin",
    X_Forwarded_Prefix: "/admin",
    "X-Original-URL": "/admin/sms",
    "X-HTTP-Method-Override": "DELETE",
    "X-Forwarded-For": "192.0.2.1",
  };

  for (const [name, listener] of Object.entries(adapters)) {
    it(`${name}, one public URL: every forwarded header names the verified origin or is gone`, async () => {
      const server = await serve(listener({ authToken: TOKEN, publicUrl: `https://${ACME}`, logger: quiet }));
      try {
        const res = await send(server.port, webhook("/sms", `https://${ACME}`, forged, "admin.internal"));
        assert.equal(res.status, 200, res.body);
        const [url, ...headers] = res.body.split("\n");
        assert.equal(url, `https://${ACME}/sms`);
        for (const wanted of [`host=${ACME}`, `x-forwarded-host=${ACME}`, "x-forwarded-proto=https", "x-forwarded-port=443", "x-forwarded-for=192.0.2.1"]) {
          assert.ok(headers.includes(wanted), `${wanted} in ${res.body}`);
        }
        for (const gone of ["admin", "8443", "DELETE", "forwarded=", "prefix", "original"]) {
          assert.ok(!res.body.includes(gone), `${gone} in ${res.body}`);
        }
      } finally {
        await server.close();
      }
    });

    it(`${name}, a trusted proxy: its prefix and port, which built the URL verified, stay`, async () => {
      const peer = name === "hono" ? { peer: () => "127.0.0.1" } : {};
      const server = await serve(listener({ authToken: TOKEN, trustedProxies: "127.0.0.1", logger: quiet, ...peer }));
      try {
        const headers = { "X-Forwarded-Host": ACME, "X-Forwarded-Proto": "https", "X-Forwarded-Port": "8443", "X-Forwarded-Prefix": "/api" };
        const res = await send(server.port, webhook("/sms", `https://${ACME}:8443/api`, headers, `127.0.0.1:${server.port}`));
        assert.equal(res.status, 200, res.body);
        const lines = res.body.split("\n");
        for (const wanted of [`x-forwarded-host=${ACME}:8443`, "x-forwarded-port=8443", "x-forwarded-prefix=/api"]) {
          assert.ok(lines.includes(wanted), `${wanted} in ${res.body}`);
        }
      } finally {
        await server.close();
      }
    });
  }
});

describe("Express webhook() with a configured url: the core's hand-over, no client's routing header", () => {
  let server;
  before(async () => {
    const a = express();
    const handler = (req, res) => res.send(Object.entries(req.headers).map(([n, v]) => `${n}=${v}`).join("\n"));
    a.post("/sms", ours.webhook(TOKEN, { logger: quiet, url: `https://${ACME}/sms` }), handler);
    a.post("/after/sms", express.urlencoded({ extended: false }), ours.webhook(TOKEN, { logger: quiet, url: `https://${ACME}/after/sms` }), handler);
    server = await serve(a);
  });
  after(() => server.close());

  it("X-Original-URL, X-HTTP-Method-Override, X-Forwarded-Prefix and -Port are gone or the verified ones", async () => {
    const forged = { "X-Original-URL": "/admin", "X-HTTP-Method-Override": "DELETE", "X-Forwarded-Prefix": "/admin", "X-Forwarded-Port": "8443" };
    for (const path of ["/sms", "/after/sms"]) {
      const res = await send(server.port, webhook(path, `https://${ACME}`, forged, VICTIM));
      assert.equal(res.status, 200, `${path}: ${res.body}`);
      const lines = res.body.split("\n");
      assert.ok(lines.includes(`host=${ACME}`) && lines.includes("x-forwarded-port=443"), `${path}: ${res.body}`);
      for (const gone of ["admin", "DELETE", "8443", "prefix", "original"]) assert.ok(!res.body.includes(gone), `${path}: ${gone} in ${res.body}`);
    }
  });
});

describe("Express webhook() without a configured url: no client's routing header either", () => {
  // Sixth outside attack class (A5-F10): with the URL rebuilt from Host, the hand-over only ran when a url
  // or host was configured, so X-HTTP-Method-Override or X-Original-URL reached a verified request's app.
  let server;
  before(async () => {
    const a = express();
    const handler = (req, res) => res.send(Object.entries(req.headers).map(([n, v]) => `${n}=${v}`).join("\n"));
    a.post("/sms", ours.webhook(TOKEN, { logger: quiet }), handler);
    a.post("/after/sms", express.urlencoded({ extended: false }), ours.webhook(TOKEN, { logger: quiet }), handler);
    server = await serve(a);
  });
  after(() => server.close());

  it("X-Original-URL, X-HTTP-Method-Override and X-Forwarded-Prefix are gone", async () => {
    const forged = { "X-Original-URL": "/admin", "X-HTTP-Method-Override": "DELETE", "X-Forwarded-Prefix": "/admin" };
    for (const path of ["/sms", "/after/sms"]) {
      const host = `127.0.0.1:${server.port}`;
      const res = await send(server.port, webhook(path, `http://${host}`, forged, host));
      assert.equal(res.status, 200, `${path}: ${res.body}`);
      assert.ok(res.body.split("\n").includes(`host=${host}`), `${path}: ${res.body}`);
      for (const gone of ["admin", "DELETE", "prefix", "original"]) assert.ok(!res.body.includes(gone), `${path}: ${gone} in ${res.body}`);
    }
  });
});
