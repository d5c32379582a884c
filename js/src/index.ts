// twilio-webhook for JavaScript and TypeScript: the exact core, compiled to WebAssembly.
//
// - the drop-in for twilio-node's webhook API: `validateRequest`, `webhook`, … (change one import);
// - the rich API: `new Validator(...)`, whose verdicts say why, and `explain`;
// - the Fetch adapter for every edge runtime (`withTwilioWebhook`, `verifyRequest`), and Hono
//   (`twilio-webhook/hono`).
export {
  HMAC_SHA1,
  HMAC_SHA256,
  SIGNATURE_HEADER,
  SIGNATURE_SETTINGS_HEADER,
  getExpectedBodyHash,
  getExpectedTwilioSignature,
  getSignatureAlgorithm,
  validateBody,
  validateExpressRequest,
  validateIncomingRequest,
  validateRequest,
  validateRequestWithBody,
} from "./dropin.js";
export type { Request, RequestValidatorOptions } from "./dropin.js";
export { webhook } from "./express.js";
export type { WebhookMiddlewareOptions } from "./express.js";
export { refusal, verdictOf, verifyRequest, withTwilioWebhook } from "./fetch.js";
export type { HttpVerdict, Logger, WebhookOptions } from "./settings.js";
export { runtimePeer, toNodeListener } from "./node.js";
export type { NodeConnection } from "./node.js";
export { Validator } from "./validator.js";
export type { Explanation, Secrets, ValidatorOptions, Verdict, VerifyInput } from "./validator.js";
export type { Params } from "./params.js";
export { twilioWebhook } from "./hono.js";

import {
  HMAC_SHA1,
  HMAC_SHA256,
  SIGNATURE_HEADER,
  SIGNATURE_SETTINGS_HEADER,
  getExpectedBodyHash,
  getExpectedTwilioSignature,
  getSignatureAlgorithm,
  validateBody,
  validateExpressRequest,
  validateIncomingRequest,
  validateRequest,
  validateRequestWithBody,
} from "./dropin.js";
import { webhook } from "./express.js";

/**
 * The drop-in as one object, the shape of `import twilio from "twilio"`: `twilio.validateRequest(…)`,
 * `twilio.webhook(…)`.
 */
const twilio = {
  HMAC_SHA1,
  HMAC_SHA256,
  SIGNATURE_HEADER,
  SIGNATURE_SETTINGS_HEADER,
  getExpectedBodyHash,
  getExpectedTwilioSignature,
  getSignatureAlgorithm,
  validateBody,
  validateExpressRequest,
  validateIncomingRequest,
  validateRequest,
  validateRequestWithBody,
  webhook,
};
export default twilio;
