"""aws-chunked streaming uploads: the encoder (client) and the decoder (server).

S3 lets a client sign a body it has not read yet: the request is signed
with a *literal* payload hash (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` and
friends), giving the *seed signature*, and the body is sent in the
``aws-chunked`` framing where every chunk carries a signature chained from
the previous one::

    <hex size>;chunk-signature=<sig>\\r\\n<data>\\r\\n      (repeated)
    0;chunk-signature=<sig>\\r\\n                          (final, empty chunk)
    [x-amz-checksum-crc32c:<base64>\\r\\n                  (trailer modes)
     x-amz-trailer-signature:<sig>\\r\\n]
    \\r\\n

The chunk string to sign is::

    AWS4-HMAC-SHA256-PAYLOAD \\n <amz-date> \\n <scope> \\n <previous signature>
        \\n <sha256 of ""> \\n <sha256 of the chunk data>

and the trailer's ``AWS4-HMAC-SHA256-TRAILER`` ... ``<previous signature> \\n
<sha256 of the canonical trailer lines>``.  SigV4a uses the
``AWS4-ECDSA-P256-SHA256`` prefix and, in the body, pads each (variable
length, DER) signature to 144 characters with ``*`` as aws-c-auth does, so
the encoded length is known before signing.  ``STREAMING-UNSIGNED-PAYLOAD-
TRAILER`` drops the chunk signatures and protects the body with the
trailing checksum alone.

Everything here is sans-IO, after h11: :class:`ChunkEncoder` turns data
into framed bytes, :class:`ChunkDecoder` turns framed bytes back into data.
Neither reads a socket or a clock.  :func:`prepare_streaming` and
:class:`AwsChunkedBody` wrap the encoder for the :class:`~sigv4kit.Signer`
and for HTTP clients (an iterator and an async iterator of ``bytes`` with a
``len()``), reading files and iterables a chunk at a time: memory stays
constant whatever the size of the upload.

Neither side copies the payload: :meth:`AwsChunkedBody.pieces` (and
:meth:`ChunkEncoder.encode_pieces`) hand out each chunk as its framing and
its data, the caller's own object or a ``memoryview`` of it, and
:meth:`ChunkDecoder.feed_pieces` releases verified data the same way.

The modules, each named after its concept: ``_modes`` (the literal <->
mode table, framing constants, encoded lengths), ``_encoder``
(:class:`ChunkEncoder`), ``_body`` (sources, :func:`prepare_streaming`,
:class:`AwsChunkedBody`), ``_decoder`` (:class:`ChunkDecoder` and helpers)
and ``_trailers`` (canonical trailers, checksum trailers, the trailer
reader).  Import from ``sigv4kit.streaming``.
"""

from __future__ import annotations

from ..errors import (
    ChunkLineTooLong,
    ChunkLineTooLongError,
    ChunkTooLarge,
    ChunkTooLargeError,
    InvalidChunkSizeError,
    MalformedTrailerError,
    TooManyChunks,
    TooManyChunksError,
)
from ..modes import (
    STREAMING_ECDSA_PAYLOAD,
    STREAMING_ECDSA_PAYLOAD_TRAILER,
    STREAMING_PAYLOAD,
    STREAMING_PAYLOAD_TRAILER,
    STREAMING_UNSIGNED_PAYLOAD_TRAILER,
)
from ._body import AwsChunkedBody, StreamingPlan, prepare_streaming
from ._decoder import ACCELERATED, ChunkDecoder
from ._encoder import ChunkEncoder
from ._modes import (
    DEFAULT_CHUNK_SIZE,
    MIN_CHUNK_SIZE,
    encoded_length,
    payload_hash_for,
    streaming_mode,
)
from ._modes import (
    MAX_CHUNK_SIZE as MAX_CHUNK_SIZE,
)
from ._modes import (
    MAX_CHUNKS as MAX_CHUNKS,
)
from ._modes import (
    MAX_LINE_LENGTH as MAX_LINE_LENGTH,
)
from ._modes import (
    MAX_TRAILERS as MAX_TRAILERS,
)
from ._modes import (
    SignFn as SignFn,
)
from ._modes import (
    VerifyFn as VerifyFn,
)
from ._receive import aiter_decoded, decoder_from_headers, iter_decoded
from ._trailers import canonical_trailers as canonical_trailers

__all__ = [
    "ACCELERATED",
    "DEFAULT_CHUNK_SIZE",
    "MIN_CHUNK_SIZE",
    "STREAMING_ECDSA_PAYLOAD",
    "STREAMING_ECDSA_PAYLOAD_TRAILER",
    "STREAMING_PAYLOAD",
    "STREAMING_PAYLOAD_TRAILER",
    "STREAMING_UNSIGNED_PAYLOAD_TRAILER",
    "AwsChunkedBody",
    "ChunkDecoder",
    "ChunkEncoder",
    "ChunkLineTooLong",
    "ChunkLineTooLongError",
    "ChunkTooLarge",
    "ChunkTooLargeError",
    "InvalidChunkSizeError",
    "MalformedTrailerError",
    "StreamingPlan",
    "TooManyChunks",
    "TooManyChunksError",
    "aiter_decoded",
    "decoder_from_headers",
    "encoded_length",
    "iter_decoded",
    "payload_hash_for",
    "prepare_streaming",
    "streaming_mode",
]
