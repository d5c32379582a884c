// Node, Bun and Deno: the module is read from beside this file and compiled synchronously, so every
// API is synchronous from the first call.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { initSync } from "../glue.js";

declare const __dirname: string | undefined;
// The ES module knows its URL; the CommonJS build (where esbuild leaves import.meta empty) its
// __dirname. (A global __dirname, as `node -e` has, must not win over the module's own URL.)
const url = import.meta.url as string | undefined;
const here = typeof url === "string" ? dirname(fileURLToPath(url)) : (__dirname as string);
initSync({ module: readFileSync(join(here, "..", "twilio_webhook_wasm_bg.wasm")) });

export * from "../index.js";
export { default } from "../index.js";
