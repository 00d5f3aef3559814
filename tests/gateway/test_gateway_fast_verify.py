"""Requests without a body, from a key this node has cached, take the verifier's fast road.

The gateway verifies them with a second Verifier over its key cache as a
mapping (no coroutine, no store); every verdict must be the one the general
road gives: a revoked key is refused as soon as the cache hears of it, a
key the cache lacks is looked up in the store, wrong signatures are refused.
"""

from __future__ import annotations

import hashlib
import os
import time
from xml.etree import ElementTree

import pytest

from sigv4kit import Credentials, Signer

from .conftest import REGION, Echo, InProcessGateway

requests = pytest.importorskip("requests")


def _get(gw: InProcessGateway, akid: str, secret: str, path: str) -> requests.Response:
    signed = Signer(Credentials(akid, secret), REGION, "s3").sign("GET", gw.url + path)
    return requests.get(signed.url, headers=signed.headers.as_dict(), timeout=30)


def _code(r: requests.Response) -> str:
    return ElementTree.fromstring(r.content).findtext("Code") or ""


def test_fast_road_verdicts_match_the_general_road(gateway: InProcessGateway, echo: Echo) -> None:
    akid, secret = gateway.create_key("fast")
    for i in range(3):
        assert _get(gateway, akid, secret, f"/b/fast-{i}").status_code == 200
    # the cached key's requests went through the fast verifier (it learned the target)
    assert "/b/fast-2" in gateway.service._fast._targets
    wrong = _get(gateway, akid, secret[::-1], "/b/fast-x")
    assert wrong.status_code == 403 and _code(wrong) == "SignatureDoesNotMatch"
    unknown = _get(gateway, "SV4KUNKNOWNKEY000000", secret, "/b/fast-y")
    assert unknown.status_code == 403 and _code(unknown) == "InvalidAccessKeyId"
    # a key created after start-up is not cached yet: the store answers
    other, other_secret = gateway.create_key("later")
    assert _get(gateway, other, other_secret, "/b/later").status_code == 200
    # revocation: refused as soon as the cache hears of it
    gateway.call(gateway.store.set_status, akid, "inactive")
    deadline = time.monotonic() + 1.0
    while True:
        r = _get(gateway, akid, secret, "/b/fast-after")
        if r.status_code == 403 or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert r.status_code == 403 and _code(r) == "InvalidAccessKeyId"
    assert [
        x for x in echo.seen if x["target"] in ("/b/fast-x", "/b/fast-y", "/b/fast-after")
    ] == []


def test_a_chunked_body_without_content_length_is_never_taken_for_no_body(
    gateway: InProcessGateway, echo: Echo
) -> None:
    # The fast road is tried for requests without Content-Length; one whose
    # body comes chunked (Transfer-Encoding) must go the general road, or an
    # UNSIGNED-PAYLOAD upload would be forwarded without its body.
    akid, secret = gateway.create_key("chunked")
    assert _get(gateway, akid, secret, "/b/warm").status_code == 200  # the key, cached
    body = bytes(range(256)) * 300
    signer = Signer(Credentials(akid, secret), REGION, "s3", payload="unsigned")
    for i in range(2):  # the second with the authorization parameters memoized
        url = f"{gateway.url}/b/chunked-{i}"
        signed = signer.sign("PUT", url)
        headers = signed.headers.as_dict()
        assert not any(n.lower() == "content-length" for n in headers)
        r = requests.put(url, data=iter([body[:1000], body[1000:]]), headers=headers, timeout=30)
        assert r.status_code == 200, r.text
        (rec,) = [x for x in echo.seen if x["target"] == f"/b/chunked-{i}"]
        assert rec["length"] == len(body) and rec["complete"]
        assert rec["sha256"] == hashlib.sha256(body).hexdigest()


def test_request_ids_are_unique_per_process_and_per_worker() -> None:
    from sigv4kit.gateway import service

    ids = [service._next_request_id() for _ in range(70_000)]  # past the low byte's wrap
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 16 and i == i.upper() and int(i, 16) >= 0 for i in ids)
    assert len({i[:8] for i in ids}) == 1  # one prefix per process, then a counter
    # Threads (in-process gateways run a loop each): never an id twice.
    from concurrent.futures import ThreadPoolExecutor

    def batch(_: int) -> list[str]:
        return [service._next_request_id() for _ in range(20_000)]

    with ThreadPoolExecutor(4) as pool:
        threaded = [i for b in pool.map(batch, range(4)) for i in b]
    assert len(set(threaded) | set(ids)) == len(threaded) + len(ids)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # a forked worker: a prefix of its own
        os.write(write, service._next_request_id().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert len(child) == 16 and child[:8] != ids[0][:8]
