"""Signed event streams: published vectors, sign-then-verify, tampering.

Published expectations (Apache-2.0), reproduced here exactly:
* awslabs/aws-c-auth ``tests/test_event_signing.c``
  @ c83ff507c94409ad08a7b93dea6d70de1a58c887 (``sigv4_event_signing_test``):
  the initial request's signature and a chain of three one-byte payloads
  plus the empty end message.
* smithy-lang/smithy-typescript ``packages/signature-v4/src/SignatureV4.spec.ts``
  @ 14b922a82f998f1d1e3071ea6a56712739623cf0, "#sign (event)" / "support event
  signing" (itself adopted from aws-sdk-ruby's signer_spec.rb).
* smithy-lang/smithy-rs ``aws/rust-runtime/aws-sigv4/src/event_stream.rs``
  @ 2cbe1b8e6b78e989379e72d34500be09a91cd110, test ``string_to_sign``.
"""

from __future__ import annotations

import hashlib
import random
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigv4kit import Credentials, Signer
from sigv4kit.canonical import canonical_request_for_target
from sigv4kit.errors import SigningError
from sigv4kit.eventstream import (
    STREAMING_EVENTS_PAYLOAD,
    EventSignatureDoesNotMatch,
    EventStreamError,
    EventStreamVerifier,
    EventTimeTooSkewed,
    HeaderValue,
    IncompleteEventStream,
    MalformedEventStream,
    Message,
    MessageDecoder,
    MessageSigner,
    decode_message,
    encode_date_header,
    encode_message,
    string_to_sign,
)
from sigv4kit.keys import signing_key

UTC = timezone.utc

# --------------------------------------------------------------------------
# aws-c-auth tests/test_event_signing.c
# --------------------------------------------------------------------------
C_CREDS = Credentials("access", "secret")
C_REQUEST_SIGNATURE = "e1d8e8c8815e60969f2a34765c9a15945ffc0badbaa4b7e3b163ea19131e949b"
C_CHAIN = [
    (b"A", "7aabf85b765e6a4d0d500b6e968657b14726fa3e1eb7e839302728ffd77629a5"),
    (b"B", "f72aa9642f571d24a6e1ae42f10f073ad9448d8a028b6bcd82da081335adda02"),
    (b"C", "632af120435b57ec241d8bfbb12e496dfd5e2730a1a02ac0ab6eaa230ae02e9a"),
    (b"", "c6f679ddb3af68f5e82f0cf6761244cb2338cf11e7d01a24130aea1b7c17e53e"),
]


def c_time(second: int) -> datetime:  # "Fri, 16 Jan 1981 06:30:0N GMT"
    return datetime(1981, 1, 16, 6, 30, second, tzinfo=UTC)


def test_aws_c_auth_initial_request_signature() -> None:
    # POST /streaming, signed with x-amz-content-sha256 STREAMING-AWS4-HMAC-SHA256-EVENTS.
    signer = Signer(C_CREDS, "us-east-1", "demo")
    headers = [
        ("host", "demo.us-east-1.amazonaws.com"),
        ("Content-Encoding", "application/vnd.amazon.eventstream"),
        ("X-Amz-Date", "19810116T063000Z"),
        ("X-Amz-Content-SHA256", STREAMING_EVENTS_PAYLOAD),
    ]
    creq = canonical_request_for_target("POST", "/streaming", headers, STREAMING_EVENTS_PAYLOAD)
    assert creq.signed_headers == "content-encoding;host;x-amz-content-sha256;x-amz-date"
    _, signature = signer.sign_canonical_request(creq.text, "19810116T063000Z")
    assert signature == C_REQUEST_SIGNATURE


