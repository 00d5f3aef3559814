"""An event-stream request end to end: Signer, MessageSigner, Verifier, EventStreamVerifier."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from sigv4kit import Credentials, Signer, Verifier
from sigv4kit.errors import InvalidArgument
from sigv4kit.eventstream import (
    EventSignatureDoesNotMatch,
    EventStreamError,
    EventStreamVerifier,
    HeaderValue,
    Message,
    MessageSigner,
)

CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
URL = "https://transcribestreaming.us-east-1.amazonaws.com/stream-transcription"


def _messages() -> list[Message]:
    return [
        Message(
            headers=[
                (":message-type", HeaderValue.string("event")),
                (":event-type", HeaderValue.string("AudioEvent")),
            ],
            payload=bytes([i]) * 1024,
        )
        for i in range(3)
    ]


def _client() -> tuple[list[tuple[str, str]], bytes]:
    signer = Signer(CREDS, "us-east-1", "transcribe")
    signed = signer.sign(
        "POST",
        URL,
        {"Content-Type": "application/vnd.amazon.eventstream"},
        timestamp=T0,
        payload="streaming-events",
    )
    events = MessageSigner.for_request(signer, signed)
    body = b"".join(events.sign(m, T0 + timedelta(seconds=i)) for i, m in enumerate(_messages()))
    body += events.end(T0 + timedelta(seconds=5))
    return list(signed.headers), body


def _server(headers: list[tuple[str, str]], body: bytes) -> list[Message]:
    verifier = Verifier({CREDS.access_key_id: CREDS.secret_access_key}, "us-east-1", "transcribe")
    ok = verifier.verify("POST", "/stream-transcription", headers, body, now=T0)
    assert ok.payload_hash == "STREAMING-AWS4-HMAC-SHA256-EVENTS"
    events = EventStreamVerifier.for_request(ok, CREDS.secret_access_key)
    raw = b"".join(ok.body)  # type: ignore[arg-type]
    got = [m.message for m in events.feed(raw, now=T0 + timedelta(seconds=3))]
    events.close()
    return got


def test_event_stream_request_round_trip() -> None:
    headers, body = _client()
    assert _server(headers, body) == _messages()


def test_a_tampered_event_is_rejected_after_the_request_verified() -> None:
    headers, body = _client()
    for pos in range(0, len(body), 97):
        bad = bytearray(body)
        bad[pos] ^= 1
        with pytest.raises(EventStreamError):
            _server(headers, bytes(bad))


def test_an_event_signed_on_another_chain_is_rejected() -> None:
    headers, body = _client()
    # A well-formed envelope (valid CRCs) whose signature chains from another seed.
    other = MessageSigner(CREDS, "us-east-1", "transcribe", "0" * 64)
    forged = other.sign(_messages()[0], T0)
    with pytest.raises(EventSignatureDoesNotMatch):
        _server(headers, forged + body[len(forged) :])


def test_events_literal_needs_sigv4_header_auth() -> None:
    signer = Signer(CREDS, "us-east-1", "transcribe")
    url = signer.presign("POST", URL, timestamp=T0)
    verifier = Verifier({CREDS.access_key_id: CREDS.secret_access_key}, "us-east-1", "transcribe")
    target = url.partition(".com")[2]
    with pytest.raises(InvalidArgument, match="event streams"):
        verifier.verify(
            "POST",
            target,
            [
                ("Host", "transcribestreaming.us-east-1.amazonaws.com"),
                ("X-Amz-Content-SHA256", "STREAMING-AWS4-HMAC-SHA256-EVENTS"),
            ],
            b"",
            now=T0,
        )
