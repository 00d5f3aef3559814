"""The calculator's "canonical inputs" mode, and the rules it shares with the request mode.

The classic online "AWS Signature V4 Calculator" asks for the parts of the
canonical request verbatim: the canonical URI, the canonical query string,
the canonical headers as ``name:value`` lines (``host:`` and
``x-amz-date:`` among them) and the signed headers separated by semicolons.
This mode takes exactly that, joins it into the canonical request without
re-encoding anything, and signs it: what you type is what is hashed.  Lines
that are not in canonical form are signed as typed, with a note saying so.

Shared with the request mode: signed headers may be separated by semicolons
or commas, and an ``x-amz-date`` line gives the signing time (a note on the
page when the timestamp field says otherwise).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from ..canonical import CanonicalRequest
from ..credentials import Credentials
from ..diagnose import explain
from ..errors import InvalidFormField, SigV4Error
from ..signed import HeaderList, SignedRequest
from ..signer import Signer, parse_timestamp

__all__ = ["compute_canonical", "make_signer", "signed_header_names", "signing_time"]

_SEPARATORS = re.compile(r"[;,\s]+")
_CANONICAL_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9a-z]+")


def signed_header_names(text: str) -> list[str]:
    """The signed-header names typed, separated by semicolons, commas or spaces."""
    return [h for h in _SEPARATORS.split(text.strip()) if h]


def _parse_time(text: str, field: str, what: str) -> str:
    try:
        return parse_timestamp(text.strip())
    except SigV4Error as exc:
        raise InvalidFormField(
            field,
            f"malformed timestamp in {what}: {exc}. Use 20130524T000000Z or 2013-05-24T00:00:00Z",
        ) from None


def signing_time(
    typed: str, x_amz_date: str | None, notes: list[str], *, header_field: str
) -> str | None:
    """The signing time: the ``x-amz-date`` line when there is one, else the typed field.

    ``None`` means now.  When both are given and disagree the ``x-amz-date``
    line wins (it is what gets signed and sent) and a note says so.
    """
    typed_amz = _parse_time(typed, "timestamp", "the timestamp field") if typed.strip() else None
    if x_amz_date is None or not x_amz_date.strip():
        return typed_amz
    amz = _parse_time(x_amz_date, header_field, "the x-amz-date line")
    if typed_amz is not None and typed_amz != amz:
        notes.append(
            f"The timestamp field says {typed_amz} but the x-amz-date line says {amz}: "
            f"signed at {amz}, the time in x-amz-date (the header that is signed and sent). "
            "Clear the timestamp field or change the line to make them agree."
        )
    elif typed_amz is None:
        notes.append(f"Signing time {amz}, taken from the x-amz-date line.")
    return amz


def _header_lines(text: str, notes: list[str]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for lineno, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name:
            raise InvalidFormField(
                "canonical_headers", f"line {lineno}: write canonical headers as 'name:value'"
            )
        if not _CANONICAL_NAME.fullmatch(name):
            notes.append(
                f"Canonical header line {lineno} ({name!r}) is not a lowercase header name; "
                "it is signed as typed."
            )
        if value != " ".join(value.split()):
            notes.append(
                f"Canonical header line {lineno}: the value has leading, trailing or repeated "
                "spaces, which canonical form trims; it is signed as typed."
            )
        pairs.append((name, value))
    return pairs


def compute_canonical(f: dict[str, str], creds: Credentials, notes: list[str]) -> dict[str, Any]:
    """Sign the canonical request given part by part; the page's result dict."""
    method = f["method"].strip() or "GET"
    uri = f["canonical_uri"].strip() or "/"
    query = f["canonical_query"].strip()
    pairs = _header_lines(f["canonical_headers"], notes)
    if not pairs:
        raise InvalidFormField(
            "canonical_headers", "enter the canonical headers, one 'name:value' per line"
        )
    names = signed_header_names(f["signed_headers"])
    if not names:
        names = [n for n, _ in pairs]
        notes.append("No signed headers given: signing every canonical header line.")
    typed = {n for n, _ in pairs}
    missing = [n for n in names if n not in typed]
    if missing:
        raise InvalidFormField(
            "signed_headers",
            f"signed header {', '.join(missing)} has no canonical header line: add "
            f"'{missing[0]}:value' under Canonical headers or remove it here",
        )
    unlisted = [n for n in typed if n not in names]
    if unlisted:
        notes.append(
            f"Canonical header {', '.join(unlisted)} is not in the signed headers; a server "
            "only canonicalizes the signed ones, so it would not be part of its canonical "
            "request. Signed as typed."
        )
    if f["unsigned_payload"] in ("1", "true", "on"):
        payload_hash = "UNSIGNED-PAYLOAD"
    else:
        payload_hash = hashlib.sha256(f["payload"].encode("utf-8")).hexdigest()
    x_amz_date = next((v for n, v in pairs if n.lower() == "x-amz-date"), None)
    amz = signing_time(f["timestamp"], x_amz_date, notes, header_field="canonical_headers")
    if amz is None:
        raise InvalidFormField(
            "timestamp",
            "give the signing time: an x-amz-date line under Canonical headers, or the "
            "timestamp field",
        )
    signed_headers = ";".join(names)
    # The six parts as typed: built from its parts, the canonical-request value re-encodes
    # nothing.  Signed as such, it is explained like any other signature.
    block = "".join(f"{n}:{v}\n" for n, v in pairs)
    creq = CanonicalRequest(method, uri, query, block, signed_headers, payload_hash)
    signer = make_signer(f, creds, service_example="execute-api")
    sts, signature = signer.sign_canonical_request(creq.text, amz, creds)
    scope = sts.split("\n")[2]
    auth = f"{signer.config.algorithm} Credential={creds.access_key_id}/{scope}, "
    auth += f"SignedHeaders={signed_headers}, Signature={signature}"
    headers = HeaderList([*pairs, ("Authorization", auth)])
    signed = SignedRequest(
        method, "", headers, None, creq, sts, signature, auth, scope, amz, signer.config
    )
    return {**explain(signed), "canonical_inputs": True, "curl": ""}


def make_signer(
    f: dict[str, str],
    creds: Credentials,
    *,
    service_example: str,
    signed_headers: list[str] | None = None,
) -> Signer:
    """The Signer the scope fields describe (both modes)."""
    v4a = f["algorithm"].lower() in ("sigv4a", "aws4-ecdsa-p256-sha256")
    region_set = [r.strip() for r in f["region_set"].split(",") if r.strip()] if v4a else None
    if not f["service"].strip():
        raise InvalidFormField("service", f"enter the service, e.g. {service_example}")
    if not f["region"].strip() and not region_set:
        raise InvalidFormField("region", "enter the region, e.g. us-east-1")
    return Signer(
        creds,
        f["region"].strip(),
        f["service"].strip(),
        algorithm="sigv4a" if v4a else "sigv4",
        region_set=region_set,
        signed_headers=signed_headers,
    )
