// The example app, one Fetch handler for every runtime: the routes of the example-server contract
// (the same as the Rust and Python examples). Only verified requests reach it: each server wraps it
// with withTwilioWebhook.

const TWIML = { "content-type": "text/xml; charset=utf-8" };

/** Answers a verified request. */
export async function app(request) {
  const { pathname } = new URL(request.url);
  if (request.method === "POST" && (pathname === "/sms" || pathname === "/nested/sms")) {
    // The verified bytes, parsed: every parameter, repeated keys counted.
    const form = new URLSearchParams(await request.text());
    let count = 0;
    for (const _ of form) count += 1;
    return new Response(`<Response><Message>Verified: ${count} parameters</Message></Response>`, { headers: TWIML });
  }
  if (request.method === "POST" && pathname === "/events") {
    const events = JSON.parse(await request.text());
    return new Response(`Verified: ${Array.isArray(events) ? events.length : 1} events\n`);
  }
  if (request.method === "GET" && pathname === "/ws") {
    // A verified WebSocket handshake: a real app would upgrade here.
    return new Response("handshake verified\n");
  }
  return new Response("not found\n", { status: 404 });
}
