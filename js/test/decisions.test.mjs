// Issue 28, "Trust, round two": decisions about a request that the JavaScript adapters took themselves
// instead of the core, and relaxations that were on by default. Each attack goes to a real server over
// TCP (Express, node:http through toNodeListener), except a method that is no method, which no Node
// server lets through: that one goes to the middleware as a request object.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import express from "express";
import { Hono } from "hono";

import { send, serve } from "./servers.mjs";
import { esm as ours, recorder, require } from "./support.mjs";

const twilioNode = require("twilio");
const httpMocks = require("node-mocks-http");
const TOKEN = "decisions-token";
const PARAMS = { From: "+15551234567", Body: "hello" };
const FORM = new URLSearchParams(PARAMS).toString();
const FORM_TYPE = { "Content-Type": "application/x-www-form-urlencoded" };
const quiet = { warn() {} };

/** Twilio's signature for a form request to `url`. */
const sign = (url, params = PARAMS) => twilioNode.getExpectedTwilioSignature(TOKEN, url, params);

describe("the Fetch adapter: the query re-encoding relaxation is a named opt-in", () => {
  let strict;
  let relaxed;
  before(async () => {
    const app = async (request) => new Response(`ran ${new URL(request.url).search}`);
    strict = await serve(ours.toNodeListener(ours.withTwilioWebhook(app, { authToken: TOKEN, logger: quiet })));
    relaxed = await serve(ours.toNodeListener(ours.withTwilioWebhook(app, { authToken: TOKEN, logger: quiet, allowQueryReencoding: true })));
  });
  after(async () => {
    await strict.close();
    await relaxed.close();
  });

  it("checks the query the app sees, and nothing else, by default", async () => {
    // The app sees `?n=O%27Brien` (the runtime's request.url): a signature for that URL passes.
    const exact = await send(strict.port, { path: "/sms?n=O%27Brien", host: "host", headers: { ...FORM_TYPE, "X-Twilio-Signature": sign("http://host/sms?n=O%27Brien") }, body: FORM });
    assert.deepEqual([exact.status, exact.body], [200, "ran ?n=O%27Brien"]);
    // A signature for another spelling of that query (`'`, percent-decoded) is a relaxation: refused.
    const other = { path: "/sms?n=O%27Brien", host: "host", headers: { ...FORM_TYPE, "X-Twilio-Signature": sign("http://host/sms?n=O'Brien") }, body: FORM };
    const refused = await send(strict.port, other);
    assert.deepEqual([refused.status, refused.body], [403, "Twilio webhook rejected: signature_mismatch\n"]);
    // Named, it is accepted.
    const accepted = await send(relaxed.port, other);
    assert.deepEqual([accepted.status, accepted.body], [200, "ran ?n=O%27Brien"]);
  });
});

