// What the tests share: the package as a user imports it (ESM and CommonJS, by its own name), the
// conformance data of the repository, and small helpers.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, "..", "..");
export const require = createRequire(import.meta.url);

/** The package, imported by name as ESM (the "node" "import" condition). */
export * as esm from "twilio-webhook";
/** The package, required by name (the "node" "require" condition). */
export const cjs = require("twilio-webhook");

/** The lines of a JSONL file of testdata/. */
export function jsonl(name) {
  return readFileSync(join(root, "testdata", name), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

/** sdk-vectors.json. */
export function sdkVectors() {
  return JSON.parse(readFileSync(join(root, "testdata", "sdk-vectors.json"), "utf8"));
}

/** Every conformance case, with the file it came from. */
export function conformance() {
  return ["corpus.jsonl", "public-extra.jsonl", "sdk-edge-probes.jsonl"].flatMap((file) =>
    jsonl(file).map((c) => ({ ...c, file })),
  );
}

/** Pairs as a body parser's object: a repeated key becomes an array (undefined if a key cannot be one). */
export function paramsObject(pairs) {
  const out = Object.create(null);
  for (const [key, value] of pairs) {
    if (key === "__proto__") return undefined;
    const seen = out[key];
    out[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return { ...out };
}

/** A logger that keeps what it is told. */
export function recorder() {
  const lines = [];
  return { lines, warn: (line) => lines.push(line), error: (line) => lines.push(line) };
}
