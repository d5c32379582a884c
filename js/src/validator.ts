// The rich API: several secrets by name, verdicts that say why, and the mode chosen by spec §5.
import { WasmValidator, WasmVerdict } from "./glue.js";
import { headerOf, pack, type Params, toBytes } from "./params.js";

/** A secret, or secrets by name: `"token"`, `{ name: token }` or `[[name, token], …]`. */
export type Secrets = string | Record<string, string> | ReadonlyArray<readonly [string, string]>;

export interface ValidatorOptions {
  /** Auth Tokens: one (named `primary`), or by name, tried in order (the current one first). */
  authTokens?: Secrets;
  /** SharedKey secrets by id (`KS…`). */
  sharedKeys?: Record<string, string> | ReadonlyArray<readonly [string, string]>;
  /** Opt-in: also accept the path with or without a trailing slash. */
  allowTrailingSlashVariant?: boolean;
  /** Opt-in: also accept the query re-encoded as WHATWG URL parsers do, and the reverse. */
  allowQueryReencoding?: boolean;
}

/** One request: its URL, and its decoded form parameters or its raw body; its signature or headers. */
export interface VerifyInput {
  url: string;
  params?: Params;
  body?: string | Uint8Array | ArrayBuffer;
  contentType?: string;
  /** A `Headers` or a plain object, looked up without regard to case. */
  headers?: unknown;
  /** The `X-Twilio-Signature` header; from `headers` when absent. */
  signature?: string;
}

/** Whether a request came from Twilio, and why. */
export interface Verdict {
  valid: boolean;
  /** Why not (`signature_mismatch`, `body_hash_mismatch`, …); `null` when valid. */
  reason: string | null;
  /** The name of the Auth Token or the id of the SharedKey that matched. */
  secret: string | null;
  secretKind: "auth_token" | "shared_key" | null;
  algorithm: "HMAC_SHA1" | "HMAC_SHA256" | null;
  /** The exact URL the signature was made over. */
  matchedUrl: string | null;
}

/** `explain`'s JSON document, the one `twilio-webhook explain --json` prints. */
export interface Explanation {
  valid: boolean;
  reason: string | null;
  matched_url: string | null;
  causes: { code: string; signed_url: string | null; fix: string }[];
}

/** A verdict of the module as a plain object (the module's object is freed). */
export function plain(v: WasmVerdict): Verdict {
  const verdict: Verdict = {
    valid: v.valid,
    reason: v.reason ?? null,
    secret: v.secret ?? null,
    secretKind: (v.secretKind ?? null) as Verdict["secretKind"],
    algorithm: (v.algorithm ?? null) as Verdict["algorithm"],
    matchedUrl: v.matchedUrl ?? null,
  };
  v.free();
  return verdict;
}

function named(secrets: unknown, what: string, defaultName: string): [string[], string[]] {
  const names: string[] = [];
  const values: string[] = [];
  if (secrets === undefined || secrets === null) return [names, values];
  const entries: unknown[] =
    typeof secrets === "string"
      ? [[defaultName, secrets]]
      : Array.isArray(secrets)
        ? secrets
        : typeof secrets === "object"
          ? Object.entries(secrets as Record<string, unknown>)
          : [null];
  for (const entry of entries) {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== "string") {
      throw new TypeError(`${what}: expected a string, { name: secret } or [name, secret] pairs`);
    }
    if (typeof entry[1] !== "string") throw new TypeError(`${what}: the secret of "${entry[0]}" is not a string`);
    names.push(entry[0]);
    values.push(entry[1]);
  }
  return [names, values];
}

/** The module's Validator for `options`; a configuration mistake is a `TypeError` or a `RangeError`. */
export function wasmValidator(options: ValidatorOptions): WasmValidator {
  if (typeof options !== "object" || options === null) throw new TypeError("Validator: expected an options object");
  const [names, tokens] = named(options.authTokens, "authTokens", "primary");
  const [ids, keys] = named(options.sharedKeys, "sharedKeys", "default");
  try {
    return new WasmValidator(names, tokens, ids, keys, !!options.allowTrailingSlashVariant, !!options.allowQueryReencoding);
  } catch (e) {
    // The core names the secret, never its value.
    throw new RangeError(e instanceof Error ? e.message : String(e));
  }
}

/** Validates Twilio webhooks against named Auth Tokens and SharedKeys, with verdicts that say why. */
export class Validator {
  readonly #inner: WasmValidator;

  constructor(options: ValidatorOptions) {
    this.#inner = wasmValidator(options);
  }

  /**
   * Verifies one request. The mode follows spec §5: with the raw `body` (preferred), a URL with
   * `bodySHA256` is checked against the body's hash, a form content type (or an empty body) as form
   * parameters, anything else is `body_hash_missing`; with decoded `params` only, a form (a URL with
   * `bodySHA256` is then `body_not_hashed`), whose values must all be text (a number or a boolean
   * is `malformed_body`). Never throws on request input: a body over 1 GiB is `malformed_body`.
   */
  verify(input: VerifyInput): Verdict {
    const { url, signature, settings, contentType } = fields(input);
    if (url === undefined) return rejected("signature_mismatch");
    if (input.body !== undefined) {
      const bytes = toBytes(input.body);
      if (!bytes) return rejected("malformed_body");
      return plain(this.#inner.verifyRequest(url, contentType, bytes, signature, settings));
    }
    if (input.params !== undefined) {
      // Decoded from a request: text values only (`{"Flag": true}` is not the form `Flag=true`).
      const packed = pack(input.params, undefined, true);
      if (!packed) return rejected("malformed_body");
      return plain(this.#inner.verifyForm(url, packed.bytes, packed.lengths, signature, settings));
    }
    return plain(this.#inner.verifyRequest(url, contentType, new Uint8Array(), signature, settings));
  }

  /**
   * The strict verdict and, when rejected, what Twilio signed and the fix: the same JSON document as
   * `twilio-webhook explain --json`. `publicUrl`: the URL configured in Twilio, tried first.
   */
  explain(input: VerifyInput & { publicUrl?: string }): Explanation {
    const { url, signature, settings, contentType } = fields(input);
    // As verify: the raw body when there is one (the core reads it as verify does), else the parameters.
    const raw = input.body === undefined ? undefined : (toBytes(input.body) ?? new Uint8Array());
    const packed = raw ? undefined : (pack(input.params) ?? pack({}));
    const json = this.#inner.explain(
      url ?? "",
      packed?.bytes,
      packed?.lengths ?? new Uint32Array(),
      contentType,
      raw ?? new Uint8Array(),
      signature ?? "",
      settings,
      input.publicUrl,
    );
    return JSON.parse(json) as Explanation;
  }

  /** The signature Twilio would send for a form request, with the first Auth Token. */
  computeSignature(url: string, params: Params): string {
    const packed = pack(params);
    if (!packed) throw new TypeError("computeSignature: params must be form parameters");
    return this.#inner.computeSignature(url, packed.bytes, packed.lengths);
  }

  /** The module's validator (for the adapters). @internal */
  get wasm(): WasmValidator {
    return this.#inner;
  }
}

function rejected(reason: string): Verdict {
  return { valid: false, reason, secret: null, secretKind: null, algorithm: null, matchedUrl: null };
}

function fields(input: VerifyInput) {
  const signature = input.signature ?? headerOf(input.headers, "x-twilio-signature");
  return {
    url: typeof input.url === "string" ? input.url : undefined,
    signature: typeof signature === "string" ? signature : undefined,
    settings: headerOf(input.headers, "x-twilio-webhooks-signature-settings"),
    contentType: input.contentType ?? headerOf(input.headers, "content-type"),
  };
}

