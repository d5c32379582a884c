// The rich API (Validator: secrets by name, verdicts that say why, the mode of spec §5, explain) and the
// drop-in's promise that request input never throws.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";

import { cjs, esm, root } from "./support.mjs";

const { Validator, validateRequest, getExpectedTwilioSignature } = cjs;
const URL_ = "https://example.com/sms";
const PARAMS = { From: "+15551234567", Body: "héllo 👋", To: ["+1555000", "+1555999"] };

describe("Validator configuration", () => {
  it("takes a token, tokens by name, or [name, token] pairs, and SharedKeys by id", () => {
    const signature = getExpectedTwilioSignature("new-token", URL_, PARAMS);
    for (const authTokens of ["new-token", { old: "old-token", current: "new-token" }, [["old", "old-token"], ["current", "new-token"]]]) {
      const verdict = new Validator({ authTokens }).verify({ url: URL_, params: PARAMS, signature });
      assert.equal(verdict.valid, true);
      assert.equal(verdict.secret, typeof authTokens === "string" ? "primary" : "current");
      assert.equal(verdict.secretKind, "auth_token");
      assert.equal(verdict.algorithm, "HMAC_SHA1");
      assert.equal(verdict.matchedUrl, URL_);
    }
  });

  it("throws TypeError or RangeError naming the secret, never showing it", () => {
    const secret = "s3cr3t-value-never-shown";
    const cases = [
      [() => new Validator({}), RangeError],
      [() => new Validator({ authTokens: { current: "" } }), RangeError],
      [() => new Validator({ authTokens: { a: secret, b: 5 } }), TypeError],
      [() => new Validator({ authTokens: 42 }), TypeError],
      [() => new Validator({ sharedKeys: { KSbad: 7 } }), TypeError],
      [() => new Validator(null), TypeError],
    ];
    for (const [make, kind] of cases) {
      assert.throws(make, (e) => e instanceof kind && !e.message.includes(secret), String(make));
    }
    assert.throws(() => new Validator({ authTokens: { b: 5 } }), /"b"/);
    assert.throws(() => new Validator({ authTokens: { current: "" } }), /current/);
  });
});

describe("Validator#verify", () => {
  const validator = new Validator({ authTokens: "tok" });
  const signature = getExpectedTwilioSignature("tok", URL_, PARAMS);

  it("takes params as an object, pairs, URLSearchParams or a Map", () => {
    const pairs = [["From", "+15551234567"], ["Body", "héllo 👋"], ["To", "+1555000"], ["To", "+1555999"]];
    for (const params of [PARAMS, pairs, new URLSearchParams(pairs), new Map([["From", "+15551234567"], ["Body", "héllo 👋"], ["To", ["+1555000", "+1555999"]]])]) {
      assert.equal(validator.verify({ url: URL_, params, signature }).valid, true);
    }
  });

  it("takes the raw body as a string, a Uint8Array or an ArrayBuffer, and headers in any case", () => {
    const body = new URLSearchParams([["From", "+15551234567"], ["Body", "héllo 👋"], ["To", "+1555000"], ["To", "+1555999"]]).toString();
    const bytes = new TextEncoder().encode(body);
    const form = "application/x-www-form-urlencoded";
    for (const b of [body, bytes, bytes.buffer]) {
      assert.equal(validator.verify({ url: URL_, body: b, headers: { "X-TWILIO-SIGNATURE": signature, "content-type": form } }).valid, true);
      assert.equal(validator.verify({ url: URL_, body: b, headers: new Headers({ "x-twilio-signature": signature, "Content-Type": form }) }).valid, true);
    }
  });

  it("lets the URL decide the mode (spec §5)", () => {
    const json = '{"a":1}';
    const hash = cjs.getExpectedBodyHash(json);
    const hashed = `${URL_}?bodySHA256=${hash}`;
    const sig = getExpectedTwilioSignature("tok", hashed, {});
    assert.equal(validator.verify({ url: hashed, body: json, contentType: "application/json", signature: sig }).valid, true);
    assert.equal(validator.verify({ url: hashed, body: "{}", contentType: "application/json", signature: sig }).reason, "body_hash_mismatch");
    assert.equal(validator.verify({ url: hashed, params: {}, signature: sig }).reason, "body_not_hashed");
    assert.equal(validator.verify({ url: URL_, body: json, contentType: "application/json", signature: sig }).reason, "body_hash_missing");
    assert.equal(validator.verify({ url: URL_, params: PARAMS }).reason, "missing_signature");
    assert.equal(validator.verify({ url: URL_, params: PARAMS, signature: "nope" }).reason, "malformed_signature");
  });

  it("never throws on request input", () => {
    const junk = [undefined, null, 5, {}, [], "", "::", "http://[::1", () => 1, Symbol.iterator, new Date()];
    for (const url of junk) {
      for (const params of [undefined, null, { a: {} }, { a: null }, [["only-key"]], "a=b", 7]) {
        const verdict = validator.verify({ url, params, signature: signature });
        assert.equal(verdict.valid, false);
        assert.equal(typeof verdict.reason, "string");
      }
    }
    assert.equal(validator.verify({ url: URL_, body: { not: "bytes" }, signature }).reason, "malformed_body");
  });
});

