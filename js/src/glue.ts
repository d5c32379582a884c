// The wasm-bindgen glue of crates/twilio-webhook-wasm (built by build.mjs into build/pkg). Every entry
// point initialises it once, with the module its runtime can load; nothing here runs before that.
export {
  Validator as WasmValidator,
  Verifier as WasmVerifier,
  Verdict as WasmVerdict,
  baseUrl,
  bodyMatches,
  bodySha256Hex,
  initSync,
  requestUrl,
  signForm,
  urlHandOver,
  default as initAsync,
} from "../build/pkg/twilio_webhook_wasm.js";
