// The examples' start-up contract: no start without TWILIO_AUTH_TOKEN, with a PORT that is not a
// port, or with a TWILIO_PUBLIC_URL or TWILIO_TRUSTED_PROXIES the verifier cannot take (exit code 2,
// saying what is wrong, never a setting's value); 127.0.0.1:$PORT, 3000 by default.
import { verifyRequest } from "twilio-webhook";

function refuse(message) {
  console.error(message);
  process.exit(2);
}

/** The port to listen on, from `PORT` (3000 by default). */
export function port(env = process.env) {
  const raw = (env.PORT ?? "3000").trim();
  const value = Number(raw);
  if (!/^[0-9]+$/.test(raw) || value < 1 || value > 65535) refuse(`PORT must be a port number (1-65535), got "${raw}"`);
  return value;
}

/** Refuses to start without `TWILIO_AUTH_TOKEN`. */
export function requireToken(env = process.env) {
  if (!env.TWILIO_AUTH_TOKEN?.trim()) {
    refuse("TWILIO_AUTH_TOKEN is not set: the server would verify nothing. Set it to your account's Auth Token.");
  }
}

/**
 * Refuses to start with settings the verifier cannot take (`TWILIO_PUBLIC_URL`, `TWILIO_TRUSTED_PROXIES`):
 * the verifier is built here, once, by the core, whose error names the setting and never shows its value
 * (a public URL may carry `user:password@`).
 */
export async function requireSettings(env = process.env) {
  const quiet = { warn() {} };
  try {
    await verifyRequest(new Request("http://127.0.0.1/", { method: "GET" }), { env, logger: quiet });
  } catch (e) {
    if (e instanceof RangeError) refuse(e.message);
    throw e;
  }
}
