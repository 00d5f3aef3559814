"""A copy reads its source with the upstream's authority: the key must be allowed to read it.

Without this check a key limited to one bucket could CopyObject (or
UploadPartCopy) from any other bucket the upstream can read into its own,
and then read the copy.
"""

from __future__ import annotations

import pytest

from sigv4kit import Credentials, Signer

from .conftest import REGION, Echo, InProcessGateway

requests = pytest.importorskip("requests")


def test_copy_source_path() -> None:
    from sigv4kit.gateway.policy import copy_source_path

    assert copy_source_path("b1/a%20b.txt?versionId=3") == "/b1/a b.txt"
    assert copy_source_path("/b1/k") == "/b1/k"
    assert copy_source_path("arn:aws:s3:us-east-1:1:accesspoint/ap/object/k") == ""


def test_copy_from_a_bucket_the_key_cannot_read_is_refused(
    gateway: InProcessGateway, echo: Echo
) -> None:
    from sigv4kit.keystore import KeyPolicy

    akid, secret = gateway.create_key("copier", policy=KeyPolicy.simple(None, ["/b1"]))
    signer = Signer(Credentials(akid, secret), REGION, "s3")

    def copy(source: str, dest: str = "/b1/copy") -> int:
        headers = {"x-amz-copy-source": source}
        signed = signer.sign("PUT", gateway.url + dest, headers=headers, payload="unsigned")
        r = requests.put(signed.url, headers=signed.headers.as_dict(), timeout=30)
        return r.status_code

    echo.clear()
    assert copy("b2/secret.txt") == 403
    assert copy("/b2/secret.txt") == 403
    assert copy("b1/../b2/secret.txt") == 403
    assert copy("arn:aws:s3:us-east-1:123456789012:accesspoint/ap/object/k") == 403
    assert echo.seen == []  # never forwarded
    assert copy("b1/original.txt?versionId=7") == 200
    assert [r["target"] for r in echo.wait_for(1)] == ["/b1/copy"]
