"""The calculator's one computation: form fields in, every stage out.

Plain data both ways (a dict of strings from the page, a JSON-ready dict
back) so the loopback server stays a thin shell and this can be tested
without a browser.  Bad input never raises: each problem comes back as a
message attached to the field that caused it, for the page to show inline.
"""

from __future__ import annotations

import shlex
from typing import Any

from ..credentials import Credentials
from ..diagnose import ClientView, diagnose, explain, parse_error_body
from ..errors import InvalidFormField, PresignOutlivesCredentials, SigV4Error
from ..presigning import MAX_PRESIGN_EXPIRES, amz_datetime
from ..signer import SignedRequest, parse_timestamp
from ._canonical import compute_canonical, make_signer, signed_header_names, signing_time

__all__ = ["FIELDS", "InvalidFormField", "compute"]

#: The form fields the page sends (all strings).
FIELDS = (
    "access_key",
    "secret_key",
    "session_token",
    "region",
    "service",
    "method",
    "url",
    "headers",
    "payload",
    "timestamp",
    "algorithm",
    "region_set",
    "mode",
    "expires",
    "signed_headers",
    "unsigned_payload",
    "show_token",
    "error_body",
    "input_mode",
    "canonical_uri",
    "canonical_query",
    "canonical_headers",
    "expiration",
    "cap_expires",
)


