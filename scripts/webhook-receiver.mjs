#!/usr/bin/env node
// A Pact webhook receiver that checks every delivery's signature, as an integrator would.
//
//   node scripts/webhook-receiver.mjs --port 8090 --secret-file .pact/stack/webhook.secret --out deliveries.jsonl
//
// The check: X-Pact-Signature must be "sha256=" + hex(HMAC-SHA256(secret, X-Pact-Timestamp + "." + raw body)),
// compared in constant time, with the timestamp no older than --tolerance seconds (replay guard), and each
// X-Pact-Delivery handled once (deliveries are at-least-once). The secret is read at each delivery, so the
// file may be written after the receiver starts (the secret is shown once, at registration).
// Every delivery becomes one JSON line in --out: { delivery, event, valid, reason, body }.
import { createHmac, timingSafeEqual } from "node:crypto";
import { appendFileSync, readFileSync } from "node:fs";
import { createServer } from "node:http";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const port = Number(args.port ?? 0);
const tolerance = Number(args.tolerance ?? 300);
const out = args.out;
if (!args["secret-file"] || !out) {
  console.error("usage: webhook-receiver.mjs --port N --secret-file F --out F [--tolerance seconds]");
  process.exit(2);
}

export function verify(secret, timestamp, signature, body) {
  if (!timestamp || !signature?.startsWith("sha256=")) return "missing signature headers";
  const age = Math.abs(Date.now() / 1000 - Number(timestamp));
  if (!(age <= tolerance)) return `timestamp ${timestamp} outside ±${tolerance}s`;
  const want = createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest();
  const got = Buffer.from(signature.slice(7), "hex");
  return got.length === want.length && timingSafeEqual(got, want) ? null : "signature mismatch";
}

const seen = new Set();
createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    let secret = "";
    try {
      secret = readFileSync(args["secret-file"], "utf8").trim();
    } catch {}
    const reason = secret
      ? verify(secret, req.headers["x-pact-timestamp"], req.headers["x-pact-signature"], body)
      : "no secret yet";
    const delivery = req.headers["x-pact-delivery"];
    const duplicate = seen.has(delivery);
    seen.add(delivery);
    appendFileSync(
      out,
      JSON.stringify({
        delivery,
        event: req.headers["x-pact-event"],
        valid: reason === null,
        reason,
        duplicate,
        body: body.toString("utf8"),
      }) + "\n",
    );
    // A 2xx tells Pact the delivery arrived; a bad signature gets a 401 (Pact retries, then dead-letters).
    res.writeHead(reason === null ? 200 : 401, { "content-type": "text/plain" }).end(reason ?? "ok");
  });
}).listen(port, "127.0.0.1", function () {
  console.log(`webhook receiver on http://127.0.0.1:${this.address().port}/hook`);
});
