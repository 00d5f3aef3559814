"""sigv4kit.endpoints: hostname -> the credential scope AWS expects.

The reference is botocore itself: every host its endpoint data and rule sets
produce, for every service, region and FIPS / dual-stack variant, must infer
to the scope botocore signs with.  A sample is also signed by real botocore
clients, to check that reading of botocore against its own Authorization
headers.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from sigv4kit.endpoints import Endpoint, infer

ROOT = Path(__file__).resolve().parent.parent


def _gen() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_endpoints", ROOT / "scripts/gen_endpoints.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize(
    ("host", "region", "service"),
    [
        # Moved from test_cli_hosts.py (cli/_hosts.py is gone).
        ("examplebucket.s3.amazonaws.com", "us-east-1", "s3"),
        ("s3.amazonaws.com", "us-east-1", "s3"),
        ("bucket.s3.eu-west-1.amazonaws.com", "eu-west-1", "s3"),
        ("bucket.s3-us-west-2.amazonaws.com", "us-west-2", "s3"),
        ("bucket.s3.dualstack.ap-south-1.amazonaws.com", "ap-south-1", "s3"),
        ("s3-fips.us-gov-west-1.amazonaws.com", "us-gov-west-1", "s3"),
        ("ap-1234.s3-accesspoint.us-east-1.amazonaws.com", "us-east-1", "s3"),
        ("dynamodb.us-east-1.amazonaws.com", "us-east-1", "dynamodb"),
        ("sqs.eu-central-1.amazonaws.com:443", "eu-central-1", "sqs"),
        ("ec2.cn-north-1.amazonaws.com.cn", "cn-north-1", "ec2"),
        ("bedrock-runtime.us-west-2.amazonaws.com", "us-west-2", "bedrock"),
        ("email.us-east-1.amazonaws.com", "us-east-1", "ses"),
        ("abc123.execute-api.us-east-2.amazonaws.com", "us-east-2", "execute-api"),
        ("xyz.lambda-url.eu-west-1.on.aws", "eu-west-1", "lambda"),
        ("search-logs-abc.us-east-1.es.amazonaws.com", "us-east-1", "es"),
        ("iam.amazonaws.com", "us-east-1", "iam"),
        ("sts.amazonaws.com", "us-east-1", "sts"),
        ("sts.eu-west-3.amazonaws.com", "eu-west-3", "sts"),
        ("0123abcd.r2.cloudflarestorage.com", "auto", "s3"),
        ("0123abcd.eu.r2.cloudflarestorage.com", "auto", "s3"),
        ("s3.us-west-004.backblazeb2.com", "us-west-004", "s3"),
        ("my-space.nyc3.digitaloceanspaces.com", "nyc3", "s3"),
        ("s3.eu-central-1.wasabisys.com", "eu-central-1", "s3"),
        ("storage.googleapis.com", "auto", "s3"),
        ("s3.fr-par.scw.cloud", "fr-par", "s3"),
        # The shapes issue 13 lists.
        ("abc.lambda-url.us-west-2.on.aws", "us-west-2", "lambda"),
        ("iam.us-gov.amazonaws.com", "us-gov-west-1", "iam"),
        ("route53.amazonaws.com", "us-east-1", "route53"),
        ("cloudfront.amazonaws.com", "us-east-1", "cloudfront"),
        ("aps-workspaces.eu-west-1.amazonaws.com", "eu-west-1", "aps"),
        ("aps.eu-west-1.amazonaws.com", "eu-west-1", "aps"),
        ("abc.us-east-1.aoss.amazonaws.com", "us-east-1", "aoss"),
        ("aoss.us-east-1.amazonaws.com", "us-east-1", "aoss"),
        ("bedrock.us-east-1.amazonaws.com", "us-east-1", "bedrock"),
        ("bedrock-agent-runtime.us-east-1.amazonaws.com", "us-east-1", "bedrock"),
        ("bedrock-runtime-fips.us-east-1.amazonaws.com", "us-east-1", "bedrock"),
        ("data-ats.iot.us-east-1.amazonaws.com", "us-east-1", "iotdata"),
        ("a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com", "eu-west-1", "iotdata"),
        ("iot.eu-west-1.amazonaws.com", "eu-west-1", "iot"),
        ("runtime.sagemaker.us-east-1.amazonaws.com", "us-east-1", "sagemaker"),
        ("runtime-fips.sagemaker.us-east-1.amazonaws.com", "us-east-1", "sagemaker"),
        ("dynamodb-fips.us-gov-west-1.amazonaws.com", "us-gov-west-1", "dynamodb"),
        ("dynamodb.us-east-1.api.aws", "us-east-1", "dynamodb"),
        ("ec2.us-iso-east-1.c2s.ic.gov", "us-iso-east-1", "ec2"),
        ("ec2.us-isob-east-1.sc2s.sgov.gov", "us-isob-east-1", "ec2"),
        ("vpce-0a1b2c3d-4e5f.sqs.us-east-1.vpce.amazonaws.com", "us-east-1", "sqs"),
        ("vpce-0a1b2c3d-4e5f-us-east-1a.ec2.us-east-1.vpce.amazonaws.com", "us-east-1", "ec2"),
        # S3 in its shapes.
        ("s3.us-west-2.amazonaws.com", "us-west-2", "s3"),
        ("my.dotted.bucket.s3.us-west-2.amazonaws.com", "us-west-2", "s3"),
        ("bucket.s3-external-1.amazonaws.com", "us-east-1", "s3"),
        ("s3-fips.dualstack.us-east-1.amazonaws.com", "us-east-1", "s3"),
        ("bucket.s3.dualstack.cn-north-1.amazonaws.com.cn", "cn-north-1", "s3"),
        ("ap-123456789012.s3-accesspoint.dualstack.us-east-1.amazonaws.com", "us-east-1", "s3"),
        ("123456789012.s3-control.us-east-1.amazonaws.com", "us-east-1", "s3"),
        ("bucket.vpce-1a2b3c4d-5e6f.s3.us-east-1.vpce.amazonaws.com", "us-east-1", "s3"),
        (
            "ol-123456789012.s3-object-lambda.us-east-1.amazonaws.com",
            "us-east-1",
            "s3-object-lambda",
        ),
        ("b--usw2-az1--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com", "us-west-2", "s3express"),
        ("s3express-usw2-az1.us-west-2.amazonaws.com", "us-west-2", "s3express"),
        ("s3express-control.us-west-2.amazonaws.com", "us-west-2", "s3express"),
        ("ns.compat.objectstorage.us-ashburn-1.oraclecloud.com", "us-ashburn-1", "s3"),
    ],
)
def test_inferred(host: str, region: str, service: str) -> None:
    guess = infer(host)
    assert guess is not None
    assert (guess.region, guess.service, guess.algorithm) == (region, service, "sigv4")
    assert guess.region_set is None
    assert region in guess.note() and service in guess.note()


@pytest.mark.parametrize(
    "host",
    [
        "localhost:9000",
        "127.0.0.1",
        "[::1]:9000",
        "example.com",
        "bucket.s3-website-us-east-1.amazonaws.com",
        "bucket.s3-website.eu-west-1.amazonaws.com",
        "amazonaws.com",
        "nonsense-service-xyz.us-east-1.amazonaws.com",
    ],
)
def test_not_inferred(host: str) -> None:
    assert infer(host) is None


def test_multi_region_access_point_is_sigv4a() -> None:
    e = infer("mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com")
    assert e == Endpoint("*", "s3", "sigv4a", ["*"], "aws", e.label if e else "")
    assert e is not None and e.region_set == ["*"]
    e.region_set.append("us-east-1")  # a caller's list: the next answer is unchanged
    again = infer("mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com")
    assert again is not None and again.region_set == ["*"]


def test_urls_and_case() -> None:
    a = infer("https://user@Bucket.S3.EU-West-1.amazonaws.com:443/key?x=1")
    assert a is not None and (a.region, a.service) == ("eu-west-1", "s3")
    assert infer("dynamodb.us-east-1.amazonaws.com.") == infer("dynamodb.us-east-1.amazonaws.com")


def test_providers() -> None:
    r2 = infer("acct.r2.cloudflarestorage.com")
    assert r2 is not None and r2.provider == "cloudflare-r2"
    aws = infer("bucket.s3.us-east-1.amazonaws.com")
    assert aws is not None and aws.provider == "aws"


def test_import_is_cheap() -> None:
    """Importing the module reads no data; the first call does."""
    code = (
        "import sys, sigv4kit.endpoints as e\n"
        "assert e._table.cache_info().currsize == 0\n"
        "assert 'json' not in sys.modules or True\n"
        "e.infer('s3.amazonaws.com')\n"
        "assert e._table.cache_info().currsize == 1\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_data_file_is_generated() -> None:
    data = json.loads((ROOT / "src/sigv4kit/_endpoints.json").read_text())
    assert data["_about"].startswith("generated by scripts/gen_endpoints.py")
    assert {"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b"} <= set(data["suffixes"])


@pytest.fixture(scope="module")
def reference() -> tuple[dict[str, tuple[str, str, str]], dict[str, Any]]:
    pytest.importorskip("botocore")
    ref: tuple[dict[str, tuple[str, str, str]], dict[str, Any]] = _gen().reference()
    return ref


def test_every_botocore_host(
    reference: tuple[dict[str, tuple[str, str, str]], dict[str, Any]],
) -> None:
    """Every host botocore produces infers to the scope botocore signs with."""
    truth, ambiguous = reference
    assert len(truth) > 20000  # all services x regions x variants, not a sample
    wrong = []
    for host, (region, service, algorithm) in truth.items():
        e = infer(host)
        got = None if e is None else (e.region, e.service, e.algorithm)
        if host in ambiguous:
            if got not in ambiguous[host]:
                wrong.append((host, got, sorted(ambiguous[host])))
        elif got != (region, service, algorithm):
            wrong.append((host, got, (region, service, algorithm)))
    assert not wrong, f"{len(wrong)} hosts differ from botocore, e.g. {wrong[:10]}"


# (botocore client name, region, client config) signed for real by botocore.
_SAMPLE = [
    ("s3", "us-east-1", {}),
    ("s3", "eu-west-1", {"s3": {"addressing_style": "virtual"}}),
    ("s3", "us-west-2", {"use_dualstack_endpoint": True}),
    ("s3", "us-gov-west-1", {"use_fips_endpoint": True}),
    ("s3", "cn-north-1", {}),
    ("dynamodb", "us-east-1", {}),
    ("dynamodb", "us-gov-west-1", {"use_fips_endpoint": True}),
    ("iam", "eu-west-1", {}),
    ("iam", "us-gov-east-1", {}),
    ("iam", "cn-northwest-1", {}),
    ("sts", "ap-southeast-2", {}),
    ("route53", "us-west-2", {}),
    ("cloudfront", "eu-central-1", {}),
    ("sesv2", "us-east-1", {}),
    ("bedrock-runtime", "us-west-2", {}),
    ("bedrock-agent-runtime", "eu-central-1", {}),
    ("sagemaker-runtime", "us-east-1", {}),
    ("iot-data", "eu-west-1", {}),
    ("amp", "us-east-1", {}),
    ("opensearchserverless", "us-east-1", {}),
    ("es", "eu-west-1", {}),
    ("lambda", "ap-northeast-1", {"use_dualstack_endpoint": True}),
    ("sqs", "us-iso-east-1", {}),
    ("ec2", "us-isob-east-1", {}),
    ("kms", "eu-west-2", {"use_fips_endpoint": True}),
]


def _signed_by_botocore(name: str, region: str, cfg: dict[str, Any]) -> tuple[str, str, str]:
    """(host, scope region, scope service) of the first request a real client signs."""
    import botocore.session
    from botocore.awsrequest import AWSResponse
    from botocore.config import Config

    session = botocore.session.get_session()
    client = session.create_client(
        name,
        region_name=region,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="not-a-real-secret-example",
        config=Config(**cfg, retries={"max_attempts": 1}),
    )
    seen: list[tuple[str, str]] = []

    def capture(request: Any, **_: Any) -> AWSResponse:
        seen.append((request.url, request.headers["Authorization"].decode()))
        return AWSResponse(request.url, 400, {}, None)

    client.meta.events.register("before-send", capture)
    ops = {
        "s3": lambda: client.list_objects_v2(Bucket="examplebucket"),
        "iot-data": lambda: client.get_thing_shadow(thingName="t"),
        "sagemaker-runtime": lambda: client.invoke_endpoint(EndpointName="e", Body=b"{}"),
        "bedrock-runtime": lambda: client.invoke_model(modelId="m", body=b"{}"),
        "bedrock-agent-runtime": lambda: client.list_sessions(),
        "amp": lambda: client.list_workspaces(),
        "opensearchserverless": lambda: client.list_collections(),
        "es": lambda: client.list_domain_names(),
        "lambda": lambda: client.list_functions(),
        "sesv2": lambda: client.get_account(),
        "route53": lambda: client.list_hosted_zones(),
        "cloudfront": lambda: client.list_distributions(),
        "iam": lambda: client.list_users(),
        "sts": lambda: client.get_caller_identity(),
        "dynamodb": lambda: client.list_tables(),
        "sqs": lambda: client.list_queues(),
        "ec2": lambda: client.describe_regions(),
        "kms": lambda: client.list_keys(),
    }
    try:
        ops[name]()
    except Exception:  # the canned 400 answer; only the signed request matters
        pass
    assert seen, f"{name} sent nothing"
    url, auth = seen[0]
    from urllib.parse import urlsplit

    scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
    return urlsplit(url).hostname or "", scope[2], scope[3]


@pytest.mark.parametrize(
    ("name", "region", "cfg"), _SAMPLE, ids=[f"{s[0]}-{s[1]}" for s in _SAMPLE]
)
def test_botocore_signs_what_we_infer(name: str, region: str, cfg: dict[str, Any]) -> None:
    pytest.importorskip("botocore")
    host, scope_region, scope_service = _signed_by_botocore(name, region, cfg)
    e = infer(host)
    assert e is not None, host
    assert (e.region, e.service) == (scope_region, scope_service), host
