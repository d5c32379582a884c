// What the server adapters (Fetch, Express, Hono) share: the settings, from the options or from the
// environment (`process.env`, or a Worker's `env`), and the module's Verifier built from them once.
import { WasmVerifier } from "./glue.js";
import { MAX_BYTES } from "./params.js";
import { type Secrets, type ValidatorOptions, wasmValidator } from "./validator.js";

/** Where a refusal is explained: `console.warn` by default. */
export interface Logger {
  warn(message: string): void;
}

export interface WebhookOptions extends Omit<ValidatorOptions, "authTokens"> {
  /** The Auth Token; default `TWILIO_AUTH_TOKEN`. */
  authToken?: string;
  /** Several Auth Tokens by name (a rotation); wins over `authToken`. */
  authTokens?: Secrets;
  /** The URL(s) Twilio calls, up to the path (`https://abc123.ngrok.app`); default `TWILIO_PUBLIC_URL` (comma-separated). */
  publicUrl?: string | string[];
  /** Proxies whose `Forwarded` / `X-Forwarded-*` count; default `TWILIO_TRUSTED_PROXIES` (comma-separated). */
  trustedProxies?: string | string[];
  /** The largest body accepted, in bytes (default 1 MiB: 413 above). */
  bodyLimit?: number;
  /** Path prefixes to verify (default: every request). */
  paths?: string[];
  /** Refusals explained a second (default `TWILIO_DIAGNOSE`, else 10); `"off"` or 0 for none. */
  diagnose?: number | "off";
  /** Where refusals are explained (default `console`). */
  logger?: Logger;
  /** The environment to read `TWILIO_*` from: a Worker's `env`; default `process.env`. */
  env?: Record<string, unknown>;
  /**
   * The connection's peer address, for trusted proxies. The Fetch API has none; by default it is taken
   * from what the runtime passes beside the request: `toNodeListener`, `Bun.serve`, `Deno.serve`.
   */
  peer?: (request: Request, ...rest: unknown[]) => string | undefined;
}

/** A refusal or an acceptance, with the status and text a server answers with. */
export interface HttpVerdict {
  valid: boolean;
  reason: string | null;
  status: number;
  /** The plain-text body of a refusal: `Twilio webhook rejected: <reason>`. */
  message: string | null;
  /** The refusal explained for the log (never for the response). */
  explanation: string | null;
  cause: string | null;
  secret: string | null;
  secretKind: "auth_token" | "shared_key" | null;
  algorithm: "HMAC_SHA1" | "HMAC_SHA256" | null;
  matchedUrl: string | null;
  urlsTried: string[];
  /**
   * A valid verdict's hand-over, the core's decision, as `[name, value]` in order: every field of the name is
   * removed, then one set to the value unless it is empty. `Host` becomes the verified authority,
   * `X-Forwarded-Host`, `-Proto`, `-Port` and `-Prefix` the verified URL's where the request has them, and every
   * other header that tells an app where or how a request was sent (`X-Original-URL`, `X-HTTP-Method-Override`,
   * …) goes, in every spelling. Empty for a refusal.
   */
  handOver: [string, string][];
}

/** `[name, value, name, value…]` as pairs. */
function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

/**
 * Applies a hand-over (a verdict's `handOver`, or the module's `urlHandOver` as pairs) to headers: `remove` and
 * `set` are the holder's own (a Fetch `Headers`, a Node request's header object).
 */
export function applyHandOver(
  flatOrPairs: string[] | [string, string][],
  remove: (name: string) => void,
  set: (name: string, value: string) => void,
): void {
  const changes = typeof flatOrPairs[0] === "string" ? pairs(flatOrPairs as string[]) : (flatOrPairs as [string, string][]);
  for (const [name, value] of changes) {
    remove(name);
    if (value) set(name, value);
  }
}

