// Issue 28 finding 6, in JS: one diagnosis budget per process. webhook() once built a verifier, with a
// fresh budget, for each new Host: forged requests with as many Hosts each bought a full diagnosis. Now
// every verifier of the module, whatever its configuration or Host, draws on one budget.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import express from "express";

import { send, serve } from "./servers.mjs";
import { esm as ours, require } from "./support.mjs";

const twilioNode = require("twilio");
const FORGED = 90;

describe("diagnoses of forged requests, across Hosts and configurations", () => {
  let server;
  const lines = [];
  before(async () => {
    const logger = { warn: (line) => lines.push(line) };
    const app = express();
    app.post("/a", ours.webhook("token-a", { logger }), (req, res) => res.send("ran"));
    app.post("/b", ours.webhook("token-b", { logger }), (req, res) => res.send("ran"));
    app.post("/c", ours.webhook("token-c", { logger, url: "https://example.com/c" }), (req, res) => res.send("ran"));
    server = await serve(app);
  });
  after(() => server.close());

  it("come out of one budget: at most the rate a second, plus the first refusal of each configuration", async () => {
    const started = Date.now();
    const forged = (i) => {
      const path = ["/a", "/b", "/c"][i % 3];
      const host = `forged-${i}.example`;
      // A well-formed signature made with the wrong token: a real search for what was signed.
      const signature = twilioNode.getExpectedTwilioSignature("not-the-token", `http://${host}${path}`, { Body: "x" });
      return send(server.port, {
        path,
        host,
        headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature },
        body: "Body=x",
      });
    };
    const answers = await Promise.all(Array.from({ length: FORGED }, (_, i) => forged(i)));
    assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([403]));
    const seconds = (Date.now() - started) / 1000;
    assert.equal(lines.length, FORGED);
    const skipped = lines.filter((line) => /diagnosis over its budget/.test(line)).length;
    const diagnosed = FORGED - skipped;
    // webhook() diagnoses 10 a second; each of the three configurations' first refusal is its own.
    const allowed = Math.floor(10 + 10 * seconds) + 3;
    assert.ok(diagnosed >= 1, "some were diagnosed");
    assert.ok(allowed < FORGED, `the requests took ${seconds.toFixed(2)} s: too slow for the budget to show`);
    assert.ok(diagnosed <= allowed, `${diagnosed} diagnoses in ${seconds.toFixed(2)} s, at most ${allowed} allowed`);
  });
});
