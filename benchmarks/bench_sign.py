"""sigv4kit vs botocore, awscrt and requests-aws4auth: time per signature, one run.

Usage: python benchmarks/bench_sign.py [--rounds 21] [--json out.json] [--quick]

Method (as in the workspace's PERF.md): each implementation signs requests
that already exist as its own request objects, built outside the timer;
every implementation does its own date handling ("now") and payload hashing.
Batches of ~10 ms, implementations in shuffled order each round, gc off
while timing; the median per-signature time is reported with its ratio to
sigv4kit from the same run.  Before timing, every implementation's signature
is checked against sigv4kit's on the same request at a fixed time.

Cases:
  a  S3 GET with Range, empty body
  b  DynamoDB-style POST, 1 KiB JSON body
  c  GET with 20 query parameters and 10 headers (5 x-amz-*)
  d  S3 presigned GET, expires 3600
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from sigv4kit import Credentials, Signer

AK, SK = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
FIXED = dt.datetime(2015, 8, 30, 12, 36, tzinfo=dt.timezone.utc)
AMZ = "20150830T123600Z"

rng = random.Random(7)
Q20 = [(f"param{i:02d}", f"value{rng.randrange(10**6)}") for i in range(20)]
rng.shuffle(Q20)
H10 = [(f"X-Amz-Meta-K{i}", f"v{i}") for i in range(5)] + [
    (f"X-Custom-{i}", f"value {i}") for i in range(5)
]
BODY_1K = json.dumps({"TableName": "t", "Item": {"k": {"S": "x" * 960}}}).encode()[:1024]

CASES: dict[str, dict[str, Any]] = {
    "a S3 GET": dict(
        service="s3",
        method="GET",
        url="https://examplebucket.s3.amazonaws.com/test.txt",
        headers=[("Range", "bytes=0-9")],
        body=b"",
    ),
    "b POST 1 KiB": dict(
        service="dynamodb",
        method="POST",
        url="https://dynamodb.us-east-1.amazonaws.com/",
        headers=[
            ("Content-Type", "application/x-amz-json-1.0"),
            ("X-Amz-Target", "DynamoDB_20120810.PutItem"),
        ],
        body=BODY_1K,
    ),
    "c 20q+10h": dict(
        service="execute-api",
        method="GET",
        url="https://example.amazonaws.com/path/to/resource?"
        + "&".join(f"{k}={v}" for k, v in Q20),
        headers=H10,
        body=b"",
    ),
    "d presign": dict(
        service="s3",
        method="GET",
        url="https://examplebucket.s3.amazonaws.com/test.txt",
        headers=[],
        body=b"",
        presign=True,
    ),
}


# --------------------------------------------------------------------------
# Implementations: each returns (prepare(n) -> objects, sign(obj), check() -> signature)
# --------------------------------------------------------------------------
Impl = tuple[Callable[[int], list[Any]], Callable[[Any], Any], Callable[[], str]]


def impl_sigv4kit(case: dict[str, Any]) -> Impl:
    signer = Signer(Credentials(AK, SK), "us-east-1", case["service"])
    m, u, h, b = case["method"], case["url"], case["headers"], case["body"]
    if case.get("presign"):

        def sign(_: Any) -> Any:
            return signer.presign(m, u, expires=3600)

        def check() -> str:
            return signer.presign_request(m, u, expires=3600, timestamp=AMZ).signature
    else:

        def sign(_: Any) -> Any:
            return signer.sign(m, u, h, b)

        def check() -> str:
            return signer.sign(m, u, h, b, timestamp=AMZ).signature

    return (lambda n: [None] * n), sign, check


def impl_sigv4kit_cold(case: dict[str, Any]) -> Impl:
    """sigv4kit with a new URL (object key) on every request: no URL-memo hits.

    Peers' costs do not depend on repeating a URL; this row shows what the
    memo saves and that the results hold without it.
    """
    signer = Signer(Credentials(AK, SK), "us-east-1", case["service"])
    m, h, b = case["method"], case["headers"], case["body"]
    base, _, query = case["url"].partition("?")
    counter = iter(range(10**12))

    def prepare(n: int) -> list[str]:
        urls = [f"{base}-{next(counter)}" for _ in range(n)]
        return [f"{u}?{query}" if query else u for u in urls]

    if case.get("presign"):

        def sign(url: Any) -> Any:
            return signer.presign(m, url, expires=3600)
    else:

        def sign(url: Any) -> Any:
            return signer.sign(m, url, h, b)

    return prepare, sign, lambda: ""


def impl_botocore(case: dict[str, Any], crt: bool = False) -> Impl | None:
    import botocore.auth
    import botocore.credentials
    from botocore.awsrequest import AWSRequest

    creds = botocore.credentials.Credentials(AK, SK)
    s3 = case["service"] == "s3"
    if crt:
        try:
            import botocore.crt.auth as crt_auth
        except ImportError:
            return None
        if case.get("presign"):
            auth = crt_auth.CrtS3SigV4QueryAuth(creds, "s3", "us-east-1", expires=3600)
        else:
            cls = crt_auth.CrtS3SigV4Auth if s3 else crt_auth.CrtSigV4Auth
            auth = cls(creds, case["service"], "us-east-1")
    elif case.get("presign"):
        auth = botocore.auth.S3SigV4QueryAuth(creds, "s3", "us-east-1", expires=3600)
    else:
        cls = botocore.auth.S3SigV4Auth if s3 else botocore.auth.SigV4Auth
        auth = cls(creds, case["service"], "us-east-1")

    def make() -> AWSRequest:
        req = AWSRequest(method=case["method"], url=case["url"], data=case["body"])
        for k, v in case["headers"]:
            req.headers[k] = v
        return req

    def check() -> str:
        req = make()
        if crt:
            return ""  # CRT signs with its own clock; agreement is shown by the awscrt row
        req.context["timestamp"] = AMZ
        auth._modify_request_before_signing(req)
        return str(auth.signature(auth.string_to_sign(req, auth.canonical_request(req)), req))

    return (lambda n: [make() for _ in range(n)]), auth.add_auth, check


def impl_awscrt(case: dict[str, Any], build_in_timer: bool) -> Impl | None:
    try:
        from awscrt import auth, http
    except ImportError:
        return None
    provider = auth.AwsCredentialsProvider.new_static(AK, SK)
    s3 = case["service"] == "s3"
    presign = bool(case.get("presign"))
    split = case["url"].split("/", 3)
    host, target = split[2], "/" + split[3]

    def build(date: dt.datetime | None = None) -> tuple[Any, Any]:
        hdrs = http.HttpHeaders([("Host", host), *case["headers"]])
        req = http.HttpRequest(case["method"], target, hdrs)
        body_value = None
        header_type = auth.AwsSignedBodyHeaderType.NONE
        if presign:
            body_value = auth.AwsSignedBodyValue.UNSIGNED_PAYLOAD
        elif s3:
            import hashlib

            body_value = hashlib.sha256(case["body"]).hexdigest()
            header_type = auth.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256
        elif case["body"]:
            import hashlib

            body_value = hashlib.sha256(case["body"]).hexdigest()
        cfg = auth.AwsSigningConfig(
            algorithm=auth.AwsSigningAlgorithm.V4,
            signature_type=(
                auth.AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS
                if presign
                else auth.AwsSignatureType.HTTP_REQUEST_HEADERS
            ),
            credentials_provider=provider,
            region="us-east-1",
            service=case["service"],
            date=date or dt.datetime.now(dt.timezone.utc),
            use_double_uri_encode=not s3,
            should_normalize_uri_path=not s3,
            signed_body_value=body_value,
            signed_body_header_type=header_type,
            expiration_in_seconds=3600 if presign else None,
        )
        return req, cfg

    def check() -> str:
        req, cfg = build(FIXED)
        signed = auth.aws_sign_request(req, cfg).result()
        if presign:
            return signed.path.rpartition("X-Amz-Signature=")[2]
        return str(signed.headers.get("Authorization")).rpartition("Signature=")[2]

    if build_in_timer:

        def sign(_: Any) -> Any:
            req, cfg = build()
            return auth.aws_sign_request(req, cfg).result()

        return (lambda n: [None] * n), sign, check

    def sign_prebuilt(obj: Any) -> Any:
        return auth.aws_sign_request(obj[0], obj[1]).result()

    return (lambda n: [build() for _ in range(n)]), sign_prebuilt, check


def impl_requests_aws4auth(case: dict[str, Any]) -> Impl | None:
    if case.get("presign"):
        return None
    try:
        import requests
        from requests_aws4auth import AWS4Auth
    except ImportError:
        return None
    auth = AWS4Auth(AK, SK, "us-east-1", case["service"], include_hdrs=["*"])

    def make() -> Any:
        return requests.Request(
            case["method"], case["url"], headers=dict(case["headers"]), data=case["body"] or None
        ).prepare()

    return (lambda n: [make() for _ in range(n)]), auth, lambda: ""


IMPLS: dict[str, Callable[[dict[str, Any]], Impl | None]] = {
    "sigv4kit": impl_sigv4kit,
    "sigv4kit, new URL every request": impl_sigv4kit_cold,
    "botocore (pure Python)": impl_botocore,
    "botocore CRT classes": lambda c: impl_botocore(c, crt=True),
    "awscrt, request+config prebuilt": lambda c: impl_awscrt(c, build_in_timer=False),
    "awscrt, +build in timer": lambda c: impl_awscrt(c, build_in_timer=True),
    "requests-aws4auth": impl_requests_aws4auth,
}


def time_batch(prepare: Callable[[int], list[Any]], sign: Callable[[Any], Any], n: int) -> float:
    objs = prepare(n)
    gc.disable()
    try:
        t0 = time.perf_counter()
        for o in objs:
            sign(o)
        t1 = time.perf_counter()
    finally:
        gc.enable()
    return (t1 - t0) / n


def run(rounds: int) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    for case_name, case in CASES.items():
        impls = {name: f(case) for name, f in IMPLS.items()}
        impls = {k: v for k, v in impls.items() if v is not None}
        ref = impls["sigv4kit"][2]()
        for name, (_, _, check) in impls.items():
            sig = check()
            if sig and sig != ref:
                raise SystemExit(f"{name} disagrees with sigv4kit on {case_name}: {sig} != {ref}")
        # batch size: about 10 ms for each implementation
        sizes = {}
        for name, (prep, sign, _) in impls.items():
            per = time_batch(prep, sign, 50)
            sizes[name] = max(50, int(0.01 / max(per, 1e-7)))
        samples: dict[str, list[float]] = {n: [] for n in impls}
        order = list(impls)
        for _ in range(rounds):
            random.shuffle(order)
            for name in order:
                prep, sign, _ = impls[name]
                samples[name].append(time_batch(prep, sign, sizes[name]))
        results[case_name] = {n: statistics.median(s) * 1e6 for n, s in samples.items()}
    return results


def import_time() -> dict[str, float]:
    # Measure an installed package: compile its bytecode first (a wheel install
    # does; with PYTHONDONTWRITEBYTECODE set every import would recompile).
    import compileall
    import os

    import sigv4kit

    compileall.compile_dir(os.path.dirname(sigv4kit.__file__), quiet=1)

    def wall(code: str) -> float:
        best = []
        for _ in range(9):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            best.append(time.perf_counter() - t0)
        return statistics.median(best) * 1000

    base = wall("pass")
    return {
        "python -c pass (ms)": base,
        "import sigv4kit (+ms)": wall("import sigv4kit") - base,
        "import sigv4kit; sigv4kit.Signer (+ms)": wall("import sigv4kit; sigv4kit.Signer") - base,
        "import botocore.auth (+ms)": wall("import botocore.auth") - base,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--json")
    ap.add_argument("--quick", action="store_true", help="3 rounds, for a smoke test")
    args = ap.parse_args()
    rounds = 3 if args.quick else args.rounds
    res = run(rounds)
    names = list(IMPLS)
    cases = list(CASES)
    print(f"median microseconds per signature ({rounds} rounds); x = time / sigv4kit's time\n")
    print("| implementation | " + " | ".join(cases) + " |")
    print("|---|" + "---|" * len(cases))
    for name in names:
        cells = []
        for c in cases:
            v = res[c].get(name)
            if v is None:
                cells.append("n/a")
            else:
                cells.append(f"{v:.2f} x{v / res[c]['sigv4kit']:.1f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    imp = import_time()
    print()
    for k, v in imp.items():
        print(f"{k}: {v:.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"per_signature_us": res, "import_ms": imp}, f, indent=2)


if __name__ == "__main__":
    main()