describe("Express webhook({ url }): a signature for the url does not run another route", () => {
  let server;
  const ran = [];
  const logger = recorder();
  before(async () => {
    const app = express();
    // The middleware on every route, as `app.use` puts it: twilio-node checks the url whatever the path.
    app.use("/raw", ours.webhook(TOKEN, { url: "http://host/raw/voice", logger }));
    app.use("/parsed", express.urlencoded({ extended: false }), ours.webhook(TOKEN, { url: "http://host/parsed/voice", logger }));
    app.post(["/raw/voice", "/raw/admin", "/parsed/voice", "/parsed/admin"], (req, res) => {
      ran.push(req.originalUrl);
      res.send(`ran ${req.originalUrl}`);
    });
    server = await serve(app);
  });
  after(() => server.close());

  for (const mount of ["/raw", "/parsed"]) {
    it(`${mount}: the route Twilio called passes; the same request replayed to another route is refused`, async () => {
      const headers = { ...FORM_TYPE, "X-Twilio-Signature": sign(`http://host${mount}/voice`) };
      const genuine = await send(server.port, { path: `${mount}/voice`, host: "elsewhere", headers, body: FORM });
      assert.deepEqual([genuine.status, genuine.body], [200, `ran ${mount}/voice`]);
      ran.length = 0;
      for (const path of [`${mount}/admin`, `${mount}/voice?x=1`]) {
        const replayed = await send(server.port, { path, host: "host", headers, body: FORM });
        assert.equal(replayed.status, 403, `${path}: ${replayed.body}`);
      }
      assert.deepEqual(ran, [], "no handler ran");
      assert.match(logger.lines.at(-1), /the url option names \/(raw|parsed)\/voice/);
    });
  }

  it("is a difference from twilio-node, whose url stands for every path", async () => {
    const app = express()
      .use(express.urlencoded({ extended: false }))
      .use(twilioNode.webhook(TOKEN, { url: "http://host/voice" }))
      .post("/admin", (req, res) => res.send("ran /admin"));
    const theirs = await serve(app);
    try {
      const headers = { ...FORM_TYPE, "X-Twilio-Signature": sign("http://host/voice") };
      const res = await send(theirs.port, { path: "/admin", host: "host", headers, body: FORM });
      assert.deepEqual([res.status, res.body], [200, "ran /admin"]);
    } finally {
      await theirs.close();
    }
  });
});

describe("Express webhook(): nothing is decoded from an unverified body", () => {
  let server;
  const seen = [];
  before(async () => {
    const app = express();
    // What a request logger that runs when the answer is sent would find on the request.
    app.use((req, res, next) => {
      res.on("finish", () => seen.push([res.statusCode, req.body === undefined ? "no body" : { ...req.body }, req.rawBody === undefined]));
      next();
    });
    app.post("/sms", ours.webhook(TOKEN, { logger: quiet }), (req, res) => res.send("ran"));
    server = await serve(app);
  });
  after(() => server.close());

  it("leaves req.body and req.rawBody unset on a refused request, and sets them on a verified one", async () => {
    const url = `http://127.0.0.1:${server.port}/sms`;
    const forged = await send(server.port, { path: "/sms", host: `127.0.0.1:${server.port}`, headers: { ...FORM_TYPE, "X-Twilio-Signature": sign(url, { Body: "x" }) }, body: "Body=forged" });
    assert.equal(forged.status, 403);
    const genuine = await send(server.port, { path: "/sms", host: `127.0.0.1:${server.port}`, headers: { ...FORM_TYPE, "X-Twilio-Signature": sign(url) }, body: FORM });
    assert.equal(genuine.status, 200);
    assert.deepEqual(seen, [
      [403, "no body", true],
      [200, PARAMS, false],
    ]);
  });
});

describe("Express webhook(): the app's req.body is the form the core verified", () => {
  let server;
  before(async () => {
    const app = express();
    app.post("/sms", ours.webhook(TOKEN, { logger: quiet }), (req, res) => res.json(req.body));
    server = await serve(app);
  });
  after(() => server.close());

  it("decodes a % that starts no escape as the core does (Node's parsers turn the é after it into U+FFFD)", async () => {
    // Twilio signed Body="%zz é" (sent as Body=%25zz+%C3%A9); the same text, spelt another way.
    const url = `http://127.0.0.1:${server.port}/sms`;
    const headers = { ...FORM_TYPE, "X-Twilio-Signature": sign(url, { Body: "%zz é" }) };
    const res = await send(server.port, { path: "/sms", host: `127.0.0.1:${server.port}`, headers, body: "Body=%25zz+%C3%A9" });
    assert.deepEqual([res.status, JSON.parse(res.body)], [200, { Body: "%zz é" }]);
    // A `%` that starts no escape is refused before any HMAC (Go and Tomcat drop such a pair; Twilio
    // sends `%25`), as is the é as raw bytes (Twilio percent-encodes every byte that is not ASCII).
    for (const body of ["Body=%zz%20%C3%A9", "Body=%zz+%C3%A9"]) {
      const refused = await send(server.port, { path: "/sms", host: `127.0.0.1:${server.port}`, headers, body });
      assert.equal(refused.status, 400, body);
    }
    // The é as raw bytes: refused before any HMAC (Twilio percent-encodes every byte that is not ASCII).
    const raw = await send(server.port, { path: "/sms", host: `127.0.0.1:${server.port}`, headers, body: "Body=%zz%20é" });
    assert.equal(raw.status, 403, raw.body);
  });
});

