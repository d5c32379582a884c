// Cloudflare Workers (workerd): compiling WebAssembly from bytes at run time is forbidden, so the
// module is imported statically and only instantiated here.
import wasmModule from "../twilio_webhook_wasm_bg.wasm";

import { initSync } from "../glue.js";

initSync({ module: wasmModule });

export * from "../index.js";
export { default } from "../index.js";
