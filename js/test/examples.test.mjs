// The example servers keep the example-server contract the Rust and Python ones keep, checked by the
// same suite (crates/twilio-webhook-http-suite): each started as a process on a free loopback port,
// under every configuration, with the start-up refusals and the tunnel's log line. Node (node:http),
// the Worker in real workerd, Bun.serve and Deno.serve, the runtimes from the npm registry.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { before, describe, it } from "node:test";

import { root } from "./support.mjs";

const bin = join(root, "js", "node_modules", ".bin");

function suite(...command) {
  const result = spawnSync("cargo", ["run", "-q", "-p", "twilio-webhook-http-suite", "--bin", "http-suite", "--", ...command], {
    cwd: root,
    encoding: "utf8",
    timeout: 600_000,
  });
  assert.equal(result.status, 0, `${command.join(" ")}:\n${result.stderr.slice(-6000)}`);
  return result.stdout;
}

describe("the example servers keep the contract", () => {
  before(() => execFileSync("cargo", ["build", "-q", "-p", "twilio-webhook-http-suite", "--bin", "http-suite"], { cwd: root, stdio: "inherit" }));

  it("Node: npm --prefix js run example:node", () => {
    assert.match(suite("npm", "--prefix", "js", "run", "example:node"), /the contract holds \(29 cases\)/);
  });
  it("Cloudflare Workers: npm --prefix js run example:worker, in workerd (no peer address, so no trusted proxies)", () => {
    assert.match(suite("--no-peer", "npm", "--prefix", "js", "run", "example:worker"), /the contract holds \(24 cases\)/);
  });
  it("Bun.serve", () => {
    assert.match(suite(join(bin, "bun"), "js/examples/bun-server.mjs"), /the contract holds \(29 cases\)/);
  });
  it("Deno.serve", () => {
    assert.match(suite(join(bin, "deno"), "run", "--allow-net", "--allow-env", "--allow-read", "js/examples/deno-server.mjs"), /the contract holds \(29 cases\)/);
  });
});