describe("toNodeListener hands the Host to the core", () => {
  const app = async (request) => new Response(`ran ${new URL(request.url).pathname}`);
  const headers = { ...FORM_TYPE, "X-Twilio-Signature": sign("http://host/voice") };

  it("a second Host field is the core's bad_host (Node keeps only the first)", async () => {
    const server = await serve(ours.toNodeListener(ours.withTwilioWebhook(app, { authToken: TOKEN, logger: quiet })));
    try {
      const one = await send(server.port, { path: "/voice", host: "host", headers, body: FORM });
      assert.deepEqual([one.status, one.body], [200, "ran /voice"]);
      for (const second of ["host", "other/voice#"]) {
        const two = await send(server.port, { path: "/voice", host: "host", headers: { ...headers, Host: second }, body: FORM });
        assert.deepEqual([two.status, two.body], [400, "Twilio webhook rejected: bad_host\n"], `second Host ${second}`);
      }
    } finally {
      await server.close();
    }
  });

  it("a Host that is not a host, under a configured public URL, is decided by the core: the Host is not consulted", async () => {
    const server = await serve(ours.toNodeListener(ours.withTwilioWebhook(app, { authToken: TOKEN, publicUrl: "http://host", logger: quiet })));
    try {
      const res = await send(server.port, { path: "/voice", host: "host/sms#", headers, body: FORM });
      assert.deepEqual([res.status, res.body], [200, "ran /voice"]);
      // The signature still covers only the path the request was made to.
      const replayed = await send(server.port, { path: "/sms", host: "host/voice#", headers, body: FORM });
      assert.equal(replayed.status, 403);
    } finally {
      await server.close();
    }
  });
});

describe("a method that is not a method token", () => {
  it("is refused 400 bad_method by the core, never read as POST", () => {
    const url = "http://host/sms";
    for (const method of ["NOT A METHOD", "", "P\u00d6ST"]) {
      const request = httpMocks.createRequest({
        method,
        url: "/sms",
        originalUrl: "/sms",
        headers: { host: "host", "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": sign(url) },
        body: { ...PARAMS },
      });
      request.method = method; // as given: the mock reads "" as GET
      const response = httpMocks.createResponse();
      let nextCalled = false;
      ours.webhook(TOKEN, { logger: quiet })(request, response, () => {
        nextCalled = true;
      });
      assert.equal(nextCalled, false, JSON.stringify(method));
      assert.deepEqual([response.statusCode, response._getData()], [400, "Twilio webhook rejected: bad_method\n"], JSON.stringify(method));
    }
  });
});

describe("Express webhook() after a body parser: the parsed form is taken as the core takes a body", () => {
  it("refuses a captured POST replayed with another method, and a GET with a body (third outside attack, F18)", async () => {
    const ran = [];
    const app = express()
      .use(express.urlencoded({ extended: false }))
      .use(ours.webhook(TOKEN, { logger: quiet }))
      .all("/sms", (req, res) => {
        ran.push(req.method);
        res.send("ran");
      });
    const server = await serve(app);
    try {
      const headers = { ...FORM_TYPE, "X-Twilio-Signature": sign("http://host/sms") };
      for (const method of ["PUT", "PATCH", "DELETE", "GET"]) {
        const res = await send(server.port, { method, path: "/sms", host: "host", headers, body: FORM });
        // A body on a GET is the core's 400 (body_not_allowed), as when webhook() reads the body itself.
        assert.equal(res.status, method === "GET" ? 400 : 403, `${method}: ${res.body}`);
      }
      assert.deepEqual(ran, [], "no handler ran");
      const genuine = await send(server.port, { path: "/sms", host: "host", headers, body: FORM });
      assert.deepEqual([genuine.status, genuine.body], [200, "ran"]);
    } finally {
      await server.close();
    }
  });
});

