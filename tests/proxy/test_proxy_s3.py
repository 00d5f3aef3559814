"""``sigv4kit proxy`` in front of SeaweedFS (a real S3 server on 127.0.0.1).

Clients here never sign: plain ``requests`` and boto3 with
``signature_version=UNSIGNED``; SeaweedFS refuses anything not signed with
its key, so every success proves the proxy signed correctly.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest

pytest.importorskip("aiohttp")
import requests
from proxy_support import ProxyProcess

from client.conftest import ACCESS_KEY, SECRET_KEY, SeaweedFS, seaweedfs  # noqa: F401

ENV = {
    "AWS_ACCESS_KEY_ID": ACCESS_KEY,
    "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    "AWS_SESSION_TOKEN": "",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
for _v in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
    ENV.pop(_v, None) if _v != "AWS_SESSION_TOKEN" else None


def _env() -> dict[str, str]:
    env = {k: v for k, v in ENV.items() if v}
    return env


@pytest.fixture(scope="module")
def proxy(seaweedfs: SeaweedFS) -> Iterator[ProxyProcess]:  # noqa: F811
    p = ProxyProcess(
        [
            "--upstream",
            seaweedfs.endpoint,
            "--region",
            "us-east-1",
            "--service",
            "s3",
            "--access-log",
            "-",
        ],
        env=_env(),
    )
    p.wait_ready()
    yield p
    assert p.stop() == 0


@contextmanager
def _rss_growth_mib(proxy: ProxyProcess, every: float) -> Iterator[list[float]]:
    """Samples the proxy's RSS in a thread; on exit the list holds its peak growth, in MiB."""
    base = proxy.rss_kib()
    peak = [base]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], proxy.rss_kib())
            time.sleep(every)

    sampler = threading.Thread(target=sample)
    sampler.start()
    growth: list[float] = []
    try:
        yield growth
    finally:
        stop.set()
        sampler.join()
        growth.append((peak[0] - base) / 1024)


def _url(proxy: ProxyProcess, seaweedfs: SeaweedFS, key: str = "", query: str = "") -> str:  # noqa: F811
    base = f"{proxy.base}/{seaweedfs.bucket}"
    if key:
        base += "/" + quote(key, safe="/~")
    return base + ("?" + query if query else "")


