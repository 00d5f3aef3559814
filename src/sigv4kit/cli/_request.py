"""The ``request`` command: sign and send a request, like curl.

The command parses options; :func:`_transfer` moves the bytes (through
:mod:`._http`) and :func:`_report_failure` hands a signature failure to
:mod:`sigv4kit.diagnose`.
"""

from __future__ import annotations

import http.client
import sys
from typing import Any

import click

from ..credentials import Credentials
from ..diagnose import ClientView, diagnose, parse_error_body
from ..signer import SignedRequest
from ._common import CONTEXT, errors, headers_of, host_of, infer
from ._http import Response, send, stderr_is_tty
from ._options import (
    Body,
    RequestOptions,
    credential_options,
    open_body,
    request_options,
    signing_options,
)
from ._report import print_diagnosis, print_request

__all__ = ["request"]


@click.command(context_settings=CONTEXT)
@click.argument("method")
@click.argument("url")
@request_options
@signing_options
@credential_options
@click.option("-o", "--output", metavar="FILE", help="Write the response body to FILE.")
@click.option("-i", "--include", is_flag=True, help="Print the response status and headers.")
@click.option("-v", "--verbose", is_flag=True, help="Print the request sent (token hidden).")
@click.option(
    "--streaming",
    is_flag=True,
    help="Upload as signed aws-chunked (STREAMING-AWS4-HMAC-SHA256-PAYLOAD); no pre-hashing.",
)
@click.option("--presign", is_flag=True, help="Print a presigned URL instead of sending.")
@click.option(
    "--expires",
    type=click.IntRange(1, 604800),
    default=3600,
    show_default=True,
    metavar="SECONDS",
    help="Lifetime of the URL (with --presign).",
)
@click.option(
    "--cap-expires",
    is_flag=True,
    help="With --presign: end the URL when the credentials expire (default: refuse).",
)
@click.option("--fail", is_flag=True, help="Exit 22 with a one-line reason on HTTP errors.")
@click.option("-k", "--insecure", is_flag=True, help="Do not verify the TLS certificate.")
@click.option("--cacert", metavar="FILE", help="CA bundle to verify the server with.")
@click.option(
    "--timeout", type=float, default=60.0, show_default=True, help="Network timeout in seconds."
)
def request(
    method: str,
    url: str,
    headers: tuple[str, ...],
    data: str | None,
    data_file: str | None,
    output: str | None,
    include: bool,
    verbose: bool,
    streaming: bool,
    presign: bool,
    expires: int,
    cap_expires: bool,
    fail: bool,
    insecure: bool,
    cacert: str | None,
    timeout: float,
    **kw: Any,
) -> None:
    """Sign and send a request, like curl.

    The region and service are inferred from AWS, Cloudflare R2 (region
    'auto') and other common hostnames when not given (a note says what was
    inferred).  Uploads and downloads over 1 MiB show a progress bar on a
    terminal.  Without --fail an HTTP error still exits 0 (as curl does);
    with --fail it exits 22 with a one-line reason.  A SignatureDoesNotMatch
    answer is diagnosed on standard error.

    \b
    Examples:
      sigv4kit request GET https://my-bucket.s3.eu-west-1.amazonaws.com/photo.jpg -o photo.jpg
      sigv4kit request PUT https://my-bucket.s3.amazonaws.com/big.iso --data-file big.iso
      sigv4kit request PUT https://acct.r2.cloudflarestorage.com/b/k --data-file - \\
          --streaming -H 'X-Amz-Decoded-Content-Length: 1048576' < part.bin
      sigv4kit request POST https://sts.amazonaws.com/ \\
          -d 'Action=GetCallerIdentity&Version=2011-06-15' \\
          -H 'Content-Type: application/x-www-form-urlencoded'
      sigv4kit request GET http://127.0.0.1:9000/bucket/key --region us-east-1 --service s3 -i
      sigv4kit request GET https://b.s3.amazonaws.com/k --presign --expires 600
    """
    opts = RequestOptions.from_kwargs(kw)
    if streaming and (opts.unsigned_payload or opts.payload_hash):
        raise click.UsageError(
            "--streaming cannot be combined with --unsigned-payload/--payload-hash"
        )
    region, service = infer(opts, host_of(url))
    opts.region, opts.service = region, service
    header_list = headers_of(headers)
    if presign:
        with errors():
            signer = opts.signer(opts.credentials(), region, service)
            click.echo(
                signer.presign(
                    method,
                    url,
                    header_list,
                    expires=expires,
                    timestamp=opts.timestamp,
                    payload=opts.payload(),
                    cap_expires=cap_expires,
                )
            )
        return
    body = open_body(data, data_file)
    try:
        with errors():
            signed, creds = _sign_for_send(opts, method, url, header_list, body, streaming)
        if verbose:
            print_request(signed, creds.session_token)
        resp = _transfer(
            signed,
            body,
            size=None if streaming else body.size,
            output=output,
            include=include,
            timeout=timeout,
            insecure=insecure,
            cacert=cacert,
        )
    finally:
        body.close()
    if resp.status >= 400:
        _report_failure(signed, resp, fail=fail)


