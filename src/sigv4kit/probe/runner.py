"""The probe's I/O edge: send each request for real, hand the answers to the verdicts.

Every write goes under a fresh prefix (``sigv4kit-probe-<random>/``) and every
key is recorded before its request is sent, so the ``finally`` that deletes
them (and then lists the prefix to check) leaves the bucket as it was found,
also after an error or Ctrl-C.  Objects are 70,000 random bytes: more than one
64 KiB aws-chunked chunk, so a server that keeps the chunk framing is caught
when the object is read back.

HTTP is the standard library's ``http.client``, one connection per request,
so the probe has no dependency and sends exactly the bytes it signed.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import re
import secrets
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urlsplit

from ..checksums import CHECKSUM_HEADERS, new_checksum
from ..credentials import Credentials
from ..errors import CannotProbe
from ..signer import Signer
from .profiles import Profile
from .verdict import (
    CAPABILITIES,
    MAX_EXPIRES,
    MAX_SKEW,
    READ_ONLY,
    Bisect,
    ProbeReport,
    Verdict,
    judge_read,
    judge_upload,
)

__all__ = ["Answer", "CannotProbe", "Prober", "send"]

SIZE = 70_000


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def error(self) -> tuple[str | None, str]:
        """(code, message) of an error answer."""
        if 200 <= self.status < 300:
            return None, ""
        from ..diagnose import parse_error_body

        err = parse_error_body(self.body[: 1 << 16])
        if err.code is None and self.body.lstrip()[:1] == b"<":
            kind = self.headers.get("content-type", "").split(";")[0] or "no content type"
            return None, f"HTTP {self.status} with a {kind} body, not an S3 error"
        return err.code, err.message or self.body[:200].decode("utf-8", "replace")


def send(
    method: str,
    url: str,
    headers: Iterable[tuple[str, str]],
    body: bytes = b"",
    *,
    connect: str | None = None,
    timeout: float = 30.0,
    verify_tls: bool = True,
) -> Answer:
    """One request; ``connect`` (host[:port]) overrides where it goes, not the Host header."""
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    where = connect or parts.netloc.rpartition("@")[2]
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        ctx = ssl.create_default_context()
        if not verify_tls:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(where, timeout=timeout, context=ctx)
    else:
        conn = http.client.HTTPConnection(where, timeout=timeout)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        names = set()
        for name, value in headers:
            names.add(name.lower())
            conn.putheader(name, value)
        if "host" not in names:
            conn.putheader("Host", parts.netloc.rpartition("@")[2])
        if body or method in ("PUT", "POST"):
            if "content-length" not in names:
                conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        resp = conn.getresponse()
        data = resp.read()
        return Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()


_IP = re.compile(r"^(?:\d+\.\d+\.\d+\.\d+|\[.*\]|localhost)(?::\d+)?$")


def _quiet(_step: str) -> None:
    pass


@dataclass(eq=False)
class Prober:
    """Tests what an endpoint accepts, for real (see the module docstring).

    ``Prober(endpoint, bucket, credentials, region, *, profile, write=True,
    timeout=30.0, verify_tls=True, say=...)``; ``say(step)`` hears each step.
    """

    endpoint: str
    bucket: str
    credentials: Credentials | Callable[[], Credentials]
    region: str
    _: KW_ONLY
    profile: Profile
    write: bool = True
    timeout: float = 30.0
    verify_tls: bool = True
    say: Callable[[str], None] = _quiet
    # Worked out from the above, or state of the run:
    scheme: str = field(init=False, repr=False)
    netloc: str = field(init=False, repr=False)
    base: str = field(init=False, repr=False)
    prefix: str = field(init=False, repr=False)
    written: set[str] = field(init=False, repr=False, default_factory=set)
    addressing: str = field(init=False, repr=False, default="path")
    data: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        endpoint = self.endpoint
        parts = urlsplit(endpoint if "://" in endpoint else "https://" + endpoint)
        self.scheme, self.netloc = parts.scheme, parts.netloc.rpartition("@")[2]
        self.base = f"{self.scheme}://{self.netloc}"
        self.prefix = f"sigv4kit-probe-{secrets.token_hex(6)}/"
        self.data = os.urandom(SIZE)

    # -- addressing ---------------------------------------------------------
    def url(self, key: str = "", query: str = "", *, addressing: str | None = None) -> str:
        style = addressing or self.addressing
        k = quote(key, safe="/-_.~")
        if style == "virtual":
            u = f"{self.scheme}://{self.bucket}.{self.netloc}/{k}"
        else:
            u = f"{self.base}/{self.bucket}" + (f"/{k}" if key else "")
        return u + (f"?{query}" if query else "")

    def _connect(self, url: str) -> str | None:
        # Virtual hosts under an IP or localhost have no DNS: connect to the
        # endpoint and let the Host header name the bucket.
        host = urlsplit(url).netloc
        if host != self.netloc and _IP.match(self.netloc):
            return self.netloc
        return None

    def signer(self, **options: object) -> Signer:
        return Signer(self.credentials, self.region, "s3", **options)  # type: ignore[arg-type]

    def request(
        self,
        method: str,
        url: str,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        *,
        sign: bool = True,
        payload: str = "signed",
        timestamp: datetime | None = None,
        **options: Any,
    ) -> Answer:
        """One request to the endpoint: signed with ``payload``, ``timestamp`` and
        the Signer ``options``, or with ``sign=False`` as given (a presigned URL, a
        POST form)."""
        if sign:
            s = self.signer(**options)
            req = s.sign(
                method, url, list(headers), body=body, payload=payload, timestamp=timestamp
            )
            url, headers = req.url, req.headers
            if req.body is not None and not isinstance(req.body, (bytes, bytearray)):
                body = b"".join(req.body)
            elif isinstance(req.body, (bytes, bytearray)):
                body = bytes(req.body)
        return send(
            method,
            url,
            headers,
            body,
            connect=self._connect(url),
            timeout=self.timeout,
            verify_tls=self.verify_tls,
        )

    # -- the run ------------------------------------------------------------
    def run(self) -> ProbeReport:
        report = ProbeReport(self.base)
        try:
            self._run(report)
        finally:
            self.cleanup(report)
        return report

    def _run(self, report: ProbeReport) -> None:
        res = report.results
        first = self.request("GET", self.url(query="list-type=2&max-keys=1"))
        code, _ = first.error
        if code == "NoSuchBucket" or (first.status == 404 and code is None):
            raise CannotProbe(
                f"bucket {self.bucket!r} does not exist at {self.base}; create it first "
                "(the probe creates no buckets)"
            )
        self.say("addressing")
        res["path-style"] = self._listing(first, "bucket listed at host/bucket (path style)")
        virt = self.request("GET", self.url(query="list-type=2&max-keys=1", addressing="virtual"))
        res["virtual-host"] = self._listing(virt, "bucket listed at bucket.host (virtual-hosted)")
        if res["path-style"].ok is not True and res["virtual-host"].ok is True:
            self.addressing = "virtual"
        if not self.write:
            self._read_only(report)
        else:
            self._writes(report)
        self.say("presign expiry")
        report.max_presign_expires = self._max_expires()
        self.say("clock skew")
        report.skew_window_seconds = self._skew_window(report)
        for name in CAPABILITIES:
            if not self.write and name not in READ_ONLY:
                res[name] = Verdict(None, None, "not tested (--no-write)")

    def _listing(self, a: Answer, what: str) -> Verdict:
        """A 2xx that is this bucket's listing (not, say, the list of all buckets)."""
        v = judge_read(a.status, *a.error, what)
        if v.ok and f"<Name>{self.bucket}</Name>".encode() not in a.body:
            return Verdict(False, "WrongAnswer", "answered 2xx, but not with this bucket's listing")
        return v

    def _read_only(self, report: ProbeReport) -> None:
        res = report.results
        listing = self.url(query="list-type=2&max-keys=1")
        a = self.request("GET", listing)
        res["header-signed"] = judge_read(a.status, *a.error, "signed GET (bucket listing)")
        a = self.request("GET", listing, payload="unsigned")
        res["unsigned-payload"] = judge_read(a.status, *a.error, "GET with UNSIGNED-PAYLOAD")
        a = self.request("GET", self.signer().presign("GET", listing, expires=300), sign=False)
        res["presign-get"] = judge_read(a.status, *a.error, "presigned GET (bucket listing)")
        a = self.request("GET", listing, algorithm="sigv4a", region_set=["*"])
        res["sigv4a"] = judge_read(a.status, *a.error, "SigV4a GET, region set *")

    def _key(self, name: str) -> str:
        key = self.prefix + name
        self.written.add(key)  # before sending: cleanup must know it
        return key

    def _read_back(self, key: str) -> tuple[int, bytes]:
        a = self.request("GET", self.url(key))
        return a.status, a.body

    def _upload(self, name: str, put: Callable[[str], Answer]) -> Verdict:
        key = self._key(name)
        self.say(name)
        try:
            a = put(key)
        except (OSError, http.client.HTTPException) as exc:
            return Verdict(False, "ConnectionError", f"{type(exc).__name__}: {exc}"[:200])
        code, message = a.error
        status, stored = (None, None)
        if 200 <= a.status < 300:
            status, stored = self._read_back(key)
        return judge_upload(a.status, code, message, status, stored, self.data)

    def _writes(self, report: ProbeReport) -> None:
        res = report.results
        data = self.data

        def with_mode(mode: str, checksum: str | None = None) -> Callable[[str], Answer]:
            opts: dict[str, Any] = {}
            if checksum:
                opts["checksum"] = checksum
            return lambda key: self.request("PUT", self.url(key), (), data, payload=mode, **opts)

        res["header-signed"] = self._upload("header-signed", with_mode("signed"))
        res["unsigned-payload"] = self._upload("unsigned-payload", with_mode("unsigned"))
        res["streaming"] = self._upload("streaming", with_mode("streaming"))
        res["streaming-trailer"] = self._upload(
            "streaming-trailer", with_mode("streaming-trailer", "crc32")
        )
        res["streaming-unsigned-trailer"] = self._upload(
            "streaming-unsigned-trailer", with_mode("streaming-unsigned-trailer", "crc32")
        )
        for alg, header in CHECKSUM_HEADERS.items():
            c = new_checksum(alg)
            c.update(data)
            value = c.b64digest()

            def put(key: str, header: str = header, value: str = value) -> Answer:
                return self.request("PUT", self.url(key), [(header, value)], data)

            res[f"checksum-{alg}"] = self._upload(f"checksum-{alg}", put)
        md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
        res["content-md5"] = self._upload(
            "content-md5",
            lambda key: self.request("PUT", self.url(key), [("Content-MD5", md5)], data),
        )
        res["presign-put"] = self._upload(
            "presign-put",
            lambda key: self.request("PUT", self._presigned("PUT", key), (), data, sign=False),
        )
        res["presign-get"] = self._presign_get()
        res["post-policy"] = self._upload("post-policy", self._post)
        res["sigv4a"] = self._upload(
            "sigv4a",
            lambda key: self.request(
                "PUT", self.url(key), (), data, algorithm="sigv4a", region_set=["*"]
            ),
        )

    def _presigned(self, method: str, key: str) -> str:
        return self.signer().presign(method, self.url(key), expires=300)

    def _presign_get(self) -> Verdict:
        key = self._key("presign-get")
        self.say("presign-get")
        put = self.request("PUT", self.url(key), (), self.data)
        if not 200 <= put.status < 300:
            return Verdict(
                False, "SetupFailed", f"could not store the object to fetch ({put.status})"
            )
        a = self.request("GET", self._presigned("GET", key), sign=False)
        if not 200 <= a.status < 300:
            return judge_read(a.status, *a.error, "")
        return judge_upload(put.status, None, None, a.status, a.body, self.data)

    def _post(self, key: str) -> Answer:
        from ..post_policy import presign_post

        creds = self.credentials
        if not isinstance(creds, Credentials):
            creds = creds()
        bucket_url = self.url(addressing="path") if self.addressing == "path" else (
            f"{self.scheme}://{self.bucket}.{self.netloc}/"
        )  # fmt: skip
        pp = presign_post(
            creds,
            self.bucket,
            key,
            region=self.region,
            timestamp=datetime.now(timezone.utc),
            expires_in=300,
            url=bucket_url,
        )
        boundary = "sigv4kit" + secrets.token_hex(8)
        parts: list[bytes] = []
        for name, value in pp.fields.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n".encode()
            )
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="probe"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
            + self.data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        body = b"".join(parts)
        return self.request(
            "POST",
            pp.url,
            [("Content-Type", f"multipart/form-data; boundary={boundary}")],
            body,
            sign=False,
        )

    def _max_expires(self) -> int | None:
        listing = self.url(query="list-type=2&max-keys=1")

        def ok(expires: int) -> bool:
            url = self.signer().presign("GET", listing, expires=expires)
            return 200 <= self.request("GET", url, sign=False).status < 300

        if not ok(1):
            return None
        b = Bisect(1, MAX_EXPIRES)
        while (v := b.next()) is not None:
            b.feed(ok(v))
        return b.result

    def _skew_window(self, report: ProbeReport) -> int | None:
        listing = self.url(query="list-type=2&max-keys=1")

        def ok(offset: int) -> bool:
            when = datetime.fromtimestamp(time.time() + offset, timezone.utc)
            return 200 <= self.request("GET", listing, timestamp=when).status < 300

        if not ok(0):
            return None
        windows = []
        for sign in (-1, 1):
            b = Bisect(0, MAX_SKEW, precision=1)
            while (v := b.next()) is not None:
                b.feed(ok(sign * v))
            windows.append(b.result)
        if min(windows) >= MAX_SKEW:
            report.notes.append(
                f"requests signed a day off were accepted: the server does not check the clock "
                f"(reported as {MAX_SKEW})"
            )
        return min(windows)

    # -- leaving the bucket as found ----------------------------------------
    def cleanup(self, report: ProbeReport | None = None) -> list[str]:
        """Delete every key the probe may have written; list the prefix to check."""
        left: list[str] = []
        for key in sorted(self.written):
            for attempt in range(2):
                try:
                    a = self.request("DELETE", self.url(key))
                    if a.status in (200, 204, 404):
                        break
                except (OSError, http.client.HTTPException):
                    if attempt:
                        left.append(key)
        if self.written:
            try:
                a = self.request("GET", self.url(query=f"list-type=2&prefix={quote(self.prefix)}"))
                left = sorted(
                    set(re.findall(r"<Key>([^<]*)</Key>", a.body.decode("utf-8", "replace")))
                )
            except (OSError, http.client.HTTPException):
                pass
        if left and report is not None:
            report.notes.append(f"could not delete {len(left)} probe objects: {', '.join(left)}")
        return left
