"""What the gateway answers once it knows who signed: pure verdict mapping.

The signature says *who* sent a request; these functions say whether that
key may do it, and with which S3 error when not:

* the key's policy (allowed methods and path prefixes, from the key store)
  refuses -> ``403 AccessDenied``, S3's answer for an authenticated request
  its policy does not allow;
* the replay cache saw the same access key and string to sign before ->
  ``403 AccessDenied`` (a replayed request is an unauthorized one);
* the key's rate limit is spent -> ``503 SlowDown``, S3's "reduce your
  request rate", which every SDK retries with back-off;
* the key store cannot answer for a key the node has not cached ->
  ``503 ServiceUnavailable``: an outage must never look like "this key does
  not exist" (403 ``InvalidAccessKeyId``), which clients do not retry;
* the replay cache is unreachable -> ``503 ServiceUnavailable`` when failing
  closed (the default), or allowed when the operator chose to fail open;
* the upstream cannot be reached (refused, reset, closed before answering)
  -> ``502 BadGateway``; it stayed silent past ``--upstream-timeout`` ->
  ``504 GatewayTimeout``.  S3 has no codes for these (it has no upstream):
  the codes name the HTTP status, which SDKs retry on whatever the code.

The path a policy is checked against is the decoded request path; for a
browser POST it is ``/bucket/key`` from the form, since that is the object
the upload writes; a copy (``x-amz-copy-source``) must also be allowed to
GET its source.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import unquote

from ..errors import (
    AccessDenied,
    ReplayDetected,
    ServiceUnavailable,
    SignatureError,
    SlowDown,
    StoreUnavailable,
    UpstreamTimeout,
    UpstreamUnavailable,
)

__all__ = [
    "UpstreamTimeout",
    "UpstreamUnavailable",
    "Verdict",
    "copy_source_path",
    "policy_path",
    "rate_verdict",
    "replay_verdict",
    "store_unavailable",
    "upstream_failure",
]

#: A policy check: ``allows(method, path) -> bool``.
Allows = Callable[[str, str], bool]
Verdict = SignatureError | None


def policy_path(target: str, *, form: Mapping[str, str] | None = None) -> str:
    """The path a key policy is checked against.

    ``target`` is the request target as received; its path is
    percent-decoded so ``/b/a%20b`` matches a prefix ``/b/a b``.  A browser
    POST writes ``form["key"]`` into the bucket named by the path, so its
    path is ``/bucket/key``.
    """
    path = target.partition("?")[0]
    if "%" in path:
        path = unquote(path)
    path = path or "/"
    if form is not None and "key" in form:
        bucket = path.strip("/").partition("/")[0]
        return f"/{bucket}/{form['key']}" if bucket else f"/{form['key']}"
    return path


def copy_source_path(value: str) -> str:
    """The path a copy reads (``x-amz-copy-source: bucket/key?versionId=...``), decoded.

    CopyObject and UploadPartCopy read the source with the *upstream's*
    authority: a key allowed to write one bucket must not copy out of a
    bucket it may not read, so the source is checked as a GET.  A source that
    is not a bucket and key (an access point ARN) gives ``""``, which no
    path-restricted policy allows.
    """
    path = value.strip().partition("?")[0]
    if path.startswith("arn:"):
        return ""
    return "/" + unquote(path).lstrip("/")


def policy_verdict(
    allows: Allows | None, method: str, path: str, copy_source: str | None = None
) -> Verdict:
    """``AccessDenied`` when the key's policy does not allow ``method`` on ``path``
    (or, for a copy, GET on the source it reads)."""
    if allows is None:
        return None
    if allows(method.upper(), path) and (
        copy_source is None or allows("GET", copy_source_path(copy_source))
    ):
        return None
    return AccessDenied("Access Denied")


def replay_verdict(seen_before: bool | None, *, fail_open: bool) -> Verdict:
    """The answer to a replay-cache check.

    ``seen_before`` is True (a replay), False (first use) or None (the cache
    could not be asked).
    """
    if seen_before is None:
        if fail_open:
            return None
        return ServiceUnavailable(
            "Service is unable to handle request: the replay cache cannot be reached "
            "(the gateway fails closed; --replay-fail-open accepts requests instead)."
        )
    if seen_before:
        return ReplayDetected()
    return None


def rate_verdict(allowed: bool | None, *, fail_open: bool) -> Verdict:
    """``SlowDown`` when the key's shared token bucket is empty.

    ``allowed`` None means the limiter could not be asked (Redis down); the
    replay cache's fail-open choice applies to it too.
    """
    if allowed is None:
        if fail_open:
            return None
        return ServiceUnavailable(
            "The rate limiter is unreachable; the gateway refuses requests until it is back."
        )
    if allowed:
        return None
    return SlowDown()


def store_unavailable() -> SignatureError:
    """The answer for an unknown key while the key store is unreachable."""
    return StoreUnavailable(
        "Service is unable to handle request: the key store cannot be reached and this "
        "access key is not cached on this node; retry shortly."
    )


def upstream_failure(status: int, reason: str) -> SignatureError:
    """The S3-style error for the engine's 502/504 (``reason``: its one-line text)."""
    message = reason.removeprefix("sigv4kit: ").strip()
    if message:
        message = message[0].upper() + message[1:]
    if status == 504:
        return UpstreamTimeout(message or None)
    return UpstreamUnavailable(message or None)