def test_aws_c_auth_event_chain() -> None:
    ms = MessageSigner(C_CREDS, "us-east-1", "demo", C_REQUEST_SIGNATURE)
    stream = b""
    for second, (payload, expected) in enumerate(C_CHAIN, start=1):
        if payload:
            stream += ms.sign_payload(payload, c_time(second))
        else:
            stream += ms.end(c_time(second))
        assert ms.prior_signature == expected
    assert ms.finished
    # ... and the same stream verifies, message by message.
    v = EventStreamVerifier(
        "secret", "us-east-1", "demo", C_REQUEST_SIGNATURE, decode_payload=False
    )
    got = v.feed(stream, now=c_time(3))
    v.close()
    assert [m.payload for m in got] == [b"A", b"B", b"C"]
    assert [m.signature for m in got] == [sig for _, sig in C_CHAIN[:3]]
    assert [m.timestamp for m in got] == [c_time(1), c_time(2), c_time(3)]
    assert v.finished and v.prior_signature == C_CHAIN[3][1]


# --------------------------------------------------------------------------
# smithy-typescript SignatureV4.spec.ts "support event signing"
# --------------------------------------------------------------------------
def test_smithy_typescript_sign_event_vector() -> None:
    # The :date header bytes (1546045446000 ms) differ from the signing date
    # (1369353600000 ms): the string to sign hashes the header as given.
    date_header = bytes([5, 58, 100, 97, 116, 101, 8, 0, 0, 1, 103, 247, 125, 87, 112])
    assert date_header == encode_date_header(1546045446000)
    sts = string_to_sign(
        "20130524T000000Z", "20130524/REGION/SERVICE/aws4_request", "", date_header, b"foo"
    )
    key = signing_key("secret", "20130524", "REGION", "SERVICE")
    assert key.hexdigest(sts.encode()) == (
        "204bb5e2713e95354680e9522986d3ac0304aeafd33397f39e6540ca51ffe226"
    )


# --------------------------------------------------------------------------
# smithy-rs event_stream.rs string_to_sign
# --------------------------------------------------------------------------
def test_smithy_rs_string_to_sign_vector() -> None:
    message = Message({"some-header": "value"}, b"test payload")
    ms = MessageSigner(
        Credentials("ANOTREAL", "notrealrnrELgWzOk3IfjzDKtFBhDby"),  # Credentials::for_tests()
        "us-east-1",
        "testservice",
        hashlib.sha256(b"last message sts").hexdigest(),
    )
    # UNIX_EPOCH + 123_456_789 s + 1234 ns: the sub-second part is truncated.
    t = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=123_456_789, microseconds=1)
    envelope = decode_message(ms.sign(message, t))
    assert ms.last_string_to_sign == (
        "AWS4-HMAC-SHA256-PAYLOAD\n"
        "19731129T213309Z\n"
        "19731129/us-east-1/testservice/aws4_request\n"
        "be1f8c7d79ef8e1abc5254a2c70e4da3bfaf4f07328f527444e1fc6ea67273e2\n"
        "0c0e3b3bf66b59b976181bd7d401927bbd624107303c713fd1e5f3d3c8dd1b1e\n"
        "f2eba0f2e95967ee9fbc6db5e678d2fd599229c0d04b11e4fc8e0f2a02a806c6"
    )
    # smithy-rs test `sign`: the envelope carries the signature and the
    # truncated :date, and its payload is the encoded message.
    assert envelope.get(":chunk-signature") == HeaderValue.binary(bytes.fromhex(ms.prior_signature))
    assert envelope.get(":date") == HeaderValue.timestamp(123_456_789_000)
    assert decode_message(envelope.payload) == message


# --------------------------------------------------------------------------
# Sign, then verify
# --------------------------------------------------------------------------
CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
SEED = hashlib.sha256(b"seed").hexdigest()
T0 = datetime(2015, 8, 30, 12, 36, 0, tzinfo=UTC)

small_messages = st.builds(
    Message,
    st.dictionaries(
        st.text(min_size=1, max_size=12),
        st.one_of(st.text(max_size=20), st.binary(max_size=20), st.booleans(), st.uuids()),
        max_size=4,
    ),
    st.binary(max_size=200),
)


