"""The cost of verification: ``sigv4kit gateway`` against a bare pass-through on the same stack.

Usage: python benchmarks/bench_gateway.py [--duration 3] [--rounds 10] [--connections 32]
                                          [--workers 1] [--no-pin] [--revocations 20]
                                          [--mode abba|side-by-side|both] [--side-by-side]
                                          [--no-revocation] [--json out.json]

Measured in one run, on 127.0.0.1:

1. **Requests/s** for 1 KiB GETs (wrk, one thread, keep-alive) through
   * ``pass-through``: the forwarding engine (:mod:`sigv4kit.forward`) with a
     service that forwards every request unchanged (hop-by-hop headers
     dropped): what the stack costs without any verification;
   * ``gateway``: ``sigv4kit gateway`` (SQLite key store), verifying each
     request's SigV4 header signature (key cache, policy, identity headers,
     header rewriting) before forwarding it.

   Both sit in front of the same upstream, a minimal asyncio server that
   answers every request with 1 KiB (so the upstream costs as little as
   possible and the difference is the verification).  wrk sends the same
   signed request every time, verified in full each time (no replay cache:
   it would refuse the repeats, and it costs a Redis round trip the
   pass-through does not make).  With one worker, the server under test
   gets a CPU of its own and wrk and the upstream the others (``--no-pin``
   turns that off).  The contenders alternate in ABBA order, ``--rounds``
   times for ``--duration`` seconds; each round gives requests/s and the
   server's CPU time per request (schedstat), and the report shows the
   median and range of both and of the per-round ratios, so slow phases of
   a shared machine hit both.  Every answer must be 200 (wrk's non-2xx
   count is checked).

   ``--side-by-side`` (``--mode side-by-side``; ``--mode both`` runs the two
   modes one after the other): both servers on the *same* CPU, loaded at
   the same time by one wrk each for ``--duration`` seconds per round.  On a
   shared machine the speed of a CPU changes from second to second (other
   work, frequency, caches), which in ABBA mode hits one contender and not
   the other; side by side it hits both at once, and the scheduler shares
   the CPU between the two busy servers, so each round's ratio compares the
   two costs under the same conditions.  Reported like ABBA rounds, with
   each server's share of the CPU (which no longer says "the CPU to itself":
   the two shares add up to what the machine left them).
2. **Revocation propagation** (needs PostgreSQL, see tests/gateway_support.py):
   two gateway nodes share a PostgreSQL key store; a key cached on node B
   is disabled through node A's store, and B is asked (a signed request
   every millisecond) until it refuses the key.  Reported: median, p95 and
   max over ``--revocations`` revocations.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

MASTER_KEY = "44" * 32

UPSTREAM = r"""
import asyncio, sys
try:
    import uvloop; uvloop.install()
except ImportError:
    pass
BODY = b"x" * 1024
RESP = b"HTTP/1.1 200 OK\r\nContent-Length: 1024\r\nContent-Type: text/plain\r\n\r\n" + BODY
class P(asyncio.Protocol):
    def connection_made(self, t): self.t = t; self.buf = b""
    def data_received(self, d):
        self.buf += d
        while b"\r\n\r\n" in self.buf:
            head, _, self.buf = self.buf.partition(b"\r\n\r\n")
            self.t.write(RESP)
async def main():
    srv = await asyncio.get_running_loop().create_server(P, "127.0.0.1", int(sys.argv[1]))
    print("ready", flush=True)
    await srv.serve_forever()
asyncio.run(main())
"""

PASS_THROUGH = r"""
import sys
sys.path.insert(0, sys.argv[3])
from sigv4kit.forward import ForwardConfig, Outgoing, Service, end_to_end, serve
ORIGIN = sys.argv[2]
HOST = ORIGIN.split("://", 1)[1]
class PassThrough(Service):
    async def handle(self, req):
        headers = [(n, v) for n, v in end_to_end(req.headers) if n.lower() != "host"]
        headers.append(("Host", HOST))
        body = req.body if req.has_body else None
        return Outgoing(req.method, ORIGIN, req.target, headers, body)
