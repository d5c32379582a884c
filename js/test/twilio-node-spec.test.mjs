// twilio-node's own webhook tests, restated against the drop-in: spec/unit/webhooks/webhooks.spec.js and
// spec/validation.spec.js (twilio-node 6.x), with their inputs, calls and expectations. The middleware
// tests use node-mocks-http as the originals do, and check the status right after the call, as they do.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import httpMocks from "node-mocks-http";

import { cjs as twilio } from "./support.mjs";

const { getExpectedTwilioSignature, validateRequest, validateRequestWithBody, validateBody, webhook } = twilio;

describe("webhooks.spec.js: validateRequest()", () => {
  const authToken = "s3cr3t";
  const check = (serverUrl, targetUrl) =>
    validateRequest(authToken, getExpectedTwilioSignature(authToken, serverUrl, {}), targetUrl, {});

  it("returns false when the signature URL does not match the target URL", () => {
    assert.equal(check("https://example.com/path?test=param", "https://example.com/path?test=param2"), false);
  });
  it("signed with a port: true when the target URL contains the port", () => {
    assert.equal(check("https://example.com:443/path?test=param", "https://example.com:443/path?test=param"), true);
  });
  it("signed with a port: true when the target URL does not contain the port", () => {
    assert.equal(check("https://example.com:443/path?test=param", "https://example.com/path?test=param"), true);
  });
  it("signed without a port: true when the target URL does not contain the port", () => {
    assert.equal(check("https://example.com/path?test=param", "https://example.com/path?test=param"), true);
  });
  it("signed without a port: true when the target URL contains the port", () => {
    assert.equal(check("https://example.com/path?test=param", "https://example.com:443/path?test=param"), true);
  });
  it("unescaped single quote signed: true for the unescaped target", () => {
    assert.equal(check("https://example.com/path?test=param'WithQuote", "https://example.com/path?test=param'WithQuote"), true);
  });
  it("unescaped single quote signed: true for the escaped target", () => {
    assert.equal(check("https://example.com/path?test=param'WithQuote", "https://example.com/path?test=param%27WithQuote"), true);
  });
  it("escaped single quote signed: true for the unescaped target", () => {
    assert.equal(check("https://example.com/path?test=param%27WithQuote", "https://example.com/path?test=param'WithQuote"), true);
  });
  it("escaped single quote signed: true for the escaped target", () => {
    assert.equal(check("https://example.com/path?test=param%27WithQuote", "https://example.com/path?test=param%27WithQuote"), true);
  });
});

const defaultParams = {
  CallSid: "CA1234567890ABCDE",
  Caller: "+14158675309",
  Digits: "1234",
  From: "+14158675309",
  To: "+18005551212",
};
const token = "12345";
const defaultSignature = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
const requestUrl = "https://mycompany.com/myapp.php?foo=1&bar=2";
const body = '{"property": "value", "boolean": true}';
const bodySignature = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
const requestUrlWithHash = requestUrl + "&bodySHA256=" + bodySignature;
const requestUrlWithHashSignature = "a9nBmqA0ju/hNViExpshrM61xv4=";
const requestUrlWithHashSignatureEmptyBody = "Ldidvp12m26NI7eqEvxnEpkd9Hc=";
const bodySignatureEmpty = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
const requestUrlWithHashEmpty = requestUrl + "&bodySHA256=" + bodySignatureEmpty;