def make_stream(
    messages: list[Message], *, step: float = 1.0, keep_ms: bool = False, start: datetime = T0
) -> list[bytes]:
    ms = MessageSigner(CREDS, "us-east-1", "transcribe", SEED, keep_milliseconds=keep_ms)
    out = [ms.sign(m, start + timedelta(seconds=step * i)) for i, m in enumerate(messages)]
    out.append(ms.end(start + timedelta(seconds=step * len(messages))))
    return out


def verifier(**kw: object) -> EventStreamVerifier:
    return EventStreamVerifier(CREDS, "us-east-1", "transcribe", SEED, **kw)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(st.lists(small_messages, max_size=6), st.booleans(), st.data())
def test_round_trip_sign_then_verify(
    messages: list[Message], keep_ms: bool, data: st.DataObject
) -> None:
    stream = b"".join(make_stream(messages, step=0.379, keep_ms=keep_ms))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    v = verifier()
    got = []
    prev = 0
    for cut in [*cuts, len(stream)]:
        got += v.feed(stream[prev:cut], now=T0)
        prev = cut
    v.close()
    assert [g.message for g in got] == messages
    assert [g.index for g in got] == list(range(1, len(messages) + 1))
    for i, g in enumerate(got):
        expected = T0 + timedelta(seconds=0.379 * i)
        if not keep_ms:
            expected = expected.replace(microsecond=0)
        assert g.timestamp == expected.replace(microsecond=expected.microsecond // 1000 * 1000)


def test_verify_envelope_api_and_rust_header_order() -> None:
    msgs = [Message({":event-type": "AudioEvent"}, b"abc"), Message(None, b"def")]
    envs = [decode_message(e) for e in make_stream(msgs)]
    # smithy-rs writes :chunk-signature before :date; the order is not signed.
    swapped = [Message(tuple(reversed(e.headers)), e.payload) for e in envs]
    for stream in (envs, swapped):
        v = verifier()
        out = [v.verify_envelope(e, now=T0) for e in stream]
        assert [o.message if o else None for o in out] == [*msgs, None]
        assert v.finished
        v.close()


def test_signer_writes_js_header_order_and_truncates_to_seconds() -> None:
    t = T0 + timedelta(milliseconds=987)
    default = decode_message(make_stream([Message(None, b"x")], start=t)[0])
    assert [n for n, _ in default.headers] == [":date", ":chunk-signature"]
    assert default.get(":date") == HeaderValue.timestamp(T0)
    kept = decode_message(make_stream([Message(None, b"x")], start=t, keep_ms=True)[0])
    assert kept.get(":date") == HeaderValue.timestamp(t)


def test_time_forms_agree() -> None:
    forms = [T0, "20150830T123600Z", "2015-08-30T12:36:00Z", "2015-08-30T14:36:00+02:00",
             T0.timestamp(), int(T0.timestamp())]  # fmt: skip
    outs = set()
    for form in forms:
        ms = MessageSigner(CREDS, "us-east-1", "transcribe", SEED)
        outs.add(ms.sign(Message(None, b"x"), form))
    assert len(outs) == 1


def test_float_seconds_keep_their_milliseconds() -> None:
    # 531881.521 * 1000 is 531881520.99999994 in binary floating point.
    ms = MessageSigner(CREDS, "us-east-1", "transcribe", SEED, keep_milliseconds=True)
    env = decode_message(ms.sign(Message(None, b"x"), 531881.521))
    assert env.get(":date") == HeaderValue.timestamp(531881521)
    env = decode_message(ms.sign(Message(None, b"x"), 14083101555.581))
    assert env.get(":date") == HeaderValue.timestamp(14083101555581)
    with pytest.raises(SigningError, match="usable"):
        ms.sign(Message(None, b"x"), float("nan"))


def test_stream_across_midnight_uses_each_days_scope() -> None:
    late = datetime(2015, 8, 30, 23, 59, 59, tzinfo=UTC)
    ms = MessageSigner(CREDS, "us-east-1", "transcribe", SEED)
    a = ms.sign(Message(None, b"1"), late)
    assert "\n20150830/us-east-1/transcribe/aws4_request\n" in (ms.last_string_to_sign or "")
    b = ms.sign(Message(None, b"2"), late + timedelta(seconds=2))
    assert "\n20150831/us-east-1/transcribe/aws4_request\n" in (ms.last_string_to_sign or "")
    c = ms.end(late + timedelta(seconds=3))
    v = verifier()
    assert len(v.feed(a + b + c, now=late)) == 2
    v.close()


def test_clock_default_is_now() -> None:
    # The only clock reads are the None defaults at the edge.
    ms = MessageSigner(CREDS, "us-east-1", "transcribe", SEED)
    stream = ms.sign(Message(None, b"x")) + ms.end()
    v = verifier()
    assert len(v.feed(stream)) == 1
    v.close()


# --------------------------------------------------------------------------
# Tampering: every change is rejected
# --------------------------------------------------------------------------
THREE = [
    Message({":message-type": "event", ":event-type": "AudioEvent"}, b"chunk-1"),
    Message({":message-type": "event", ":event-type": "AudioEvent"}, b"chunk-2"),
    Message({":message-type": "event", ":event-type": "AudioEvent"}, b"chunk-3"),
]


def run(envelopes: list[bytes], *, now: datetime = T0, **kw: object) -> list[Message | None]:
    v = verifier(**kw)
    out = v.feed(b"".join(envelopes), now=now)
    v.close()
    return [o.message for o in out]


def test_untampered_stream_verifies() -> None:
    assert run(make_stream(THREE)) == THREE


def test_every_flipped_byte_is_rejected() -> None:
    stream = b"".join(make_stream(THREE))
    rng = random.Random(9)
    for i in range(len(stream)):
        bad = bytearray(stream)
        bad[i] ^= 1 << rng.randrange(8)
        v = verifier()
        with pytest.raises(EventStreamError):
            v.feed(bytes(bad), now=T0)
            v.close()


def test_a_changed_byte_with_fixed_crcs_is_a_signature_mismatch() -> None:
    # An attacker recomputes the CRCs: only the signature catches it.
    envs = make_stream(THREE)
    env = decode_message(envs[1])
    inner = decode_message(env.payload)
    changed = Message(inner.headers, b"chunk-X")
    forged = encode_message(Message(env.headers, encode_message(changed)))
    with pytest.raises(EventSignatureDoesNotMatch) as info:
        run([envs[0], forged, envs[2], envs[3]])
    err = info.value
    assert err.code == "SignatureDoesNotMatch" and err.status == 403
    assert "message 2" in err.message
    assert err.string_to_sign is not None and err.string_to_sign.startswith(
        "AWS4-HMAC-SHA256-PAYLOAD\n20150830T123601Z\n"
    )
    assert err.signature_provided == env.get(":chunk-signature").value.hex()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "order",
    [
        [1, 0, 2, 3],  # reordered
        [0, 2, 3],  # dropped
        [0, 1, 1, 2, 3],  # replayed
        [0, 1, 3],  # last event dropped
        [3],  # only the end message
    ],
)
def test_reordered_dropped_or_replayed_messages_are_rejected(order: list[int]) -> None:
    envs = make_stream(THREE)
    with pytest.raises(EventSignatureDoesNotMatch):
        run([envs[i] for i in order])


