// Runs worker.mjs in workerd, the runtime of Cloudflare Workers (the `workerd` npm package), on
// 127.0.0.1:$PORT: bundles it as Wrangler would (the "workerd" export condition, the .wasm as a module
// of its own), writes the workerd config, and serves until stopped.
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { port, requireSettings, requireToken } from "../settings.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

requireToken();
await requireSettings();
const listen = port();
if (process.env.TWILIO_TRUSTED_PROXIES) {
  console.warn(
    "TWILIO_TRUSTED_PROXIES is ignored: a Worker has no peer address to trust. Behind Cloudflare, set TWILIO_PUBLIC_URL to the URL Twilio calls.",
  );
}

const out = mkdtempSync(join(tmpdir(), "twilio-webhook-worker-"));
const esbuild = await import("esbuild");
await esbuild.build({
  entryPoints: [join(here, "worker.mjs")],
  outfile: join(out, "worker.mjs"),
  bundle: true,
  format: "esm",
  platform: "neutral",
  conditions: ["workerd", "worker"],
  external: ["*.wasm"],
  logLevel: "warning",
});
// The package's module, beside the bundle (workerd embeds files relative to its config). The bundle
// imports it as "../twilio_webhook_wasm_bg.wasm" (from dist/workerd/), so the Worker's main module is
// named one folder down.
const pkg = dirname(require.resolve("twilio-webhook/package.json"));
copyFileSync(join(pkg, "dist", "twilio_webhook_wasm_bg.wasm"), join(out, "twilio_webhook_wasm_bg.wasm"));
const bindings = ["TWILIO_AUTH_TOKEN", "TWILIO_PUBLIC_URL", "TWILIO_DIAGNOSE"]
  .filter((name) => process.env[name] !== undefined)
  .map((name) => `(name = "${name}", fromEnvironment = "${name}")`);
writeFileSync(
  join(out, "config.capnp"),
  `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker) ],
  sockets = [ (name = "http", address = "127.0.0.1:${listen}", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [
    (name = "worker/worker.mjs", esModule = embed "worker.mjs"),
    (name = "twilio_webhook_wasm_bg.wasm", wasm = embed "twilio_webhook_wasm_bg.wasm"),
  ],
  compatibilityDate = "2026-11-01",
  bindings = [ ${bindings.join(", ")} ],
);
`,
);

const workerd = spawn(require.resolve("workerd/bin/workerd"), ["serve", join(out, "config.capnp"), "--verbose"], {
  stdio: "inherit",
});
console.log(`listening on http://127.0.0.1:${listen} (workerd)`);
const stop = () => workerd.kill("SIGTERM");
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
workerd.on("exit", (code, signal) => {
  rmSync(out, { recursive: true, force: true });
  process.exit(code ?? (signal ? 1 : 0));
});
