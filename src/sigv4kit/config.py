"""Signing settings as data.

Where botocore has a class per variant (``SigV4Auth``, ``S3SigV4Auth``,
``S3SigV4QueryAuth``...), sigv4kit has one frozen :class:`SigningConfig`.
Service differences come from one table, :data:`SERVICE_DEFAULTS`, and every
entry can be overridden per signer.  Nothing else in the package asks
``if service == "s3"``.
"""

from __future__ import annotations

from ._frozen import Frozen
from .errors import SigningError
from .modes import ALGORITHM_V4, ALGORITHM_V4A, PAYLOAD_MODES, parse_algorithm

# typing only for the type checker: importing it costs milliseconds at start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection
    from typing import Any, ClassVar

__all__ = [
    "ALGORITHM_V4",
    "ALGORITHM_V4A",
    "DEFAULT_SKIPPED_HEADERS",
    "PAYLOAD_MODES",
    "SERVICE_DEFAULTS",
    "ServiceDefaults",
    "SigningConfig",
    "parse_algorithm",
]

# Headers never signed unless named explicitly in ``signed_headers``:
# hop-by-hop headers (a proxy may change or drop them), ``expect`` (clients add
# and drop it around 100-continue), ``user-agent`` and ``x-amzn-trace-id``
# and the W3C trace-context headers (rewritten by proxies and tracing layers).
# botocore skips the same ones.
DEFAULT_SKIPPED_HEADERS: frozenset[str] = frozenset(
    {
        "authorization",
        "baggage",
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "traceparent",
        "tracestate",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
    }
)

#: The flexible-checksum algorithms (``checksum=``) -> the header (and
#: trailer) that carries each value: the one list of their names.
CHECKSUM_HEADERS: dict[str, str] = {
    "crc32": "x-amz-checksum-crc32",
    "crc32c": "x-amz-checksum-crc32c",
    "crc64nvme": "x-amz-checksum-crc64nvme",
    "sha1": "x-amz-checksum-sha1",
    "sha256": "x-amz-checksum-sha256",
}
CHECKSUM_ALGORITHMS: frozenset[str] = frozenset(CHECKSUM_HEADERS)


def is_sha256_hex(text: str) -> bool:
    """Whether ``text`` is 64 lowercase hex digits (a SHA-256 as SigV4 writes
    it); by hand, since importing re costs milliseconds at start-up."""
    return len(text) == 64 and text.isascii() and not text.encode().translate(None, _HEX)


_HEX = b"0123456789abcdef"


class ServiceDefaults(Frozen):
    """How one service canonicalizes and what it expects from a signer.

    Attributes:
        double_uri_encode: encode the (already encoded) wire path once more.
            Every service but S3 does; S3 decodes the key and encodes it once.
        normalize_path: remove ``.``/``..`` segments and collapse ``//``.  S3
            must not: ``a//b`` and ``a/./b`` are distinct, legal object keys.
        content_sha256_header: send and sign ``X-Amz-Content-SHA256``.  S3
            requires it on every header-signed request.
        presign_unsigned_payload: presigned URLs sign ``UNSIGNED-PAYLOAD``
            (S3), instead of the hash of the body (everyone else).
        plus_in_path_is_space: the server reads a raw ``+`` in the path as a
            space (S3 does), so a signer sends a literal plus as ``%2B``.
        max_skew_seconds: the clock-skew window a verifier applies by default
            (S3: 15 minutes; other services: 5 minutes).
    """

    #: Each setting and its default (every service but the S3 family).
    _FIELDS: ClassVar[dict[str, object]] = {
        "double_uri_encode": True,
        "normalize_path": True,
        "content_sha256_header": False,
        "presign_unsigned_payload": False,
        "plus_in_path_is_space": False,
        "max_skew_seconds": 300,
    }
    __slots__ = tuple(_FIELDS)
    _compare = tuple(_FIELDS)

    double_uri_encode: bool
    normalize_path: bool
    content_sha256_header: bool
    presign_unsigned_payload: bool
    plus_in_path_is_space: bool
    max_skew_seconds: int

    def __init__(self, **settings: bool | int) -> None:
        unknown = set(settings) - set(self._FIELDS)
        if unknown:
            raise TypeError(f"ServiceDefaults has no setting {sorted(unknown)[0]!r}")
        self._set(**{**self._FIELDS, **settings})


_S3_LIKE = ServiceDefaults(
    double_uri_encode=False,
    normalize_path=False,
    content_sha256_header=True,
    presign_unsigned_payload=True,
    plus_in_path_is_space=True,
    max_skew_seconds=900,
)

#: The one table of per-service behaviour.  Unknown services get the generic
#: defaults (``SERVICE_DEFAULTS[""]``).
SERVICE_DEFAULTS: dict[str, ServiceDefaults] = {
    "": ServiceDefaults(),
    "s3": _S3_LIKE,
    "s3express": _S3_LIKE,
    "s3-outposts": _S3_LIKE,
    "s3-object-lambda": _S3_LIKE,
}


def service_defaults(service: str) -> ServiceDefaults:
    return SERVICE_DEFAULTS.get(service, SERVICE_DEFAULTS[""])


def _check_scope_part(name: str, value: str) -> str:
    if not isinstance(value, str) or not value:
        raise SigningError(f"{name} must be a non-empty string, e.g. 'us-east-1' / 's3'")
    if not value.isascii() or any(c in value for c in "/ \t\r\n") or not value.isprintable():
        raise SigningError(f"{name} {value!r} must be ASCII without '/', spaces or line breaks")
    return value


