"""The ``request`` command: sign and send a request, like curl, with one retry in the
next payload mode when the server refuses one and a diagnosis when it refuses the
signature."""

from __future__ import annotations

import http.client
import io
import sys
from collections.abc import Callable
from functools import partial
from typing import IO, Any

import click

from ..client._common import is_checksum_header, without_checksums
from ..config import CHECKSUM_HEADERS
from ..credentials import Credentials
from ..diagnose import ClientView, diagnose, parse_error_body
from ..modes import (
    PAYLOAD_SIGNED,
    PAYLOAD_STREAMING,
    PAYLOAD_STREAMING_TRAILER,
    PAYLOAD_STREAMING_UNSIGNED_TRAILER,
    PAYLOAD_UNSIGNED,
)
from ..signer import SignedRequest, Signer
from ._common import CONTEXT, errors, host_of, infer, presign_with
from ._fallback import Fallback, memory_path
from ._http import Response, send, stderr_is_tty
from ._options import Body, RequestOptions, presign_options, request_arguments
from ._render import print_diagnosis, print_request

__all__ = ["request"]

# Every payload mode but streaming-events (a separate protocol), in the order --help shows.
_MODES = [
    PAYLOAD_SIGNED,
    PAYLOAD_UNSIGNED,
    PAYLOAD_STREAMING,
    PAYLOAD_STREAMING_TRAILER,
    PAYLOAD_STREAMING_UNSIGNED_TRAILER,
]
_TRAILERS = ("streaming-trailer", "streaming-unsigned-trailer")