/** A module verdict of an HTTP check as a plain object (the module's object is freed). */
export function httpVerdict(v: {
  valid: boolean;
  reason?: string;
  status?: number;
  message?: string;
  explanation?: string;
  cause?: string;
  secret?: string;
  secretKind?: string;
  algorithm?: string;
  matchedUrl?: string;
  urlsTried: string[];
  handOver?: string[];
  free(): void;
}): HttpVerdict {
  const verdict: HttpVerdict = {
    valid: v.valid,
    reason: v.reason ?? null,
    status: v.status ?? (v.valid ? 200 : 403),
    message: v.message ?? null,
    explanation: v.explanation ?? null,
    cause: v.cause ?? null,
    secret: v.secret ?? null,
    secretKind: (v.secretKind ?? null) as HttpVerdict["secretKind"],
    algorithm: (v.algorithm ?? null) as HttpVerdict["algorithm"],
    matchedUrl: v.matchedUrl ?? null,
    urlsTried: v.urlsTried,
    handOver: pairs(v.handOver ?? []),
  };
  v.free();
  return verdict;
}

/** `process.env`, where there is one. */
function processEnv(): Record<string, unknown> {
  const g = globalThis as { process?: { env?: Record<string, unknown> } };
  return g.process?.env ?? {};
}

function list(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value !== "string") return [];
  return value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The settings of a server, resolved against its environment. */
export interface Settings {
  key: string;
  options: WebhookOptions;
  tokens: Secrets | undefined;
  publicUrls: string[];
  trustedProxies: string[];
  diagnose: number;
  logger: Logger;
}

export function settings(options: WebhookOptions, env?: Record<string, unknown>): Settings {
  const vars = options.env ?? env ?? processEnv();
  const tokenVar = vars.TWILIO_AUTH_TOKEN;
  const tokens = options.authTokens ?? options.authToken ?? (typeof tokenVar === "string" && tokenVar.trim() ? tokenVar.trim() : undefined);
  const publicUrls = options.publicUrl !== undefined ? list(options.publicUrl) : list(vars.TWILIO_PUBLIC_URL);
  const trustedProxies = options.trustedProxies !== undefined ? list(options.trustedProxies) : list(vars.TWILIO_TRUSTED_PROXIES);
  const setting = options.diagnose ?? (typeof vars.TWILIO_DIAGNOSE === "string" ? vars.TWILIO_DIAGNOSE.trim() : undefined);
  const diagnose = setting === undefined || setting === "" ? 10 : String(setting).toLowerCase() === "off" ? 0 : Number(setting);
  const limit = options.bodyLimit;
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0 && limit <= MAX_BYTES)) {
    throw new RangeError(`bodyLimit must be a number of bytes from 1 to ${MAX_BYTES}`);
  }
  if (!Number.isInteger(diagnose) || diagnose < 0) throw new RangeError(`diagnose must be "off" or a number of diagnoses a second, got ${String(setting)}`);
  return {
    // Everything the Verifier is built from: two configurations share one only if they are the same.
    key: JSON.stringify([
      tokens,
      options.sharedKeys ?? null,
      !!options.allowTrailingSlashVariant,
      !!options.allowQueryReencoding,
      publicUrls,
      trustedProxies,
      diagnose,
      options.bodyLimit ?? 0,
      options.paths ?? null,
    ]),
    options,
    tokens,
    publicUrls,
    trustedProxies,
    diagnose,
    logger: options.logger ?? console,
  };
}

/** Verifiers by settings: built once per configuration, not per request. */
const verifiers = new Map<string, WasmVerifier>();

/**
 * The module's Verifier for these settings. Throws a `RangeError` for a missing token or a mistake in
 * the configuration (a base URL, a proxy, a secret: named, never shown).
 */
export function verifierFor(s: Settings): WasmVerifier {
  let verifier = verifiers.get(s.key);
  if (!verifier) {
    if (s.tokens === undefined) throw new RangeError("TWILIO_AUTH_TOKEN is not set: refusing to verify without it");
    const { authToken: _token, authTokens: _tokens, ...rest } = s.options;
    // The relaxations are the options' own: each off unless named (`allowQueryReencoding`, spec §4).
    const validator = wasmValidator({ ...rest, authTokens: s.tokens });
    try {
      verifier = new WasmVerifier(validator, s.publicUrls, s.trustedProxies, s.options.bodyLimit ?? 0, s.options.paths, s.diagnose);
    } catch (e) {
      throw new RangeError(e instanceof Error ? e.message : String(e));
    } finally {
      validator.free();
    }
    verifiers.set(s.key, verifier);
  }
  return verifier;
}
