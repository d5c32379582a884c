// Vercel Edge and Next.js middleware (edge-light): the `.wasm` is imported statically with `?module`.
import wasmModule from "../twilio_webhook_wasm_bg.wasm?module";

import { initSync } from "../glue.js";

initSync({ module: wasmModule });

export * from "../index.js";
export { default } from "../index.js";