def _headers(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for lineno, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        if not line.strip():
            continue
        if line[0] in " \t" and out:
            # A folded line continues the previous header, as in raw HTTP.
            name, value = out[-1]
            out[-1] = (name, f"{value} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise InvalidFormField("headers", f"line {lineno}: write headers as 'Name: value'")
        if name != name.strip():
            raise InvalidFormField("headers", f"line {lineno}: no spaces around the header name")
        out.append((name, value.strip(" \t")))
    return out


def _url(url: str, headers: list[tuple[str, str]]) -> str:
    url = url.strip()
    if not url:
        raise InvalidFormField("url", "enter a URL, or a path such as /test.txt with a Host header")
    if url.startswith("/"):
        host = next((v for n, v in headers if n.lower() == "host"), None)
        if not host:
            raise InvalidFormField(
                "headers",
                "missing host: a path needs a 'Host: ...' header (or give a full URL)",
            )
        return f"https://{host.strip()}{url}"
    if "://" not in url:
        raise InvalidFormField("url", "the URL needs a scheme: https://host/path")
    return url


def _field_for(message: str) -> str:
    m = message.lower()
    for key, field in (
        ("timestamp", "timestamp"),
        ("signed_headers", "signed_headers"),
        ("signed header", "signed_headers"),
        ("header", "headers"),
        ("url", "url"),
        ("host", "url"),
        ("region_set", "region_set"),
        ("region", "region"),
        ("service", "service"),
        ("access_key", "access_key"),
        ("secret", "secret_key"),
        ("session_token", "session_token"),
        ("expires", "expires"),
        ("method", "method"),
        ("payload", "payload"),
    ):
        if key in m:
            return field
    return "general"


def curl_command(signed: SignedRequest, *, presigned: bool, payload: bytes) -> str:
    """A curl command that sends exactly the signed request, each flag on a line with its value."""
    url = shlex.quote(signed.url)
    if signed.method == "HEAD":
        lines = ["curl --head", url]
    elif signed.method != "GET" or (payload and not presigned):
        lines = ["curl", f"-X {signed.method}", url]
    else:
        lines = [f"curl {url}"]
    # curl sends the URL's host itself.
    lines += [f"-H {shlex.quote(f'{n}: {v}')}" for n, v in signed.headers if n.lower() != "host"]
    if payload:
        lines.append(f"--data-binary {shlex.quote(payload.decode('utf-8', 'replace'))}")
    return " \\\n  ".join(lines)


def compute(form: dict[str, Any]) -> dict[str, Any]:
    """Sign what the form describes; return every stage or field errors."""
    f = {k: str(form.get(k) or "") for k in FIELDS}
    try:
        return _compute(f)
    except InvalidFormField as exc:
        return {"ok": False, "errors": [{"field": exc.field, "message": exc.message}]}
    except SigV4Error as exc:
        msg = str(exc)
        return {"ok": False, "errors": [{"field": _field_for(msg), "message": msg}]}


def _on(value: str) -> bool:
    return value in ("1", "true", "on")


def _credentials(f: dict[str, str]) -> Credentials:
    expiration = None
    if f["expiration"].strip():
        try:
            amz = parse_timestamp(f["expiration"].strip())
        except SigV4Error as exc:
            raise InvalidFormField(
                "expiration",
                f"malformed expiry time: {exc}. Use 20130524T001000Z or 2013-05-24T00:10:00Z",
            ) from None
        expiration = amz_datetime(amz)
    try:
        return Credentials(
            f["access_key"].strip(),
            f["secret_key"],
            f["session_token"].strip() or None,
            expiration=expiration,
        )
    except SigV4Error as exc:
        field = "secret_key" if "secret" in str(exc) else _field_for(str(exc))
        if "access_key" in str(exc):
            field = "access_key"
        raise InvalidFormField(field, str(exc)) from None


def _signed_headers(f: dict[str, str], headers: list[tuple[str, str]]) -> list[str] | None:
    """The names typed under "Headers to sign" (semicolons or commas), checked."""
    signed_headers = signed_header_names(f["signed_headers"]) or None
    if signed_headers:
        present = {n.lower() for n, _ in headers} | {"host"}
        missing = [
            h
            for h in signed_headers
            if h.lower() not in present and not h.lower().startswith("x-amz-")
        ]
        if missing:
            raise InvalidFormField(
                "signed_headers",
                f"signed header {', '.join(missing)} is not present: add it under Headers "
                "or remove it here",
            )
    return signed_headers


def _compute(f: dict[str, str]) -> dict[str, Any]:
    errors: list[dict[str, str]] = []
    if not f["access_key"].strip():
        errors.append({"field": "access_key", "message": "enter an access key id"})
    if not f["secret_key"]:
        errors.append({"field": "secret_key", "message": "enter the secret access key"})
    if errors:
        return {"ok": False, "errors": errors}
    creds = _credentials(f)
    notes: list[str] = []
    if f["input_mode"] == "canonical":
        result = compute_canonical(f, creds, notes)
        return {"ok": True, "errors": [], "notes": notes, "result": result}
    headers = _headers(f["headers"])
    x_amz_date = next((v for n, v in headers if n.lower() == "x-amz-date"), None)
    timestamp = signing_time(f["timestamp"], x_amz_date, notes, header_field="headers")
    url = _url(f["url"], headers)
    method = (f["method"].strip() or "GET").upper()
    signer = make_signer(f, creds, service_example="s3", signed_headers=_signed_headers(f, headers))
    payload = f["payload"].encode("utf-8")
    presign = f["mode"] == "presign"
    payload_mode = "unsigned" if _on(f["unsigned_payload"]) else None
    if presign:
        try:
            signed = signer.presign_request(
                method,
                url,
                headers,
                expires=_expires(f),
                timestamp=timestamp,
                body=payload,
                payload=payload_mode,
                cap_expires=_on(f["cap_expires"]),
            )
        except PresignOutlivesCredentials as exc:
            raise InvalidFormField("expires", str(exc)) from None
    else:
        signed = signer.sign(
            method, url, headers, body=payload, timestamp=timestamp, payload=payload_mode
        )
    # The canonical request on the page hides the session token unless asked;
    # the URL, headers and curl command keep it (they are what you send).
    result = explain(
        signed,
        credentials=creds,
        show_token=_on(f["show_token"]),
        presigned=presign,
        keep_sendable=True,
    )
    result["curl"] = curl_command(signed, presigned=presign, payload=payload)
    out: dict[str, Any] = {"ok": True, "errors": [], "notes": notes, "result": result}
    if f["error_body"].strip():
        server = parse_error_body(f["error_body"])
        d = diagnose(server, ClientView(signed.canonical_request, signed.string_to_sign))
        out["diagnosis"] = d.as_dict()
    return out


def _expires(f: dict[str, str]) -> int:
    try:
        expires = int(f["expires"].strip() or "3600")
    except ValueError:
        raise InvalidFormField("expires", "expiry is a whole number of seconds") from None
    if not 1 <= expires <= MAX_PRESIGN_EXPIRES:
        raise InvalidFormField(
            "expires", f"expiry must be 1 to {MAX_PRESIGN_EXPIRES} seconds (7 days)"
        )
    return expires