def _sign_for_send(
    opts: RequestOptions,
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: Body,
    streaming: bool,
) -> tuple[SignedRequest, Credentials]:
    """Sign for sending: a pipe can only be streamed, never hashed first."""
    creds = opts.credentials()
    signer = opts.signer(creds)
    payload = "streaming" if streaming else opts.payload()
    if payload is None and body.file is not None and not body.seekable:
        raise click.UsageError(
            "standard input cannot be hashed before it is sent; add --unsigned-payload "
            "or --streaming"
        )
    signed = signer.sign(
        method, url, headers, body=body.for_signer(), timestamp=opts.timestamp, payload=payload
    )
    return signed, creds


def _progress(label: str, total: int | None) -> Any:
    return click.progressbar(
        length=total,
        label=label,
        file=sys.stderr,
        show_eta=True,
        show_percent=True,
        width=30,
    )


def _transfer(
    signed: SignedRequest,
    body: Body,
    *,
    size: int | None,
    output: str | None,
    include: bool,
    timeout: float,
    insecure: bool,
    cacert: str | None,
) -> Response:
    """Send ``signed``; the response body goes to ``output`` or standard output.

    Exits 7 (as curl does) when the server cannot be reached.
    """
    out_file: Any = open(output, "wb") if output is not None else None  # closed below
    try:
        target = out_file if out_file is not None else sys.stdout.buffer

        def show_head(resp: Response) -> None:
            if include:
                head = [f"{resp.version} {resp.status} {resp.reason}"]
                head += [f"{n}: {v}" for n, v in resp.headers]
                target.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1", "replace"))
                target.flush()

        try:
            return send(
                signed.method,
                signed.url,
                list(signed.headers),
                signed.body if (signed.body is not None or body.present) else None,
                body_size=size,
                out=target,
                timeout=timeout,
                insecure=insecure,
                cacert=cacert,
                progress=_progress if stderr_is_tty() else None,
                before_body=show_head,
            )
        except (OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", None) or exc
            click.echo(f"sigv4kit: cannot reach {host_of(signed.url)}: {reason}", err=True)
            sys.exit(7)
    finally:
        if out_file is not None:
            out_file.close()


def _report_failure(signed: SignedRequest, resp: Response, *, fail: bool) -> None:
    """Diagnose a signature failure on standard error; with ``fail``, exit 22."""
    server = parse_error_body(resp.error_body)
    if server.about_signature:
        client = ClientView(signed.canonical_request, signed.string_to_sign)
        click.echo("", err=True)
        print_diagnosis(diagnose(server, client), err=True)
    if fail:
        code = f" ({server.code})" if server.code else ""
        click.echo(f"sigv4kit: HTTP {resp.status} {resp.reason}{code}", err=True)
        sys.exit(22)
