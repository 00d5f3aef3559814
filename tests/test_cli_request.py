"""``sigv4kit request`` and ``sigv4kit verify`` against a real server on 127.0.0.1.

The server is a small stdlib HTTP server that verifies every request with
sigv4kit's Verifier and stores objects in memory: an upload is accepted
only if its signature (and payload hash, or aws-chunked chunk signatures)
verify, and a download is only served to a signed request.  The command
runs as a real subprocess; progress bars are checked on a pseudo-terminal.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sigv4kit import Credentials, Signer
from sigv4kit.cli._commands import cli
from sigv4kit.errors import SignatureError
from sigv4kit.verifier import Verifier

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
ENV = {"AWS_ACCESS_KEY_ID": AKID, "AWS_SECRET_ACCESS_KEY": SECRET}


class _Store(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.objects: dict[str, bytes] = {}
        self.verifier = Verifier({AKID: SECRET}, "us-east-1", "s3")
        self.seen: list[tuple[str, str, list[tuple[str, str]]]] = []


class _Handler(BaseHTTPRequestHandler):
    server: _Store
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _reply(self, status: int, body: bytes, ctype: str = "application/xml") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self) -> None:
        body = self._body()
        headers = list(self.headers.items())
        self.server.seen.append((self.command, self.path, headers))
        try:
            ok = self.server.verifier.verify(self.command, self.path, headers, body)
            data = ok.read()
        except SignatureError as exc:
            self._reply(exc.status, exc.to_xml().encode())
            return
        key = self.path.partition("?")[0]
        if self.command == "PUT":
            self.server.objects[key] = data
            self._reply(200, b"")
        elif key in self.server.objects:
            self._reply(200, self.server.objects[key], "application/octet-stream")
        else:
            self._reply(404, b"<Error><Code>NoSuchKey</Code></Error>")

    do_GET = do_PUT = do_HEAD = do_POST = _handle


@pytest.fixture()
def store() -> Iterator[_Store]:
    srv = _Store()
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _base(store: _Store) -> str:
    return f"http://127.0.0.1:{store.server_address[1]}"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_CONFIG_FILE=os.devnull, **ENV)
    env.update(extra)
    return env


def _cmd() -> list[str]:
    exe = Path(sys.executable).with_name("sigv4kit")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "sigv4kit.cli"]


def _run(args: list[str], **kw: Any) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*_cmd(), *args], env=_env(), capture_output=True, timeout=120, **kw)


def _run_tty_stderr(args: list[str]) -> tuple[int, bytes, str]:
    """Run with stderr on a pseudo-terminal (as in an interactive shell)."""
    master, slave = pty.openpty()
    with subprocess.Popen(
        [*_cmd(), *args], env=_env(TERM="xterm"), stdout=subprocess.PIPE, stderr=slave
    ) as proc:
        os.close(slave)
        chunks: list[bytes] = []
        while True:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        out = proc.stdout.read() if proc.stdout else b""
        proc.wait(60)
    os.close(master)
    return proc.returncode, out, b"".join(chunks).decode("utf-8", "replace")


S3 = ["--region", "us-east-1", "--service", "s3"]


def test_upload_and_download_with_progress_on_a_terminal(store: _Store, tmp_path: Path) -> None:
    data = os.urandom(3 << 20)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    url = f"{_base(store)}/bucket/big.bin"
    code, _, err = _run_tty_stderr(["request", "PUT", url, "--data-file", str(src), *S3, "--fail"])
    assert code == 0, err
    assert store.objects["/bucket/big.bin"] == data
    assert "upload" in err and "100%" in err
    dst = tmp_path / "back.bin"
    code, _, err = _run_tty_stderr(["request", "GET", url, "-o", str(dst), *S3, "--fail"])
    assert code == 0, err
    assert dst.read_bytes() == data
    assert "download" in err and "100%" in err


def test_silent_when_not_a_terminal(store: _Store, tmp_path: Path) -> None:
    data = os.urandom(2 << 20)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    url = f"{_base(store)}/bucket/quiet.bin"
    proc = _run(["request", "PUT", url, "--data-file", str(src), *S3])
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""
    proc = _run(["request", "GET", url, *S3])
    assert proc.returncode == 0
    assert proc.stdout == data
    assert proc.stderr == b""


def test_streaming_upload_from_stdin(store: _Store) -> None:
    data = os.urandom(200_000)
    url = f"{_base(store)}/bucket/streamed"
    proc = _run(
        ["request", "PUT", url, "--data-file", "-", "--streaming", *S3, "--fail",
         "-H", f"X-Amz-Decoded-Content-Length: {len(data)}"],
        input=data,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert store.objects["/bucket/streamed"] == data
    method, _, headers = store.seen[-1]
    assert method == "PUT"
    sent = {n.lower(): v for n, v in headers}
    assert sent["x-amz-content-sha256"] == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    assert sent["content-encoding"] == "aws-chunked"


def test_unsigned_payload_from_stdin_and_stdin_needs_a_mode(store: _Store) -> None:
    url = f"{_base(store)}/bucket/piped"
    proc = _run(["request", "PUT", url, "-d", "@-", "--unsigned-payload", *S3], input=b"piped")
    assert proc.returncode == 0, proc.stderr
    assert store.objects["/bucket/piped"] == b"piped"
    proc = _run(["request", "PUT", url, "-d", "@-", *S3], input=b"piped")
    assert proc.returncode == 2
    assert b"--unsigned-payload or --streaming" in proc.stderr


def test_include_headers_and_data(store: _Store) -> None:
    url = f"{_base(store)}/bucket/hello.txt"
    assert _run(["request", "PUT", url, "-d", "hello world", *S3]).returncode == 0
    proc = _run(["request", "GET", url, "-i", *S3])
    text = proc.stdout.decode()
    assert text.startswith("HTTP/1.1 200 OK\r\n")
    assert "Content-Length: 11\r\n" in text
    assert text.endswith("\r\n\r\nhello world")


def test_fail_exit_code_and_diagnosis(store: _Store) -> None:
    url = f"{_base(store)}/bucket/x"
    env = _env(AWS_SECRET_ACCESS_KEY=SECRET + "wrong")
    proc = subprocess.run(
        [*_cmd(), "request", "GET", url, *S3, "--fail"], env=env, capture_output=True, timeout=60
    )
    assert proc.returncode == 22
    err = proc.stderr.decode()
    assert err.strip().endswith("sigv4kit: HTTP 403 Forbidden (SignatureDoesNotMatch)")
    assert "Likely cause: Secret key" in err
    # Without --fail an HTTP error exits 0, as curl does; the body is printed.
    proc = subprocess.run(
        [*_cmd(), "request", "GET", url, *S3], env=env, capture_output=True, timeout=60
    )
    assert proc.returncode == 0
    assert b"<Code>SignatureDoesNotMatch</Code>" in proc.stdout
    missing = _run(["request", "GET", f"{_base(store)}/bucket/none", *S3, "--fail"])
    assert missing.returncode == 22
    assert missing.stderr.decode().strip() == "sigv4kit: HTTP 404 Not Found (NoSuchKey)"


def test_connection_refused_is_one_line() -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    proc = _run(["request", "GET", f"http://127.0.0.1:{port}/b/k", *S3])
    assert proc.returncode == 7
    assert proc.stderr.decode().startswith(f"sigv4kit: cannot reach 127.0.0.1:{port}")


def test_presign_then_fetch_with_curl(store: _Store) -> None:
    url = f"{_base(store)}/bucket/shared.txt"
    assert _run(["request", "PUT", url, "-d", "shared", *S3, "--fail"]).returncode == 0
    for args in (
        ["request", "GET", url, "--presign", "--expires", "600", *S3],
        ["presign", "GET", url, "--expires", "600", *S3],
    ):
        proc = _run(args)
        assert proc.returncode == 0, proc.stderr
        presigned = proc.stdout.decode().strip()
        assert "X-Amz-Signature=" in presigned
        fetched = subprocess.run(
            ["curl", "-sS", "--fail", presigned], capture_output=True, timeout=60
        )
        assert fetched.returncode == 0, fetched.stderr
        assert fetched.stdout == b"shared"
    # A tampered URL is refused.
    bad = presigned.replace("X-Amz-Expires=600", "X-Amz-Expires=700")
    fetched = subprocess.run(["curl", "-sS", bad], capture_output=True, timeout=60)
    assert b"SignatureDoesNotMatch" in fetched.stdout


def test_scope_inferred_from_hostname_with_a_note() -> None:
    runner = CliRunner(env={**ENV, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    cases = {
        "https://my-bucket.s3.eu-west-1.amazonaws.com/k": ("eu-west-1", "s3"),
        "https://acct123.r2.cloudflarestorage.com/bucket/k": ("auto", "s3"),
        "https://abc.execute-api.us-east-2.amazonaws.com/prod/x": ("us-east-2", "execute-api"),
    }
    for url, (region, service) in cases.items():
        result = runner.invoke(cli, ["request", "GET", url, "--presign"])
        assert result.exit_code == 0, result.output
        assert f"inferred service {service} and region {region}" in result.output
        assert f"%2F{region}%2F{service}%2Faws4_request" in result.output
    unknown = runner.invoke(cli, ["request", "GET", "http://127.0.0.1:9/b/k", "--presign"])
    assert unknown.exit_code == 2
    assert "pass --service" in unknown.output


def test_verbose_hides_the_session_token(store: _Store) -> None:
    proc = subprocess.run(
        [*_cmd(), "request", "GET", f"{_base(store)}/bucket/none", *S3, "-v",
         "--session-token", "SECRET-TOKEN-VALUE"],
        env=_env(), capture_output=True, timeout=60,
    )  # fmt: skip
    err = proc.stderr.decode()
    assert "> GET /bucket/none HTTP/1.1" in err
    assert "> Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" in err
    assert "SECRET-TOKEN-VALUE" not in err
    # It was sent, though (the server saw it).
    assert ("X-Amz-Security-Token", "SECRET-TOKEN-VALUE") in store.seen[-1][2]


# --------------------------------------------------------------------------
# verify
# --------------------------------------------------------------------------
def _signed_raw(**kw: Any) -> bytes:
    signer = Signer(Credentials(AKID, kw.pop("secret", SECRET)), "us-east-1", "s3", **kw)
    s = signer.sign(
        "GET", "https://bucket.s3.amazonaws.com/a b.txt?x=1", timestamp="20150830T123600Z"
    )
    target = s.url.partition(".com")[2]
    lines = [f"GET {target} HTTP/1.1", *(f"{n}: {v}" for n, v in s.headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _verify(raw: bytes, *extra: str) -> Any:
    runner = CliRunner(env={**ENV, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    return runner.invoke(cli, ["verify", "-", "--now", "20150830T123700Z", *extra], input=raw)


def test_verify_valid_and_invalid() -> None:
    ok = _verify(_signed_raw(), "--json")
    assert ok.exit_code == 0, ok.output
    verdict = json.loads(ok.output)
    assert verdict["valid"] is True
    assert verdict["scope"] == "20150830/us-east-1/s3/aws4_request"
    text = _verify(_signed_raw())
    assert text.output.startswith("VALID\n")
    bad = _verify(_signed_raw(secret="other"), "--json")
    assert bad.exit_code == 1
    data = json.loads(bad.output)
    assert data["valid"] is False
    assert data["code"] == "SignatureDoesNotMatch"
    assert [c["id"] for c in data["causes"]] == ["secret-key"]
    late = _verify(_signed_raw(), "--now", "20150830T133700Z", "--json")
    assert [c["id"] for c in json.loads(late.output)["causes"]] == ["clock-skew"]


def test_verify_reproduces_the_clients_mistake() -> None:
    # A client that double-encodes S3 paths: verify finds exactly that.
    raw = _signed_raw(double_uri_encode=True)
    result = _verify(raw)
    assert result.exit_code == 1
    assert "INVALID" in result.output
    assert "Likely cause: Path encoding" in result.output
    assert "the client encoded the path twice" in result.output
    raw = _signed_raw(content_sha256_header=True, payload="unsigned")
    assert _verify(raw).exit_code == 0


def test_sigv4a_request_verifies(store: _Store) -> None:
    url = f"{_base(store)}/bucket/v4a.txt"
    proc = _run(
        ["request", "PUT", url, "-d", "multi-region", "--sigv4a", "--region-set",
         "us-east-1,us-west-2", "--service", "s3", "--fail"]
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert store.objects["/bucket/v4a.txt"] == b"multi-region"
    sent = dict((n.lower(), v) for n, v in store.seen[-1][2])
    assert sent["authorization"].startswith("AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE/")
    assert sent["x-amz-region-set"] == "us-east-1,us-west-2"


def test_verify_hides_the_session_token_unless_asked() -> None:
    token = "VERIFY-TOKEN/+="
    signer = Signer(Credentials(AKID, "not-the-secret", token), "us-east-1", "s3")
    s = signer.sign("GET", "https://bucket.s3.amazonaws.com/k", timestamp="20150830T123600Z")
    raw = "\r\n".join(["GET /k HTTP/1.1", *(f"{n}: {v}" for n, v in s.headers)]) + "\r\n\r\n"
    runner = CliRunner(
        env={**ENV, "AWS_SESSION_TOKEN": token, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    )
    args = ["verify", "-", "--now", "20150830T123700Z", "--json"]
    hidden = runner.invoke(cli, args, input=raw.encode())
    assert hidden.exit_code == 1
    assert "SignatureDoesNotMatch" in hidden.output
    assert "x-amz-security-token" in hidden.output
    assert token not in hidden.output
    shown = runner.invoke(cli, [*args, "--show-token"], input=raw.encode())
    assert token in shown.output
