// twilio-node worker for bench/compare: the same protocol as python_worker.py. `--module PATH` loads
// another package with twilio-node's webhook API instead (this project's, from js/).
"use strict";
const fs = require("fs");
const path = require("path");
const readline = require("readline");
const args = process.argv.slice(2);
const modulePath = args[0] === "--module" ? path.resolve(args[1]) : "twilio";
const corpusPath = args[0] === "--module" ? args[2] : args[0];
const twilio = require(modulePath);

function groupOf(c) {
  if (c.kind === "json") return c.expected ? "json_valid" : null;
  return c.expected ? "form_valid" : "form_rejected";
}

// Repeated keys become arrays, the shape body parsers (qs, express.urlencoded) produce.
function paramsObject(pairs) {
  const out = {};
  for (const [k, v] of pairs) {
    if (Object.prototype.hasOwnProperty.call(out, k)) {
      out[k] = Array.isArray(out[k]) ? out[k].concat([v]) : [out[k], v];
    } else {
      out[k] = v;
    }
  }
  return out;
}

function prepare(c) {
  const sig = c.signature || "";
  if (c.kind === "json") {
    return () => twilio.validateRequestWithBody(c.auth_token, sig, c.url, c.body);
  }
  const params = paramsObject(c.params);
  return () => twilio.validateRequest(c.auth_token, sig, c.url, params);
}

const cases = fs.readFileSync(corpusPath, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
const prepared = new Map();
for (const c of cases) {
  const g = groupOf(c);
  if (g) prepared.set(c.id, { group: g, expected: c.expected, run: prepare(c) });
}
const ok = [];
// The SDK logs a warning for every failed validation; keep the protocol's stdout clean.
console.warn = () => {};
console.log = () => {};
for (const [id, p] of prepared) {
  try {
    if (Boolean(p.run()) === p.expected) ok.push(id);
  } catch (e) {
    // an SDK that throws is simply not right on that case
  }
}
const version = require(modulePath === "twilio" ? "twilio/package.json" : path.join(modulePath, "package.json")).version;
process.stdout.write(JSON.stringify({ ready: true, ok, version }) + "\n");

let groups = new Map();
const rl = readline.createInterface({ input: process.stdin });
// The driver closing stdin ends the worker too (readline alone would keep Node alive).
rl.on("close", () => process.exit(0));
rl.on("line", (line) => {
  const cmd = line.trim().split(/\s+/);
  if (cmd[0] === "quit" || cmd[0] === "") {
    process.exit(0);
  }
  if (cmd[0] === "select") {
    const keep = new Set(JSON.parse(fs.readFileSync(cmd[1], "utf8")));
    groups = new Map();
    for (const [id, p] of prepared) {
      if (!keep.has(id)) continue;
      if (!groups.has(p.group)) groups.set(p.group, []);
      groups.get(p.group).push(p.run);
    }
    const sizes = {};
    for (const [g, v] of groups) sizes[g] = v.length;
    process.stdout.write(JSON.stringify({ selected: sizes }) + "\n");
  } else if (cmd[0] === "run") {
    const work = groups.get(cmd[1]);
    const budget = BigInt(cmd[2]) * 1000000n;
    let ops = 0;
    const start = process.hrtime.bigint();
    let elapsed;
    for (;;) {
      for (const f of work) f();
      ops += work.length;
      elapsed = process.hrtime.bigint() - start;
      if (elapsed >= budget) break;
    }
    process.stdout.write(JSON.stringify({ ns_per_op: Number(elapsed) / ops, ops }) + "\n");
  }
});
