"""Guess the region and service from an endpoint's hostname.

``sigv4kit request`` signs without ``--region``/``--service`` when the host
says them, as the AWS CLI's endpoint rules would, and prints what it guessed.
The table covers AWS's endpoint shapes and the common S3-compatible stores;
anything else needs the flags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Inferred", "infer_scope"]


@dataclass(frozen=True)
class Inferred:
    region: str | None
    service: str | None
    provider: str

    def note(self) -> str:
        bits = []
        if self.region is not None:
            bits.append(f"region {self.region}")
        if self.service is not None:
            bits.append(f"service {self.service}")
        return f"{' and '.join(bits)} ({self.provider})"


_REGION = r"[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d"
_AWS_SUFFIX = r"amazonaws\.com(?:\.cn)?|api\.aws|on\.aws"

# (pattern, region group or literal, service group or literal, provider)
_RULES: list[tuple[re.Pattern[str], str, str, str]] = [
    # S3: virtual-hosted and path style, legacy dash form, dualstack, FIPS, access points.
    (
        re.compile(
            rf"(?:.+\.)?s3(?:-fips)?(?:\.dualstack)?[.-](?P<r>{_REGION})\.(?:{_AWS_SUFFIX})"
        ),
        "r",
        "=s3",
        "AWS S3",
    ),
    (
        re.compile(rf"(?:.+\.)?s3-accesspoint(?:\.dualstack)?\.(?P<r>{_REGION})\.amazonaws\.com"),
        "r",
        "=s3",
        "AWS S3 access point",
    ),
    (
        re.compile(rf"(?:.+\.)?s3express-(?:control\.)?(?P<r>{_REGION})\.amazonaws\.com"),
        "r",
        "=s3express",
        "AWS S3 Express",
    ),
    (re.compile(r"(?:.+\.)?s3(?:-external-1)?\.amazonaws\.com"), "=us-east-1", "=s3", "AWS S3"),
    # Services with their own shapes.
    (
        re.compile(rf"[^.]+\.execute-api\.(?P<r>{_REGION})\.amazonaws\.com"),
        "r",
        "=execute-api",
        "API Gateway",
    ),
    (
        re.compile(rf"[^.]+\.lambda-url\.(?P<r>{_REGION})\.on\.aws"),
        "r",
        "=lambda",
        "Lambda function URL",
    ),
    (
        re.compile(rf".+\.(?P<r>{_REGION})\.es\.amazonaws\.com"),
        "r",
        "=es",
        "OpenSearch Service",
    ),
    (
        re.compile(rf".+\.(?P<r>{_REGION})\.aoss\.amazonaws\.com"),
        "r",
        "=aoss",
        "OpenSearch Serverless",
    ),
    (
        re.compile(rf"(?:.+\.)?appsync-api\.(?P<r>{_REGION})\.amazonaws\.com"),
        "r",
        "=appsync",
        "AppSync",
    ),
    # Global endpoints signed in us-east-1.
    (
        re.compile(
            r"(?P<s>iam|sts|route53|cloudfront|organizations|globalaccelerator)\.amazonaws\.com"
        ),
        "=us-east-1",
        "s",
        "AWS global endpoint",
    ),
    # The generic regional shape: service[.fips][.dualstack].region.amazonaws.com
    (
        re.compile(
            rf"(?:.+\.)?(?P<s>[a-z0-9-]+?)(?:-fips)?(?:\.dualstack)?\.(?P<r>{_REGION})\."
            rf"(?:{_AWS_SUFFIX})"
        ),
        "r",
        "s",
        "AWS regional endpoint",
    ),
    # S3-compatible stores.
    (
        re.compile(r"(?:.+\.)?r2\.cloudflarestorage\.com"),
        "=auto",
        "=s3",
        "Cloudflare R2",
    ),
    (
        re.compile(r"(?:.+\.)?s3\.(?P<r>[a-z]+-[a-z]+-\d{3})\.backblazeb2\.com"),
        "r",
        "=s3",
        "Backblaze B2",
    ),
    (
        re.compile(r"(?:.+\.)?(?P<r>[a-z]{3}\d)\.digitaloceanspaces\.com"),
        "r",
        "=s3",
        "DigitalOcean Spaces",
    ),
    (
        re.compile(r"(?:.+\.)?s3\.(?P<r>[a-z]{2}-[a-z]+-\d)\.wasabisys\.com"),
        "r",
        "=s3",
        "Wasabi",
    ),
    (re.compile(r"(?:.+\.)?s3\.wasabisys\.com"), "=us-east-1", "=s3", "Wasabi"),
    (
        re.compile(r"(?:.+\.)?storage\.googleapis\.com"),
        "=auto",
        "=s3",
        "Google Cloud Storage (XML API, HMAC keys)",
    ),
    (
        re.compile(r"(?:.+\.)?(?P<r>[a-z]{2}-[a-z]+-\d)\.linodeobjects\.com"),
        "r",
        "=s3",
        "Linode Object Storage",
    ),
    (
        re.compile(r"(?:.+\.)?s3\.(?P<r>[a-z]{2}-[a-z]{3})\.scw\.cloud"),
        "r",
        "=s3",
        "Scaleway Object Storage",
    ),
    (
        re.compile(r"(?:.+\.)?s3\.(?P<r>[a-z]+)\.(?:io|perf)\.cloud\.ovh\.net"),
        "r",
        "=s3",
        "OVHcloud Object Storage",
    ),
]


# Endpoint prefixes whose signing name differs.
_SIGNING_NAMES = {
    "bedrock-runtime": "bedrock",
    "bedrock-agent": "bedrock",
    "bedrock-agent-runtime": "bedrock",
    "email": "ses",
    "aps-workspaces": "aps",
    "runtime-v2-lex": "lex",
    "data-ats": "iotdevicegateway",
}


def _pick(m: re.Match[str], spec: str) -> str:
    return spec[1:] if spec.startswith("=") else m.group(spec)


def infer_scope(host: str) -> Inferred | None:
    """The region and service a hostname implies, or None if it says nothing."""
    host = host.lower().rstrip(".")
    if host.startswith("["):
        return None
    host = host.rpartition(":")[0] if re.search(r":\d+$", host) else host
    for pattern, region, service, provider in _RULES:
        m = pattern.fullmatch(host)
        if m is not None:
            svc = _pick(m, service)
            return Inferred(_pick(m, region), _SIGNING_NAMES.get(svc, svc), provider)
    return None
