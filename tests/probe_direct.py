"""The probe's requests, sent directly with ``requests``: the reference for its verdicts.

For each capability the same request the probe sends (same signing mode,
headers and body) goes out through another HTTP stack, and the object is
read back and compared.  The probe tests assert that its verdicts equal these
results, so a bug in the probe's own sending or judging shows up as a
difference.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import requests

from sigv4kit import Credentials, Signer
from sigv4kit.checksums import CHECKSUM_HEADERS, new_checksum
from sigv4kit.post_policy import presign_post


class Direct:
    def __init__(self, endpoint: str, bucket: str, creds: Credentials, region: str) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.netloc = urlsplit(endpoint).netloc
        self.bucket = bucket
        self.creds = creds
        self.region = region
        self.data = os.urandom(70_000)
        self.prefix = f"direct-{secrets.token_hex(4)}/"
        self.keys: list[str] = []
        self.http = requests.Session()

    def signer(self, **kw: Any) -> Signer:
        return Signer(self.creds, self.region, "s3", **kw)

    def url(self, key: str = "", query: str = "") -> str:
        u = f"{self.endpoint}/{self.bucket}" + (f"/{key}" if key else "")
        return u + (f"?{query}" if query else "")

    def send(self, method: str, url: str, headers: Any = (), body: Any = b"", **kw: Any) -> Any:
        s = self.signer(**{k: v for k, v in kw.items() if k != "payload"})
        extra = {k: kw[k] for k in ("payload",) if k in kw}
        signed = s.sign(method, url, list(headers), body=body, **extra)
        data = signed.body
        if data is not None and not isinstance(data, (bytes, bytearray)):
            data = b"".join(data)
        host = urlsplit(url).netloc
        hdrs = dict(signed.headers)
        target = signed.url
        if host != self.netloc:  # a virtual host under an IP: connect to the endpoint
            target = target.replace(host, self.netloc, 1)
            hdrs["Host"] = host
        return self.http.request(method, target, headers=hdrs, data=data if data else body)

    def stored_ok(self, key: str) -> bool:
        r = self.send("GET", self.url(key))
        return r.status_code == 200 and r.content == self.data

    def upload(self, name: str, put: Any) -> bool:
        key = self.prefix + name
        self.keys.append(key)
        r = put(key)
        return bool(200 <= r.status_code < 300 and self.stored_ok(key))

    def results(self) -> dict[str, bool]:
        d = self.data
        out: dict[str, bool] = {}
        try:
            out["header-signed"] = self.upload("hs", lambda k: self.send("PUT", self.url(k), (), d))
            out["unsigned-payload"] = self.upload(
                "up", lambda k: self.send("PUT", self.url(k), (), d, payload="unsigned")
            )
            for mode, checksum in [
                ("streaming", None),
                ("streaming-trailer", "crc32"),
                ("streaming-unsigned-trailer", "crc32"),
            ]:
                kw: dict[str, Any] = {"payload": mode}
                if checksum:
                    kw["checksum"] = checksum
                out[mode] = self.upload(
                    mode, lambda k, kw=kw: self.send("PUT", self.url(k), (), d, **kw)
                )
            for alg, header in CHECKSUM_HEADERS.items():
                c = new_checksum(alg)
                c.update(d)
                h = [(header, c.b64digest())]
                out[f"checksum-{alg}"] = self.upload(
                    alg, lambda k, h=h: self.send("PUT", self.url(k), h, d)
                )
            md5 = [("Content-MD5", base64.b64encode(hashlib.md5(d).digest()).decode())]
            out["content-md5"] = self.upload("md5", lambda k: self.send("PUT", self.url(k), md5, d))
            out["presign-put"] = self.upload(
                "pp",
                lambda k: self.http.put(
                    self.signer().presign("PUT", self.url(k), expires=300), data=d
                ),
            )
            key = self.prefix + "pg"
            self.keys.append(key)
            self.send("PUT", self.url(key), (), d)
            r = self.http.get(self.signer().presign("GET", self.url(key), expires=300))
            out["presign-get"] = r.status_code == 200 and r.content == d

            def post(k: str) -> Any:
                pp = presign_post(
                    self.creds,
                    self.bucket,
                    k,
                    region=self.region,
                    timestamp=datetime.now(timezone.utc),
                    expires_in=300,
                    url=self.url(),
                )
                return self.http.post(pp.url, data=pp.fields, files={"file": ("probe", d)})

            out["post-policy"] = self.upload("post", post)
            out["sigv4a"] = self.upload(
                "v4a",
                lambda k: self.send(
                    "PUT", self.url(k), (), d, algorithm="sigv4a", region_set=["*"]
                ),
            )
            name = f"<Name>{self.bucket}</Name>".encode()
            r = self.send("GET", self.url(query="list-type=2&max-keys=1"))
            out["path-style"] = r.status_code == 200 and name in r.content
            scheme, _, rest = self.endpoint.partition("://")
            vurl = f"{scheme}://{self.bucket}.{rest}/?list-type=2&max-keys=1"
            r = self.send("GET", vurl)
            out["virtual-host"] = r.status_code == 200 and name in r.content
        finally:
            for k in self.keys:
                self.send("DELETE", self.url(k))
        return out

    def presign_ok(self, expires: int) -> bool:
        url = self.signer().presign(
            "GET", self.url(query="list-type=2&max-keys=1"), expires=expires
        )
        return self.http.get(url).status_code == 200

    def skew_ok(self, offset: int) -> bool:
        when = datetime.now(timezone.utc) + timedelta(seconds=offset)
        s = self.signer().sign("GET", self.url(query="list-type=2&max-keys=1"), timestamp=when)
        return self.http.get(s.url, headers=dict(s.headers)).status_code == 200
