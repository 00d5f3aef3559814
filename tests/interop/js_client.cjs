// The AWS SDK for JavaScript v3 (@aws-sdk/client-s3, from npm) against the
// test S3 application. A Buffer body is signed with its SHA-256; a stream
// body is sent as aws-chunked STREAMING-UNSIGNED-PAYLOAD-TRAILER with a
// trailing x-amz-checksum-crc32.
//
// usage: node js_client.cjs NPM_DIR ENDPOINT SECRET BUCKET [put]
// prints one JSON line: {"ok": true, ...} or {"ok": false, "code": "<S3 code>"}
"use strict";
const { createRequire } = require("node:module");
const path = require("node:path");
const { Readable } = require("node:stream");
const crypto = require("node:crypto");

const [npmDir, endpoint, secret, bucket, mode] = process.argv.slice(2);
const need = createRequire(path.join(path.resolve(npmDir), "package.json"));
const s3 = need("@aws-sdk/client-s3");
const { getSignedUrl } = need("@aws-sdk/s3-request-presigner");

const client = new s3.S3Client({
  endpoint,
  region: "us-east-1",
  forcePathStyle: true,
  maxAttempts: 1,
  credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: secret },
});

function data(size, seed) {
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = (i * 13 + seed + (i >> 9)) & 0xff;
  return out;
}

function stream(buf) {
  // several pieces, so the SDK frames several aws-chunked chunks
  const pieces = [];
  for (let i = 0; i < buf.length; i += 50000) pieces.push(buf.subarray(i, i + 50000));
  return Readable.from(pieces);
}

async function main() {
  const streamed = data(300000, 1);
  if (mode === "put") {
    await client.send(new s3.PutObjectCommand({ Bucket: bucket, Key: "k", Body: stream(streamed),
      ContentLength: streamed.length }));
    return { ok: true };
  }
  try {
    await client.send(new s3.CreateBucketCommand({ Bucket: bucket }));
  } catch (e) {
    if (e.name !== "BucketAlreadyOwnedByYou") throw e;
  }
  const small = data(20000, 2);
  await client.send(new s3.PutObjectCommand({ Bucket: bucket, Key: "buffer.bin", Body: small }));
  await client.send(new s3.PutObjectCommand({ Bucket: bucket, Key: "stream.bin",
    Body: stream(streamed), ContentLength: streamed.length }));
  const got = await client.send(new s3.GetObjectCommand({ Bucket: bucket, Key: "stream.bin" }));
  const back = Buffer.from(await got.Body.transformToByteArray());
  if (!back.equals(streamed)) throw new Error(`stream.bin came back as ${back.length} other bytes`);
  const got2 = await client.send(new s3.GetObjectCommand({ Bucket: bucket, Key: "buffer.bin" }));
  const back2 = Buffer.from(await got2.Body.transformToByteArray());
  if (!back2.equals(small)) throw new Error("buffer.bin came back different");
  const list = await client.send(new s3.ListObjectsV2Command({ Bucket: bucket }));
  const url = await getSignedUrl(client, new s3.GetObjectCommand({ Bucket: bucket, Key: "buffer.bin" }),
    { expiresIn: 300 });
  const viaUrl = Buffer.from(await (await fetch(url)).arrayBuffer());
  if (!viaUrl.equals(small)) throw new Error("presigned GET returned other bytes");
  await client.send(new s3.DeleteObjectCommand({ Bucket: bucket, Key: "buffer.bin" }));
  return {
    ok: true,
    keys: (list.Contents || []).map((o) => o.Key),
    sha256: crypto.createHash("sha256").update(streamed).digest("hex"),
    url,
  };
}

main().then(
  (r) => console.log(JSON.stringify(r)),
  (e) => {
    console.log(JSON.stringify({ ok: false, code: e.Code || e.name, message: String(e.message) }));
    process.exitCode = 1;
  },
);
