"""Event streams (``application/vnd.amazon.eventstream``): the binary
message format and the SigV4 message-signing chain, for clients that sign
and servers that verify.

Not imported by ``import sigv4kit``; import it as ``sigv4kit.eventstream``.
See ``docs/eventstream.md`` for a walk-through.
"""

from __future__ import annotations

from ._codec import (
    MAX_HEADERS_SIZE,
    MAX_MESSAGE_SIZE,
    EventMessageTooLarge,
    EventSignatureDoesNotMatch,
    EventStreamError,
    EventTimeTooSkewed,
    HeaderType,
    HeaderValue,
    IncompleteEventStream,
    MalformedEventStream,
    Message,
    MessageDecoder,
    decode_message,
    encode_message,
)
from ._signing import (
    EVENT_ALGORITHM,
    STREAMING_EVENTS_PAYLOAD,
    EventStreamVerifier,
    MessageSigner,
    VerifiedMessage,
    encode_date_header,
    string_to_sign,
)

__all__ = [
    "EVENT_ALGORITHM",
    "MAX_HEADERS_SIZE",
    "MAX_MESSAGE_SIZE",
    "STREAMING_EVENTS_PAYLOAD",
    "EventMessageTooLarge",
    "EventSignatureDoesNotMatch",
    "EventStreamError",
    "EventStreamVerifier",
    "EventTimeTooSkewed",
    "HeaderType",
    "HeaderValue",
    "IncompleteEventStream",
    "MalformedEventStream",
    "Message",
    "MessageDecoder",
    "MessageSigner",
    "VerifiedMessage",
    "decode_message",
    "encode_date_header",
    "encode_message",
    "string_to_sign",
]
