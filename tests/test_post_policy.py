"""Browser POST policies: the S3 example, botocore parity, verification, multipart.

* The S3 API Reference POST example (``s3-examples.json``) reproduces and
  verifies.
* botocore's ``generate_presigned_post`` and :func:`presign_post` give the
  same URL and fields (byte for byte, signature included) for the same
  inputs and clock.
* A browser-style multipart body built from our fields (by urllib3's encoder,
  and sent by ``requests`` to a real server on 127.0.0.1) passes
  :func:`verify_post`; each violated condition is rejected.
"""

from __future__ import annotations

import base64
import copy
import http.server
import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

import pytest

from sigv4kit import Credentials
from sigv4kit.errors import (
    AccessDenied,
    EntityTooLarge,
    InvalidAccessKeyId,
    InvalidArgument,
    SignatureDoesNotMatch,
    SignatureError,
)
from sigv4kit.keys import signing_key
from sigv4kit.post_policy import (
    EntityTooSmall,
    InvalidPolicyDocument,
    MalformedPOSTRequest,
    MultipartParser,
    PartData,
    PartEnd,
    PartStart,
    presign_post,
    read_post_form,
    sign_policy,
    verify_post,
)
from suite import VECTORS

EXAMPLE = next(
    e
    for e in json.loads((VECTORS / "s3-examples.json").read_text())["examples"]
    if e["name"] == "browser-post-policy"
)
AKID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
CREDS = Credentials(AKID, SECRET)
T0 = datetime(2015, 12, 29, 0, 0, 0, tzinfo=timezone.utc)


# ---------------------------------------------------------------------------
# The S3 documentation example
# ---------------------------------------------------------------------------
def test_s3_example_signature() -> None:
    assert (
        EXAMPLE["policy_base64"] == base64.b64encode(EXAMPLE["policy_json"].encode()).decode()
    )  # CRLF line endings kept
    sig = sign_policy(EXAMPLE["policy_base64"], CREDS, date="20151229", region="us-east-1")
    assert sig == EXAMPLE["expected_signature"]


def test_s3_example_form_verifies() -> None:
    ok = verify_post(
        EXAMPLE["form_fields"],
        bucket=EXAMPLE["bucket"],
        credentials={AKID: SECRET},
        region="us-east-1",
        now=T0 + timedelta(hours=20),
        filename="photo.jpg",
    )
    assert ok.key == "user/user1/photo.jpg"
    assert ok.access_key_id == AKID
    assert ok.scope == "20151229/us-east-1/s3/aws4_request"
    assert ok.expiration == datetime(2015, 12, 30, 12, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("change", "exc", "match"),
    [
        ({"Content-Type": "text/plain"}, AccessDenied, "Content-Type"),
        ({"acl": "private"}, AccessDenied, "acl"),
        ({"key": "user/user2/x"}, AccessDenied, "key"),
        ({"x-amz-meta-uuid": "1"}, AccessDenied, "x-amz-meta-uuid"),
        ({"X-Amz-Signature": "0" * 64}, SignatureDoesNotMatch, "signature"),
    ],
)
def test_s3_example_violations(
    change: dict[str, str], exc: type[SignatureError], match: str
) -> None:
    fields = [(n, change.get(n, v)) for n, v in EXAMPLE["form_fields"]]
    with pytest.raises(exc, match=match):
        verify_post(
            fields, bucket=EXAMPLE["bucket"], credentials={AKID: SECRET}, region="us-east-1", now=T0
        )


def test_s3_example_expired_and_wrong_bucket() -> None:
    args: dict[str, Any] = {"credentials": {AKID: SECRET}, "region": "us-east-1"}
    with pytest.raises(AccessDenied, match="Policy expired"):
        verify_post(
            EXAMPLE["form_fields"],
            bucket=EXAMPLE["bucket"],
            now=datetime(2015, 12, 30, 12, tzinfo=timezone.utc),
            **args,
        )
    with pytest.raises(AccessDenied, match="bucket"):
        verify_post(EXAMPLE["form_fields"], bucket="otherbucket", now=T0, **args)


