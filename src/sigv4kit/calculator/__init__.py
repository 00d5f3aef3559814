"""The local SigV4 calculator: a static page and a loopback JSON endpoint.

People paste secrets into web calculators to debug signatures; this one
runs on 127.0.0.1, needs nothing from the network, and keeps the secret in
memory only: the server writes nothing to disk and logs nothing.
"""

from __future__ import annotations

from ._compute import FIELDS, compute
from .server import CalculatorServer, serve

__all__ = ["FIELDS", "CalculatorServer", "compute", "serve"]
