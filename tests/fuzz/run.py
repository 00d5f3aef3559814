"""Run the atheris (libFuzzer) harnesses: ``python -m fuzz.run`` from ``tests/``.

::

    python -m fuzz.run                       # every harness, 20000 runs each
    python -m fuzz.run --seconds 600 chunked # ten minutes on the decoder
    python -m fuzz.run --corpus ~/fuzz-corpus --seconds 3600   # keep what it learns

Each harness starts from seeds written by its own ``seeds()`` (valid signed
inputs, so mutations begin past the first checks) plus any saved corpus.  A
harness fails on any exception other than :class:`sigv4kit.errors.SigV4Error`,
on a failed assertion (a forged input accepted), on an input that takes more
than ``--timeout`` seconds (a hang) and on memory above ``--rss-mb``.  The
crashing input is written to ``--artifacts`` and printed; replay it with
``python tests/fuzz/fuzz_<name>.py <file>``.

Exit status: 0 when every harness ran clean, 1 otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
HARNESSES = ("chunked", "authorization", "multipart")


def write_seeds(name: str, corpus: Path) -> int:
    module = importlib.import_module(f"fuzz.fuzz_{name}")
    seeds: list[bytes] = module.seeds()
    corpus.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate(seeds):
        (corpus / f"seed-{i:03d}").write_bytes(seed)
    return len(seeds)


def run_one(
    name: str,
    *,
    corpus: Path,
    artifacts: Path,
    runs: int | None,
    seconds: int | None,
    timeout: int,
    rss_mb: int,
    seed: int,
) -> tuple[bool, str, str]:
    """Run one harness: ``(clean, summary, libFuzzer log)``."""
    artifacts.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable,
        str(HERE / f"fuzz_{name}.py"),
        str(corpus),
        f"-seed={seed}",
        f"-timeout={timeout}",
        f"-rss_limit_mb={rss_mb}",
        "-max_len=32768",
        f"-artifact_prefix={artifacts}{os.sep}{name}-",
        "-print_final_stats=1",
    ]
    if runs is not None:
        argv.append(f"-runs={runs}")
    if seconds is not None:
        argv.append(f"-max_total_time={seconds}")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent), env.get("PYTHONPATH", "")])
    t0 = time.perf_counter()
    proc = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env=env,
        cwd=HERE.parent,
        check=False,
        timeout=(seconds or 0) + 300,
    )
    elapsed = time.perf_counter() - t0
    out = proc.stdout + proc.stderr
    done = re.findall(r"^#(\d+)\s+DONE\s+cov: (\d+)", out, re.M)
    execs = re.findall(r"stat::number_of_executed_units: (\d+)", out)
    summary = (
        f"{name}: exit {proc.returncode}, {execs[-1] if execs else '?'} runs, "
        f"cov {done[-1][1] if done else '?'}, {elapsed:.1f}s"
    )
    return proc.returncode == 0, summary, out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m fuzz.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"harnesses to run (default: all of {', '.join(HARNESSES)})",
    )
    p.add_argument("--runs", type=int, default=None, help="inputs per harness (default 20000)")
    p.add_argument("--seconds", type=int, default=None, help="time per harness instead of --runs")
    p.add_argument("--corpus", type=Path, default=None, help="keep the corpus here")
    p.add_argument("--artifacts", type=Path, default=None, help="where crashing inputs go")
    p.add_argument("--timeout", type=int, default=10, help="seconds one input may take")
    p.add_argument("--rss-mb", type=int, default=2048)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    names = args.names or list(HARNESSES)
    unknown = [n for n in names if n not in HARNESSES]
    if unknown:
        p.error(f"unknown harness {unknown[0]!r}; choose from {', '.join(HARNESSES)}")
    runs = args.runs if args.runs is not None or args.seconds is not None else 20000
    with tempfile.TemporaryDirectory(prefix="sigv4kit-fuzz-") as tmp:
        base = args.corpus or Path(tmp) / "corpus"
        artifacts = args.artifacts or Path(tmp) / "artifacts"
        ok = True
        for name in names:
            corpus = base / name
            write_seeds(name, corpus)
            clean, summary, log = run_one(
                name,
                corpus=corpus,
                artifacts=artifacts,
                runs=runs,
                seconds=args.seconds,
                timeout=args.timeout,
                rss_mb=args.rss_mb,
                seed=args.seed,
            )
            if not clean:
                # The whole log: the traceback and the crashing input's path.
                print(log[-20000:])
            print(summary, flush=True)
            if not clean:
                ok = False
                for f in sorted(artifacts.glob(f"{name}-*")):
                    data = f.read_bytes()
                    print(f"  crashing input {f.name} ({len(data)} bytes): {data[:300]!r}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