# ---------------------------------------------------------------------------
# botocore parity
# ---------------------------------------------------------------------------
def _botocore_post(
    monkeypatch: pytest.MonkeyPatch, region: str, creds: Credentials, **kw: Any
) -> dict[str, Any]:
    import botocore.auth
    import botocore.session
    import botocore.signers
    from botocore.config import Config

    fixed = datetime(2024, 2, 29, 23, 59, 58)  # botocore uses naive UTC
    monkeypatch.setattr(botocore.signers, "get_current_datetime", lambda: fixed)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: fixed)
    session = botocore.session.get_session()
    client = session.create_client(
        "s3",
        region_name=region,
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        aws_session_token=creds.session_token,
        config=Config(signature_version="s3v4"),
    )
    return dict(client.generate_presigned_post(**kw))


@pytest.mark.parametrize(
    ("region", "key", "fields", "conditions", "token"),
    [
        ("us-east-1", "uploads/${filename}", None, None, None),
        (
            "eu-west-1",
            "a/b.txt",
            {"acl": "public-read", "Content-Type": "text/plain"},
            [
                {"acl": "public-read"},
                ["starts-with", "$Content-Type", "text/"],
                ["content-length-range", 1, 1048576],
            ],
            None,
        ),
        (
            "us-west-2",
            "k",
            {"success_action_status": "201"},
            [{"success_action_status": "201"}],
            "FwoGZXIvYXdzEXAMPLETOKEN",
        ),
    ],
)
def test_matches_botocore_generate_presigned_post(
    monkeypatch: pytest.MonkeyPatch,
    region: str,
    key: str,
    fields: dict[str, str] | None,
    conditions: list[Any] | None,
    token: str | None,
) -> None:
    creds = Credentials(AKID, SECRET, session_token=token)
    theirs = _botocore_post(
        monkeypatch,
        region,
        creds,
        Bucket="mybucket",
        Key=key,
        # botocore appends to the lists it is given: hand it copies.
        Fields=copy.deepcopy(fields),
        Conditions=copy.deepcopy(conditions),
        ExpiresIn=900,
    )
    ours = presign_post(
        creds,
        "mybucket",
        key,
        region=region,
        timestamp=datetime(2024, 2, 29, 23, 59, 58, tzinfo=timezone.utc),
        expires_in=900,
        fields=fields,
        conditions=conditions,
    )
    assert ours.as_dict() == theirs
    assert list(ours.fields) == list(theirs["fields"])  # same order too
    # And our verifier accepts botocore's form (with the fields it asked for).
    verify_post(
        theirs["fields"],
        bucket="mybucket",
        credentials={AKID: SECRET},
        region=region,
        now=datetime(2024, 3, 1, tzinfo=timezone.utc),
        file_size=10,
    )


# ---------------------------------------------------------------------------
# Browser-style multipart bodies
# ---------------------------------------------------------------------------
IMAGE = bytes(range(256)) * 40 + b"\r\n--not-the-boundary\r\n" + b"\x00" * 100


def _post(**kw: Any) -> Any:
    args: dict[str, Any] = {
        "region": "us-east-1",
        "timestamp": T0,
        "fields": {
            "Content-Type": "image/png",
            "x-amz-meta-owner": "u1",
            "success_action_status": "201",
        },
        "conditions": [
            ["starts-with", "$Content-Type", "image/"],
            ["starts-with", "$x-amz-meta-owner", ""],
            {"success_action_status": "201"},
            ["content-length-range", 100, 1 << 20],
        ],
    }
    args.update(kw)
    return presign_post(CREDS, "examplebucket", "user/u1/${filename}", **args)


def _multipart(
    fields: list[tuple[str, str]], file: bytes, filename: str = "cat.png"
) -> tuple[bytes, str]:
    from urllib3 import encode_multipart_formdata

    parts: list[Any] = list(fields)
    parts.append(("file", (filename, file, "image/png")))
    return encode_multipart_formdata(parts)


def _verify_body(body: bytes, content_type: str, now: datetime = T0, **kw: Any) -> Any:
    form = read_post_form([body[i : i + 1000] for i in range(0, len(body), 1000)], content_type)
    assert form.file is not None
    data = b"".join(form.file.stream)
    ok = verify_post(
        form.fields,
        bucket="examplebucket",
        credentials={AKID: SECRET},
        region="us-east-1",
        now=now,
        filename=form.file.filename,
        file_size=len(data),
        **kw,
    )
    return ok, data


