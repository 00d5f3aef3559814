"""SigV4a: sigv4kit (pure Python on `cryptography`) next to awscrt, one run.

Usage: python benchmarks/bench_v4a.py [--rounds 15] [--json out.json] [--quick]

Rows (median microseconds per request, ratio to awscrt V4a prebuilt):
  sigv4kit Signer          ``Signer(..., algorithm="sigv4a").sign()`` / ``presign_request()``,
                           date "now", payload hashed: the whole per-request cost
  sigv4kit sign_v4a        the signature primitive alone (string to sign -> hex DER)
  sigv4kit verify_v4a      verifying one signature with a loaded public key
  awscrt V4a prebuilt      ``aws_sign_request(req, cfg).result()``; request objects and
                           config built outside the timer
  awscrt V4a +build        also builds HttpHeaders, HttpRequest and AwsSigningConfig
                           (its date is frozen at construction, so a wrapper rebuilds it)
  sigv4kit SigV4 Signer    the same request with SigV4 (HMAC), for the ECDSA overhead

Method (as in the workspace's PERF.md): batches of ~10 ms, rows in shuffled
order each round, gc off while timing, median over rounds.  Before timing,
every signature is checked: ours verifies with the suite's published public
key, and awscrt's verifies over *our* string to sign with *our* derived key.

Key derivation is checked separately: the uncached derivation is timed against
the cached lookup, and the number of derivations during all timed signing
(after one warm-up) is counted; it must be 0.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import io
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from sigv4kit import Credentials, Signer
from sigv4kit import v4a as _v4a

AK, SK = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
# aws-c-auth v4a suite public-key.json for these credentials.
SUITE_XY = (
    "b6618f6a65740a99e650b33b6b4b5bd0d43b176d721a3edfea7e7d2d56d936b1",
    "865ed22a7eadc9c5cb9d2cbaca1b3699139fedc5043dc6661864218330c8e518",
)
FIXED = dt.datetime(2015, 8, 30, 12, 36, tzinfo=dt.timezone.utc)
REGION_SET = ["us-east-1", "us-west-2"]
BODY_1K = json.dumps({"TableName": "t", "Item": {"k": {"S": "x" * 960}}}).encode()[:1024]

CASES: dict[str, dict[str, Any]] = {
    "a S3 GET": dict(
        service="s3",
        method="GET",
        host="examplebucket.s3.amazonaws.com",
        path="/test.txt",
        headers=[("Range", "bytes=0-9")],
        body=b"",
    ),
    "b POST 1 KiB": dict(
        service="dynamodb",
        method="POST",
        host="dynamodb.us-east-1.amazonaws.com",
        path="/",
        headers=[
            ("Content-Type", "application/x-amz-json-1.0"),
            ("X-Amz-Target", "DynamoDB_20120810.PutItem"),
        ],
        body=BODY_1K,
    ),
    "d presign": dict(
        service="s3",
        method="GET",
        host="examplebucket.s3.amazonaws.com",
        path="/test.txt",
        headers=[],
        body=b"",
        presign=True,
    ),
}


# --------------------------------------------------------------------------
# Implementations: each returns make_batch(n) -> list of zero-arg callables
# --------------------------------------------------------------------------
Job = Callable[[], object]


def sigv4kit_signer(case: dict[str, Any], algorithm: str) -> Callable[[int], list[Job]]:
    kw: dict[str, Any] = {"algorithm": algorithm}
    if algorithm == "sigv4a":
        kw["region_set"] = REGION_SET
    signer = Signer(Credentials(AK, SK), region="us-east-1", service=case["service"], **kw)
    url = f"https://{case['host']}{case['path']}"
    method, headers, body = case["method"], case["headers"], case["body"]
    if case.get("presign"):

        def job() -> object:
            return signer.presign_request(method, url, headers, expires=3600)
    else:

        def job() -> object:
            return signer.sign(method, url, headers, body=body)

    return lambda n: [job] * n


def sigv4kit_primitive_sign(case: dict[str, Any]) -> Callable[[int], list[Job]]:
    sts = _string_to_sign(case).encode()
    sign = _v4a.sign_v4a

    def job() -> object:
        return sign(AK, SK, sts)

    return lambda n: [job] * n


def sigv4kit_verify(case: dict[str, Any]) -> Callable[[int], list[Job]]:
    sts = _string_to_sign(case).encode()
    key = _v4a.load_public_key(SUITE_XY)
    sig = _v4a.sign_v4a(AK, SK, sts)
    verify = _v4a.verify_v4a

    def job() -> object:
        return verify(key, sts, sig)

    return lambda n: [job] * n


def _crt_parts(case: dict[str, Any]) -> tuple[Any, Any, Callable[[dt.datetime], Any]]:
    from awscrt import auth, http

    provider = auth.AwsCredentialsProvider.new_static(AK, SK)
    presign = bool(case.get("presign"))
    s3 = case["service"] == "s3"

    def config(when: dt.datetime) -> Any:
        return auth.AwsSigningConfig(
            algorithm=auth.AwsSigningAlgorithm.V4_ASYMMETRIC,
            signature_type=(
                auth.AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS
                if presign
                else auth.AwsSignatureType.HTTP_REQUEST_HEADERS
            ),
            credentials_provider=provider,
            region=",".join(REGION_SET),
            service=case["service"],
            date=when,
            use_double_uri_encode=not s3,
            should_normalize_uri_path=not s3,
            signed_body_value=auth.AwsSignedBodyValue.UNSIGNED_PAYLOAD if presign and s3 else None,
            signed_body_header_type=(
                auth.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256
                if s3 and not presign
                else auth.AwsSignedBodyHeaderType.NONE
            ),
            expiration_in_seconds=3600 if presign else None,
        )

    return auth, http, config


def _crt_request(http: Any, case: dict[str, Any]) -> Any:
    headers = http.HttpHeaders([("Host", case["host"]), *case["headers"]])
    return http.HttpRequest(case["method"], case["path"], headers, io.BytesIO(case["body"]))


def awscrt_prebuilt(case: dict[str, Any]) -> Callable[[int], list[Job]]:
    auth, http, config = _crt_parts(case)

    def make(n: int) -> list[Job]:
        cfg = config(dt.datetime.now(dt.timezone.utc))

        def bind(req: Any) -> Job:
            return lambda: auth.aws_sign_request(req, cfg).result()

        return [bind(_crt_request(http, case)) for _ in range(n)]

    return make


def awscrt_build(case: dict[str, Any]) -> Callable[[int], list[Job]]:
    auth, http, config = _crt_parts(case)

    def job() -> object:
        cfg = config(dt.datetime.now(dt.timezone.utc))
        return auth.aws_sign_request(_crt_request(http, case), cfg).result()

    return lambda n: [job] * n


# --------------------------------------------------------------------------
# Correctness before timing
# --------------------------------------------------------------------------
def _string_to_sign(case: dict[str, Any]) -> str:
    return str(_ours_fixed(case).string_to_sign)


def _ours_fixed(case: dict[str, Any]) -> Any:
    signer = Signer(
        Credentials(AK, SK),
        region="us-east-1",
        service=case["service"],
        algorithm="sigv4a",
        region_set=REGION_SET,
    )
    url = f"https://{case['host']}{case['path']}"
    if case.get("presign"):
        return signer.presign_request(
            case["method"], url, case["headers"], expires=3600, timestamp=FIXED
        )
    return signer.sign(case["method"], url, case["headers"], body=case["body"], timestamp=FIXED)


def check(case: dict[str, Any]) -> None:
    key = _v4a.load_public_key(SUITE_XY)
    ours = _ours_fixed(case)
    sts = ours.string_to_sign.encode()
    assert _v4a.verify_v4a(key, sts, ours.signature), "our signature does not verify"
    auth, http, config = _crt_parts(case)
    signed = auth.aws_sign_request(_crt_request(http, case), config(FIXED)).result()
    if case.get("presign"):
        sig = signed.path.rpartition("X-Amz-Signature=")[2].partition("&")[0]
    else:
        sig = dict(signed.headers)["Authorization"].rpartition("Signature=")[2]
    assert _v4a.verify_v4a(key, sts, sig), "awscrt's signature does not verify over our sts"


# --------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------
def _time_batch(jobs: list[Job]) -> float:
    gc.disable()
    try:
        t0 = time.perf_counter_ns()
        for job in jobs:
            job()
        t1 = time.perf_counter_ns()
    finally:
        gc.enable()
    return (t1 - t0) / len(jobs) / 1000.0


def _batch_size(make: Callable[[int], list[Job]], target_ms: float) -> int:
    per = _time_batch(make(20))
    return max(20, int(target_ms * 1000 / max(per, 0.1)))


def measure(
    rows: dict[str, Callable[[int], list[Job]]], rounds: int, target_ms: float
) -> dict[str, list[float]]:
    sizes = {name: _batch_size(make, target_ms) for name, make in rows.items()}
    samples: dict[str, list[float]] = {name: [] for name in rows}
    order = list(rows)
    rng = random.Random(11)
    for _ in range(rounds):
        rng.shuffle(order)
        for name in order:
            samples[name].append(_time_batch(rows[name](sizes[name])))
    return samples


def key_derivation_proof(rounds: int) -> dict[str, float]:
    """Uncached derivation vs the cached path, and derivations during signing."""
    n = 200

    def uncached() -> float:
        _v4a._KEY_CACHE.clear()
        t0 = time.perf_counter_ns()
        for _ in range(n):
            _v4a._KEY_CACHE.clear()
            _v4a.derive_private_key(AK, SK)
        return (time.perf_counter_ns() - t0) / n / 1000.0

    def cached() -> float:
        _v4a.derive_private_key(AK, SK)
        t0 = time.perf_counter_ns()
        for _ in range(n):
            _v4a.derive_private_key(AK, SK)
        return (time.perf_counter_ns() - t0) / n / 1000.0

    return {
        "derive uncached (KDF + EC key)": statistics.median(uncached() for _ in range(rounds)),
        "derive cached (lookup)": statistics.median(cached() for _ in range(rounds)),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--json", help="write the raw samples here")
    ap.add_argument("--quick", action="store_true", help="1 round, 2 ms batches (smoke test)")
    args = ap.parse_args(argv)
    rounds, target_ms = (1, 2.0) if args.quick else (args.rounds, 10.0)

    # Count derivations while the signing rows run: after the warm-up in
    # check(), every signature must come from the cache.
    derivations = 0
    real_scalar = _v4a.derive_private_scalar

    def counting(akid: str, secret: str) -> int:
        nonlocal derivations
        derivations += 1
        return real_scalar(akid, secret)

    results: dict[str, dict[str, float]] = {}
    raw: dict[str, dict[str, list[float]]] = {}
    for cname, case in CASES.items():
        check(case)
        rows: dict[str, Callable[[int], list[Job]]] = {
            "sigv4kit Signer (SigV4a)": sigv4kit_signer(case, "sigv4a"),
            "sigv4kit sign_v4a (primitive)": sigv4kit_primitive_sign(case),
            "sigv4kit verify_v4a": sigv4kit_verify(case),
            "awscrt V4a prebuilt": awscrt_prebuilt(case),
            "awscrt V4a +build": awscrt_build(case),
            "sigv4kit Signer (SigV4, ref.)": sigv4kit_signer(case, "sigv4"),
        }
        _v4a.derive_private_scalar = counting  # type: ignore[assignment]
        try:
            samples = measure(rows, rounds, target_ms)
        finally:
            _v4a.derive_private_scalar = real_scalar
        raw[cname] = samples
        results[cname] = {name: statistics.median(v) for name, v in samples.items()}

    names = list(next(iter(results.values())))
    base = "awscrt V4a prebuilt"
    head = f"{'median us per request (x vs awscrt V4a prebuilt)':<34}" + "".join(
        f"{c:>22}" for c in results
    )
    print(f"Python {sys.version.split()[0]}, {rounds} round(s)")
    print(head)
    print("-" * len(head))
    for name in names:
        cells = "".join(
            f"{results[c][name]:>13.2f} x{results[c][name] / results[c][base]:<6.2f}  "
            for c in results
        )
        print(f"{name:<34}{cells}")

    proof = key_derivation_proof(max(3, min(rounds, 9)))
    print()
    for name, us in proof.items():
        print(f"{name:<34}{us:>13.2f} us")
    ratio = proof["derive uncached (KDF + EC key)"] / proof["derive cached (lookup)"]
    print(f"{'cached path is faster by':<34}{ratio:>13.1f} x")
    print(f"{'derivations during timed signing':<34}{derivations:>13d}   (must be 0)")

    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(
                {
                    "medians": results,
                    "samples": raw,
                    "key_derivation": proof,
                    "derivations_during_signing": derivations,
                },
                f,
                indent=1,
            )
    return 0 if derivations == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