describe("Express webhook() after a body parser: the core's form rules apply to the parsed form", () => {
  it("refuses a re-split SMS that repeats From, which verifies (fourth outside attack, F13)", async () => {
    const ran = [];
    const app = express()
      .use(express.urlencoded({ extended: false }))
      .use(ours.webhook(TOKEN, { logger: quiet }))
      .post("/sms", (req, res) => {
        ran.push(req.body);
        res.send("ran");
      });
    const server = await serve(app);
    try {
      // The SMS Twilio signed: its Body ends in "From+10005550000".
      const sent = [["AccountSid", "AC1"], ["Body", "helloFrom+10005550000"], ["From", "+15551234"]];
      const resplit = [["AccountSid", "AC1"], ["Body", "hello"], ["From", "+10005550000"], ["From", "+15551234"]];
      const signature = sign("http://host/sms", Object.fromEntries(sent));
      const headers = { ...FORM_TYPE, "X-Twilio-Signature": signature };
      const body = (pairs) => new URLSearchParams(pairs).toString();
      const forged = await send(server.port, { path: "/sms", host: "host", headers, body: body(resplit) });
      // The core's 400, as when webhook() reads the body itself.
      assert.deepEqual([forged.status, forged.body], [400, "Twilio webhook rejected: repeated_parameter\n"]);
      assert.deepEqual(ran, [], "no handler ran");
      const genuine = await send(server.port, { path: "/sms", host: "host", headers, body: body(sent) });
      assert.deepEqual([genuine.status, genuine.body], [200, "ran"]);
    } finally {
      await server.close();
    }
  });
});

describe("Hono twilioWebhook({ paths }): a prefix the app strips itself does not hide a protected route", () => {
  // Sixth outside attack (A5-F6): Hono routes relative to basePath() and to a sub-app mounted with
  // app.route(), while the middleware is handed the whole URL path. A protected prefix now protects the
  // rest of the path after any of its segments (the core's path rules), so the unsigned POST is refused.
  const handler = async (c) => c.text(`handler ran, verdict=${c.get("twilioVerdict") ? "yes" : "none"}`);
  const based = () => {
    const app = new Hono().basePath("/v2");
    app.use("*", ours.twilioWebhook({ authToken: TOKEN, paths: ["/twilio"], logger: quiet }));
    app.post("/twilio/sms", handler);
    return app;
  };
  const mounted = () => {
    const sub = new Hono();
    sub.use("*", ours.twilioWebhook({ authToken: TOKEN, paths: ["/twilio"], logger: quiet }));
    sub.post("/twilio/sms", handler);
    return new Hono().route("/v3", sub);
  };
  for (const [name, make, path] of [["basePath('/v2')", based, "/v2/twilio/sms"], ["route('/v3', sub)", mounted, "/v3/twilio/sms"]]) {
    it(`${name}: unsigned, refused; genuine, verified`, async () => {
      const app = make();
      const server = await serve(ours.toNodeListener((request, connection) => app.fetch(request, connection)));
      try {
        const host = `127.0.0.1:${server.port}`;
        const unsigned = await send(server.port, { path, host, headers: FORM_TYPE, body: FORM });
        assert.equal(unsigned.status, 400, unsigned.body);
        assert.match(unsigned.body, /missing_signature/);
        const genuine = await send(server.port, { path, host, headers: { ...FORM_TYPE, "X-Twilio-Signature": sign(`http://${host}${path}`) }, body: FORM });
        assert.deepEqual([genuine.status, genuine.body], [200, "handler ran, verdict=yes"]);
      } finally {
        await server.close();
      }
    });
  }
});