class SigningConfig(Frozen):
    """Every setting a signature depends on, resolved (no ``None`` left).

    Build one with :meth:`SigningConfig.for_service`; derive variants with
    :meth:`replace`.
    """

    _FIELDS: ClassVar[dict[str, object]] = {
        "algorithm": ALGORITHM_V4,
        "region_set": (),
        # The service settings, their defaults ServiceDefaults' own.
        **{n: v for n, v in ServiceDefaults._FIELDS.items() if n != "max_skew_seconds"},
        "sign_session_token": True,
        "signed_headers": None,
        "skipped_headers": DEFAULT_SKIPPED_HEADERS,
        "payload": "signed",
        "checksum": None,
        "chunk_size": 65536,
    }
    __slots__ = ("region", "service", *_FIELDS, "is_v4a")
    _compare = ("region", "service", *_FIELDS)

    region: str
    service: str
    algorithm: str
    region_set: tuple[str, ...]
    double_uri_encode: bool
    normalize_path: bool
    content_sha256_header: bool
    presign_unsigned_payload: bool
    plus_in_path_is_space: bool
    sign_session_token: bool
    signed_headers: frozenset[str] | None
    skipped_headers: frozenset[str]
    payload: str
    checksum: str | None
    chunk_size: int
    #: A plain attribute, not a property: it is read on every signature.
    is_v4a: bool

    def __init__(self, region: str, service: str, **options: Any) -> None:
        unknown = set(options) - set(self._FIELDS)
        if unknown:
            raise TypeError(f"SigningConfig has no setting {sorted(unknown)[0]!r}")
        values = {**self._FIELDS, **options}
        self._set(region=region, service=service, **values)
        self._set(is_v4a=values["algorithm"] == ALGORITHM_V4A)

    def replace(self, **changes: Any) -> SigningConfig:
        """A copy with some settings changed."""
        current = {name: getattr(self, name) for name in self._FIELDS}
        current.update(changes)
        region = current.pop("region", self.region)
        service = current.pop("service", self.service)
        return SigningConfig(region, service, **current)

    @classmethod
    def for_service(
        cls,
        region: str,
        service: str,
        *,
        algorithm: str = "sigv4",
        region_set: Collection[str] | None = None,
        double_uri_encode: bool | None = None,
        normalize_path: bool | None = None,
        content_sha256_header: bool | None = None,
        presign_unsigned_payload: bool | None = None,
        plus_in_path_is_space: bool | None = None,
        sign_session_token: bool = True,
        signed_headers: Collection[str] | None = None,
        skipped_headers: Collection[str] | None = None,
        payload: str = "signed",
        checksum: str | None = None,
        chunk_size: int = 65536,
    ) -> SigningConfig:
        """Resolve the service's defaults and the caller's overrides."""
        service = _check_scope_part("service", service)
        alg = parse_algorithm(algorithm)
        if alg == ALGORITHM_V4A:
            if region_set is None:
                region_set = [region] if region else []
            if isinstance(region_set, str):
                region_set = [r.strip() for r in region_set.split(",")]
            rs = tuple(region_set)
            if not rs:
                raise SigningError(
                    "SigV4a needs a region_set, e.g. ['us-east-1', 'us-west-2'] or ['*']"
                )
            for r in rs:
                _check_scope_part("region_set entry", r)
                if "," in r:
                    raise SigningError(f"region_set entry {r!r} must not contain ','")
            region = region or rs[0]
        else:
            if region_set:
                raise SigningError("region_set is only used with algorithm='sigv4a'")
            rs = ()
            region = _check_scope_part("region", region)
        d = service_defaults(service)
        given = {
            "double_uri_encode": double_uri_encode,
            "normalize_path": normalize_path,
            "content_sha256_header": content_sha256_header,
            "presign_unsigned_payload": presign_unsigned_payload,
            "plus_in_path_is_space": plus_in_path_is_space,
        }
        if signed_headers is not None:
            if isinstance(signed_headers, str):
                raise SigningError("signed_headers must be a collection of names, not one string")
            sh: frozenset[str] | None = frozenset(h.strip().lower() for h in signed_headers)
        else:
            sh = None
        skipped = (
            DEFAULT_SKIPPED_HEADERS
            if skipped_headers is None
            else frozenset(h.lower() for h in skipped_headers)
        )
        check_payload(payload)
        if checksum is not None and checksum not in CHECKSUM_ALGORITHMS:
            raise SigningError(
                f"checksum {checksum!r} is not supported; use one of {sorted(CHECKSUM_ALGORITHMS)}"
            )
        if not isinstance(chunk_size, int) or chunk_size < 8192:
            raise SigningError("chunk_size must be an integer of at least 8192 bytes (8 KiB)")
        return cls(
            region=region,
            service=service,
            algorithm=alg,
            region_set=rs,
            # The service's row, where the caller passed None.
            **{name: getattr(d, name) if value is None else value for name, value in given.items()},
            sign_session_token=sign_session_token,
            signed_headers=sh,
            skipped_headers=skipped,
            payload=payload,
            checksum=checksum,
            chunk_size=chunk_size,
        )


def check_payload(payload: str) -> str:
    """Validate a ``payload=`` value (a :class:`~sigv4kit.modes.PayloadMode`
    name, or a 64-hex precomputed SHA-256 of the body); returns it unchanged."""
    if payload in PAYLOAD_MODES:
        return payload
    if isinstance(payload, str) and is_sha256_hex(payload):
        return payload
    raise SigningError(
        f"payload must be one of {sorted(PAYLOAD_MODES)} or a 64-character lowercase hex "
        f"SHA-256 of the body, got {payload!r}"
    )