@click.command(context_settings=CONTEXT)
@request_arguments()
@click.option("-o", "--output", metavar="FILE", help="Write the response body to FILE.")
@click.option("-i", "--include", is_flag=True, help="Print the response status and headers.")
@click.option("-v", "--verbose", is_flag=True, help="Print the request sent (token hidden).")
@click.option(
    "--streaming",
    is_flag=True,
    help="Upload as signed aws-chunked (STREAMING-AWS4-HMAC-SHA256-PAYLOAD); no pre-hashing.",
)
@click.option(
    "--payload-mode",
    type=click.Choice(_MODES),
    help="How to send the body (S3): hashed and signed (default), UNSIGNED-PAYLOAD, or "
    "aws-chunked (streaming*).  A server that refuses the mode gets one retry in the next "
    "mode its provider profile allows (noted on stderr, remembered for the endpoint).",
)
@click.option(
    "--checksum",
    type=click.Choice(list(CHECKSUM_HEADERS)),
    help="Trailing checksum for the streaming-*trailer modes (default crc32).",
)
@presign_options("Print a presigned URL instead of sending.")
@click.option("--fail", is_flag=True, help="Exit 22 with a one-line reason on HTTP errors.")
@click.option("-k", "--insecure", is_flag=True, help="Do not verify the TLS certificate.")
@click.option("--cacert", metavar="FILE", help="CA bundle to verify the server with.")
@click.option(
    "--timeout", type=float, default=60.0, show_default=True, help="Network timeout in seconds."
)
def request(
    method: str,
    url: str,
    output: str | None,
    include: bool,
    verbose: bool,
    streaming: bool,
    payload_mode: str | None,
    checksum: str | None,
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
    opts.region, opts.service = infer(opts, host_of(url))
    if opts.presign:
        with errors():
            click.echo(presign_with(opts, method, url)[0].url)
        return
    if payload_mode and (streaming or opts.unsigned_payload or opts.payload_hash):
        raise click.UsageError(
            "--payload-mode replaces --streaming/--unsigned-payload/--payload-hash; give one"
        )
    deliver = partial(
        _transfer, output=output, include=include, timeout=timeout, insecure=insecure, cacert=cacert
    )
    mode = payload_mode or ("streaming" if streaming else None)
    signed, resp = _send(opts, method, url, mode, checksum, deliver=deliver, verbose=verbose)
    if resp.status >= 400:
        _report_failure(signed, resp, fail=fail)


def _send(
    opts: RequestOptions,
    method: str,
    url: str,
    mode: str | None,
    checksum: str | None,
    *,
    deliver: Callable[..., Response],
    verbose: bool,
) -> tuple[SignedRequest, Response]:
    """Sign and send, in the payload mode the flags, a saved profile or a past refusal
    chose; retry once in the next mode when the server refuses this one."""
    header_list = opts.header_list()
    body = opts.body()

    def sign(
        headers: list[tuple[str, str]], payload: str | None
    ) -> tuple[SignedRequest, Credentials]:
        payload = payload or opts.payload()
        with errors():
            creds = opts.credentials()
            signer = opts.signer(creds)
            if payload in _TRAILERS:
                signer = Signer(creds, config=signer.config.replace(checksum=checksum or "crc32"))
            if payload is None and body.file is not None and not body.seekable:
                raise click.UsageError(
                    "standard input cannot be hashed before it is sent; add --unsigned-payload "
                    "or --streaming"
                )
            return signer.sign(
                method,
                url,
                headers,
                body=body.for_signer(),
                timestamp=opts.timestamp,
                payload=payload,
            ), creds

    try:
        if mode is None and not (opts.unsigned_payload or opts.payload_hash):
            mode = _saved_mode(opts, method, url, body)
        fb = _fallback_for(opts, method, url, header_list, body, mode)
        if fb is not None and (known := fb.remembered()) is not None:
            click.echo(
                f"sigv4kit: sending {known} to {fb.endpoint}: it refused {fb.mode} before "
                f"(remembered in {memory_path()})",
                err=True,
            )
            mode, header_list = _apply(known, header_list)
            fb = None
        signed, creds = sign(header_list, mode)
        if verbose:
            print_request(signed, creds.session_token)
        resp = deliver(signed, body, may_retry=fb.wants_retry if fb is not None else None)
        if fb is not None and fb.step is not None and resp.retry:
            step = fb.step
            if not step.checksum:
                header_list = without_checksums(header_list)
            body.rewind()
            signed, _ = sign(header_list, step.payload)
            resp = deliver(signed, body)
            if resp.status < 400:
                fb.remember()
    finally:
        body.close()
    return signed, resp


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
    output: str | None,
    include: bool,
    timeout: float,
    insecure: bool,
    cacert: str | None,
    may_retry: Callable[[int, str | None, str | None], bool] | None = None,
) -> Response:
    """Send ``signed``; the response body goes to ``output`` or standard output.

    With ``may_retry``, an error answer is held back and shown to it first:
    when it says the request will be retried, the answer is dropped (and
    ``resp.retry`` set), so the output holds only the final answer.
    Exits 7 (as curl does) when the server cannot be reached.
    """
    out_file: Any = open(output, "wb") if output is not None else None  # closed below
    try:
        real = out_file if out_file is not None else sys.stdout.buffer
        held = io.BytesIO()
        holding = False

        def sink_for(resp: Response) -> IO[bytes]:
            """Where the answer goes: held back when it is an error that may be retried."""
            nonlocal holding
            holding = may_retry is not None and resp.status >= 400
            sink = held if holding else real
            if include:
                head = [f"{resp.version} {resp.status} {resp.reason}"]
                head += [f"{n}: {v}" for n, v in resp.headers]
                sink.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1", "replace"))
                sink.flush()
            return sink

        try:
            resp = send(
                signed.method,
                signed.url,
                list(signed.headers),
                signed.body if (signed.body is not None or body.present) else None,
                # An aws-chunked body is longer than the data: its length is not known.
                body_size=None if signed.payload_hash.startswith("STREAMING-") else body.size,
                out=real,
                timeout=timeout,
                insecure=insecure,
                cacert=cacert,
                progress=_progress if stderr_is_tty() else None,
                before_body=sink_for,
            )
            if holding and may_retry is not None:
                err = parse_error_body(resp.error_body)
                resp.retry = may_retry(resp.status, err.code, err.message)
                if not resp.retry:
                    real.write(held.getvalue())
                    real.flush()
            return resp
        except (OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", None) or exc
            click.echo(f"sigv4kit: cannot reach {host_of(signed.url)}: {reason}", err=True)
            sys.exit(7)
    finally:
        if out_file is not None:
            out_file.close()


def _fallback_for(
    opts: RequestOptions,
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: Body,
    mode: str | None,
) -> Fallback | None:
    """A fallback plan when a refused mode could be retried: S3, a replayable body."""
    if opts.service != "s3" or method not in ("PUT", "POST") or opts.payload_hash:
        return None
    if not body.present or not body.seekable:
        return None
    first = mode or ("unsigned" if opts.unsigned_payload else "signed")
    checksum = any(is_checksum_header(n) for n, _ in headers) or first in _TRAILERS
    return Fallback(url, first, checksum)


def _saved_mode(opts: RequestOptions, method: str, url: str, body: Body) -> str | None:
    """The upload mode ``probe --save`` measured for this endpoint, for an S3 upload."""
    if opts.service != "s3" or method not in ("PUT", "POST") or not body.present:
        return None
    from ..probe.profiles import endpoint_key, load_user_profiles

    try:
        saved = load_user_profiles().get(endpoint_key(url))
    except (OSError, ValueError):
        return None
    if saved is None:
        return None
    mode = saved.upload_mode
    if mode == "unsigned" and not url.lower().startswith("https://"):
        mode = next((m for m in saved.upload_modes if m != "unsigned"), "signed")
    if mode.startswith("streaming") and method == "POST":
        return None  # a form or API POST, not an object upload
    click.echo(f"sigv4kit: sending {mode} to {endpoint_key(url)} (saved profile)", err=True)
    return mode


def _apply(known: str, headers: list[tuple[str, str]]) -> tuple[str, list[tuple[str, str]]]:
    """A remembered "mode[+checksum]": the mode, and the headers without checksums if dropped."""
    mode, _, keep = known.partition("+")
    return mode, headers if keep else without_checksums(headers)


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
