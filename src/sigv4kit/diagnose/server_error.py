"""What a server said when it refused a signature, read from its error body.

S3 returns ``CanonicalRequest`` and ``StringToSign`` in its XML error; most
other AWS services put "The Canonical String for this request should have
been ..." in the message.  This module reads either (and bare text) into one
:class:`ServerError` value without ever running an XML parser over untrusted
input.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..errors import SignatureError

__all__ = ["MAX_BODY", "SIGNATURE_CODES", "ServerError", "parse_error_body"]

MAX_BODY = 1 << 20

#: Error codes that concern the signature even without the server's texts.
SIGNATURE_CODES = frozenset(
    {
        "SignatureDoesNotMatch",
        "RequestTimeTooSkewed",
        "InvalidToken",
        "ExpiredToken",
        "AuthorizationHeaderMalformed",
        "XAmzContentSHA256Mismatch",
    }
)

#: What a :class:`~sigv4kit.errors.SignatureError` and a :class:`ServerError`
#: both carry, under the same names.
_ERROR_FIELDS = (
    "code",
    "message",
    "canonical_request",
    "string_to_sign",
    "signature_provided",
    "access_key_id",
)


@dataclass
class ServerError:
    """What a server said, as far as it can be read."""

    code: str | None = None
    message: str = ""
    canonical_request: str | None = None
    string_to_sign: str | None = None
    signature_provided: str | None = None
    access_key_id: str | None = None
    details: dict[str, str] = field(default_factory=dict)
    format: str = "text"

    @property
    def about_signature(self) -> bool:
        """The error concerns the signature, so a diagnosis can say something."""
        return (
            self.canonical_request is not None
            or self.string_to_sign is not None
            or self.code in SIGNATURE_CODES
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_error(cls, exc: SignatureError) -> ServerError:
        """What sigv4kit's own verifier said, read like any server's answer."""
        shared = {name: getattr(exc, name) for name in _ERROR_FIELDS}
        return cls(**shared, details=dict(exc.details), format="verifier")


_SHOULD_HAVE_BEEN = re.compile(
    r"The Canonical String for this request should have been\s*'(?P<cr>.*?)'\s*"
    r"The String-to-Sign should have been\s*'(?P<sts>[^']*)'",
    re.DOTALL,
)
_XML_FIELD = re.compile(r"<(?P<name>[A-Za-z]+)>(?P<value>[^<]*)</(?P=name)>", re.DOTALL)
_KNOWN_FIELDS = (
    "Code",
    "Message",
    "CanonicalRequest",
    "CanonicalRequestBytes",
    "StringToSign",
    "StringToSignBytes",
    "SignatureProvided",
    "AWSAccessKeyId",
)


def _xml_unescape(text: str) -> str:
    from xml.sax.saxutils import unescape

    text = re.sub(r"&#x([0-9A-Fa-f]+);", lambda m: chr(int(m.group(1), 16)), text)
    text = re.sub(r"&#([0-9]+);", lambda m: chr(int(m.group(1))), text)
    return unescape(text, {"&quot;": '"', "&apos;": "'"})


def _text(fields: dict[str, str], name: str) -> str | None:
    """S3's ``<name>Bytes`` (hex bytes, exact) when readable, else ``<name>``."""
    try:
        exact = bytes(int(b, 16) for b in fields[name + "Bytes"].split()).decode("utf-8")
    except (KeyError, ValueError, UnicodeDecodeError):
        exact = ""
    return exact or fields.get(name)


def parse_error_body(body: str | bytes) -> ServerError:
    """Read an S3 XML error, an AWS JSON/XML error, or a bare message.

    The input is untrusted text: no XML parser runs over it (simple elements
    are read with a regular expression, so entity tricks do nothing) and it
    is cut at 1 MiB.
    """
    if isinstance(body, bytes):
        body = body[:MAX_BODY].decode("utf-8", "replace")
    text = body[:MAX_BODY].strip()
    err = ServerError()
    fields: dict[str, str] = {}
    if text.startswith("<"):
        for m in _XML_FIELD.finditer(text):
            fields.setdefault(m.group("name"), _xml_unescape(m.group("value")))
        err.format = "s3-xml" if "CanonicalRequest" in fields or "<Error>" in text[:200] else "xml"
    elif text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            err.format = "json"
            fields.update(_json_fields(doc))
    if fields:
        err.code = fields.get("Code")
        err.message = fields.get("Message", "")
        err.canonical_request = _text(fields, "CanonicalRequest")
        err.string_to_sign = _text(fields, "StringToSign")
        err.signature_provided = fields.get("SignatureProvided")
        err.access_key_id = fields.get("AWSAccessKeyId")
        err.details = {
            k: v for k, v in fields.items() if k not in _KNOWN_FIELDS and k not in ("Error",)
        }
    else:
        err.message = text
    if err.code and "#" in err.code:
        err.code = err.code.rpartition("#")[2]
    hit = _SHOULD_HAVE_BEEN.search(err.message) or _SHOULD_HAVE_BEEN.search(text)
    if hit is not None:
        if err.canonical_request is None:
            err.canonical_request = hit.group("cr")
        if err.string_to_sign is None:
            err.string_to_sign = hit.group("sts")
        if err.format == "text":
            err.format = "aws-message"
    if err.canonical_request is not None:
        err.canonical_request = err.canonical_request.replace("\r\n", "\n")
    if err.string_to_sign is not None:
        err.string_to_sign = err.string_to_sign.replace("\r\n", "\n").strip()
    return err


def _json_fields(doc: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in doc.items():
        if isinstance(value, dict):
            for k, v in _json_fields(value).items():
                out.setdefault(k, v)
            continue
        if not isinstance(value, str):
            continue
        lk = key.lower()
        if lk == "message":
            out.setdefault("Message", value)
        elif lk in ("__type", "code", "type"):
            out.setdefault("Code", value)
        else:
            out.setdefault(key[:1].upper() + key[1:], value)
    return out
