// A Fetch handler served by node:http: what `withTwilioWebhook` wraps, on Node without a framework.
// It translates the request and the response, nothing more: the connection's scheme and peer address
// go along, so that trusted proxies work.
import { requestUrl } from "./glue.js";

/** What this needs of node:http's request (an `IncomingMessage`). */
interface NodeRequest extends AsyncIterable<Uint8Array> {
  method?: string;
  url?: string;
  headers: Record<string, string | string[] | undefined>;
  /** Every header field as received, names and values in turn (`IncomingMessage.rawHeaders`). */
  rawHeaders?: string[];
  socket: { remoteAddress?: string; encrypted?: boolean };
}

/** What this needs of node:http's response (a `ServerResponse`). */
interface NodeResponse {
  writeHead(status: number, headers: [string, string][]): unknown;
  write(chunk: Uint8Array): unknown;
  end(): unknown;
  headersSent?: boolean;
  destroy(error?: Error): unknown;
}

/** The connection a Node request came on, handed to the Fetch handler as its second argument. */
export interface NodeConnection {
  /** The peer's address (`socket.remoteAddress`). */
  remoteAddress: string | undefined;
}

/**
 * The authority of a request whose `Host` names none the core can build a URL from (not a plain host
 * and port, or more than one `Host` field): a name that is no host (RFC 6761's `.invalid`), so that
 * the request can be handed on with its `Host` fields as received. The core then decides on them as it
 * does for every adapter (spec §4.5): `400 bad_host` where the URL is rebuilt from the request, the
 * configured URL where one is set.
 */
const NO_HOST = "bad-host.invalid";

/**
 * A `(req, res)` listener for `http.createServer` that serves a Fetch handler: the request's URL is
 * built by the core from its connection's scheme, its `Host` and its target as received, and its
 * headers are every field as received (a second `Host` included). A `Host` the core builds no URL from
 * (not a plain host and port, or two of them: it would otherwise move the path) is left to the core's
 * verdict, `400 bad_host`, with the URL's host `bad-host.invalid`. The handler gets the peer address
 * as `{ remoteAddress }`, which `withTwilioWebhook` uses for trusted proxies. A request that cannot be one (a header the Fetch API refuses) is answered `400`; an error
 * the handler throws is the app's: answered `500` and logged (`console.error`), not hidden.
 */
export function toNodeListener(handler: (request: Request, connection: NodeConnection) => Response | Promise<Response>) {
  return async (req: NodeRequest, res: NodeResponse): Promise<void> => {
    let request: Request;
    try {
      // Every field as received: Node keeps only the first of two `Host` fields in `req.headers`, and
      // whether two are one too many is the core's rule (spec §4.5), not Node's.
      const headers = new Headers();
      const raw = req.rawHeaders;
      if (raw) for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
      else {
        for (const [name, value] of Object.entries(req.headers)) {
          if (Array.isArray(value)) for (const v of value) headers.append(name, v);
          else if (typeof value === "string") headers.append(name, value);
        }
      }
      const scheme = req.socket.encrypted ? "https" : "http";
      const method = req.method ?? "GET";
      const hasBody = method !== "GET" && method !== "HEAD";
      const init: RequestInit & { duplex?: "half" } = { method, headers };
      if (hasBody) {
        init.body = req as unknown as ReadableStream<Uint8Array>;
        init.duplex = "half";
      }
      const target = req.url ?? "/";
      const url = requestUrl(scheme, headers.get("host") ?? "localhost", target) ?? requestUrl(scheme, NO_HOST, target);
      if (url === undefined) throw new TypeError("not a request target");
      request = new Request(url, init);
    } catch {
      res.writeHead(400, [["content-type", "text/plain; charset=utf-8"]]);
      res.end();
      return;
    }
    let response: Response;
    try {
      response = await handler(request, { remoteAddress: req.socket.remoteAddress });
    } catch (error) {
      console.error(error);
      if (!res.headersSent) {
        res.writeHead(500, [["content-type", "text/plain; charset=utf-8"]]);
        res.end();
      } else res.destroy(error instanceof Error ? error : undefined);
      return;
    }
    try {
      const out: [string, string][] = [];
      response.headers.forEach((value, name) => out.push([name, value]));
      res.writeHead(response.status, out);
      if (response.body) for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) res.write(chunk);
      res.end();
    } catch (error) {
      res.destroy(error instanceof Error ? error : undefined);
    }
  };
}

/**
 * The peer address a runtime gives a Fetch handler beside the request, if any: Node through
 * {@link toNodeListener} (`{ remoteAddress }`), `Bun.serve` (`server.requestIP(request)`),
 * `Deno.serve` (`info.remoteAddr`). Workers have none.
 */
export function runtimePeer(request: Request, ...rest: unknown[]): string | undefined {
  const second = rest[0] as
    | { remoteAddress?: unknown; requestIP?: (r: Request) => { address?: string } | null; remoteAddr?: { hostname?: unknown } }
    | undefined;
  if (!second || typeof second !== "object") return undefined;
  if (typeof second.remoteAddress === "string") return second.remoteAddress;
  if (typeof second.requestIP === "function") return second.requestIP(request)?.address ?? undefined;
  if (second.remoteAddr && typeof second.remoteAddr.hostname === "string") return second.remoteAddr.hostname;
  return undefined;
}
