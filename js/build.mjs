// Builds the npm package: the core compiled to WebAssembly (cargo), its wasm-bindgen glue, the ESM and
// CommonJS entry points for each runtime (esbuild), and the types (tsc). `npm run build`.
//
// WebAssembly comes from rustup's wasm32-unknown-unknown target when it is installed; otherwise from
// Debian's rustc-web, cargo-web, rust-web-src and lld (build-std), the route that works on machines where
// rustup cannot download a target. wasm-bindgen must be the version of the wasm-bindgen crate in
// Cargo.lock (`cargo install wasm-bindgen-cli --version <it>`).
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const WASM = "twilio_webhook_wasm_bg.wasm";

function run(command, args, options = {}) {
  console.log(`$ ${command} ${args.join(" ")}`);
  execFileSync(command, args, { stdio: "inherit", cwd: root, ...options });
}

function output(command, args) {
  try {
    return execFileSync(command, args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return "";
  }
}

function buildWasm() {
  const cargoArgs = ["build", "--profile", "wasm", "--target", "wasm32-unknown-unknown", "-p", "twilio-webhook-wasm"];
  const targetDir = join(root, "target", "wasm");
  if (output("rustup", ["target", "list", "--installed"]).split("\n").includes("wasm32-unknown-unknown")) {
    run("cargo", [...cargoArgs, "--target-dir", targetDir]);
  } else if (existsSync("/usr/bin/rustc") && output("/usr/bin/rustc", ["--print", "sysroot"]) && output("wasm-ld", ["--version"])) {
    // std is rebuilt here anyway, so its panics trap at once, without their messages (the core never
    // panics on input; a panic is a bug either way): about 20 KB less.
    run(
      "/usr/bin/cargo",
      [...cargoArgs, "-Zbuild-std=std,panic_abort", "--target-dir", targetDir],
      {
        env: {
          ...process.env,
          RUSTC: "/usr/bin/rustc",
          RUSTC_BOOTSTRAP: "1",
          RUSTFLAGS: "-Zunstable-options -Cpanic=immediate-abort",
          CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER: "wasm-ld",
        },
      },
    );
  } else {
    throw new Error(
      "no way to build wasm32-unknown-unknown: `rustup target add wasm32-unknown-unknown`, or install " +
        "Debian's rustc-web cargo-web rust-web-src lld",
    );
  }
  return join(targetDir, "wasm32-unknown-unknown", "wasm", "twilio_webhook_wasm.wasm");
}

function bindgen(wasm) {
  const lock = readFileSync(join(root, "Cargo.lock"), "utf8");
  const locked = lock.match(/name = "wasm-bindgen"\nversion = "([^"]+)"/)?.[1];
  const installed = output("wasm-bindgen", ["--version"]).trim().split(" ")[1];
  if (!locked || installed !== locked) {
    throw new Error(
      `wasm-bindgen ${locked} is needed (Cargo.lock), found ${installed || "none"}: ` +
        `cargo install wasm-bindgen-cli --version ${locked}`,
    );
  }
  const out = join(here, "build", "pkg");
  rmSync(out, { recursive: true, force: true });
  run("wasm-bindgen", [
    "--target", "web", "--remove-name-section", "--remove-producers-section",
    "--out-dir", out, "--out-name", "twilio_webhook_wasm", wasm,
  ]);
  return out;
}

// binaryen's wasm-opt (the `binaryen` dev dependency): -O3 after LLVM's opt-level 3 takes off about a
// fifth of the size, at the same speed.
function shrink(wasm) {
  const before = readFileSync(wasm).length;
  const features = ["bulk-memory", "nontrapping-float-to-int", "sign-ext", "mutable-globals", "reference-types", "multivalue"];
  run(process.execPath, [
    join(here, "node_modules", "binaryen", "bin", "wasm-opt"), "-O3",
    ...features.map((f) => `--enable-${f}`), wasm, "-o", wasm,
  ]);
  console.log(`wasm-opt: ${before} -> ${readFileSync(wasm).length} bytes`);
}

async function bundle() {
  const esbuild = await import("esbuild");
  const common = { bundle: true, target: "es2022", logLevel: "warning", external: ["*.wasm", "*.wasm?module"] };
  const builds = [
    { entryPoints: ["src/entry/node.ts"], outfile: "dist/node/index.mjs", format: "esm", platform: "node" },
    { entryPoints: ["src/entry/node.ts"], outfile: "dist/node/index.cjs", format: "cjs", platform: "node" },
    { entryPoints: ["src/entry/workerd.ts"], outfile: "dist/workerd/index.mjs", format: "esm", platform: "neutral" },
    { entryPoints: ["src/entry/edge.ts"], outfile: "dist/edge/index.mjs", format: "esm", platform: "neutral" },
    { entryPoints: ["src/entry/default.ts"], outfile: "dist/default/index.mjs", format: "esm", platform: "neutral" },
  ];
  for (const options of builds) {
    // The CommonJS build never calls the glue's default init, the one place it reads import.meta.
    await esbuild.build({ ...common, ...options, absWorkingDir: here, logOverride: { "empty-import-meta": "silent" } });
  }
  // `twilio-webhook/hono` shares the runtime entry's module instance.
  for (const runtime of ["node", "workerd", "edge", "default"]) {
    writeFileSync(join(here, "dist", runtime, "hono.mjs"), 'export { twilioWebhook } from "./index.mjs";\n');
  }
  writeFileSync(join(here, "dist", "node", "hono.cjs"), 'module.exports = { twilioWebhook: require("./index.cjs").twilioWebhook };\n');
}

function types() {
  run(join(here, "node_modules", ".bin", "tsc"), ["-p", join(here, "tsconfig.build.json")]);
  // The types of the wasm-bindgen glue, where dist/types/glue.d.ts imports them from: a project that
  // type-checks libraries (no skipLibCheck) must find them.
  mkdirSync(join(here, "dist", "build", "pkg"), { recursive: true });
  copyFileSync(join(here, "build", "pkg", "twilio_webhook_wasm.d.ts"), join(here, "dist", "build", "pkg", "twilio_webhook_wasm.d.ts"));
}

// `--js-only`: keep the module built last time (build/pkg), rebuild the JavaScript around it.
const jsOnly = process.argv.includes("--js-only") && existsSync(join(here, "build", "pkg", WASM));
rmSync(join(here, "dist"), { recursive: true, force: true });
mkdirSync(join(here, "dist"), { recursive: true });
const pkg = jsOnly ? join(here, "build", "pkg") : bindgen(buildWasm());
if (!jsOnly) shrink(join(pkg, WASM));
await bundle();
copyFileSync(join(pkg, WASM), join(here, "dist", WASM));
types();
// The licence texts ship in the tarball (npm adds LICENSE* files at the package's root); the repository
// keeps one copy of each, at its root.
for (const licence of ["LICENSE-MIT", "LICENSE-APACHE"]) copyFileSync(join(root, licence), join(here, licence));
console.log(`built js/dist (${WASM}: ${readFileSync(join(here, "dist", WASM)).length} bytes)`);
