"""A small S3-compatible ASGI application, for tests only.

It knows nothing about signatures: it runs behind
``sigv4kit.server.asgi.SigV4Middleware``, which has already verified the
request, decoded any aws-chunked body and put the identity in
``scope["sigv4kit"]``.  That is the point of the exercise: real S3 clients
(boto3, the AWS CLI, minio-py, minio-go, the JS SDK, rclone, s3cmd, curl)
must be able to use this application unmodified, so everything they need --
buckets, objects, listings, multipart uploads, POST uploads -- is here, and
nothing more.

Objects are written to disk as their body streams in (MD5 and CRC32
computed on the way), so a 20 MiB upload never sits in memory, and every
upload is checked against the ``Content-MD5`` / ``x-amz-checksum-crc32``
the client sent: a middleware that handed over the wrong bytes shows up as
``BadDigest`` here, and as a content mismatch in the tests that download it
again.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import tempfile
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote
from xml.etree import ElementTree
from xml.sax.saxutils import escape

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
_BLOCK = 1 << 20
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")


class S3Error(Exception):
    def __init__(self, status: int, code: str, message: str, resource: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.resource = resource

    def to_xml(self) -> str:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
            f"<Code>{self.code}</Code><Message>{escape(self.message)}</Message>"
            f"<Resource>{escape(self.resource)}</Resource>"
            f"<RequestId>{secrets.token_hex(8).upper()}</RequestId></Error>"
        )


@dataclass
class StoredObject:
    path: Path
    size: int
    etag: str
    last_modified: float
    content_type: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class Upload:
    bucket: str
    key: str
    content_type: str
    metadata: dict[str, str]
    parts: dict[int, StoredObject] = field(default_factory=dict)


@dataclass
class Bucket:
    name: str
    created: float
    objects: dict[str, StoredObject] = field(default_factory=dict)


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t))


def _http_date(t: float) -> str:
    return formatdate(t, usegmt=True)


def _x(tag: str, value: object) -> str:
    return f"<{tag}>{escape(str(value))}</{tag}>"


class S3App:
    """The ASGI application.  ``root`` is a directory it owns."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root or tempfile.mkdtemp(prefix="s3app-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.buckets: dict[str, Bucket] = {}
        self.uploads: dict[str, Upload] = {}

    # -- ASGI entry ---------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        raw = scope.get("raw_path") or scope["path"].encode()
        path = raw.decode("latin-1").split("?", 1)[0]
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), True))
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            await self._dispatch(scope, receive, send, path, query, headers)
        except S3Error as e:
            if not e.resource:
                e.resource = path
            await _respond(send, e.status, e.to_xml().encode(), "application/xml")

    async def _dispatch(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
    ) -> None:
        method = scope["method"]
        parts = path.lstrip("/").split("/", 1)
        bucket = unquote(parts[0])
        key = unquote(parts[1]) if len(parts) > 1 else ""
        if not bucket:
            if method == "GET":
                return await self.list_buckets(scope, send)
            raise S3Error(405, "MethodNotAllowed", "The method is not allowed on /.")
        if not key:
            if method == "PUT":
                return await self.create_bucket(receive, send, bucket)
            if method == "HEAD":
                self._bucket(bucket)
                return await _respond(send, 200, b"")
            if method == "DELETE":
                return await self.delete_bucket(send, bucket)
            if method == "GET" and "location" in query:
                self._bucket(bucket)
                body = f'<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="{NS}"/>'
                return await _respond(send, 200, body.encode(), "application/xml")
            if method == "GET" and "uploads" in query:
                return await self.list_uploads(send, bucket)
            if method == "GET" and query.get("list-type") == "2":
                return await self.list_objects(send, bucket, query, v2=True)
            if method == "GET":
                return await self.list_objects(send, bucket, query, v2=False)
            if method == "POST" and "delete" in query:
                return await self.delete_objects(receive, send, bucket)
            if method == "POST":
                return await self.post_object(scope, receive, send, bucket, headers)
            raise S3Error(405, "MethodNotAllowed", f"{method} is not allowed on a bucket.")
        if method == "POST" and "uploads" in query:
            return await self.create_upload(send, bucket, key, headers)
        if method == "PUT" and "uploadId" in query:
            return await self.upload_part(receive, send, query, headers)
        if method == "POST" and "uploadId" in query:
            return await self.complete_upload(receive, send, bucket, key, query)
        if method == "DELETE" and "uploadId" in query:
            self.uploads.pop(query["uploadId"], None)
            return await _respond(send, 204, b"")
        if method == "PUT":
            return await self.put_object(receive, send, bucket, key, headers)
        if method in ("GET", "HEAD"):
            return await self.get_object(send, bucket, key, headers, head=method == "HEAD")
        if method == "DELETE":
            self._bucket(bucket).objects.pop(key, None)
            return await _respond(send, 204, b"")
        raise S3Error(405, "MethodNotAllowed", f"{method} is not allowed on an object.")

    # -- helpers ------------------------------------------------------------
    def _bucket(self, name: str) -> Bucket:
        b = self.buckets.get(name)
        if b is None:
            raise S3Error(404, "NoSuchBucket", "The specified bucket does not exist", f"/{name}")
        return b

    async def _store(
        self, receive: Receive, headers: dict[str, str], body: AsyncIterator[bytes] | None = None
    ) -> tuple[Path, int, str, int]:
        """Write the request body to a new file; check Content-MD5 and CRC32."""
        fd, name = tempfile.mkstemp(dir=self.root)
        md5 = hashlib.md5()
        crc = 0
        size = 0
        with os.fdopen(fd, "wb") as f:
            async for chunk in body if body is not None else _body(receive):
                f.write(chunk)
                md5.update(chunk)
                crc = zlib.crc32(chunk, crc)
                size += len(chunk)
        want_md5 = headers.get("content-md5")
        if want_md5 is not None and base64.b64decode(want_md5) != md5.digest():
            os.unlink(name)
            raise S3Error(400, "BadDigest", "The Content-MD5 you specified did not match.")
        want_crc = headers.get("x-amz-checksum-crc32")
        if want_crc is not None and base64.b64decode(want_crc) != crc.to_bytes(4, "big"):
            os.unlink(name)
            raise S3Error(400, "BadDigest", "The CRC32 you specified did not match.")
        return Path(name), size, md5.hexdigest(), crc

    # -- buckets ------------------------------------------------------------
    async def list_buckets(self, scope: Scope, send: Send) -> None:
        owner = identity_of(scope).get("access_key_id", "")
        items = "".join(
            f"<Bucket>{_x('Name', b.name)}{_x('CreationDate', _iso(b.created))}</Bucket>"
            for b in sorted(self.buckets.values(), key=lambda b: b.name)
        )
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<ListAllMyBucketsResult xmlns="{NS}">'
            f"<Owner>{_x('ID', owner)}{_x('DisplayName', owner)}</Owner>"
            f"<Buckets>{items}</Buckets></ListAllMyBucketsResult>"
        )
        await _respond(send, 200, body.encode(), "application/xml")

    async def create_bucket(self, receive: Receive, send: Send, name: str) -> None:
        async for _ in _body(receive):
            pass  # CreateBucketConfiguration: one region, nothing to configure
        if not _BUCKET_NAME.fullmatch(name):
            raise S3Error(400, "InvalidBucketName", "The specified bucket is not valid.")
        # us-east-1 answers 200 when you create a bucket you already own
        # (rclone relies on it); the tests have one owner.
        self.buckets.setdefault(name, Bucket(name, time.time()))
        await _respond(send, 200, b"", extra=[(b"location", f"/{name}".encode())])

    async def delete_bucket(self, send: Send, name: str) -> None:
        if self._bucket(name).objects:
            raise S3Error(409, "BucketNotEmpty", "The bucket you tried to delete is not empty")
        del self.buckets[name]
        await _respond(send, 204, b"")

    async def list_objects(self, send: Send, name: str, query: dict[str, str], *, v2: bool) -> None:
        b = self._bucket(name)
        prefix = query.get("prefix", "")
        delimiter = query.get("delimiter", "")
        max_keys = int(query.get("max-keys", "1000"))
        url = query.get("encoding-type") == "url"
        enc: Callable[[str], str] = (lambda s: quote(s, safe="/")) if url else (lambda s: s)
        if v2:
            token = query.get("continuation-token")
            after = unquote(token) if token else query.get("start-after", "")
        else:
            after = query.get("marker", "")
        contents: list[str] = []
        common: list[str] = []
        seen: set[str] = set()
        truncated = False
        last = ""
        for key in sorted(b.objects):
            if not key.startswith(prefix) or key <= after:
                continue
            if delimiter:
                cut = key.find(delimiter, len(prefix))
                if cut >= 0:
                    cp = key[: cut + len(delimiter)]
                    if cp in seen or cp <= after:
                        continue
                    if len(contents) + len(common) >= max_keys:
                        truncated = True
                        break
                    seen.add(cp)
                    common.append(f"<CommonPrefixes>{_x('Prefix', enc(cp))}</CommonPrefixes>")
                    last = cp
                    continue
            if len(contents) + len(common) >= max_keys:
                truncated = True
                break
            o = b.objects[key]
            contents.append(
                f"<Contents>{_x('Key', enc(key))}{_x('LastModified', _iso(o.last_modified))}"
                f"{_x('ETag', o.etag)}{_x('Size', o.size)}"
                f"{_x('StorageClass', 'STANDARD')}</Contents>"
            )
            last = key
        head = [_x("Name", name), _x("Prefix", enc(prefix)), _x("MaxKeys", max_keys)]
        if delimiter:
            head.append(_x("Delimiter", enc(delimiter)))
        if url:
            head.append(_x("EncodingType", "url"))
        head.append(_x("IsTruncated", "true" if truncated else "false"))
        if v2:
            head.append(_x("KeyCount", len(contents) + len(common)))
            if "continuation-token" in query:
                head.append(_x("ContinuationToken", query["continuation-token"]))
            if "start-after" in query:
                head.append(_x("StartAfter", enc(query["start-after"])))
            if truncated:
                head.append(_x("NextContinuationToken", quote(last, safe="")))
            tag = "ListBucketResult"
        else:
            head.append(_x("Marker", enc(after)))
            if truncated:
                head.append(_x("NextMarker", enc(last)))
            tag = "ListBucketResult"
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<{tag} xmlns="{NS}">'
            + "".join(head)
            + "".join(contents)
            + "".join(common)
            + f"</{tag}>"
        )
        await _respond(send, 200, body.encode(), "application/xml")

    async def list_uploads(self, send: Send, name: str) -> None:
        self._bucket(name)
        items = "".join(
            f"<Upload>{_x('Key', u.key)}{_x('UploadId', uid)}</Upload>"
            for uid, u in self.uploads.items()
            if u.bucket == name
        )
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult xmlns="{NS}">'
            f"{_x('Bucket', name)}<IsTruncated>false</IsTruncated>{items}"
            "</ListMultipartUploadsResult>"
        )
        await _respond(send, 200, body.encode(), "application/xml")

    async def delete_objects(self, receive: Receive, send: Send, name: str) -> None:
        b = self._bucket(name)
        doc = b"".join([c async for c in _body(receive)])
        deleted = []
        for el in ElementTree.fromstring(doc).iter():
            if el.tag.rsplit("}", 1)[-1] == "Key" and el.text is not None:
                b.objects.pop(el.text, None)
                deleted.append(f"<Deleted>{_x('Key', el.text)}</Deleted>")
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult xmlns="{NS}">'
            + "".join(deleted)
            + "</DeleteResult>"
        )
        await _respond(send, 200, body.encode(), "application/xml")

    # -- objects ------------------------------------------------------------
    async def put_object(
        self, receive: Receive, send: Send, name: str, key: str, headers: dict[str, str]
    ) -> None:
        b = self._bucket(name)
        path, size, md5, _crc = await self._store(receive, headers)
        etag = f'"{md5}"'
        b.objects[key] = StoredObject(
            path,
            size,
            etag,
            time.time(),
            headers.get("content-type", "binary/octet-stream"),
            _user_meta(headers),
        )
        extra = [(b"etag", etag.encode())]
        if "x-amz-checksum-crc32" in headers:
            extra.append((b"x-amz-checksum-crc32", headers["x-amz-checksum-crc32"].encode()))
        await _respond(send, 200, b"", extra=extra)

    async def get_object(
        self, send: Send, name: str, key: str, headers: dict[str, str], *, head: bool
    ) -> None:
        o = self._bucket(name).objects.get(key)
        if o is None:
            if head:  # HEAD errors have no body
                return await _respond(send, 404, b"")
            raise S3Error(404, "NoSuchKey", "The specified key does not exist.", f"/{name}/{key}")
        start, end, status = 0, o.size - 1, 200
        extra = [
            (b"etag", o.etag.encode()),
            (b"last-modified", _http_date(o.last_modified).encode()),
            (b"accept-ranges", b"bytes"),
        ]
        extra += [(f"x-amz-meta-{k}".encode(), v.encode()) for k, v in o.metadata.items()]
        rng = headers.get("range")
        if rng and o.size:
            m = re.fullmatch(r"bytes=(\d*)-(\d*)", rng.strip())
            if m is None or (not m[1] and not m[2]):
                raise S3Error(416, "InvalidRange", "The requested range is not satisfiable")
            if m[1]:
                start = int(m[1])
                end = min(int(m[2]), o.size - 1) if m[2] else o.size - 1
            else:
                start = max(0, o.size - int(m[2]))
            if start >= o.size or start > end:
                raise S3Error(416, "InvalidRange", "The requested range is not satisfiable")
            status = 206
            extra.append((b"content-range", f"bytes {start}-{end}/{o.size}".encode()))
        length = end - start + 1 if o.size else 0
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", o.content_type.encode()),
                    (b"content-length", str(length).encode()),
                    *extra,
                ],
            }
        )
        if head or length == 0:
            await send({"type": "http.response.body", "body": b""})
            return
        with open(o.path, "rb") as f:
            f.seek(start)
            left = length
            while left:
                block = f.read(min(_BLOCK, left))
                left -= len(block)
                await send({"type": "http.response.body", "body": block, "more_body": left > 0})

    # -- multipart ------------------------------------------------------------
    async def create_upload(self, send: Send, name: str, key: str, headers: dict[str, str]) -> None:
        self._bucket(name)
        uid = uuid.uuid4().hex
        self.uploads[uid] = Upload(
            name, key, headers.get("content-type", "binary/octet-stream"), _user_meta(headers)
        )
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<InitiateMultipartUploadResult xmlns="{NS}">'
            f"{_x('Bucket', name)}{_x('Key', key)}{_x('UploadId', uid)}"
            "</InitiateMultipartUploadResult>"
        )
        await _respond(send, 200, body.encode(), "application/xml")

    def _upload(self, uid: str) -> Upload:
        u = self.uploads.get(uid)
        if u is None:
            raise S3Error(404, "NoSuchUpload", "The specified upload does not exist.")
        return u

    async def upload_part(
        self, receive: Receive, send: Send, query: dict[str, str], headers: dict[str, str]
    ) -> None:
        u = self._upload(query["uploadId"])
        number = int(query.get("partNumber", "0"))
        if not 1 <= number <= 10000:
            raise S3Error(400, "InvalidArgument", "Part number must be between 1 and 10000.")
        path, size, md5, crc = await self._store(receive, headers)
        u.parts[number] = StoredObject(path, size, f'"{md5}"', time.time(), "")
        extra = [(b"etag", f'"{md5}"'.encode())]
        crc_b64 = base64.b64encode(crc.to_bytes(4, "big")).decode()
        if headers.get("x-amz-sdk-checksum-algorithm", "").upper() == "CRC32" or (
            "x-amz-checksum-crc32" in headers
        ):
            extra.append((b"x-amz-checksum-crc32", crc_b64.encode()))
        await _respond(send, 200, b"", extra=extra)

    async def complete_upload(
        self, receive: Receive, send: Send, name: str, key: str, query: dict[str, str]
    ) -> None:
        b = self._bucket(name)
        u = self._upload(query["uploadId"])
        doc = ElementTree.fromstring(b"".join([c async for c in _body(receive)]))
        wanted: list[tuple[int, str]] = []
        for part in doc:
            fields = {el.tag.rsplit("}", 1)[-1]: (el.text or "") for el in part}
            wanted.append((int(fields["PartNumber"]), fields["ETag"].strip('"')))
        if not wanted or [n for n, _ in wanted] != sorted(n for n, _ in wanted):
            raise S3Error(400, "InvalidPartOrder", "The list of parts was not in ascending order.")
        fd, target = tempfile.mkstemp(dir=self.root)
        digests = b""
        size = 0
        with os.fdopen(fd, "wb") as out:
            for number, etag in wanted:
                p = u.parts.get(number)
                if p is None or p.etag.strip('"') != etag:
                    raise S3Error(400, "InvalidPart", f"Part {number} was not uploaded as listed.")
                digests += bytes.fromhex(etag)
                with open(p.path, "rb") as f:
                    while block := f.read(_BLOCK):
                        out.write(block)
                        size += len(block)
        etag = f'"{hashlib.md5(digests).hexdigest()}-{len(wanted)}"'
        b.objects[key] = StoredObject(
            Path(target), size, etag, time.time(), u.content_type, u.metadata
        )
        del self.uploads[query["uploadId"]]
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUploadResult xmlns="{NS}">'
            f"{_x('Location', f'/{name}/{key}')}{_x('Bucket', name)}{_x('Key', key)}"
            f"{_x('ETag', etag)}</CompleteMultipartUploadResult>"
        )
        await _respond(send, 200, body.encode(), "application/xml")

    # -- browser POST upload ----------------------------------------------------
    async def post_object(
        self, scope: Scope, receive: Receive, send: Send, name: str, headers: dict[str, str]
    ) -> None:
        """The middleware verified the policy; its fields are in the identity."""
        b = self._bucket(name)
        form = identity_of(scope).get("form") or {}
        if "key" not in form:
            raise S3Error(400, "InvalidArgument", "Bucket POST must contain a field named 'key'.")
        key = form["key"].replace("${filename}", form.get("filename", ""))
        path, size, md5, _ = await self._store(receive, {})
        etag = f'"{md5}"'
        b.objects[key] = StoredObject(
            path,
            size,
            etag,
            time.time(),
            form.get("Content-Type", "binary/octet-stream"),
            {k[11:]: v for k, v in form.items() if k.lower().startswith("x-amz-meta-")},
        )
        status = int(form.get("success_action_status", "204"))
        extra = [(b"etag", etag.encode()), (b"location", f"/{name}/{quote(key)}".encode())]
        if status == 201:
            body = (
                f'<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse>'
                f"{_x('Location', f'/{name}/{key}')}{_x('Bucket', name)}{_x('Key', key)}"
                f"{_x('ETag', etag)}</PostResponse>"
            )
            return await _respond(send, 201, body.encode(), "application/xml", extra=extra)
        await _respond(send, status if status in (200, 204) else 204, b"", extra=extra)


def identity_of(scope: Scope) -> dict[str, Any]:
    """What the middleware says about the request's signer (its documented scope key)."""
    from sigv4kit.server import verified_request

    ok = verified_request(scope)
    if ok is None:
        return {}
    return {"access_key_id": ok.access_key_id, "form": ok.form}


def _user_meta(headers: dict[str, str]) -> dict[str, str]:
    return {k[11:]: v for k, v in headers.items() if k.startswith("x-amz-meta-")}


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            raise S3Error(400, "IncompleteBody", "The client went away mid-body.")
        chunk = msg.get("body", b"")
        if chunk:
            yield chunk
        if not msg.get("more_body", False):
            return


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: str | None = None,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [(b"content-length", str(len(body)).encode())]
    if content_type:
        headers.append((b"content-type", content_type.encode()))
    headers += extra or []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
