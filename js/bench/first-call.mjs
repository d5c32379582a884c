// The cost of the first call, from a cold process: `npm --prefix js run bench:first-call`.
//
// Node: a fresh `node` per run loads the package (which reads and compiles the .wasm synchronously and
//   instantiates it) and validates one request; the time from before the import to the verdict, against
//   twilio-node's own import and first call in the same kind of fresh process.
// workerd: a fresh workerd per run serving a Worker that validates one request per fetch, against the
//   same Worker without the package: the time from start to the first answer (workerd compiles and
//   instantiates the module when it loads the Worker), and the first and second request's latency.
// Medians of RUNS runs (default 15), with the fastest and slowest.
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const js = join(here, "..");
const require = createRequire(import.meta.url);
const RUNS = Number(process.env.RUNS ?? 15);
const VECTOR = `"12345", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", "https://mycompany.com/myapp.php?foo=1&bar=2", { CallSid: "CA1234567890ABCDE", Caller: "+14158675309", Digits: "1234", From: "+14158675309", To: "+18005551212" }`;

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[s.length >> 1], min: s[0], max: s[s.length - 1] };
};
const fmt = ({ median, min, max }) => `${median.toFixed(1)} ms (${min.toFixed(1)}–${max.toFixed(1)})`;

function nodeFirstCall(module) {
  const script = `const t0 = performance.now(); const t = require(${JSON.stringify(module)}); const t1 = performance.now();
const ok = t.validateRequest(${VECTOR}); const t2 = performance.now();
if (!ok) process.exit(1); console.log(JSON.stringify([t1 - t0, t2 - t1, t2 - t0]));`;
  return JSON.parse(execFileSync(process.execPath, ["-e", script], { cwd: js, encoding: "utf8" }));
}

function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function workerdRun(dir, withPackage) {
  const port = await freePort();
  const worker = withPackage
    ? `import { validateRequest } from "twilio-webhook";\nexport default { fetch() { return new Response(String(validateRequest(${VECTOR}))); } };\n`
    : `export default { fetch() { return new Response("true"); } };\n`;
  writeFileSync(join(dir, "entry.mjs"), worker);
  const esbuild = await import("esbuild");
  await esbuild.build({
    entryPoints: [join(dir, "entry.mjs")],
    outfile: join(dir, "worker.mjs"),
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker"],
    external: ["*.wasm"],
    logLevel: "error",
  });
  const modules = [`(name = "worker/worker.mjs", esModule = embed "worker.mjs")`];
  if (withPackage) modules.push(`(name = "twilio_webhook_wasm_bg.wasm", wasm = embed "twilio_webhook_wasm_bg.wasm")`);
  writeFileSync(
    join(dir, "config.capnp"),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = ( services = [ (name = "main", worker = .w) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ] );
const w :Workerd.Worker = ( modules = [ ${modules.join(", ")} ], compatibilityDate = "2026-11-01" );
`,
  );
  const start = performance.now();
  const child = spawn(require.resolve("workerd/bin/workerd"), ["serve", join(dir, "config.capnp")], { stdio: "ignore" });
  try {
    let first;
    for (;;) {
      try {
        const t = performance.now();
        const res = await fetch(`http://127.0.0.1:${port}/`);
        if ((await res.text()) !== "true") throw new Error("wrong answer");
        first = { ready: performance.now() - start, latency: performance.now() - t };
        break;
      } catch (e) {
        if (e.message === "wrong answer") throw e;
        if (performance.now() - start > 30_000) throw new Error("workerd did not answer");
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    const t = performance.now();
    await (await fetch(`http://127.0.0.1:${port}/`)).text();
    return { ...first, second: performance.now() - t };
  } finally {
    child.kill("SIGKILL");
  }
}

const ours = [];
const node = [];
for (let i = 0; i < RUNS; i++) {
  ours.push(nodeFirstCall("twilio-webhook"));
  node.push(nodeFirstCall("twilio"));
}
console.log(`Node ${process.version}, ${RUNS} fresh processes each:`);
console.log(`  twilio-webhook: import ${fmt(stats(ours.map((r) => r[0])))}, first call ${fmt(stats(ours.map((r) => r[1])))}, both ${fmt(stats(ours.map((r) => r[2])))}`);
console.log(`  twilio-node:    import ${fmt(stats(node.map((r) => r[0])))}, first call ${fmt(stats(node.map((r) => r[1])))}, both ${fmt(stats(node.map((r) => r[2])))}`);

// Inside the package, so that the Worker's import of "twilio-webhook" resolves to it (by its own name).
const dir = mkdtempSync(join(here, ".tmp-first-call-"));
copyFileSync(join(js, "dist", "twilio_webhook_wasm_bg.wasm"), join(dir, "twilio_webhook_wasm_bg.wasm"));
try {
  const withPkg = [];
  const without = [];
  for (let i = 0; i < RUNS; i++) {
    withPkg.push(await workerdRun(dir, true));
    without.push(await workerdRun(dir, false));
  }
  const version = execFileSync(require.resolve("workerd/bin/workerd"), ["--version"], { encoding: "utf8" }).trim();
  console.log(`${version}, ${RUNS} fresh processes each (start to first answer; first and second request):`);
  for (const [name, runs] of [["with the package", withPkg], ["without it     ", without]]) {
    console.log(`  ${name}: ready ${fmt(stats(runs.map((r) => r.ready)))}, first ${fmt(stats(runs.map((r) => r.latency)))}, second ${fmt(stats(runs.map((r) => r.second)))}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