def test_changed_date_is_rejected() -> None:
    envs = make_stream(THREE)
    env = decode_message(envs[1])
    for delta in (1, 1000, -1000):
        moved = [
            (n, HeaderValue.timestamp(v.value + delta) if n == ":date" else v)  # type: ignore[operator]
            for n, v in env.headers
        ]
        with pytest.raises(EventSignatureDoesNotMatch):
            run([envs[0], encode_message(Message(moved, env.payload)), envs[2], envs[3]])


def test_truncated_stream_is_incomplete() -> None:
    envs = make_stream(THREE)
    v = verifier()
    assert len(v.feed(b"".join(envs[:3]), now=T0)) == 3
    with pytest.raises(IncompleteEventStream, match="end-of-stream") as info:
        v.close()
    assert info.value.code == "IncompleteBody"
    v = verifier()
    v.feed(b"".join(envs)[:-1], now=T0)
    with pytest.raises(IncompleteEventStream):
        v.close()


def test_message_after_the_end_is_rejected() -> None:
    envs = make_stream(THREE)
    with pytest.raises(MalformedEventStream, match="after the end"):
        run([*envs, envs[0]])


def test_skew_window() -> None:
    envs = make_stream(THREE)  # dates T0 .. T0+3s
    assert run(envs, now=T0 + timedelta(seconds=300)) == THREE  # transcribe: 5 minutes
    with pytest.raises(EventTimeTooSkewed) as info:
        run(envs, now=T0 + timedelta(seconds=301))
    err = info.value
    assert err.code == "RequestTimeTooSkewed" and err.status == 403
    assert err.details["RequestTime"] == "20150830T123600Z"
    assert err.details["ServerTime"] == "20150830T124101Z"
    with pytest.raises(EventTimeTooSkewed):
        run(envs, now=T0 - timedelta(seconds=10), max_skew=5)
    assert run(envs, now=T0 + timedelta(seconds=1), max_skew=timedelta(seconds=2)) == THREE
    # S3's table entry allows 15 minutes.
    ms = MessageSigner(CREDS, "us-east-1", "s3", SEED)
    s3 = ms.sign(THREE[0], T0) + ms.end(T0)
    v = EventStreamVerifier(CREDS, "us-east-1", "s3", SEED)
    assert len(v.feed(s3, now=T0 + timedelta(minutes=15))) == 1