def test_put_get_head_delete_list(proxy: ProxyProcess, seaweedfs: SeaweedFS) -> None:  # noqa: F811
    key = f"crud/{uuid.uuid4().hex}.txt"
    data = os.urandom(150_000)
    r = requests.put(_url(proxy, seaweedfs, key), data=data)
    assert r.status_code == 200, r.text
    r = requests.get(_url(proxy, seaweedfs, key))
    assert r.status_code == 200 and r.content == data
    r = requests.head(_url(proxy, seaweedfs, key))
    assert r.status_code == 200 and r.headers["Content-Length"] == str(len(data))
    r = requests.get(_url(proxy, seaweedfs, "", "list-type=2&prefix=crud/"))
    assert r.status_code == 200 and key in r.text
    r = requests.get(_url(proxy, seaweedfs, key), headers={"Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == data[10:20]
    assert requests.delete(_url(proxy, seaweedfs, key)).status_code == 204
    assert requests.get(_url(proxy, seaweedfs, key)).status_code == 404


KEYS = [
    "reserved/a b+c=d&e;f:g@h,i$j!k'l(m)n*o~p",
    "reserved/semi;colon/and?question#hash",
    "reserved/percent%20literal%2Fslash",
    "unicode/ünïcödé/€uro/日本語/emoji-🎉",
    "unicode/combining-é-and-precomposed-é",
    "dots/.hidden/..x/...",
    "double//slash",
]


@pytest.mark.parametrize("key", KEYS)
def test_keys_with_any_characters(proxy: ProxyProcess, seaweedfs: SeaweedFS, key: str) -> None:  # noqa: F811
    body = key.encode() * 3
    url = _url(proxy, seaweedfs, key)
    r = requests.put(url, data=body)
    assert r.status_code == 200, r.text
    # requests would normalize dot segments; send the target raw.
    with socket.create_connection(("127.0.0.1", proxy.port)) as s:
        target = url[len(proxy.base) :]
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        raw = b""
        while chunk := s.recv(65536):
            raw += chunk
    assert raw.startswith(b"HTTP/1.1 200"), raw[:300]
    assert raw.endswith(body)
    listing = requests.get(
        _url(proxy, seaweedfs, "", "list-type=2&encoding-type=url&prefix=" + quote(key[:4]))
    )
    assert listing.status_code == 200


def test_query_kept_byte_for_byte(proxy: ProxyProcess, seaweedfs: SeaweedFS) -> None:  # noqa: F811
    requests.put(_url(proxy, seaweedfs, "q/ü &x"), data=b"1")
    # prefix with an encoded space, a unicode letter and an encoded '&'; odd order
    r = requests.get(_url(proxy, seaweedfs, "", "prefix=q%2F%C3%BC%20%26&list-type=2&max-keys=5"))
    assert r.status_code == 200, r.text
    assert "<Key>q/ü &amp;x</Key>" in r.text


def test_multipart_upload_by_unsigned_boto3(proxy: ProxyProcess, seaweedfs: SeaweedFS) -> None:  # noqa: F811
    boto3 = pytest.importorskip("boto3")
    from botocore import UNSIGNED
    from botocore.config import Config

    s3 = boto3.client(
        "s3",
        endpoint_url=proxy.base,
        region_name="us-east-1",
        config=Config(signature_version=UNSIGNED, s3={"addressing_style": "path"}),
    )
    key = f"multipart/{uuid.uuid4().hex}"
    parts = [os.urandom(5 * 1024 * 1024), os.urandom(1024 * 1024 + 7)]
    up = s3.create_multipart_upload(Bucket=seaweedfs.bucket, Key=key)
    done = []
    for n, data in enumerate(parts, 1):
        got = s3.upload_part(
            Bucket=seaweedfs.bucket, Key=key, UploadId=up["UploadId"], PartNumber=n, Body=data
        )
        done.append({"ETag": got["ETag"], "PartNumber": n})
    s3.complete_multipart_upload(
        Bucket=seaweedfs.bucket,
        Key=key,
        UploadId=up["UploadId"],
        MultipartUpload={"Parts": done},
    )
    body = s3.get_object(Bucket=seaweedfs.bucket, Key=key)["Body"].read()
    assert hashlib.sha256(body).digest() == hashlib.sha256(b"".join(parts)).digest()
    s3.put_object(Bucket=seaweedfs.bucket, Key=key + "-small", Body=b"small body")
    listed = s3.list_objects_v2(Bucket=seaweedfs.bucket, Prefix="multipart/")
    assert key in [o["Key"] for o in listed["Contents"]]


def test_chunked_client_upload_is_spooled(proxy: ProxyProcess, seaweedfs: SeaweedFS) -> None:  # noqa: F811
    key = f"chunked/{uuid.uuid4().hex}"
    pieces = [os.urandom(100_000) for _ in range(5)]
    r = requests.put(_url(proxy, seaweedfs, key), data=iter(pieces))  # Transfer-Encoding: chunked
    assert r.status_code == 200, r.text
    assert requests.get(_url(proxy, seaweedfs, key)).content == b"".join(pieces)


def test_client_disconnect_mid_upload(proxy: ProxyProcess, seaweedfs: SeaweedFS) -> None:  # noqa: F811
    key = f"gone/{uuid.uuid4().hex}"
    target = _url(proxy, seaweedfs, key)[len(proxy.base) :]
    with socket.create_connection(("127.0.0.1", proxy.port)) as s:
        s.sendall(f"PUT {target} HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n".encode())
        s.sendall(os.urandom(2_000_000))
        time.sleep(0.3)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = requests.get(proxy.admin + "/metrics").text
        if "sigv4kit_in_flight_requests 0" in text:
            break
        time.sleep(0.1)
    assert "sigv4kit_in_flight_requests 0" in text
    assert requests.get(_url(proxy, seaweedfs, key)).status_code == 404
    assert requests.get(_url(proxy, seaweedfs, "", "list-type=2")).status_code == 200


def test_downloads_in_flight_keep_memory_bounded(
    proxy: ProxyProcess,
    seaweedfs: SeaweedFS,  # noqa: F811
) -> None:
    key = f"big/{uuid.uuid4().hex}"
    size = 32 * 1024 * 1024
    block = os.urandom(1 << 20)
    r = requests.put(_url(proxy, seaweedfs, key), data=block * (size >> 20))
    assert r.status_code == 200, r.text

    def slow_reader(out: list[int]) -> None:
        with requests.get(_url(proxy, seaweedfs, key), stream=True) as resp:
            n = 0
            for chunk in resp.iter_content(1 << 16):
                n += len(chunk)
                if n < 4 << 20:
                    time.sleep(0.01)  # slow at first: the proxy must not read ahead
            out.append(n)

    got: list[int] = []
    with _rss_growth_mib(proxy, 0.02) as growth:
        readers = [threading.Thread(target=slow_reader, args=(got,)) for _ in range(4)]
        for t in readers:
            t.start()
        for t in readers:
            t.join(120)
    assert got == [size] * 4
    assert growth[0] < 32, f"proxy RSS grew by {growth[0]:.1f} MiB"


def test_upstream_down_is_502() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = ProxyProcess(
        ["--upstream", f"http://127.0.0.1:{port}", "--region", "us-east-1", "--service", "s3"],
        env=_env(),
    )
    try:
        p.wait_ready()
        r = requests.get(p.base + "/bucket/key")
        assert r.status_code == 502
        assert r.text.strip().count("\n") == 0
        assert f"127.0.0.1:{port}" in r.text
    finally:
        assert p.stop() == 0


def test_access_log_and_metrics(proxy: ProxyProcess, seaweedfs: SeaweedFS) -> None:  # noqa: F811
    requests.get(_url(proxy, seaweedfs, "", "list-type=2&x-amz-security-token=sekrit"))
    text = requests.get(proxy.admin + "/metrics").text
    assert 'sigv4kit_upstream_responses_total{status="200"}' in text
    time.sleep(0.2)
    lines = [json.loads(x) for x in proxy.stderr_lines if x.startswith("{")]
    assert lines, proxy.stderr_lines
    assert any(e["method"] == "GET" and e["status"] == 200 for e in lines)
    assert not any("sekrit" in x for x in proxy.stderr_lines)
    assert not any(SECRET_KEY in x for x in proxy.stderr_lines)


class _Generated:
    """A file-like body of ``size`` pseudo-random bytes, never held whole."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.left = size
        self.block = os.urandom(1 << 20)
        self.digest = hashlib.sha256()

    def __len__(self) -> int:
        return self.left

    def read(self, n: int = -1) -> bytes:
        if self.left == 0:
            return b""
        n = min(self.left, len(self.block) if n < 0 else min(n, len(self.block)))
        piece = self.block[:n]
        self.left -= n
        self.digest.update(piece)
        return piece


@pytest.mark.slow
def test_one_gib_upload_and_download_bounded_memory(
    proxy: ProxyProcess,
    seaweedfs: SeaweedFS,  # noqa: F811
) -> None:
    size = 1 << 30
    key = f"huge/{uuid.uuid4().hex}"
    try:
        with _rss_growth_mib(proxy, 0.05) as growth:
            body = _Generated(size)
            r = requests.put(_url(proxy, seaweedfs, key), data=body, timeout=600)
            assert r.status_code == 200, r.text
            down = hashlib.sha256()
            n = 0
            with requests.get(_url(proxy, seaweedfs, key), stream=True, timeout=600) as resp:
                assert resp.status_code == 200
                for chunk in resp.iter_content(1 << 20):
                    down.update(chunk)
                    n += len(chunk)
    finally:
        requests.delete(_url(proxy, seaweedfs, key))
    assert n == size and down.hexdigest() == body.digest.hexdigest()
    assert growth[0] < 64, f"proxy RSS grew by {growth[0]:.1f} MiB moving 1 GiB each way"


def test_without_upstream_each_request_goes_to_its_host(seaweedfs: SeaweedFS) -> None:  # noqa: F811
    netloc = seaweedfs.endpoint.partition("://")[2]
    p = ProxyProcess(
        ["--region", "us-east-1", "--service", "s3", "--upstream-scheme", "http"], env=_env()
    )
    try:
        p.wait_ready()
        key = f"hostless/{uuid.uuid4().hex}"
        url = f"/{seaweedfs.bucket}/{key}"
        r = requests.put(p.base + url, data=b"by host", headers={"Host": netloc})
        assert r.status_code == 200, r.text
        # absolute-form, as clients configured with an HTTP proxy send it
        proxies = {"http": p.base}
        r = requests.get(f"http://{netloc}{url}", proxies=proxies)
        assert r.status_code == 200 and r.content == b"by host"
    finally:
        assert p.stop() == 0
