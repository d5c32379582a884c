// Real servers on loopback for the attack tests, and raw HTTP/1.1 clients that send exactly the bytes
// an attacker would: any `Host`, and bodies in pieces.
import { createServer } from "node:http";
import { connect } from "node:net";

/** Serves a `(req, res)` listener (an Express app, a `toNodeListener`) on a free loopback port. */
export async function serve(listener) {
  const server = createServer(listener);
  // Many connections at once: no keep-alive bookkeeping in the way, no backlog refusals.
  server.keepAliveTimeout = 1;
  await new Promise((resolve) => server.listen({ port: 0, host: "127.0.0.1", backlog: 4096 }, resolve));
  const { port } = server.address();
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(resolve);
      }),
  };
}

/** `head` and `body` of one request, as bytes; `Content-Length` is added. */
export function requestBytes({ method = "POST", path, host, headers = {}, body = "" }) {
  const bytes = Buffer.from(body);
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${host}`, "Connection: close"];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  lines.push(`Content-Length: ${bytes.length}`);
  return { head: Buffer.from(`${lines.join("\r\n")}\r\n\r\n`), body: bytes };
}

/** Reads a whole answer from a socket that the server closes: `{ status, body }`. */
function answer(socket) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    socket.on("data", (c) => chunks.push(c));
    socket.on("error", reject);
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      const at = text.indexOf("\r\n\r\n");
      let body = at === -1 ? "" : text.slice(at + 4);
      if (/\r\ntransfer-encoding: chunked/i.test(text.slice(0, at))) body = unchunk(body);
      resolve({ status, body, raw: text });
    });
  });
}

function unchunk(text) {
  let out = "";
  let rest = text;
  for (;;) {
    const eol = rest.indexOf("\r\n");
    const size = parseInt(rest.slice(0, eol), 16);
    if (!size) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
}

/** One request, sent as it is: `{ status, body }` of the answer. */
export async function send(port, request) {
  const { head, body } = requestBytes(request);
  const socket = connect(port, "127.0.0.1");
  const done = answer(socket);
  socket.write(Buffer.concat([head, body]));
  return done;
}

/**
 * Many requests at once, interleaved: every head and the first half of every body, then (after the
 * server has begun on all of them) every second half. Their answers, in order.
 */
export async function sendInPieces(port, requests, wait = 50) {
  const sockets = await Promise.all(
    requests.map(
      () =>
        new Promise((resolve, reject) => {
          const socket = connect(port, "127.0.0.1", () => resolve(socket));
          socket.on("error", reject);
        }),
    ),
  );
  const answers = sockets.map(answer);
  const parts = requests.map(requestBytes);
  parts.forEach(({ head, body }, i) => sockets[i].write(Buffer.concat([head, body.subarray(0, body.length >> 1)])));
  await new Promise((r) => setTimeout(r, wait));
  // The second halves in reverse order: each request's body completes while others wait on theirs.
  for (let i = parts.length - 1; i >= 0; i--) sockets[i].write(parts[i].body.subarray(parts[i].body.length >> 1));
  return Promise.all(answers);
}