@pytest.mark.parametrize(
    ("args", "kw"),
    [
        (("wrong", "us-east-1", "transcribe", SEED), {}),
        ((CREDS, "us-west-2", "transcribe", SEED), {}),
        ((CREDS, "us-east-1", "lex", SEED), {}),
        ((CREDS, "us-east-1", "transcribe", "0" * 64), {}),
    ],
    ids=["secret", "region", "service", "seed"],
)
def test_wrong_scope_key_or_seed_is_rejected(
    args: tuple[object, ...], kw: dict[str, object]
) -> None:
    v = EventStreamVerifier(*args, max_skew=10**9, **kw)  # type: ignore[arg-type]
    with pytest.raises(EventSignatureDoesNotMatch):
        v.feed(b"".join(make_stream(THREE)), now=T0)


def _envelope(headers: list[tuple[str, object]], payload: bytes) -> bytes:
    return encode_message(Message(headers, payload))


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ([(":date", T0)], "no ':chunk-signature'"),
        ([(":chunk-signature", b"\0" * 32)], "no ':date'"),
        ([(":date", T0), (":chunk-signature", b"\0" * 31)], "32"),
        ([(":date", T0), (":chunk-signature", "0" * 32)], "found ':chunk-signature' \\(string\\)"),
        ([(":date", "20150830T123600Z"), (":chunk-signature", b"\0" * 32)], "found ':date'"),
        ([(":date", T0), (":date", T0), (":chunk-signature", b"\0" * 32)], "found ':date'"),
        ([(":date", T0), (":chunk-signature", b"\0" * 32), ("x", "y")], "found 'x'"),
        ([(":date", HeaderValue.timestamp(2**62)), (":chunk-signature", b"\0" * 32)], "usable"),
    ],
)
def test_malformed_envelopes(headers: list[tuple[str, object]], why: str) -> None:
    v = verifier()
    with pytest.raises(MalformedEventStream, match=why):
        v.feed(_envelope(headers, b"x"), now=T0)
    with pytest.raises(MalformedEventStream):  # stays failed
        v.feed(b"", now=T0)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.integers(0, 4), st.data())
