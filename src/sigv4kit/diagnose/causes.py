"""The causes of ``SignatureDoesNotMatch`` that sigv4kit can name, as data.

One table, :data:`CAUSES`, is the single source for every place a cause is
shown: ``sigv4kit diagnose`` / ``verify`` / ``request``, the calculator and
the documentation's troubleshooting page (which renders the table, so the
page and the tool can never disagree).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["CAUSES", "Cause", "CauseInfo", "cause"]


@dataclass(frozen=True)
class _Text:
    """A record of text fields; ``as_dict()`` is what the JSON outputs print."""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class CauseInfo(_Text):
    """One row of :data:`CAUSES`: a kind of mistake, explained once: what it is, why it
    breaks the signature, what the diagnosis looks at to recognise it, and the fix."""

    id: str
    title: str
    explanation: str
    signs: str
    fix: str


@dataclass(frozen=True)
class Cause(_Text):
    """A cause found in one request: the table's row plus what was seen (``detail``)."""

    id: str
    title: str
    detail: str
    fix: str


_ROWS = (
    CauseInfo(
        "path-encoding",
        "Path encoding",
        "The canonical URI is the path as the service canonicalizes it: S3 encodes each "
        "segment once and keeps '.', '..' and '//' as they are; every other service encodes "
        "the already-encoded path a second time and normalizes it. A client that applies the "
        "other rule, or whose HTTP library re-encodes or normalizes the path after signing, "
        "signs a different canonical URI from the one the server computes.",
        "The canonical URI lines differ; re-signing with the path encoded once instead of "
        "twice (or the reverse), normalized or not, or not encoded at all reproduces the "
        "signature.",
        "S3 encodes the path once and never normalizes it; every other service encodes it "
        "twice and removes '.', '..' and '//'. Sign the path exactly as it is sent, with the "
        "service's rules (--single-encode / --double-encode, --no-normalize-path).",
    ),
    CauseInfo(
        "query-encoding",
        "Query encoding or order",
        "The canonical query string encodes every name and value with the RFC 3986 "
        "unreserved set and sorts the pairs by encoded name, then value. Form encoding "
        "(a space as '+'), lowercase hex, an unencoded '~' or wire order instead of sorted "
        "order all give another string.",
        "The canonical query lines differ: the same pairs in another order, the same values "
        "encoded differently, or parameters added or dropped in transit.",
        "Encode every query name and value with the RFC 3986 unreserved set (uppercase hex, "
        "'~' not encoded, a space as %20, never '+') and sort by encoded name, then value. "
        "Sign the query exactly as it goes on the wire.",
    ),
    CauseInfo(
        "header-whitespace",
        "Header whitespace",
        "Canonical header values are trimmed and inner runs of spaces collapse to one. A "
        "client that hashes the raw value, or a value with an invisible difference (a tab, a "
        "trailing space, another line ending), hashes other bytes than the server.",
        "A signed header differs only in whitespace, or the canonical requests look equal "
        "but hash differently.",
        "Trim header values and collapse inner runs of spaces to one before hashing, or send "
        "the header exactly as it was signed.",
    ),
    CauseInfo(
        "header-changed",
        "A header changed in transit",
        "Every signed header must arrive with the value that was signed. Proxies, load "
        "balancers and HTTP libraries add, rewrite or drop headers (Host with a port, "
        "Content-Type with a charset, Accept-Encoding, Content-Length) after the signature "
        "was computed.",
        "A signed header has another value on the server, arrived without being signed, or "
        "was signed and did not arrive; the signed-header lists differ.",
        "A proxy, load balancer or the HTTP library changed, added or dropped a signed header "
        "after signing. Sign only headers that arrive unchanged (--signed-headers), sign after "
        "the library sets its headers, or send through a path that keeps them.",
    ),
    CauseInfo(
        "payload-hash",
        "Payload hash",
        "The last line of the canonical request is the SHA-256 of the body (or "
        "UNSIGNED-PAYLOAD, or a streaming marker). Signing other bytes than those sent (a "
        "re-encoded JSON body, an added newline, compression) or the empty body's hash "
        "breaks it, and S3 also checks X-Amz-Content-SHA256 against the body it receives.",
        "The payload hash lines differ, the server answers XAmzContentSHA256Mismatch or "
        "BadDigest, or re-signing with the body's hash, the empty hash or UNSIGNED-PAYLOAD "
        "reproduces the signature.",
        "The body the server received does not hash to the payload hash that was signed: sign "
        "the exact bytes sent (encoding, newline at the end, compression), or sign "
        "UNSIGNED-PAYLOAD (--unsigned-payload) where the service allows it.",
    ),
    CauseInfo(
        "wrong-region",
        "Wrong region",
        "The region is part of the credential scope and of the signing key. A request signed "
        "for us-east-1 and sent to an endpoint in another region is rejected, often with the "
        "region the server expected.",
        "The credential scopes differ in the region, or the message names the expected region "
        "(AuthorizationHeaderMalformed, 'the region ... is wrong; expecting ...').",
        "Sign with the region the endpoint is in (the bucket's region for S3).",
    ),
    CauseInfo(
        "wrong-service",
        "Wrong service name",
        "The service in the credential scope is the service's signing name, which is not "
        "always the hostname's first label (execute-api for API Gateway, es for OpenSearch).",
        "The credential scopes differ in the service, or the message says 'Credential should "
        "be scoped to correct service'.",
        "Sign with the service's signing name (e.g. 's3', 'execute-api', 'es', 'lambda').",
    ),
    CauseInfo(
        "clock-skew",
        "Clock skew or wrong timestamp",
        "X-Amz-Date is signed, and servers refuse requests more than about 15 minutes away "
        "from their clock; the credential scope's date must be the UTC day of X-Amz-Date.",
        "RequestTimeTooSkewed, 'Signature expired', or the request dates or scope dates in "
        "the strings to sign differ.",
        "Sync the clock (NTP), sign with the current UTC time, and send the X-Amz-Date that "
        "was signed; the date in the credential scope must be the same day as X-Amz-Date.",
    ),
    CauseInfo(
        "session-token",
        "Session token",
        "Temporary credentials only work with their session token, sent as "
        "X-Amz-Security-Token and usually signed. A token left out, added after signing when "
        "the service wants it signed, expired, or taken from other credentials than the keys "
        "is refused.",
        "The X-Amz-Security-Token header or query parameter differs, one side signed it and "
        "the other not, or the server answers InvalidToken / ExpiredToken.",
        "Temporary credentials need their session token sent as X-Amz-Security-Token "
        "(signed, unless the service wants it added after signing); refresh expired "
        "credentials and send the token of the same credentials as the keys.",
    ),
    CauseInfo(
        "secret-key",
        "Secret key",
        "When the server computes the same canonical request and string to sign as the "
        "client and the signatures still differ, the only input left is the signing key, "
        "derived from the secret access key.",
        "The canonical requests and strings to sign agree, or no common mistake reproduces "
        "the signature with the expected secret.",
        "The canonical request and string to sign agree, so the signing key differs: check the "
        "secret access key (a copy error, a trailing newline, another user's key) and that it "
        "belongs to the access key id sent.",
    ),
    CauseInfo(
        "method",
        "HTTP method changed",
        "The method is the first line of the canonical request; a redirect or a library "
        "that changes it after signing breaks the signature.",
        "The method lines of the canonical requests differ.",
        "Sign the method that is sent (a redirect or a client library may turn POST into GET "
        "or HEAD into GET).",
    ),
    CauseInfo(
        "access-key",
        "Unknown access key id",
        "The server looks the secret up by access key id; an unknown id never gets as far as "
        "a signature check.",
        "The server answers InvalidAccessKeyId.",
        "The server does not know this access key id: check the key, the account and, for "
        "S3-compatible servers, the endpoint.",
    ),
)

#: Every cause the diagnosis can name, by id, in the order they are usually checked.
CAUSES: dict[str, CauseInfo] = {row.id: row for row in _ROWS}


def cause(cid: str, detail: str) -> Cause:
    """A found cause: the table's title and fix for ``cid`` with what was seen."""
    row = CAUSES[cid]
    return Cause(cid, row.title, detail, row.fix)