def test_browser_form_accepted() -> None:
    post = _post()
    body, ctype = _multipart(list(post.fields.items()), IMAGE)
    ok, data = _verify_body(body, ctype)
    assert data == IMAGE
    assert ok.key == "user/u1/cat.png"
    assert ok.content_length_range == (100, 1 << 20)


def test_browser_form_sigv4a_accepted() -> None:
    post = _post(algorithm="sigv4a", region_set=["us-*"])
    assert post.fields["x-amz-algorithm"] == "AWS4-ECDSA-P256-SHA256"
    body, ctype = _multipart(list(post.fields.items()), IMAGE)
    ok, _ = _verify_body(body, ctype)
    assert ok.algorithm == "AWS4-ECDSA-P256-SHA256"
    tampered = dict(post.fields)
    tampered["policy"] = tampered["policy"][:-4] + "AAA="
    body, ctype = _multipart(list(tampered.items()), IMAGE)
    with pytest.raises(SignatureDoesNotMatch):
        _verify_body(body, ctype)


@pytest.mark.parametrize(
    ("mutate", "exc", "match"),
    [
        (lambda f: f.__setitem__("Content-Type", "text/html"), AccessDenied, "Content-Type"),
        (lambda f: f.__setitem__("success_action_status", "200"), AccessDenied, "success"),
        (lambda f: f.__setitem__("key", "user/u2/${filename}"), AccessDenied, "key"),
        (lambda f: f.__setitem__("x-amz-meta-extra", "1"), AccessDenied, "Extra input fields"),
        (lambda f: f.pop("x-amz-meta-owner"), AccessDenied, "x-amz-meta-owner"),
        (lambda f: f.pop("policy"), InvalidArgument, "policy"),
        (
            lambda f: f.__setitem__(
                "x-amz-credential", f["x-amz-credential"].replace(AKID, "AKIDUNKNOWN")
            ),
            InvalidAccessKeyId,
            "Access Key",
        ),
        (lambda f: f.__setitem__("x-amz-date", "20151230T000000Z"), InvalidArgument, "date"),
    ],
)
def test_browser_form_violations(mutate: Any, exc: type[SignatureError], match: str) -> None:
    fields = dict(_post().fields)
    mutate(fields)
    body, ctype = _multipart(list(fields.items()), IMAGE)
    with pytest.raises(exc, match=match):
        _verify_body(body, ctype)


def test_ignored_fields_and_duplicates() -> None:
    fields = list(_post().fields.items())
    body, ctype = _multipart([*fields, ("x-ignore-tracking", "abc")], IMAGE)
    _verify_body(body, ctype)  # x-ignore-* needs no condition
    body, ctype = _multipart([*fields, ("Content-Type", "image/gif")], IMAGE)
    with pytest.raises(InvalidArgument, match="more than once"):
        _verify_body(body, ctype)


def test_content_length_range() -> None:
    fields = list(_post().fields.items())
    with pytest.raises(EntityTooSmall):
        _verify_body(*_multipart(fields, b"x" * 99))
    with pytest.raises(EntityTooLarge):
        _verify_body(*_multipart(fields, b"x" * ((1 << 20) + 1)))
    _verify_body(*_multipart(fields, b"x" * 100))


def test_expired_policy() -> None:
    body, ctype = _multipart(list(_post(expires_in=60).fields.items()), IMAGE)
    _verify_body(body, ctype, now=T0 + timedelta(seconds=59))
    with pytest.raises(AccessDenied, match="expired"):
        _verify_body(body, ctype, now=T0 + timedelta(seconds=60))


def test_policy_with_duplicate_keys_rejected() -> None:
    policy = (
        '{"expiration": "2030-01-01T00:00:00Z", "expiration": "2031-01-01T00:00:00Z", '
        '"conditions": [{"bucket": "examplebucket"}]}'
    )
    b64 = base64.b64encode(policy.encode()).decode()
    fields = {
        "key": "k",
        "policy": b64,
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "x-amz-credential": f"{AKID}/20151229/us-east-1/s3/aws4_request",
        "x-amz-date": "20151229T000000Z",
        "x-amz-signature": signing_key(SECRET, "20151229", "us-east-1", "s3").hexdigest(
            b64.encode()
        ),
    }
    with pytest.raises(InvalidPolicyDocument, match="more than once"):
        verify_post(
            fields, bucket="examplebucket", credentials={AKID: SECRET}, region="us-east-1", now=T0
        )