def test_verifier_on_garbage_gives_only_typed_errors(
    garbage: bytes, keep: int, data: st.DataObject
) -> None:
    # Valid envelopes, then garbage spliced in anywhere: only EventStreamError.
    stream = b"".join(make_stream(THREE)[:keep])
    at = data.draw(st.integers(0, len(stream)))
    v = verifier()
    try:
        v.feed(stream[:at] + garbage + stream[at:], now=T0)
        v.close()
    except EventStreamError:
        return
    assert not garbage  # nothing else may pass


def test_a_bad_now_loses_no_data() -> None:
    stream = b"".join(make_stream(THREE))
    v = verifier()
    with pytest.raises(SigningError, match="naive"):
        v.feed(stream, now=datetime(2015, 8, 30, 12, 36))
    with pytest.raises(SigningError, match="aware datetime"):
        v.feed(stream, now="20150830T123600Z")  # type: ignore[arg-type]
    assert [m.message for m in v.feed(stream, now=T0)] == THREE
    v.close()


def test_signed_payload_that_is_not_a_message() -> None:
    ms = MessageSigner(CREDS, "us-east-1", "transcribe", SEED)
    stream = ms.sign_payload(b"not a message", T0) + ms.end(T0)
    with pytest.raises(MalformedEventStream, match="not a valid message"):
        run([stream])
    assert len(verifier(decode_payload=False).feed(stream, now=T0)) == 1


def test_inner_message_limits_apply() -> None:
    ms = MessageSigner(CREDS, "us-east-1", "transcribe", SEED)
    stream = ms.sign(Message({"h": "x" * 200}, b""), T0) + ms.end(T0)
    with pytest.raises(MalformedEventStream, match="limit"):
        run([stream], max_headers_size=100)
    with pytest.raises(MalformedEventStream, match="limit"):
        run([stream], max_message_size=200)


# --------------------------------------------------------------------------
# Caller errors, SigV4a, secrets
# --------------------------------------------------------------------------
def test_caller_errors_are_signing_errors() -> None:
    ms = MessageSigner(CREDS, "us-east-1", "transcribe", SEED)
    with pytest.raises(SigningError, match="sign_payload"):
        ms.sign(b"raw", T0)  # type: ignore[arg-type]
    with pytest.raises(SigningError, match="end\\(\\)"):
        ms.sign_payload(b"", T0)
    with pytest.raises(SigningError, match="naive"):
        ms.sign(THREE[0], datetime(2015, 8, 30))
    with pytest.raises(SigningError, match="cannot parse"):
        ms.sign(THREE[0], "yesterday")
    with pytest.raises(SigningError, match="timestamp must be"):
        ms.sign(THREE[0], [2015])  # type: ignore[arg-type]
    with pytest.raises(SigningError, match="16 MiB"):
        ms.sign_payload(b"x" * (16 * 1024 * 1024 - 50), T0)
    ms.end(T0)
    with pytest.raises(SigningError, match="already ended"):
        ms.sign(THREE[0], T0)
    with pytest.raises(SigningError, match="seed_signature"):
        MessageSigner(CREDS, "us-east-1", "transcribe", "ABC")
    with pytest.raises(SigningError, match="region"):
        MessageSigner(CREDS, "us/east", "transcribe", SEED)
    with pytest.raises(SigningError, match="Credentials"):
        MessageSigner("secret", "us-east-1", "transcribe", SEED)  # type: ignore[arg-type]
    with pytest.raises(SigningError, match="max_skew"):
        verifier(max_skew=-1)