describe("validation.spec.js: Request validation", () => {
  it("succeeds with the correct signature", () => {
    assert.equal(validateRequest(token, defaultSignature, requestUrl, defaultParams), true);
  });
  it("fails when given the wrong signature", () => {
    assert.equal(validateRequest(token, "WRONG_SIGNATURE", requestUrl, defaultParams), false);
  });
  it("validates the post body", () => {
    assert.equal(validateBody(body, bodySignature), true);
  });
  it("fails to validate with the wrong sha", () => {
    assert.equal(validateBody(body, "WRONG_HASH"), false);
  });
  it("validates the request body when given", () => {
    assert.equal(validateRequestWithBody(token, requestUrlWithHashSignature, requestUrlWithHash, body), true);
  });
  it("validates the request body when empty", () => {
    assert.equal(validateRequestWithBody(token, requestUrlWithHashSignatureEmptyBody, requestUrlWithHashEmpty, "{}"), true);
  });
  it("validates the request body with only the sha param", () => {
    const sig = bodySignature.replace("+", "%2B").replace("=", "%3D");
    const shortUrl = "https://mycompany.com/myapp.php?bodySHA256=" + sig;
    assert.equal(validateRequestWithBody(token, "y77kIzt2vzLz71DgmJGsen2scGs=", shortUrl, body), true);
  });
  it("fails if given a body but no bodySHA256 param", () => {
    // The original passes five arguments: defaultParams lands in the body slot.
    assert.equal(validateRequestWithBody(token, defaultSignature, requestUrl, defaultParams, body), false);
  });
  it("fails when the signature is undefined", () => {
    assert.equal(validateRequest(token, undefined, requestUrl, defaultParams), false);
  });
  it("validates https URLs with ports by stripping them", () => {
    assert.equal(validateRequest(token, defaultSignature, requestUrl.replace(".com", ".com:1234"), defaultParams), true);
  });
  it("validates http URLs with ports", () => {
    const url = requestUrl.replace(".com", ".com:1234").replace("https", "http");
    assert.equal(validateRequest(token, "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=", url, defaultParams), true);
  });
  it("validates https URLs without ports by adding the standard port 443", () => {
    assert.equal(validateRequest(token, "kvajT1Ptam85bY51eRf/AJRuM3w=", requestUrl, defaultParams), true);
  });
  it("validates http URLs without ports by adding the standard port 80", () => {
    assert.equal(validateRequest(token, "0ZXoZLH/DfblKGATFgpif+LLRf4=", requestUrl.replace("https", "http"), defaultParams), true);
  });
  it("validates URLs with credentials", () => {
    const url = "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2";
    assert.equal(validateRequest(token, "CukzLTc1tT5dXEDIHm/tKBanW10=", url, defaultParams), true);
  });
  it("validates URLs with just a username", () => {
    const url = "https://user@mycompany.com/myapp.php?foo=1&bar=2";
    assert.equal(validateRequest(token, "2YRLlVAflCqxaNicjMpJcSTgzSs=", url, defaultParams), true);
  });
  it("validates URLs with credentials by adding the port", () => {
    const url = "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2";
    assert.equal(validateRequest(token, "ZQFR1PTIZXF2MXB8ZnKCvnnA+rI=", url, defaultParams), true);
  });
  it("validates URLs with special characters (the current suite's value: the %27 form)", () => {
    assert.equal(validateRequest(token, "TfZzewPq8wqrGlMfyAud8+/IvJ0=", requestUrl + "&Body=It's+amazing", defaultParams), true);
  });
  it("validates URLs with special characters (the suite's earlier value: the URL as given)", () => {
    assert.equal(validateRequest(token, "dsq4Ehbj6cs+KdTkpF5sSSplOWw=", requestUrl + "&Body=It's+amazing", defaultParams), true);
  });
  it("validates a request body with an array parameter", () => {
    const params = { "MessagingBinding.Address": ["+1325xxxxxxx", "+1415xxxxxxx"] };
    assert.equal(validateRequest(token, "83O6e2vORAoJHUNzJjDWN1jz+BA=", requestUrl, params), true);
  });
  it("validates an array parameter regardless of the position of its values", () => {
    const params = { "MessagingBinding.Address": ["+1415xxxxxxx", "+1325xxxxxxx"] };
    assert.equal(validateRequest(token, "83O6e2vORAoJHUNzJjDWN1jz+BA=", requestUrl, params), true);
  });
  it("validates a request body with multiple params and values", () => {
    const params = { Sid: "CA123", SidAccount: "AC123", Digits: ["5678", "1234", "1234"] };
    assert.equal(validateRequest(token, "IK+Dwps556ElfBT0I3Rgjkr1wJU=", requestUrl, params), true);
  });
});

