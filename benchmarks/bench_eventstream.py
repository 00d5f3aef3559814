"""Event-stream signing throughput: sigv4kit vs the AWS JS SDK, same run.

What one "message signed" is, on both sides, per message: encode the inner
message (three string headers and a 1 KiB payload, the shape of a Transcribe
``AudioEvent``), sign it (chained from the previous signature, its own
``:date``), encode the signed envelope.  That is the whole per-message cost a
sending client pays.

* sigv4kit: ``MessageSigner.sign(message, timestamp)``, timed in this
  process with ``perf_counter_ns``, GC disabled during a round.
* JS: ``@smithy/signature-v4`` ``signMessage`` + ``@smithy/eventstream-codec``,
  exactly as the SDK's ``EventSigningStream`` does it (``driver.js``), timed
  inside node with ``process.hrtime`` over its own loop, so the pipe to
  Python is not measured.  Node is warmed up (JIT) before the first round.

Rounds alternate between the two so machine noise hits both alike; we report
the median and IQR of messages per second and the ratio.  Before timing, both
sides sign the same messages with the same dates and the envelopes are
compared byte for byte.

Also reported, without a peer (no SDK verifies event streams):
``EventStreamVerifier.feed`` throughput for the same messages.

    python benchmarks/bench_eventstream.py [--rounds 11] [--n 2000] [--json out.json]

Needs ``node`` and ``npm install`` in ``tests/deps/npm/eventstream/``.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import importlib.util
import json
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

from sigv4kit import Credentials
from sigv4kit.eventstream import EventStreamVerifier, Message, MessageSigner

ROOT = Path(__file__).resolve().parent.parent
AKID, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION, SERVICE = "us-east-1", "transcribe"
SEED = hashlib.sha256(b"initial request").hexdigest()
START = int(datetime(2015, 8, 30, 12, 36, 0, tzinfo=timezone.utc).timestamp())


def load_peer() -> ModuleType:
    path = ROOT / "tests" / "deps" / "npm" / "eventstream" / "peer.py"
    spec = importlib.util.spec_from_file_location("sigv4kit_eventstream_peer", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def audio_event(size: int) -> Message:
    return Message(
        {
            ":message-type": "event",
            ":event-type": "AudioEvent",
            ":content-type": "application/octet-stream",
        },
        b"a" * size,  # the JS side fills its payload with 97 too
    )


def check_agreement(js: Any, message: Message) -> None:
    items = [(message, (START + i) * 1000) for i in range(5)]
    theirs = js.sign_chain(
        akid=AKID, secret=SECRET, region=REGION, service=SERVICE, seed=SEED, items=items
    )
    ms = MessageSigner(Credentials(AKID, SECRET), REGION, SERVICE, SEED)
    ours = [(ms.sign(m, t // 1000), ms.prior_signature) for m, t in items]
    if [env for env, _ in ours] != [env for _, env in theirs]:
        raise SystemExit("sigv4kit and the JS SDK disagree; not timing a wrong answer")


def py_round(message: Message, n: int, t0: int) -> tuple[float, list[bytes]]:
    ms = MessageSigner(Credentials(AKID, SECRET), REGION, SERVICE, SEED)
    sign = ms.sign
    out: list[bytes] = []
    append = out.append
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for i in range(n):
            append(sign(message, t0 + i))
        elapsed = time.perf_counter_ns() - start
    finally:
        gc.enable()
    out.append(ms.end(t0 + n))
    return n * 1e9 / elapsed, out


def verify_round(envelopes: list[bytes], t0: int) -> float:
    v = EventStreamVerifier(SECRET, REGION, SERVICE, SEED, max_skew=10**9)
    now = datetime.fromtimestamp(t0, timezone.utc)
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for env in envelopes:
            v.feed(env, now=now)
        elapsed = time.perf_counter_ns() - start
    finally:
        gc.enable()
    v.close()
    return (len(envelopes) - 1) * 1e9 / elapsed


def js_round(js: Any, n: int, size: int, warmup: int, rounds: int) -> list[float]:
    reply = js.call(
        op="bench",
        n=n,
        payload_size=size,
        warmup=warmup,
        rounds=rounds,
        akid=AKID,
        secret=SECRET,
        region=REGION,
        service=SERVICE,
        seed=SEED,
        start_ms=START * 1000,
    )
    return [float(x) for x in reply["per_sec"]]


def summary(xs: list[float]) -> dict[str, float]:
    q = statistics.quantiles(xs, n=4) if len(xs) > 1 else [xs[0]] * 3
    return {"median": statistics.median(xs), "q1": q[0], "q3": q[2]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--n", type=int, default=2000, help="messages per round")
    ap.add_argument("--size", type=int, default=1024, help="payload bytes")
    ap.add_argument("--json", type=Path, help="write the results here too")
    args = ap.parse_args()

    peer = load_peer()
    js = peer.NodePeer()
    try:
        versions = js.call(op="versions")
        message = audio_event(args.size)
        check_agreement(js, message)
        js_round(js, args.n, args.size, warmup=5, rounds=1)  # JIT warm-up
        py_round(message, args.n, START)  # and ours, for fairness
        ours: list[float] = []
        theirs: list[float] = []
        verify: list[float] = []
        for r in range(args.rounds):
            rate, envs = py_round(message, args.n, START + r)
            ours.append(rate)
            theirs += js_round(js, args.n, args.size, warmup=0, rounds=1)
            verify.append(verify_round(envs, START + r))
    finally:
        js.close()

    rows = [
        ("sigv4kit MessageSigner.sign", summary(ours)),
        ("@smithy/signature-v4 signMessage + eventstream-codec", summary(theirs)),
        ("sigv4kit EventStreamVerifier.feed (no peer)", summary(verify)),
    ]
    base = rows[1][1]["median"]
    print(
        f"Event-stream messages signed per second, {args.size}-byte payloads, "
        f"{args.n} messages x {args.rounds} rounds (median, IQR, ratio vs JS)"
    )
    print(
        f"Python {platform.python_version()}, node {versions['node']}, "
        f"@smithy/signature-v4 {versions['@smithy/signature-v4']}, "
        f"@smithy/eventstream-codec {versions['@smithy/eventstream-codec']}"
    )
    width = max(len(name) for name, _ in rows)
    for name, s in rows:
        print(
            f"  {name:<{width}}  {s['median']:>9,.0f} msg/s  "
            f"[{s['q1']:,.0f} .. {s['q3']:,.0f}]  x{s['median'] / base:.2f}"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "payload_size": args.size,
                    "messages_per_round": args.n,
                    "rounds": args.rounds,
                    "versions": versions,
                    "python": platform.python_version(),
                    "sigv4kit_sign_per_sec": ours,
                    "js_sign_per_sec": theirs,
                    "sigv4kit_verify_per_sec": verify,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
