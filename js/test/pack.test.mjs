// The package as npm ships it: `npm pack`, the tarball installed into a scratch project, then imported as
// ESM and required as CommonJS by its name, and a TypeScript example type-checked against its types.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { root } from "./support.mjs";

const js = join(root, "js");
const VECTOR = `["12345", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", "https://mycompany.com/myapp.php?foo=1&bar=2", { CallSid: "CA1234567890ABCDE", Caller: "+14158675309", Digits: "1234", From: "+14158675309", To: "+18005551212" }]`;

describe("npm pack, installed elsewhere", () => {
  let scratch;
  let tarball;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), "twilio-webhook-pack-"));
    const out = execFileSync("npm", ["pack", "--pack-destination", scratch, "--json"], { cwd: js, encoding: "utf8" });
    const [{ filename, files, size, unpackedSize }] = JSON.parse(out);
    tarball = join(scratch, filename);
    const names = files.map((f) => f.path);
    // What a user gets: the module, every runtime's entry, the types, the README and the licences.
    for (const needed of ["dist/twilio_webhook_wasm_bg.wasm", "dist/node/index.mjs", "dist/node/index.cjs", "dist/workerd/index.mjs", "dist/edge/index.mjs", "dist/default/index.mjs", "dist/types/index.d.ts", "dist/build/pkg/twilio_webhook_wasm.d.ts", "README.md", "LICENSE-MIT", "LICENSE-APACHE", "package.json"]) {
      assert.ok(names.includes(needed), `${needed} is in the tarball`);
    }
    // And nothing else: no sources, tests, examples, source maps or build leftovers.
    const shipped = /^(package\.json|README\.md|LICENSE-(MIT|APACHE)|dist\/twilio_webhook_wasm_bg\.wasm|dist\/(node|workerd|edge|default)\/(index|hono)\.(mjs|cjs)|dist\/types\/[a-z/]+\.d\.ts|dist\/build\/pkg\/twilio_webhook_wasm\.d\.ts)$/;
    const unexpected = names.filter((n) => !shipped.test(n));
    assert.deepEqual(unexpected, [], "files that have no business in the tarball");
    // The .wasm is most of it (about 400 KB; 140 KB gzipped): a tarball much larger has picked up something.
    assert.ok(size < 300_000, `tarball ${size} bytes`);
    // (973 KB unpacked before the core's hand-over reached the Fetch adapters and Express: +16 KB of .wasm and
    // its glue in each of the five bundles, 1003 KB.)
    assert.ok(unpackedSize < 1_050_000, `unpacked ${unpackedSize} bytes`);
    console.log(`npm pack: ${files.length} files, ${size} bytes (${unpackedSize} unpacked)`);
    const project = join(scratch, "project");
    execFileSync("mkdir", ["-p", project]);
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "scratch", private: true }));
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--offline", tarball], { cwd: project, stdio: "inherit" });
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it("imports as ESM by its name", () => {
    const out = execFileSync("node", ["--input-type=module", "-e", `import * as t from "twilio-webhook"; console.log(t.validateRequest(...${VECTOR}))`], {
      cwd: join(scratch, "project"),
      encoding: "utf8",
    });
    assert.equal(out.trim(), "true");
  });

  it("requires as CommonJS by its name", () => {
    const out = execFileSync("node", ["-e", `const t = require("twilio-webhook"); console.log(t.validateRequest(...${VECTOR}), typeof require("twilio-webhook/hono").twilioWebhook)`], {
      cwd: join(scratch, "project"),
      encoding: "utf8",
    });
    assert.equal(out.trim(), "true function");
  });

  it("type-checks a TypeScript example against its types (tsc --noEmit, strict, no skipLibCheck)", () => {
    const project = join(scratch, "project");
    cpSync(join(js, "examples", "typescript"), project, { recursive: true });
    // @types/node from the package's own dev dependencies (no download here).
    execFileSync("mkdir", ["-p", join(project, "node_modules", "@types")]);
    symlinkSync(join(js, "node_modules", "@types", "node"), join(project, "node_modules", "@types", "node"));
    execFileSync(join(js, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.json"], { cwd: project, stdio: "inherit" });
    assert.ok(readdirSync(project).includes("example.ts"));
  });
});
