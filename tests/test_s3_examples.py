"""The worked examples of the Amazon S3 API Reference (header and presigned)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sigv4kit import Credentials, Signer
from suite import VECTORS

EXAMPLES = {
    e["name"]: e for e in json.loads((VECTORS / "s3-examples.json").read_text())["examples"]
}
HEADER_EXAMPLES = [
    "get-object-range",
    "put-object-storage-class",
    "get-bucket-lifecycle",
    "get-bucket-list-objects",
]


def _signer(e: dict[str, Any]) -> Signer:
    c = e["credentials"]
    return Signer(
        Credentials(c["access_key_id"], c["secret_access_key"]), e["region"], e["service"]
    )


def _url(e: dict[str, Any]) -> str:
    host = next(v for n, v in e["headers"] if n.lower() == "host")
    return f"https://{host}{e['path']}" + (f"?{e['query']}" if e.get("query") else "")


@pytest.mark.parametrize("name", HEADER_EXAMPLES)
def test_header_examples(name: str) -> None:
    e = EXAMPLES[name]
    # Pass the headers as the doc sends them, minus what the signer adds itself.
    headers = [
        (n, v) for n, v in e["headers"] if n.lower() not in ("x-amz-date", "x-amz-content-sha256")
    ]
    body = e["payload"].get("utf8", "")
    signed = _signer(e).sign(e["method"], _url(e), headers, body=body, timestamp=e["timestamp"])
    # Stage by stage, so a failure names the first stage that diverged.
    assert signed.payload_hash == e["payload_sha256"], "stage 1: the payload hash"
    assert signed.canonical_request == e["expected_canonical_request"], (
        "stage 1: the canonical request"
    )
    assert signed.string_to_sign == e["expected_string_to_sign"], "stage 2: the string to sign"
    assert signed.signature == e["expected_signature"], "stage 3: the signature"
    assert signed.signed_headers == e["signed_headers"], "stage 4: the signed headers"
    # The doc prints the header without spaces after the commas; we emit ", ".
    assert signed.authorization.replace(", ", ",") == e["expected_authorization"], (
        "stage 4: the Authorization header"
    )


def test_presigned_url_example() -> None:
    e = EXAMPLES["presigned-get-object"]
    signer = _signer(e)
    req = signer.presign_request(
        "GET", _url(e), expires=e["expires_in_seconds"], timestamp=e["timestamp"]
    )
    assert req.canonical_request == e["expected_canonical_request"], (
        "stage 1: the canonical request"
    )
    assert req.string_to_sign == e["expected_string_to_sign"], "stage 2: the string to sign"
    assert req.signature == e["expected_signature"], "stage 3: the signature"
    assert req.url == e["expected_url"], "stage 4: the presigned URL"
    url = signer.presign("GET", _url(e), expires=e["expires_in_seconds"], timestamp=e["timestamp"])
    assert url == e["expected_url"]
