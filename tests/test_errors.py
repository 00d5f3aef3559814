"""The error tree, table by table: where each class lives, what it derives
from, the S3 code and status it answers with, the limit it names, and that
every old import path still gives the same class."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from typing import Any

import pytest

import sigv4kit
from sigv4kit import errors
from sigv4kit.errors import (
    LimitExceeded,
    SignatureError,
    SigningError,
    SigV4Error,
)


def _all_modules() -> list[Any]:
    out = [sigv4kit]
    for info in pkgutil.walk_packages(sigv4kit.__path__, "sigv4kit."):
        if info.name.endswith("__main__"):
            continue  # running it would run the CLI
        if info.name.startswith(("sigv4kit.cli", "sigv4kit.client.", "sigv4kit.calculator.server")):
            # The CLI needs click, the client adapters their libraries;
            # they are scanned below when importable.
            try:
                out.append(importlib.import_module(info.name))
            except ImportError:  # pragma: no cover - optional dependency missing
                continue
        else:
            out.append(importlib.import_module(info.name))
    return out


def test_every_exception_class_is_defined_in_errors() -> None:
    outside = []
    for module in _all_modules():
        for name, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__ == module.__name__
                and module.__name__ != "sigv4kit.errors"
            ):
                outside.append(f"{module.__name__}.{name}")
    assert outside == [], f"exception classes outside sigv4kit.errors: {outside}"


def test_every_error_is_exported_and_derives_from_sigv4error() -> None:
    classes = {
        n: c for n, c in vars(errors).items() if inspect.isclass(c) and issubclass(c, Exception)
    }
    assert set(classes) == set(errors.__all__)
    for name, cls in classes.items():
        assert issubclass(cls, SigV4Error), name


# (old import path, name, class name in errors)
REEXPORTS = [
    ("sigv4kit.verifier", "MissingAuthentication", "MissingAuthentication"),
    ("sigv4kit.verifier", "AuthorizationHeaderTooLong", "AuthorizationHeaderTooLong"),
    ("sigv4kit.verifier", "QueryTooLong", "QueryTooLong"),
    ("sigv4kit.verifier", "TooManySignedHeaders", "TooManySignedHeaders"),
    ("sigv4kit.verifier", "TooManySignedHeadersInQuery", "TooManySignedHeadersInQuery"),
    ("sigv4kit.verifier", "RequestHeaderTooLong", "RequestHeaderTooLong"),
    ("sigv4kit.streaming", "InvalidChunkSizeError", "InvalidChunkSizeError"),
    ("sigv4kit.streaming", "ChunkTooLargeError", "ChunkTooLarge"),
    ("sigv4kit.streaming", "TooManyChunksError", "TooManyChunks"),
    ("sigv4kit.streaming", "ChunkLineTooLongError", "ChunkLineTooLong"),
    ("sigv4kit.streaming", "MalformedTrailerError", "MalformedTrailerError"),
    ("sigv4kit.post_policy", "InvalidPolicyDocument", "InvalidPolicyDocument"),
    ("sigv4kit.post_policy", "EntityTooSmall", "EntityTooSmall"),
    ("sigv4kit.post_policy", "MalformedPOSTRequest", "MalformedPOSTRequest"),
    ("sigv4kit.post_policy", "MaxPostPreDataLengthExceeded", "MaxPostPreDataLengthExceeded"),
    ("sigv4kit.post_policy", "MultipartHeaderTooLong", "MultipartHeaderTooLong"),
    ("sigv4kit.post_policy", "PolicyTooLarge", "PolicyTooLarge"),
    ("sigv4kit.eventstream", "EventStreamError", "EventStreamError"),
    ("sigv4kit.eventstream", "MalformedEventStream", "MalformedEventStream"),
    ("sigv4kit.eventstream", "IncompleteEventStream", "IncompleteEventStream"),
    ("sigv4kit.eventstream", "EventSignatureDoesNotMatch", "EventSignatureDoesNotMatch"),
    ("sigv4kit.eventstream", "EventTimeTooSkewed", "EventTimeTooSkewed"),
    ("sigv4kit.rawhttp", "RawRequestError", "RawRequestError"),
    ("sigv4kit.rawhttp", "RawRequestTooLarge", "RawRequestTooLarge"),
    ("sigv4kit.server._common", "MissingContentLength", "MissingContentLength"),
    ("sigv4kit.providers", "CredentialsNotFoundError", "CredentialsNotFound"),
    ("sigv4kit.providers", "ProfileFileError", "MalformedProfileFile"),
    ("sigv4kit.client._common", "RedirectNotFollowed", "RedirectNotFollowed"),
    ("sigv4kit", "SignatureError", "SignatureError"),
    ("sigv4kit", "LimitExceeded", "LimitExceeded"),
    ("sigv4kit.errors", "MasterKeyError", "InvalidMasterKey"),
    ("sigv4kit.gateway.plan", "PlanError", "CannotResign"),
    ("sigv4kit.proxy._service", "UnknownHostError", "UnknownUpstreamHost"),
    ("sigv4kit.proxy", "BodyTooLarge", "BodyTooLarge"),
    ("sigv4kit.errors", "ProbeError", "CannotProbe"),
    ("sigv4kit.errors", "PresignExpiryError", "PresignOutlivesCredentials"),
]


@pytest.mark.parametrize(("module", "name", "target"), REEXPORTS)
def test_old_import_paths_give_the_same_class(module: str, name: str, target: str) -> None:
    assert getattr(importlib.import_module(module), name) is getattr(errors, target)


# (class, S3 code, HTTP status, also an instance of)
CODES: list[tuple[type[SignatureError], str, int, type[Exception]]] = [
    (errors.MissingAuthentication, "AccessDenied", 403, errors.AccessDenied),
    (errors.RequestHeaderTooLong, "RequestHeaderSectionTooLarge", 400, SignatureError),
    (errors.MissingContentLength, "MissingContentLength", 411, SignatureError),
    (errors.InvalidChunkSizeError, "InvalidChunkSizeError", 403, SignatureError),
    (errors.ChunkLineTooLong, "IncompleteBody", 400, errors.IncompleteBody),
    (errors.MalformedTrailerError, "MalformedTrailerError", 400, SignatureError),
    (errors.InvalidPolicyDocument, "InvalidPolicyDocument", 400, SignatureError),
    (errors.EntityTooSmall, "EntityTooSmall", 400, SignatureError),
    (errors.MalformedPOSTRequest, "MalformedPOSTRequest", 400, SignatureError),
    (errors.MaxPostPreDataLengthExceeded, "MaxPostPreDataLengthExceeded", 400, SignatureError),
    (errors.MalformedEventStream, "InvalidArgument", 400, errors.InvalidArgument),
    (errors.IncompleteEventStream, "IncompleteBody", 400, errors.IncompleteBody),
    (errors.EventSignatureDoesNotMatch, "SignatureDoesNotMatch", 403, SignatureError),
    (errors.EventTimeTooSkewed, "RequestTimeTooSkewed", 403, SignatureError),
]


@pytest.mark.parametrize(("cls", "code", "status", "base"), CODES)
def test_codes_and_statuses(
    cls: type[SignatureError], code: str, status: int, base: type[Exception]
) -> None:
    assert (cls.code, cls.status) == (code, status)
    assert issubclass(cls, base)
    err = cls.__new__(cls)
    SignatureError.__init__(err)
    assert f"<Code>{code}</Code>" in err.to_xml()
    assert err.message == cls.default_message


# (factory building the error as its raise site does, class, limit name, S3 code or None)
LIMITS: list[tuple[Any, type[LimitExceeded], str, str | None]] = [
    (lambda: errors.AuthorizationHeaderTooLong(16384), errors.AuthorizationHeaderTooLong,
     "max_auth_length", "AuthorizationHeaderMalformed"),
    (lambda: errors.QueryTooLong(24576), errors.QueryTooLong, "max_query_length",
     "AuthorizationQueryParametersError"),
    (lambda: errors.TooManySignedHeaders(100), errors.TooManySignedHeaders,
     "max_signed_headers", "AuthorizationHeaderMalformed"),
    (lambda: errors.TooManySignedHeadersInQuery(100), errors.TooManySignedHeadersInQuery,
     "max_signed_headers", "AuthorizationQueryParametersError"),
    (lambda: errors.RequestHeaderTooLong(32768, "x-big"), errors.RequestHeaderTooLong,
     "max_header_length", "RequestHeaderSectionTooLarge"),
    (lambda: errors.ChunkTooLarge("too big", value=4096), errors.ChunkTooLarge,
     "max_chunk_size", "InvalidChunkSizeError"),
    (lambda: errors.TooManyChunks("too many", value=4096), errors.TooManyChunks, "max_chunks",
     "InvalidChunkSizeError"),
    (lambda: errors.ChunkLineTooLong("long", value=4096), errors.ChunkLineTooLong,
     "max_line_length", "IncompleteBody"),
    (lambda: errors.MaxPostPreDataLengthExceeded("x", limit="max_parts", value=4096),
     errors.MaxPostPreDataLengthExceeded, "max_parts", "MaxPostPreDataLengthExceeded"),
    (lambda: errors.MultipartHeaderTooLong("x", value=4096), errors.MultipartHeaderTooLong,
     "max_header_bytes", "MalformedPOSTRequest"),
    (lambda: errors.PolicyTooLarge("x", value=4096), errors.PolicyTooLarge, "max_policy_bytes",
     "InvalidPolicyDocument"),
    (lambda: errors.EventMessageTooLarge("x", limit="max_message_size", value=4096),
     errors.EventMessageTooLarge, "max_message_size", "InvalidArgument"),
    (lambda: errors.RawRequestTooLarge("x", limit="max_headers", value=4096),
     errors.RawRequestTooLarge, "max_headers", None),
    (lambda: errors.BodyTooLarge(4096), errors.BodyTooLarge, "max_body", ""),
]  # fmt: skip


@pytest.mark.parametrize(("make", "cls", "limit", "code"), LIMITS)
def test_limit_errors(make: Any, cls: type[LimitExceeded], limit: str, code: str | None) -> None:
    with pytest.raises(LimitExceeded) as info:
        raise make()
    exc = info.value
    assert type(exc) is cls
    assert exc.limit == limit
    assert exc.value in (16384, 24576, 100, 32768, 4096)
    if code == "":
        assert not isinstance(exc, (ValueError, SignatureError))
    elif code is None:
        assert isinstance(exc, ValueError) and not isinstance(exc, SignatureError)
    else:
        assert isinstance(exc, SignatureError) and exc.code == code


def test_every_limit_error_is_in_the_table() -> None:
    limit_classes = {
        c
        for c in vars(errors).values()
        if inspect.isclass(c) and issubclass(c, LimitExceeded) and c is not LimitExceeded
    }
    assert limit_classes == {row[1] for row in LIMITS}


def test_limit_errors_raised_by_the_code_carry_their_setting() -> None:
    import struct
    import zlib

    from sigv4kit.eventstream import MessageDecoder
    from sigv4kit.rawhttp import parse_raw_request
    from sigv4kit.streaming import ChunkDecoder

    with pytest.raises(LimitExceeded) as info:
        parse_raw_request("GET / HTTP/1.1\r\nA: b\r\nC: d\r\n\r\n", max_headers=1)
    assert (info.value.limit, info.value.value) == ("max_headers", 1)
    with pytest.raises(LimitExceeded) as info:
        ChunkDecoder("STREAMING-UNSIGNED-PAYLOAD-TRAILER", max_chunk_size=16).feed(b"20\r\n")
    assert (info.value.limit, info.value.value) == ("max_chunk_size", 16)
    with pytest.raises(LimitExceeded) as info:
        prelude = struct.pack(">II", 256, 0)
        MessageDecoder(max_message_size=64).feed(prelude + struct.pack(">I", zlib.crc32(prelude)))
    assert info.value.limit == "max_message_size"


NAMING_FAMILIES = {
    "SigV4Error",
    "SigningError",
    "SignatureError",
    "CredentialsError",
    "RawRequestError",
    "EventStreamError",
    "KeyStoreError",
}
S3_CODES_ENDING_IN_ERROR = {"InvalidChunkSizeError", "MalformedTrailerError"}


def test_naming_rule() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        if cls.__name__ != name:
            continue  # an alias kept for an old name
        if not name.endswith("Error"):
            continue
        assert (
            name in NAMING_FAMILIES
            or name in S3_CODES_ENDING_IN_ERROR
            or getattr(cls, "code", None) == name
        ), f"{name} ends in 'Error' but is neither a family base nor S3's code"


def test_dead_classes_removed() -> None:
    assert not hasattr(errors, "MissingSecurityHeader")
    # BadGateway was never raised: UpstreamUnavailable answers 502 BadGateway.
    assert not hasattr(errors, "BadGateway")
    assert errors.UpstreamUnavailable.code == "BadGateway"


def test_the_errors_package_defines_every_class_once_and_names_it_sigv4kit_errors() -> None:
    """sigv4kit.errors is a package (one module today, room for more); every class
    written in them is exported, and each is named ``sigv4kit.errors.X``."""
    import ast
    from pathlib import Path

    written: dict[str, str] = {}
    for path in sorted(Path(errors.__file__).parent.glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef):
                assert node.name not in written, f"{node.name} twice"
                written[node.name] = path.name
    exported = {n for n in errors.__all__ if getattr(errors, n).__name__ == n}
    assert set(written) == exported
    for name in errors.__all__:
        assert getattr(errors, name).__module__ == "sigv4kit.errors", name


@pytest.mark.parametrize(
    "exc",
    [errors.SignatureDoesNotMatch("changed"), errors.SigningError("bad"), errors.KeyNotFound("AK")],
)
def test_errors_pickle_by_their_public_name(exc: Exception) -> None:
    import pickle

    data = pickle.dumps(exc)
    assert b"sigv4kit.errors" in data and b"sigv4kit.errors._" not in data
    again = pickle.loads(data)
    assert type(again) is type(exc) and str(again) == str(exc)


def test_signing_errors_are_value_errors() -> None:
    assert issubclass(SigningError, ValueError)
    assert issubclass(errors.RedirectNotFollowed, SigningError)
    assert issubclass(errors.RawRequestError, ValueError)


@pytest.mark.parametrize(
    "text", ["\ud800", "GET /\udfff HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nA: \ud83d\r\n"]
)
def test_raw_request_lone_surrogate_is_a_typed_error(text: str) -> None:
    from sigv4kit.rawhttp import parse_raw_request

    with pytest.raises(errors.RawRequestError, match="lone surrogate"):
        parse_raw_request(text)


def test_raw_request_escaped_surrogates_still_parse() -> None:
    from sigv4kit.rawhttp import parse_raw_request

    raw = b"GET /\xff HTTP/1.1\r\nHost: h\r\n\r\n".decode("utf-8", "surrogateescape")
    req = parse_raw_request(raw)
    assert req.method == "GET" and re.match(r"^/", req.target)
