"""The bases of the error tree: :class:`SigV4Error`, the three families
(:class:`SigningError`, :class:`SignatureError`, :class:`LimitExceeded`) and
the caller-side bases of credentials and raw requests.  See
:mod:`sigv4kit.errors` for the tree and the naming rule."""

from __future__ import annotations

# typing only for the type checker: importing it costs milliseconds at start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import ClassVar


class SigV4Error(Exception):
    """Base class of every error raised by sigv4kit."""


class SigningError(SigV4Error, ValueError):
    """The input to a signing call is invalid; the message says how to fix it."""


class CredentialsError(SigV4Error):
    """Credentials could not be found, parsed or refreshed."""


class RawRequestError(SigV4Error, ValueError):
    """The text is not an HTTP request we can read."""


def _xml_escape(text: str) -> str:
    # xml.sax.saxutils would pull in urllib.request, http.client and ssl.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _hex_bytes(text: str) -> str:
    # S3 renders the *Bytes fields as space-separated two-digit hex.
    return " ".join(f"{b:02x}" for b in text.encode("utf-8"))


class SignatureError(SigV4Error):
    """A request failed verification.

    ``code`` and ``status`` are what S3 answers for this cause; ``to_xml()``
    renders S3's ``<Error>`` document so an S3-compatible server can send it
    unchanged.  ``details`` holds the extra elements S3 adds for the cause
    (for example ``RequestTime`` and ``ServerTime``); they are public values.
    """

    code: ClassVar[str] = "AccessDenied"
    status: ClassVar[int] = 403
    default_message: ClassVar[str] = "Access Denied"

    def __init__(
        self,
        message: str | None = None,
        *,
        canonical_request: str | None = None,
        string_to_sign: str | None = None,
        signature_provided: str | None = None,
        access_key_id: str | None = None,
        details: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)
        self.canonical_request = canonical_request
        self.string_to_sign = string_to_sign
        self.signature_provided = signature_provided
        self.access_key_id = access_key_id
        self.details: dict[str, str] = dict(details or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"

    def fields(self, *, include_debug: bool = True) -> list[tuple[str, str]]:
        """The ``<Error>`` child elements, in S3's order."""
        out: list[tuple[str, str]] = [("Code", self.code), ("Message", self.message)]
        if self.access_key_id is not None:
            out.append(("AWSAccessKeyId", self.access_key_id))
        if include_debug:
            if self.string_to_sign is not None:
                out.append(("StringToSign", self.string_to_sign))
            if self.signature_provided is not None:
                out.append(("SignatureProvided", self.signature_provided))
            if self.string_to_sign is not None:
                out.append(("StringToSignBytes", _hex_bytes(self.string_to_sign)))
            if self.canonical_request is not None:
                out.append(("CanonicalRequest", self.canonical_request))
                out.append(("CanonicalRequestBytes", _hex_bytes(self.canonical_request)))
        out.extend(self.details.items())
        return out

    def to_xml(self, *, include_debug: bool = True, request_id: str | None = None) -> str:
        """S3's error document.

        ``include_debug=False`` drops the canonical request and string to sign,
        for operators who do not want to reveal how they canonicalize.
        """
        parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<Error>']
        fields = self.fields(include_debug=include_debug)
        if request_id is not None:
            fields.append(("RequestId", request_id))
        for name, value in fields:
            parts.append(f"<{name}>{_xml_escape(value)}</{name}>")
        parts.append("</Error>")
        return "".join(parts)


class LimitExceeded(SigV4Error):
    """A size or count limit was exceeded.

    ``limit`` is the name of the option that sets the limit (for example
    ``max_chunk_size``) and ``value`` the option's setting, so an operator
    sees at once which knob to turn.  Every limit error derives from this
    class as well as from the S3-coded error of its cause.
    """

    limit: str = ""
    value: int = 0


class KeyStoreError(SigV4Error):
    """A key store operation failed; the message says what to fix."""
