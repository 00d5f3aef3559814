"""Regenerate src/sigv4kit/_endpoints.json from botocore's own data.

    PYTHONPATH=src python scripts/gen_endpoints.py [--check]

botocore knows, for every service: the endpoint prefix and signing name
(service model metadata), the hostnames per partition, region and FIPS /
dual-stack variant with any credential-scope override (endpoints.json), and the
endpoint rule set that modern clients resolve with, whose ``authSchemes`` carry
the signing name and region actually used.  This script walks all of it
(:func:`botocore_scopes`, which the test suite reuses as the reference), and
writes a compact table:

- ``suffixes`` / ``region_patterns``: the partitions (``partitions.json``);
- ``prefixes``: endpoint prefix -> signing name, plus the hand-kept
  ``SUPPLEMENT`` for shapes botocore does not enumerate;
- ``hosts``: only the hostnames where the generic reading in
  ``sigv4kit.endpoints.generic`` would give another scope than botocore signs
  with (global endpoints, credential-scope overrides, odd templates);
- ``rules``: regex rules for shapes with ids in them (S3 Express zones,
  Multi-Region Access Points) and for S3-compatible stores.

``--check`` exits 1 when the committed file differs from what would be written.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

OUT = Path(__file__).resolve().parent.parent / "src" / "sigv4kit" / "_endpoints.json"

# Endpoint prefixes (or "*.prefix" for any name under it) that no botocore
# model declares, with the signing name AWS expects.
SUPPLEMENT: dict[str, str] = {
    "execute-api": "execute-api",  # API Gateway invoke URLs: id.execute-api.region
    "lambda-url": "lambda",  # Lambda function URLs: id.lambda-url.region.on.aws
    "appsync-api": "appsync",  # AppSync GraphQL: id.appsync-api.region
    "aps-workspaces": "aps",  # Amazon Managed Prometheus data plane
    "*.iot": "iotdata",  # IoT custom data endpoints: abc-ats.iot.region
    "s3-accesspoint": "s3",  # S3 access points: name-acct.s3-accesspoint.region
    "s3-object-lambda": "s3-object-lambda",
    "s3-outposts": "s3-outposts",
    "s3-control": "s3",  # S3 Control: acct.s3-control.region
    "s3express-control": "s3express",
}

# DNS suffixes botocore's partitions do not list but AWS serves signed APIs on.
EXTRA_SUFFIXES = {"aws": ["on.aws"]}

# Hosts that accept no signed requests: S3 website endpoints.
EXCLUDED = [r"(?:^|\.)s3-website[.-]"]

# Shapes with ids inside a label, and S3-compatible stores (not in botocore).
RULES: list[dict[str, str]] = [
    {
        "pattern": r"(?:.+\.)?mrap\.accesspoint\.s3-global\.amazonaws\.com",
        "region": "*",
        "service": "s3",
        "algorithm": "sigv4a",
        "provider": "aws",
        "label": "AWS S3 Multi-Region Access Point",
    },
    {
        "pattern": r"(?:.+\.)?s3express-(?:fips-)?[a-z0-9]+(?:-[a-z0-9]+)*-az\d+"
        r"\.(?P<r>[a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com",
        "region": r"\g<r>",
        "service": "s3express",
        "algorithm": "sigv4",
        "provider": "aws",
        "label": "AWS S3 Express One Zone",
    },
    {
        "pattern": r"(?:.+\.)?r2\.cloudflarestorage\.com",
        "region": "auto",
        "service": "s3",
        "algorithm": "sigv4",
        "provider": "cloudflare-r2",
        "label": "Cloudflare R2",
    },
    {
        "pattern": r"(?:.+\.)?s3\.(?P<r>[a-z]+-[a-z]+-\d{3})\.backblazeb2\.com",
        "region": r"\g<r>",
        "service": "s3",
        "algorithm": "sigv4",
        "provider": "backblaze-b2",
        "label": "Backblaze B2",
    },
    {
        "pattern": r"(?:.+\.)?(?P<r>[a-z]{3}\d)\.digitaloceanspaces\.com",
        "region": r"\g<r>",
        "service": "s3",
        "algorithm": "sigv4",
        "provider": "digitalocean-spaces",
        "label": "DigitalOcean Spaces",
    },
    {
        "pattern": r"(?:.+\.)?s3\.(?P<r>[a-z]{2}-[a-z]+-\d)\.wasabisys\.com",
        "region": r"\g<r>",
        "service": "s3",
        "algorithm": "sigv4",
        "provider": "wasabi",
        "label": "Wasabi",
    },
    {
        "pattern": r"(?:.+\.)?s3\.wasabisys\.com",
        "region": "us-east-1",
        "service": "s3",
        "algorithm": "sigv4",
        "provider": "wasabi",
        "label": "Wasabi",
    },
    {
        "pattern": r"(?:.+\.)?storage\.googleapis\.com",
        "region": "auto",
        "service": "s3",
        "algorithm": "sigv4",
        "provider": "gcs",
        "label": "Google Cloud Storage (XML API, HMAC keys)",
    },
    {
        "pattern": r"(?:.+\.)?compat\.objectstorage\.(?P<r>[a-z]{2}-[a-z]+-\d)\.oraclecloud\.com",
        "region": r"\g<r>",
        "service": "s3",
        "algorithm": "sigv4",
        "provider": "oracle-oci",
        "label": "Oracle OCI Object Storage (S3 compatibility)",
    },
    {
        "pattern": r"(?:.+\.)?(?P<r>[a-z]{2}-[a-z]+-\d)\.linodeobjects\.com",
        "region": r"\g<r>",
        "service": "s3",
        "algorithm": "sigv4",
        "provider": "linode",
        "label": "Linode Object Storage",
    },
    {
        "pattern": r"(?:.+\.)?s3\.(?P<r>[a-z]{2}-[a-z]{3})\.scw\.cloud",
        "region": r"\g<r>",
        "service": "s3",
        "algorithm": "sigv4",
        "provider": "scaleway",
        "label": "Scaleway Object Storage",
    },
    {
        "pattern": r"(?:.+\.)?s3\.(?P<r>[a-z]+)\.(?:io|perf)\.cloud\.ovh\.net",
        "region": r"\g<r>",
        "service": "s3",
        "algorithm": "sigv4",
        "provider": "ovh",
        "label": "OVHcloud Object Storage",
    },
]


class Scope(NamedTuple):
    host: str
    region: str
    service: str
    algorithm: str
    source: str  # "legacy" (endpoints.json) or "ruleset", and the botocore service
    partition: str


_V4 = {"v4", "s3v4", "s3", "v4a"}


def _metadata(loader: Any, name: str) -> dict[str, Any]:
    """A service model's ``metadata``, read from the head of the file.

    The models are large (EC2's is megabytes); their metadata object comes
    first and has no nested objects, so the first few kilobytes of the
    (gzipped) file hold it.  Falls back to loading the whole model.
    """
    import gzip

    version = loader.determine_latest_version(name, "service-2")
    for base in loader.search_paths:
        for suffix, opener in ((".json.gz", gzip.open), (".json", open)):
            path = Path(base) / name / version / f"service-2{suffix}"
            if not path.exists():
                continue
            with opener(path, "rt", encoding="utf-8") as fh:
                head = fh.read(16384)
            m = re.search(r'"metadata"\s*:\s*(\{[^{}]*\})', head)
            if m:
                meta: dict[str, Any] = json.loads(m[1])
                return meta
    full: dict[str, Any] = loader.load_service_model(name, "service-2")["metadata"]
    return full


def _models() -> Iterator[tuple[str, dict[str, Any], Any]]:
    from botocore.loaders import Loader

    loader = Loader()
    for name in sorted(loader.list_available_services("service-2")):
        meta = _metadata(loader, name)
        auth = set(meta.get("auth", [])) | {meta.get("signatureVersion", "")}
        if not ({"aws.auth#sigv4", "aws.auth#sigv4a"} & auth or _V4 & auth):
            continue  # bearer-only or anonymous services
        try:
            ruleset = loader.load_service_model(name, "endpoint-rule-set-1")
        except Exception:  # a service without a rule set
            ruleset = None
        yield name, meta, ruleset


def botocore_scopes() -> Iterator[Scope]:
    """Every (host, signing region, signing name, algorithm) botocore produces.

    Two sources, as botocore itself has them: the legacy resolver over
    endpoints.json (hostnames with credentialScope overrides), and each
    service's endpoint rule set evaluated for every region of every partition
    and each FIPS / dual-stack variant (authSchemes give the signing name and
    region; without them the model's signing name and the credential scope
    apply, as in botocore's ClientEndpointBridge).
    """
    from botocore.endpoint_provider import EndpointProvider
    from botocore.exceptions import BotoCoreError
    from botocore.loaders import Loader
    from botocore.regions import EndpointResolver

    loader = Loader()
    endpoints = loader.load_data("endpoints")
    partitions = loader.load_data("partitions")
    legacy = EndpointResolver(endpoints)
    all_regions = {p["partition"]: sorted(p["regions"]) for p in endpoints["partitions"]}
    variants = [(False, False), (True, False), (False, True), (True, True)]
    for name, meta, ruleset in _models():
        prefix = meta["endpointPrefix"]
        signing = meta.get("signingName") or prefix
        provider = EndpointProvider(ruleset, partitions) if ruleset is not None else None
        for partition, regions_all in all_regions.items():
            listed = legacy.get_available_endpoints(prefix, partition, allow_non_regional=True)
            regions = sorted(set(listed) | set(regions_all))
            for region in regions:
                for fips, dual in variants:
                    try:
                        ep = legacy.construct_endpoint(
                            prefix,
                            region,
                            partition_name=partition,
                            use_fips_endpoint=fips,
                            use_dualstack_endpoint=dual,
                        )
                    except BotoCoreError:
                        ep = None
                    scope_region, scope_service = region, signing
                    real = region in regions_all
                    if ep and region in listed and (real or not (fips or dual)):
                        cs = ep.get("credentialScope", {})
                        scope_region = cs.get("region", region)
                        scope_service = cs.get("service", signing)
                        host = ep["hostname"].lower()
                        # A pseudo-region ("fips-us-east-1") without a credential
                        # scope would sign for a region that does not exist.
                        if "{" not in host and (real or "region" in cs):
                            yield Scope(
                                host,
                                scope_region,
                                scope_service,
                                "sigv4",
                                f"legacy {name}",
                                partition,
                            )
                    if provider is None or ruleset is None or region not in regions_all:
                        continue
                    yield from _ruleset_scopes(
                        provider,
                        ruleset,
                        name,
                        region,
                        fips,
                        dual,
                        scope_region,
                        scope_service,
                        partition,
                    )


def _ruleset_scopes(
    provider: Any,
    ruleset: dict[str, Any],
    name: str,
    region: str,
    fips: bool,
    dual: bool,
    fallback_region: str,
    fallback_service: str,
    partition: str,
) -> Iterator[Scope]:
    from urllib.parse import urlsplit

    builtins = {
        "AWS::Region": region,
        "AWS::UseFIPS": fips,
        "AWS::UseDualStack": dual,
    }
    params: dict[str, Any] = {}
    for pname, spec in ruleset["parameters"].items():
        b = spec.get("builtIn")
        if b in builtins:
            params[pname] = builtins[b]
        elif b in ("AWS::S3::UseGlobalEndpoint", "AWS::STS::UseGlobalEndpoint"):
            params[pname] = False
    shapes: list[dict[str, Any]] = [params]
    if name == "s3":
        shapes.append({**params, "Bucket": "examplebucket"})
        shapes.append({**params, "UseGlobalEndpoint": True})
    if name == "sts":
        shapes.append({**params, "UseGlobalEndpoint": True})
    for p in shapes:
        try:
            ep = provider.resolve_endpoint(**p)
        except Exception:  # unsupported variant, or parameters this service requires
            continue
        host = (urlsplit(ep.url).hostname or "").lower()
        if not host:
            continue
        schemes = ep.properties.get("authSchemes") or [{}]
        s = schemes[0]
        algorithm = "sigv4a" if s.get("name") == "sigv4a" else "sigv4"
        if algorithm == "sigv4a":
            reg = ",".join(s.get("signingRegionSet", ["*"]))
        else:
            reg = s.get("signingRegion") or fallback_region
        svc = s.get("signingName") or fallback_service
        yield Scope(host, reg, svc, algorithm, f"ruleset {name}", partition)


def reference() -> tuple[dict[str, tuple[str, str, str]], dict[str, set[tuple[str, str, str]]]]:
    """host -> the (region, service, algorithm) botocore signs with, and the ambiguous hosts.

    A host two partitions share (``cloudfront.amazonaws.com`` is produced for
    aws and aws-us-gov regions alike) belongs to the partition listed first
    (``aws``), which is where that name resolves.  A host that still has two
    answers within one partition is ambiguous: any of them is accepted.
    """
    import logging

    logging.getLogger("botocore.regions").setLevel(logging.ERROR)  # deprecated fips-* names
    rank: dict[str, int] = {}
    truth: dict[str, tuple[str, str, str]] = {}
    conflicts: dict[str, set[tuple[str, str, str]]] = {}
    order: dict[str, int] = {}
    for sc in botocore_scopes():
        if ":" in sc.host or sc.host.startswith("localhost"):
            continue
        r = rank.setdefault(sc.partition, len(rank))
        val = (sc.region, sc.service, sc.algorithm)
        if sc.host not in truth or r < order[sc.host]:
            if sc.host in truth and r < order[sc.host]:
                conflicts.pop(sc.host, None)
            truth[sc.host], order[sc.host] = val, r
        elif r == order[sc.host] and truth[sc.host] != val:
            conflicts.setdefault(sc.host, {truth[sc.host]}).add(val)
    return truth, conflicts


def _keys(host: str, table: Any) -> list[str]:
    """The label keys the generic reading would look up for host, shortest first."""
    for suffix, _p in table.suffixes:
        if host.endswith("." + suffix):
            labels = host[: -len(suffix) - 1].split(".")
            break
    else:
        return []
    if labels[-1] == "vpce":
        labels.pop()
    idx = [i for i, label in enumerate(labels) if table.region.fullmatch(label)]
    if not idx:
        return []
    left, right = labels[: idx[-1]], labels[idx[-1] + 1 :]
    if right:
        return [right[0].removesuffix("-fips")]
    while left and left[-1] in ("dualstack", "fips"):
        left.pop()
    key = [label.removesuffix("-fips") for label in left[-3:]]
    return [".".join(key[-k:]) for k in range(1, len(key) + 1)]


def build() -> dict[str, Any]:
    import botocore
    from botocore.loaders import Loader

    sys.path.insert(0, str(OUT.parent.parent))
    from sigv4kit import endpoints as ep_mod

    loader = Loader()
    parts = loader.load_data("partitions")
    suffixes: dict[str, list[str]] = {}
    patterns: list[str] = []
    for p in parts["partitions"]:
        out = p["outputs"]
        ss = {out["dnsSuffix"], out["dualStackDnsSuffix"], *EXTRA_SUFFIXES.get(p["id"], [])}
        suffixes[p["id"]] = sorted(ss)
        patterns.append(p["regionRegex"].removeprefix("^").removesuffix("$"))
    prefixes: dict[str, str] = {}
    for _name, meta, _rs in _models():
        prefix = meta["endpointPrefix"]
        prefixes.setdefault(prefix, meta.get("signingName") or prefix)
    prefixes.update(SUPPLEMENT)
    data: dict[str, Any] = {
        "_about": "generated by scripts/gen_endpoints.py from botocore "
        f"{botocore.__version__}; do not edit",
        "suffixes": suffixes,
        "region_patterns": patterns,
        "prefixes": dict(sorted(prefixes.items())),
        "excluded": EXCLUDED,
        "rules": RULES,
        "hosts": {},
    }
    table = ep_mod._Table(data)
    truth, conflicts = reference()
    for host, vals in sorted(conflicts.items()):
        print(f"ambiguous, left to the generic reading: {host} {sorted(vals)}", file=sys.stderr)
    truth = {h: v for h, v in truth.items() if h not in conflicts}
    truth = {
        h: v for h, v in truth.items() if not any(re.fullmatch(r["pattern"], h) for r in RULES)
    }
    # Learn label keys ("maps.geo" -> geo-maps, "efs" -> elasticfilesystem) for
    # hosts the generic reading gets wrong, when every host with that key agrees.
    keyed: dict[str, set[str]] = {}
    for host, (_region, service, _alg) in truth.items():
        for key in _keys(host, table):
            keyed.setdefault(key, set()).add(service)
    for host, (region, service, alg) in sorted(truth.items()):
        g = ep_mod.generic(host, table)
        if alg != "sigv4" or (g is not None and (g[0], g[1]) == (region, service)):
            continue
        for key in _keys(host, table):
            if keyed[key] == {service} and key not in prefixes:
                prefixes[key] = service
                table.prefixes[key] = service
                break
    data["prefixes"] = dict(sorted(prefixes.items()))
    hosts: dict[str, list[str]] = {}
    for host, (region, service, alg) in sorted(truth.items()):
        if alg != "sigv4":
            hosts[host] = [region, service, alg]
            continue
        g = ep_mod.generic(host, table)
        if g is None or (g[0], g[1]) != (region, service):
            hosts[host] = [region, service]
    data["hosts"] = hosts
    return data


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    args = ap.parse_args()
    text = json.dumps(build(), indent=0, sort_keys=False) + "\n"
    if args.check:
        same = OUT.exists() and OUT.read_text() == text
        print("up to date" if same else f"{OUT} is out of date; rerun without --check")
        return 0 if same else 1
    OUT.write_text(text)
    print(f"wrote {OUT} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