serve(ForwardConfig(port=int(sys.argv[1]), workers=int(sys.argv[4])), PassThrough,
      on_listening=lambda p, a: print("ready", flush=True))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def env() -> dict[str, str]:
    e = dict(os.environ, SIGV4KIT_MASTER_KEY=MASTER_KEY)
    e["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + e.get("PYTHONPATH", "")
    return e


def _wrk_cmd(url: str, headers: list[tuple[str, str]], conns: int, seconds: int) -> list[str]:
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--timeout", "10s", "--latency"]
    for name, value in headers:
        cmd += ["-H", f"{name}: {value}"]
    return [*cmd, url]


def _wrk_result(returncode: int, text: str, stderr: str) -> dict[str, Any]:
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if returncode != 0 or m is None:
        raise RuntimeError(f"wrk failed: {text[-500:]} {stderr[-500:]}")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: (.*)", text)
    if bad or errors:
        raise RuntimeError(f"wrk saw failures: {text[-800:]}")
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", text, re.M))
    count = re.search(r"(\d+) requests in", text)
    return {
        "rps": float(m.group(1)),
        "requests": int(count.group(1)) if count else 0,
        "p50": lat.get("50"),
        "p99": lat.get("99"),
    }


def run_wrk(
    url: str,
    headers: list[tuple[str, str]],
    conns: int,
    seconds: int,
    cpus: set[int] | None = None,
) -> dict[str, Any]:
    out = subprocess.run(
        _wrk_cmd(url, headers, conns, seconds),
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        preexec_fn=_pinned(cpus),
    )
    return _wrk_result(out.returncode, out.stdout, out.stderr)


def run_wrks(
    jobs: list[tuple[str, list[tuple[str, str]]]],
    conns: int,
    seconds: int,
    cpus: set[int] | None = None,
) -> list[dict[str, Any]]:
    """One wrk per ``(url, headers)``, all started at once and run for the same time."""
    procs = [
        subprocess.Popen(
            _wrk_cmd(url, headers, conns, seconds),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_pinned(cpus),
        )
        for url, headers in jobs
    ]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=seconds + 60)
        results.append(_wrk_result(p.returncode, out, err))
    return results


