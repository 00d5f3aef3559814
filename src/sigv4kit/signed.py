"""What signing returns: :class:`SignedRequest` (every stage, and what to
send) and :class:`HeaderList` (the headers to send, in order)."""

from __future__ import annotations

from . import canonical as _c
from .config import ALGORITHM_V4A
from .keys import key_chain_description

# typing only for the type checker: importing it costs milliseconds at start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .config import SigningConfig

__all__ = ["HeaderList", "SignedRequest"]


class HeaderList(list[tuple[str, str]]):
    """A list of ``(name, value)`` pairs (order and repeated names matter for
    signing) with case-insensitive lookups."""

    def get(self, name: str, default: str | None = None) -> str | None:
        lname = name.lower()
        for n, v in reversed(self):
            if n.lower() == lname:
                return v
        return default

    def get_all(self, name: str) -> list[str]:
        lname = name.lower()
        return [v for n, v in self if n.lower() == lname]

    def as_dict(self) -> dict[str, str]:
        """A dict for clients that take one; repeated names are joined with ``, ``."""
        out: dict[str, str] = {}
        lower: dict[str, str] = {}
        for n, v in self:
            key = lower.setdefault(n.lower(), n)
            out[key] = f"{out[key]}, {v}" if key in out else v
        return out


class SignedRequest:
    """Everything about one signature: what to send and how it was computed.

    Attributes:
        method, url: the request line to send (``url`` is the wire URL).
        headers: every header to send, original and added, in order.
        body: the body to send (for streaming payloads, an iterator of the
            aws-chunked encoding).
        canonical_request, string_to_sign, signature, authorization,
        credential_scope, signed_headers, payload_hash, amz_date,
        algorithm: each stage, as text.
        canonical: the canonical request as a value
            (:class:`~sigv4kit.canonical.CanonicalRequest`), part by part;
            ``canonical_request`` is its text, the text that was signed.
    """

    __slots__ = (
        "algorithm",
        "amz_date",
        "authorization",
        "body",
        "canonical",
        "canonical_request",
        "credential_scope",
        "headers",
        "method",
        "payload_hash",
        "region",
        "region_set",
        "service",
        "signature",
        "signed_headers",
        "string_to_sign",
        "url",
    )

    def __init__(
        self,
        method: str,
        url: str,
        headers: HeaderList,
        body: Any,
        canonical: _c.CanonicalRequest,
        string_to_sign: str,
        signature: str,
        authorization: str | None,
        credential_scope: str,
        amz_date: str,
        config: SigningConfig,
    ) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.canonical = canonical
        self.canonical_request = canonical[6]
        self.string_to_sign = string_to_sign
        self.signature = signature
        self.authorization = authorization
        self.credential_scope = credential_scope
        self.signed_headers = canonical[4]
        self.payload_hash = canonical[5]
        self.amz_date = amz_date
        self.algorithm = config.algorithm
        self.region = config.region
        self.service = config.service
        self.region_set = config.region_set

    @property
    def canonical_request_hash(self) -> str:
        return self.string_to_sign.rpartition("\n")[2]

    @property
    def key_chain(self) -> list[str]:
        """How the signing key was derived, by name only (no key material)."""
        if self.algorithm == ALGORITHM_V4A:
            return [
                'private key = NIST SP 800-108 KDF(HMAC-SHA256, "AWS4A" + <secret access key>, '
                '"AWS4-ECDSA-P256-SHA256", access key id) -> P-256 scalar',
                "signature = hex(DER(ECDSA-P256(private key, SHA-256(string_to_sign))))",
            ]
        return key_chain_description(self.amz_date[:8], self.region, self.service)

    def __repr__(self) -> str:
        return (
            f"SignedRequest(method={self.method!r}, url={self.url!r}, "
            f"signed_headers={self.signed_headers!r}, signature={self.signature!r})"
        )