describe("the drop-in never throws on request input", () => {
  const junk = [undefined, null, 0, 5, "", "not a url", "http://[::1", {}, [], () => 1, new Date(), { toString: () => { throw new Error("boom"); } }];
  it("validateRequest, validateRequestWithBody and validateIncomingRequest answer false", () => {
    for (const a of junk) {
      for (const b of junk) {
        assert.equal(validateRequest(a, b, a, b), false);
        assert.equal(validateRequest("tok", "sig", a, b), false);
        assert.equal(cjs.validateRequestWithBody("tok", a, b, a), false);
        assert.equal(cjs.validateBody(a, b), false);
        assert.equal(cjs.validateIncomingRequest(a ?? {}, "tok", b ?? {}), false);
      }
    }
  });
  it("getExpectedTwilioSignature answers \"\" for what is no request", () => {
    assert.equal(getExpectedTwilioSignature("", URL_, {}), "");
    assert.equal(getExpectedTwilioSignature("tok", 5, {}), "");
    assert.equal(getExpectedTwilioSignature("tok", URL_, { a: {} }), "");
  });
  it("an empty token validates nothing, even a signature made with it", () => {
    const withEmpty = "gQ+5y1KKk8MtWW+Xe0M3S0Efqck="; // any value: no signature is accepted
    assert.equal(validateRequest("", withEmpty, URL_, {}), false);
  });
  it("signs the URL exactly as given, as twilio-node does", () => {
    const url = "https://Example.com:443/a b?x=1&y=O'Brien";
    assert.equal(getExpectedTwilioSignature("tok", url, PARAMS), esm.getExpectedTwilioSignature("tok", url, PARAMS));
    assert.equal(validateRequest("tok", getExpectedTwilioSignature("tok", url, PARAMS), url, PARAMS), true);
  });
});

describe("explain", () => {
  // The CLI's `explain --json` is the contract: the same core, the same document.
  const cli = join(root, "target", "debug", "twilio-webhook");
  if (!existsSync(cli)) execFileSync("cargo", ["build", "-q", "-p", "twilio-webhook-cli"], { cwd: root, stdio: "inherit" });
  const cliJson = (args) => {
    try {
      return JSON.parse(execFileSync(cli, ["explain", "--json", ...args], { encoding: "utf8", env: { PATH: process.env.PATH } }));
    } catch (e) {
      return JSON.parse(e.stdout);
    }
  };

  const signedUrl = "https://abc.ngrok.app/sms";
  const received = "http://localhost:3000/sms";
  const params = { From: "+15551234567", Body: "hi" };
  const signature = getExpectedTwilioSignature("tok", signedUrl, params);

  it("says what Twilio signed and the fix, as `twilio-webhook explain --json` does", () => {
    const ours = new Validator({ authTokens: "tok" }).explain({ url: received, params, signature });
    const theirs = cliJson(["--url", received, "--token", "tok", "--signature", signature, "-d", "From=+15551234567", "-d", "Body=hi"]);
    assert.deepEqual(ours, theirs);
    assert.equal(ours.valid, false);
    assert.ok(ours.causes.length > 0);
    assert.deepEqual(Object.keys(ours).sort(), ["causes", "matched_url", "reason", "valid"]);
  });

  it("finds the public URL it is given, with the raw body of a JSON webhook", () => {
    const json = '{"event":"x"}';
    const hashed = `${signedUrl}?bodySHA256=${cjs.getExpectedBodyHash(json)}`;
    const sig = getExpectedTwilioSignature("tok", hashed, {});
    const local = `http://127.0.0.1:8080/sms?bodySHA256=${cjs.getExpectedBodyHash(json)}`;
    const ours = new Validator({ authTokens: "tok" }).explain({ url: local, body: json, contentType: "application/json", signature: sig, publicUrl: "https://abc.ngrok.app" });
    assert.equal(ours.valid, false);
    assert.ok(ours.causes.some((c) => c.signed_url === hashed), JSON.stringify(ours));
  });

  it("agrees with verify when valid", () => {
    const ours = new Validator({ authTokens: "tok" }).explain({ url: signedUrl, params, signature });
    assert.equal(ours.valid, true);
    assert.equal(ours.matched_url, signedUrl);
    assert.deepEqual(ours.causes, []);
  });
});