# ---------------------------------------------------------------------------
# The multipart parser
# ---------------------------------------------------------------------------
def test_parser_byte_at_a_time() -> None:
    body, ctype = _multipart([("a", "1"), ("b", "two\r\nlines")], IMAGE)
    from sigv4kit.post_policy import boundary_from_content_type

    p = MultipartParser(boundary_from_content_type(ctype))
    events = [e for i in range(len(body)) for e in p.feed(body[i : i + 1])]
    p.finish()
    starts = [e for e in events if isinstance(e, PartStart)]
    assert [(s.name, s.filename, s.content_type) for s in starts] == [
        ("a", None, None),
        ("b", None, None),
        ("file", "cat.png", "image/png"),
    ]
    assert sum(isinstance(e, PartEnd) for e in events) == 3
    data = b"".join(e.data for e in events if isinstance(e, PartData))
    assert data == b"1" + b"two\r\nlines" + IMAGE


def test_parser_errors() -> None:
    body, ctype = _multipart([("a", "1")], IMAGE)
    truncated = read_post_form([body[:-10]], ctype).file
    assert truncated is not None
    with pytest.raises(MalformedPOSTRequest, match="closing boundary"):
        list(truncated.stream)
    with pytest.raises(MalformedPOSTRequest, match="not multipart"):
        read_post_form([body], "application/json")
    big, big_type = _multipart([("a", "x" * 5000)], b"")
    with pytest.raises(MalformedPOSTRequest, match="exceed"):
        read_post_form([big], big_type, max_fields_bytes=4096)
    big_header = b'--B\r\nContent-Disposition: form-data; name="' + b"n" * 20000
    with pytest.raises(MalformedPOSTRequest, match="too long"):
        read_post_form([big_header], "multipart/form-data; boundary=B")


def test_fields_after_file_are_ignored_and_file_is_lazy() -> None:
    post = _post()
    body, ctype = _multipart(list(post.fields.items()), IMAGE)
    consumed = []

    def source() -> Iterator[bytes]:
        for i in range(0, len(body), 512):
            consumed.append(i)
            yield body[i : i + 512]

    form = read_post_form(source(), ctype)
    before = len(consumed)
    assert before < len(body) // 512  # the file has not been read yet
    assert form.file is not None and b"".join(form.file) == IMAGE


# ---------------------------------------------------------------------------
# A real POST with requests to a server on 127.0.0.1
# ---------------------------------------------------------------------------
class _Handler(http.server.BaseHTTPRequestHandler):
    results: ClassVar[list[Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        remaining = [length]

        def body() -> Iterator[bytes]:
            while remaining[0]:
                piece = self.rfile.read(min(65536, remaining[0]))
                if not piece:
                    return
                remaining[0] -= len(piece)
                yield piece

        try:
            form = read_post_form(body(), self.headers["Content-Type"])
            assert form.file is not None
            data = b"".join(form.file.stream)
            for _ in body():
                pass
            ok = verify_post(
                form.fields,
                bucket="examplebucket",
                credentials={AKID: SECRET},
                region="us-east-1",
                now=T0 + timedelta(minutes=5),
                filename=form.file.filename,
                file_size=len(data),
            )
            self.results.append((ok.key, data))
            status, payload = 201, b""
        except SignatureError as exc:
            status, payload = exc.status, exc.to_xml(include_debug=False).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


def test_requests_post_to_local_server() -> None:
    requests = pytest.importorskip("requests")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/examplebucket"
        post = _post(url=url)
        files = {"file": ("dog.png", IMAGE, "image/png")}
        r = requests.post(post.url, data=post.fields, files=files, timeout=10)
        assert r.status_code == 201, r.text
        assert _Handler.results[-1] == ("user/u1/dog.png", IMAGE)
        bad = dict(post.fields, **{"Content-Type": "application/pdf"})
        r = requests.post(post.url, data=bad, files=files, timeout=10)
        assert r.status_code == 403
        assert "<Code>AccessDenied</Code>" in r.text
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
