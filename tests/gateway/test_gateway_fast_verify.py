"""Requests without a body, from a key this node has cached, take the verifier's fast road.

The gateway verifies them with a second Verifier over its key cache as a
mapping (no coroutine, no store); every verdict must be the one the general
road gives: a revoked key is refused as soon as the cache hears of it, a
key the cache lacks is looked up in the store, wrong signatures are refused.
"""

from __future__ import annotations

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
