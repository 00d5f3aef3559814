"""The AWS SDK for JavaScript v3 (npm ``@aws-sdk/client-s3``) through ``js_client.cjs``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from s3harness import ROOT, SK, WRONG_SK, S3Server, codes, require_tool, run

pytestmark = pytest.mark.interop

NPM_DIR = ROOT / "tests" / "deps" / "npm" / "server"
SCRIPT = Path(__file__).parent / "js_client.cjs"


@pytest.fixture(scope="module")
def node() -> str:
    exe = require_tool(shutil.which("node"), "Node.js")
    require_tool(
        str(NPM_DIR) if (NPM_DIR / "node_modules" / "@aws-sdk" / "client-s3").is_dir() else None,
        "@aws-sdk/client-s3 (npm install in tests/deps/npm/server)",
    )
    return exe


def js(node: str, endpoint: str, secret: str, bucket: str, *extra: str) -> dict[str, Any]:
    r = run([node, str(SCRIPT), str(NPM_DIR), endpoint, secret, bucket, *extra], timeout=120)
    assert r.stdout.strip(), r.stderr
    result: dict[str, Any] = json.loads(r.stdout.strip().splitlines()[-1])
    return result


def test_js_sdk_buffer_and_stream_uploads(s3server: S3Server, node: str) -> None:
    mark = s3server.mark()
    result = js(node, s3server.http, SK, "js-sdk")
    assert result["ok"], result
    assert result["keys"] == ["buffer.bin", "stream.bin"]
    seen = s3server.entries(mark)
    assert all(e["status"] < 300 for e in seen), [e for e in seen if e["status"] >= 300]
    by_key = {e["path"]: e for e in seen if e["method"] == "PUT"}
    streamed = by_key["/js-sdk/stream.bin"]
    assert streamed["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert streamed["content-encoding"] == "aws-chunked"
    assert streamed["x-amz-trailer"] == "x-amz-checksum-crc32"
    buffered = by_key["/js-sdk/buffer.bin"]
    assert len(buffered["x-amz-content-sha256"]) == 64
    assert "x-amz-checksum-crc32" in buffered["signed_headers"]
    presigned = [e for e in seen if e["auth"] == "query"]
    assert presigned and presigned[0]["status"] == 200


def test_js_sdk_wrong_secret_and_replay(s3server: S3Server, node: str) -> None:
    assert js(node, s3server.http, SK, "js-sdk-neg")["ok"]
    mark = s3server.mark()
    bad = js(node, s3server.http, WRONG_SK, "js-sdk-neg", "put")
    assert bad == {**bad, "ok": False, "code": "SignatureDoesNotMatch"}
    late = js(node, s3server.skew, SK, "js-sdk-neg", "put")
    assert late == {**late, "ok": False, "code": "RequestTimeTooSkewed"}
    assert codes(s3server.entries(mark)) == {"SignatureDoesNotMatch", "RequestTimeTooSkewed"}
