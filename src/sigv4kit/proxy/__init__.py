"""``sigv4kit proxy``: a streaming signing proxy (the job of aws-sigv4-proxy).

Clients that cannot sign (Grafana, Prometheus, curl, legacy applications)
send plain HTTP to the proxy; it signs each request with the credential
chain and forwards it, streaming both bodies, on the engine in
:mod:`sigv4kit.forward`.  Needs ``pip install 'sigv4kit[proxy]'``.

* :class:`ProxyConfig`, :class:`SigningProxy` -- the service;
* :class:`ProxyCredentials`, :func:`assume_role` -- credentials kept fresh,
  ``--role-arn``;
* :func:`partition_headers` -- which headers are signed (the rule is in
  :mod:`sigv4kit.proxy._plan`'s docstring and the README);
* :func:`plan_payload` -- how a body is paid for (UNSIGNED-PAYLOAD,
  aws-chunked, spooled and hashed);
* :func:`classify_error` -- what an upstream error answer means.
"""

from __future__ import annotations

from ._credentials import ProxyCredentials, assume_role, parse_assume_role
from ._plan import classify_error, partition_headers, plan_payload
from ._service import ProxyConfig, SigningProxy, UnknownHostError, infer_scope
from ._spool import BodyTooLarge, Spool, spool

__all__ = [
    "BodyTooLarge",
    "ProxyConfig",
    "ProxyCredentials",
    "SigningProxy",
    "Spool",
    "UnknownHostError",
    "assume_role",
    "classify_error",
    "infer_scope",
    "parse_assume_role",
    "partition_headers",
    "plan_payload",
    "spool",
]