def test_for_request_continues_a_sigv4_signature_and_refuses_sigv4a() -> None:
    signer = Signer(CREDS, "us-east-1", "transcribe")
    signed = signer.sign("POST", "https://transcribestreaming.us-east-1.amazonaws.com/stream",
                         body=b"", timestamp=T0)  # fmt: skip
    ms = MessageSigner.for_request(signer, signed)
    assert ms.prior_signature == signed.signature
    assert (ms.region, ms.service) == ("us-east-1", "transcribe")
    signer_a = Signer(CREDS, "us-east-1", "transcribe", algorithm="sigv4a")
    signed_a = signer_a.sign("POST", "https://example.amazonaws.com/", timestamp=T0)
    with pytest.raises(SigningError, match="SigV4a"):
        MessageSigner.for_request(signer_a, signed_a)


def test_verifier_for_a_verified_request() -> None:
    # Server side: the Verifier accepts the initial request, its signature
    # seeds the event chain.  (The Verifier does not take the events payload
    # literal yet, so this request is signed as an ordinary one.)
    from sigv4kit.verifier import Verifier

    signer = Signer(CREDS, "us-east-1", "transcribe")
    signed = signer.sign("POST", "https://transcribestreaming.us-east-1.amazonaws.com/stream",
                         body=b"", timestamp=T0)  # fmt: skip
    ok = Verifier({CREDS.access_key_id: CREDS.secret_access_key}, "us-east-1", "transcribe")
    verified = ok.verify("POST", "/stream", list(signed.headers), b"", now=T0)
    ms = MessageSigner.for_request(signer, signed)
    stream = ms.sign(THREE[0], T0) + ms.end(T0)
    v = EventStreamVerifier.for_request(verified, CREDS.secret_access_key)
    assert [m.message for m in v.feed(stream, now=T0)] == [THREE[0]]
    v.close()
    signer_a = Signer(CREDS, "us-east-1", "transcribe", algorithm="sigv4a")
    signed_a = signer_a.sign("POST", "https://x.amazonaws.com/stream", body=b"", timestamp=T0)
    ok_a = Verifier({CREDS.access_key_id: CREDS.secret_access_key}, "us-east-1", "transcribe")
    verified_a = ok_a.verify("POST", "/stream", list(signed_a.headers), b"", now=T0)
    with pytest.raises(SigningError, match="SigV4a"):
        EventStreamVerifier.for_request(verified_a, CREDS)


def test_secrets_never_appear() -> None:
    secret = CREDS.secret_access_key
    ms = MessageSigner(CREDS, "us-east-1", "transcribe", SEED)
    ms.sign(THREE[0], T0)  # derives the day's key, whose repr must hide it too
    v = verifier()
    texts = [repr(ms), str(ms), repr(v), repr(ms._key)]
    try:
        EventStreamVerifier(secret, "us-east-1", "transcribe", SEED).feed(
            b"".join(make_stream(THREE, start=T0 + timedelta(seconds=1)))[:-5] + b"\0" * 5,
            now=T0,
        )
    except EventStreamError as exc:
        texts += [str(exc), repr(exc), exc.to_xml()]
    envs = make_stream(THREE)
    try:
        EventStreamVerifier("other-secret", "us-east-1", "transcribe", SEED).feed(envs[0], now=T0)
    except EventSignatureDoesNotMatch as exc:
        texts += [str(exc), repr(exc), exc.to_xml()]
    assert len(texts) == 10
    for text in texts:
        assert secret not in text and "other-secret" not in text


def test_decoder_is_reusable_for_signed_streams() -> None:
    # A client reading the server's responses uses the same decoder.
    envs = make_stream(THREE)
    dec = MessageDecoder()
    assert [decode_message(e.payload) for e in dec.feed(b"".join(envs)[:-1])] == THREE


def test_documentation_examples_run() -> None:
    # docs/eventstream.md's code blocks are one program; their asserts check
    # the published aws-c-auth values and a sign -> verify round trip.
    doc = Path(__file__).resolve().parent.parent / "docs" / "eventstream.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 4
    namespace: dict[str, object] = {"__name__": "eventstream_docs"}
    exec(compile("\n".join(blocks), str(doc), "exec"), namespace)
    assert namespace["seed"] == C_REQUEST_SIGNATURE
