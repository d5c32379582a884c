// The package from TypeScript, type-checked in the pack test (`tsc --noEmit`, strict): the drop-in,
// the rich API, and the Fetch adapter, as a user writes them.
import twilio = require("twilio-webhook");
import { Validator, type Verdict, type HttpVerdict, withTwilioWebhook, verdictOf } from "twilio-webhook";
import { twilioWebhook } from "twilio-webhook/hono";

const token: string = process.env.TWILIO_AUTH_TOKEN ?? "";
const valid: boolean = twilio.validateRequest(token, "signature", "https://example.com/sms", { Body: "hi", To: ["+1", "+2"] });
const signature: string = twilio.getExpectedTwilioSignature(token, "https://example.com/sms", new URLSearchParams("a=b"));

const validator = new Validator({ authTokens: { current: "t2", previous: "t1" }, allowTrailingSlashVariant: true });
const verdict: Verdict = validator.verify({ url: "https://example.com/sms", params: [["Body", "hi"]], headers: new Headers() });
const reason: string | null = verdict.reason;

export default {
  fetch: withTwilioWebhook(async (request: Request) => {
    const seen: HttpVerdict | undefined = verdictOf(request);
    return new Response(`${seen?.secret} ${await request.text()}`);
  }),
};

export const middleware: (c: { req: { raw: Request }; set(key: string, value: unknown): void }, next: () => Promise<void>) => Promise<Response | void> =
  twilioWebhook({ publicUrl: "https://example.com" });
export const express = twilio.webhook({ validate: true, protocol: "https" });
export { valid, signature, reason };
