// Any other runtime (a browser without a bundler): instantiation is asynchronous there, once:
// `await init()` before the first call. Every API is synchronous after it.
import { initAsync } from "../glue.js";

let ready: Promise<unknown> | undefined;

/** Loads the module from beside this file (or from `input`): call once, before anything else. */
export function init(input?: RequestInfo | URL | WebAssembly.Module | BufferSource): Promise<unknown> {
  ready ??= initAsync({ module_or_path: input ?? new URL("../twilio_webhook_wasm_bg.wasm", import.meta.url) });
  return ready;
}

export * from "../index.js";
export { default } from "../index.js";