describe("validation.spec.js: Request validation middleware", () => {
  const fullUrl = new URL(requestUrl);
  const defaultRequest = {
    method: "POST",
    protocol: fullUrl.protocol,
    host: fullUrl.host,
    headers: { "X-Twilio-Signature": defaultSignature, host: fullUrl.host },
    url: fullUrl.pathname + fullUrl.search,
    originalUrl: fullUrl.pathname + fullUrl.search,
    body: defaultParams,
  };
  const { "X-Twilio-Signature": _, ...unsignedHeaders } = defaultRequest.headers;
  const defaultRequestWithoutTwilioSignature = { ...defaultRequest, headers: unsignedHeaders };
  const quiet = { warn() {} };
  const middleware = webhook(token, { logger: quiet });

  /** Runs a middleware as the originals do: whether it called next(), and the status right after. */
  function run(mw, request) {
    const response = httpMocks.createResponse();
    let nextCalled = false;
    mw(request, response, () => {
      nextCalled = true;
    });
    return { nextCalled, status: response.statusCode, text: response._getData() };
  }

  it("validates standard requests", () => {
    const { nextCalled, status } = run(middleware, httpMocks.createRequest(defaultRequest));
    assert.equal(nextCalled, true);
    assert.equal(status, 200);
  });
  it("sends 403 for invalid signatures", () => {
    const originalUrl = fullUrl.pathname + fullUrl.search + "&somethingUnexpected=true";
    const { nextCalled, status, text } = run(middleware, httpMocks.createRequest({ ...defaultRequest, originalUrl }));
    assert.equal(nextCalled, false);
    assert.equal(status, 403);
    assert.equal(text, "Twilio Request Validation Failed.");
  });
  it("bypasses validation if given {validate: false}", () => {
    const { nextCalled, status } = run(webhook(token, { validate: false }), httpMocks.createRequest(defaultRequest));
    assert.equal(nextCalled, true);
    assert.equal(status, 200);
  });
  it("validates if options are passed without the validate flag", () => {
    const originalUrl = fullUrl.pathname + fullUrl.search + "&somethingUnexpected=true";
    const { nextCalled, status } = run(webhook(token, { logger: quiet }), httpMocks.createRequest({ ...defaultRequest, originalUrl }));
    assert.equal(nextCalled, false);
    assert.equal(status, 403);
  });
  it("accepts a manual host and protocol", () => {
    const request = httpMocks.createRequest({
      ...defaultRequest,
      host: "someothercompany.com",
      protocol: "http",
      headers: { ...defaultRequest.headers, host: "someothercompany.com" },
    });
    const { nextCalled, status } = run(webhook(token, { host: "mycompany.com", protocol: "https" }), request);
    assert.equal(nextCalled, true);
    assert.equal(status, 200);
  });
  it("accepts a manual url that overrides host and protocol", () => {
    const request = httpMocks.createRequest({
      ...defaultRequest,
      host: "someothercompany.com",
      protocol: "http",
      headers: { ...defaultRequest.headers, host: "someothercompany.com" },
    });
    const { nextCalled, status } = run(webhook(token, { host: "myothercompany.com", protocol: "ftp", url: requestUrl }), request);
    assert.equal(nextCalled, true);
    assert.equal(status, 200);
  });
  it("validates the post body if given a query param", () => {
    const request = httpMocks.createRequest({
      ...defaultRequest,
      originalUrl: requestUrlWithHash.substring(requestUrlWithHash.indexOf(".com/") + 4),
      body,
      headers: { ...defaultRequest.headers, "X-Twilio-Signature": requestUrlWithHashSignature },
    });
    request.rawBody = body;
    const { nextCalled, status } = run(middleware, request);
    assert.equal(nextCalled, true);
    assert.equal(status, 200);
  });
  it("fails validation of a post body with the wrong hash", () => {
    const request = httpMocks.createRequest({
      ...defaultRequest,
      originalUrl: requestUrlWithHash.substring(requestUrlWithHash.indexOf(".com/") + 4).slice(0, -1),
      body,
      headers: { ...defaultRequest.headers, "X-Twilio-Signature": requestUrlWithHashSignature },
    });
    const { nextCalled, status } = run(middleware, request);
    assert.equal(nextCalled, false);
    assert.equal(status, 403);
  });
  it("fails if no twilio signature is provided in the request headers", () => {
    const originalUrl = fullUrl.pathname + fullUrl.search + "&somethingUnexpected=true";
    const request = httpMocks.createRequest({ ...defaultRequestWithoutTwilioSignature, originalUrl });
    const { nextCalled, status, text } = run(middleware, request);
    assert.equal(nextCalled, false);
    assert.equal(status, 400);
    assert.match(text, /^No signature header error/);
  });
});
