// Drives the AWS JS SDK's event-stream signer and codec for sigv4kit's tests
// and benchmark.  One JSON request per stdin line, one JSON reply per stdout
// line, processed in order.
//
// Message JSON: {"headers": [[name, type, value], ...], "body": base64}
// value by type: boolean -> true/false; byte/short/integer -> number;
// long -> decimal string; binary -> base64; string -> string;
// timestamp -> epoch milliseconds (number); uuid -> "xxxxxxxx-xxxx-...".
"use strict";

const readline = require("node:readline");
const { SignatureV4 } = require("@smithy/signature-v4");
const { EventStreamCodec, Int64 } = require("@smithy/eventstream-codec");
const { Hash } = require("@smithy/hash-node");
const { fromUtf8, toUtf8 } = require("@smithy/util-utf8");

const codec = new EventStreamCodec(toUtf8, fromUtf8);
const Sha256 = Hash.bind(null, "sha256");

const b64 = (bytes) => Buffer.from(bytes).toString("base64");
const unb64 = (text) => new Uint8Array(Buffer.from(text, "base64"));

function int64FromDecimal(text) {
  let v = BigInt(text);
  if (v < 0n) v += 1n << 64n;
  const bytes = new Uint8Array(8);
  for (let i = 7; i >= 0; i--) {
    bytes[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return new Int64(bytes);
}

function int64ToDecimal(int64) {
  let v = 0n;
  for (const b of int64.bytes) v = (v << 8n) | BigInt(b);
  if (v >= 1n << 63n) v -= 1n << 64n;
  return v.toString();
}

function toJsMessage(msg) {
  const headers = {};
  for (const [name, type, value] of msg.headers) {
    let v = value;
    if (type === "long") v = int64FromDecimal(value);
    else if (type === "binary") v = unb64(value);
    else if (type === "timestamp") v = new Date(value);
    headers[name] = { type, value: v };
  }
  return { headers, body: unb64(msg.body) };
}

function fromJsMessage(msg) {
  const headers = [];
  for (const name of Object.keys(msg.headers)) {
    const { type, value } = msg.headers[name];
    let v = value;
    if (type === "long") v = int64ToDecimal(value);
    else if (type === "binary") v = b64(value);
    else if (type === "timestamp") v = value.valueOf();
    headers.push([name, type, v]);
  }
  return { headers, body: b64(msg.body) };
}

function makeSigner(req) {
  return new SignatureV4({
    credentials: { accessKeyId: req.akid, secretAccessKey: req.secret },
    region: req.region,
    service: req.service,
    sha256: Sha256,
  });
}

// The JS SDK's EventSigningStream, step for step: sign {":date"} + payload
// with signMessage, then encode the envelope {":date", ":chunk-signature"}.
async function signOne(signer, prior, payload, dateMs) {
  const date = new Date(dateMs);
  const dateHeader = { ":date": { type: "timestamp", value: date } };
  const signed = await signer.signMessage(
    { message: { headers: dateHeader, body: payload }, priorSignature: prior },
    { signingDate: date }
  );
  const envelope = codec.encode({
    headers: {
      ...dateHeader,
      ":chunk-signature": { type: "binary", value: new Uint8Array(Buffer.from(signed.signature, "hex")) },
    },
    body: payload,
  });
  return { signature: signed.signature, envelope };
}

async function signChain(req) {
  const signer = makeSigner(req);
  let prior = req.seed;
  const results = [];
  for (const item of req.items) {
    const payload = item.message ? codec.encode(toJsMessage(item.message)) : unb64(item.body);
    const { signature, envelope } = await signOne(signer, prior, payload, item.date_ms);
    prior = signature;
    results.push({ signature, envelope: b64(envelope), payload: b64(payload) });
  }
  return { results };
}

// messages signed per second, 1 KiB payloads: encode the inner message, sign
// it, encode the envelope -- the whole per-message cost of a sending client.
async function bench(req) {
  const signer = makeSigner(req);
  const body = new Uint8Array(req.payload_size).fill(97);
  const inner = {
    headers: {
      ":message-type": { type: "string", value: "event" },
      ":event-type": { type: "string", value: "AudioEvent" },
      ":content-type": { type: "string", value: "application/octet-stream" },
    },
    body,
  };
  const rounds = [];
  let prior = req.seed;
  let ms = req.start_ms;
  for (let r = 0; r < req.warmup + req.rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < req.n; i++) {
      const payload = codec.encode(inner);
      const out = await signOne(signer, prior, payload, ms);
      prior = out.signature;
      ms += 1000;
    }
    const ns = Number(process.hrtime.bigint() - t0);
    if (r >= req.warmup) rounds.push((req.n * 1e9) / ns);
  }
  return { per_sec: rounds, last_signature: prior };
}

async function handle(req) {
  switch (req.op) {
    case "encode":
      return { bytes: b64(codec.encode(toJsMessage(req.message))) };
    case "decode":
      try {
        return { message: fromJsMessage(codec.decode(unb64(req.bytes))) };
      } catch (err) {
        return { error: String(err && err.message ? err.message : err) };
      }
    case "sign_chain":
      return signChain(req);
    case "bench":
      return bench(req);
    case "versions":
      return {
        node: process.version,
        "@smithy/signature-v4": require("@smithy/signature-v4/package.json").version,
        "@smithy/eventstream-codec": require("@smithy/eventstream-codec/package.json").version,
      };
    default:
      throw new Error(`unknown op ${req.op}`);
  }
}

async function main() {
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    let reply;
    try {
      reply = await handle(JSON.parse(line));
    } catch (err) {
      reply = { fatal: String(err && err.stack ? err.stack : err) };
    }
    process.stdout.write(JSON.stringify(reply) + "\n");
  }
}

main();