def cpu_seconds(pid: int) -> float:
    """CPU time of a process's threads and its children's (workers), in seconds.

    From ``/proc/*/task/*/schedstat`` (nanoseconds), so a round of a few
    seconds is not rounded to the scheduler tick as utime/stime would be.
    """
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                total += int((task / "schedstat").read_text().split()[0])
            todo += [int(x) for x in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total / 1e9


async def create_key(url: str) -> tuple[str, str]:
    from sigv4kit.keystore import open_store

    store = await open_store(url, master_key=MASTER_KEY)
    try:
        rec = await store.create("bench")
        return rec.access_key_id, rec.secret_access_key
    finally:
        await store.close()


def _pinned(cpus: set[int] | None) -> Any:
    """A ``preexec_fn`` that pins the child (and its children) to ``cpus``."""
    if not cpus:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


def placement(args: argparse.Namespace) -> tuple[set[int] | None, set[int] | None]:
    """(CPUs of the server under test, CPUs of wrk and the upstream), or (None, None).

    On a small machine wrk, the upstream and the server under test fight for
    the same cores, and which one the scheduler favours in a round swings the
    requests/s more than the server's own cost does.  With one worker the
    server under test gets a CPU of its own and the load generator the rest,
    the same for both contenders.
    """
    cpus = sorted(os.sched_getaffinity(0))
    if args.no_pin or args.workers != 1 or len(cpus) < 2:
        return None, None
    return {cpus[0]}, set(cpus[1:])


def summary(rows: dict[str, list[dict[str, Any]]], common: dict[str, Any]) -> dict[str, Any]:
    """Medians and per-round ratios of one mode's rounds (every round kept)."""
    pt, gw = rows["pass-through"], rows["gateway"]
    pairs = list(zip(pt, gw, strict=True))
    ratios = [g["rps"] / p["rps"] for p, g in pairs]
    cpu_ratios = [p["cpu_us_per_request"] / g["cpu_us_per_request"] for p, g in pairs]
    return {
        **common,
        "rounds": rows,
        "ratios": ratios,
        "ratio_median": statistics.median(ratios),
        "cpu_ratios": cpu_ratios,
        "cpu_ratio_median": statistics.median(cpu_ratios),
        "cpu_us": {
            k: statistics.median(r["cpu_us_per_request"] for r in v) for k, v in rows.items()
        },
        "pass_through_rps_median": statistics.median(r["rps"] for r in pt),
        "gateway_rps_median": statistics.median(r["rps"] for r in gw),
    }


def throughput(args: argparse.Namespace, work: Path) -> dict[str, dict[str, Any]]:
    """The modes' results (``"abba"``, ``"side-by-side"``), as :func:`summary` makes them."""
    from sigv4kit import Credentials, Signer

    up_port, pt_port, gw_port = free_port(), free_port(), free_port()
    py = sys.executable
    server_cpus, load_cpus = placement(args)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        up = subprocess.Popen(
            [py, "-c", UPSTREAM, str(up_port)],
            stdout=subprocess.DEVNULL,
            preexec_fn=_pinned(load_cpus),
        )
        procs.append(up)
        wait_port(up_port, up)
        origin = f"http://127.0.0.1:{up_port}"
        pt = subprocess.Popen(
            [py, "-c", PASS_THROUGH, str(pt_port), origin, str(ROOT / "src"), str(args.workers)],
            stdout=subprocess.DEVNULL,
            env=env(),
            preexec_fn=_pinned(server_cpus),
        )
        procs.append(pt)
        keys = f"sqlite:///{work / 'keys.db'}"
        akid, secret = asyncio.run(create_key(keys))
        gw_log = (work / "gateway.log").open("wb")
        gw = subprocess.Popen(
            [
                *(py, "-m", "sigv4kit.cli", "gateway", "--listen", f"127.0.0.1:{gw_port}"),
                *("--upstream", origin, "--keys", keys, "--workers", str(args.workers)),
            ],
            stdout=gw_log,
            stderr=subprocess.STDOUT,
            env=env(),
            preexec_fn=_pinned(server_cpus),
        )
        procs.append(gw)
        wait_port(pt_port, pt)
        wait_port(gw_port, gw)
        signer = Signer(Credentials(akid, secret), "us-east-1", "s3")
        contenders = {"pass-through": (pt_port, pt), "gateway": (gw_port, gw)}

        def job(name: str) -> tuple[str, list[tuple[str, str]]]:
            url = f"http://127.0.0.1:{contenders[name][0]}/bucket/object-1k"
            signed = signer.sign("GET", url)  # fresh each round: inside the skew window
            return url, [(n, v) for n, v in signed.headers if n.lower() != "host"]

        def measure(names: list[str], seconds: int) -> dict[str, dict[str, Any]]:
            """Load the servers ``names`` at the same time (one wrk each) for ``seconds``."""
            jobs = [job(name) for name in names]
            cpu0 = [cpu_seconds(contenders[name][1].pid) for name in names]
            got = run_wrks(jobs, args.connections, seconds, load_cpus)
            for name, before, r in zip(names, cpu0, got, strict=True):
                used = cpu_seconds(contenders[name][1].pid) - before
                r["cpu_us_per_request"] = used / r["requests"] * 1e6
                r["busy"] = used / seconds  # of one CPU
            return dict(zip(names, got, strict=True))

        for name in contenders:  # warm-up: pools, key cache, memos, first collections
            measure([name], 2)
        common = {
            "connections": args.connections,
            "workers": args.workers,
            "duration_s": args.duration,
            "server_cpus": sorted(server_cpus or ()),
            "load_cpus": sorted(load_cpus or ()),
        }
        results: dict[str, dict[str, Any]] = {}
        for mode in ("abba", "side-by-side"):
            if args.mode not in (mode, "both"):
                continue
            rows: dict[str, list[dict[str, Any]]] = {"pass-through": [], "gateway": []}
            load = [os.getloadavg()[0]]
            for rnd in range(args.rounds):
                # Each contender goes first as often as second: in ABBA mode the
                # order of the runs, side by side the order the two wrk start.
                order = (
                    ["pass-through", "gateway"]
                    if rnd % 4 in (0, 3)
                    else ["gateway", "pass-through"]
                )
                if mode == "abba":
                    got = {name: measure([name], args.duration)[name] for name in order}
                else:
                    got = measure(order, args.duration)
                for name, r in got.items():
                    rows[name].append(r)
            load.append(os.getloadavg()[0])
            results[mode] = summary(rows, {**common, "mode": mode, "load_average": load})
        return results
    finally:
        for p in reversed(procs):
            stop(p)


def revocation(args: argparse.Namespace) -> dict[str, Any]:
    import requests

    from gateway.conftest import InProcessGateway, options  # type: ignore[import-not-found]
    from gateway_support import postgres_cluster  # type: ignore[import-not-found]
    from sigv4kit import Credentials, Signer

    delays: list[float] = []
    with postgres_cluster() as pg:
        url = pg.create_database()
        upstream = f"http://127.0.0.1:{free_port()}"  # never reached: only refusals are timed
        a = InProcessGateway(options(upstream), keys_url=url, master_key=MASTER_KEY)
        b = InProcessGateway(options(upstream), keys_url=url, master_key=MASTER_KEY)
        try:
            akid, secret = a.create_key("revoked")
            signer = Signer(Credentials(akid, secret), "us-east-1", "s3")
            session = requests.Session()

            def code() -> str:
                s = signer.sign("GET", b.url + "/x")
                r = session.get(s.url, headers=s.headers.as_dict(), timeout=10)
                return str(r.headers.get("x-amz-error-code", "upstream"))

            for _ in range(args.revocations):
                a.call(a.store.set_status, akid, "active")
                # Accepted and cached as active on b: forwarded to an upstream that
                # is not there (502, answered as S3 XML with code BadGateway).
                while code() not in ("upstream", "BadGateway"):
                    time.sleep(0.01)
                t0 = time.monotonic()
                a.call(a.store.set_status, akid, "inactive")
                while code() != "InvalidAccessKeyId":
                    time.sleep(0.001)
                delays.append(time.monotonic() - t0)
        finally:
            a.close()
            b.close()
    delays.sort()
    return {
        "n": len(delays),
        "median_ms": statistics.median(delays) * 1000,
        "p95_ms": delays[int(0.95 * (len(delays) - 1))] * 1000,
        "max_ms": delays[-1] * 1000,
    }


def _spread(values: list[float], fmt: str = ".0f") -> str:
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}} to {max(values):{fmt}})"


