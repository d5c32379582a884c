// Node, Bun and Deno: the module is read from beside this file and compiled synchronously, so every
// API is synchronous from the first call.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { initSync } from "../glue.js";

declare const __dirname: string | undefined;
const here = typeof __dirname === "string" ? __dirname : dirname(fileURLToPath(import.meta.url));
initSync({ module: readFileSync(join(here, "..", "twilio_webhook_wasm_bg.wasm")) });

export * from "../index.js";