def report(t: dict[str, Any]) -> None:
    """One mode's table: medians and ranges over its rounds."""
    print("| stack | requests/s, median (range) | server CPU per request, median (range) |")
    print("|---|---|---|")
    for name in ("pass-through", "gateway"):
        rows = t["rounds"][name]
        rps = _spread([r["rps"] for r in rows])
        cpu = _spread([r["cpu_us_per_request"] for r in rows])
        print(f"| {name} | {rps} | {cpu} µs |")
    print(
        f"| gateway / pass-through | {_spread(t['ratios'], '.2f')}x "
        f"| {_spread(t['cpu_ratios'], '.2f')}x capacity |"
    )
    if t["mode"] == "abba":
        busy = [r["busy"] for rows in t["rounds"].values() for r in rows]
        print(f"server CPU use during rounds: {min(busy):.2f} to {max(busy):.2f} of one CPU")
    else:
        pt, gw = t["rounds"]["pass-through"], t["rounds"]["gateway"]
        both = [p["busy"] + g["busy"] for p, g in zip(pt, gw, strict=True)]
        print(
            "server CPU use during rounds (of one CPU): "
            f"pass-through {_spread([r['busy'] for r in pt], '.2f')}, "
            f"gateway {_spread([r['busy'] for r in gw], '.2f')}, "
            f"together {_spread(both, '.2f')}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=int, default=3, help="seconds per contender per round")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--no-pin", action="store_true", help="leave CPU placement to the scheduler")
    ap.add_argument(
        "--mode",
        choices=("abba", "side-by-side", "both"),
        default="abba",
        help="contenders one after the other (ABBA), both at once on the same CPU, or both modes",
    )
    ap.add_argument(
        "--side-by-side",
        dest="mode",
        action="store_const",
        const="side-by-side",
        help="same as --mode side-by-side",
    )
    ap.add_argument("--revocations", type=int, default=20)
    ap.add_argument("--no-revocation", action="store_true")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk")
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp:
        modes = throughput(args, Path(tmp))
    if "abba" in modes:
        result["throughput"] = t = modes["abba"]
        pin = (
            f"server on CPU {t['server_cpus']}, wrk and upstream on CPU {t['load_cpus']}"
            if t["server_cpus"]
            else "not pinned"
        )
        print(
            f"1 KiB GET, {t['connections']} connections, {t['workers']} worker(s), {pin}; "
            f"{args.rounds} rounds of {t['duration_s']} s per contender; load average "
            f"{t['load_average'][0]:.1f} -> {t['load_average'][1]:.1f}"
        )
        report(t)
    if "side-by-side" in modes:
        result["side_by_side"] = t = modes["side-by-side"]
        pin = (
            f"both servers on CPU {t['server_cpus']}, two wrk and the upstream on CPU "
            f"{t['load_cpus']}"
            if t["server_cpus"]
            else "not pinned"
        )
        print(
            f"side by side: both servers loaded at once (one wrk each), 1 KiB GET, "
            f"{t['connections']} connections each, {t['workers']} worker(s), {pin}; "
            f"{args.rounds} rounds of {t['duration_s']} s; load average "
            f"{t['load_average'][0]:.1f} -> {t['load_average'][1]:.1f}"
        )
        report(t)
    if not args.no_revocation:
        result["revocation"] = r = revocation(args)
        print(
            f"revocation propagation over PostgreSQL LISTEN/NOTIFY ({r['n']} revocations): "
            f"median {r['median_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms, max {r['max_ms']:.0f} ms"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
