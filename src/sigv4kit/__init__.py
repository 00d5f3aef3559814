"""sigv4kit: AWS Signature Version 4 and SigV4a -- sign, verify and explain.

The public names are imported lazily: ``import sigv4kit`` costs almost
nothing, and a SigV4-only user never loads ``cryptography``.
"""

from __future__ import annotations

import sys

# Not `from typing import TYPE_CHECKING`: importing typing costs milliseconds,
# and `import sigv4kit` should cost almost nothing.
TYPE_CHECKING = False

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "Credentials": "sigv4kit.credentials",
    "SigningConfig": "sigv4kit.config",
    "Signer": "sigv4kit.signer",
    "SignedRequest": "sigv4kit.signer",
    "Verifier": "sigv4kit.verifier",
    "VerifiedRequest": "sigv4kit.verifier",
    "CanonicalRequest": "sigv4kit.canonical",
    "canonical_request_for_target": "sigv4kit.canonical",
    "SigV4Error": "sigv4kit.errors",
    "SigningError": "sigv4kit.errors",
    "SignatureError": "sigv4kit.errors",
    "SignatureDoesNotMatch": "sigv4kit.errors",
    "CredentialsError": "sigv4kit.errors",
    "LimitExceeded": "sigv4kit.errors",
}

__all__ = [
    "CanonicalRequest",
    "Credentials",
    "CredentialsError",
    "LimitExceeded",
    "SigV4Error",
    "SignatureDoesNotMatch",
    "SignatureError",
    "SignedRequest",
    "Signer",
    "SigningConfig",
    "SigningError",
    "VerifiedRequest",
    "Verifier",
    "canonical_request_for_target",
]

if TYPE_CHECKING:
    from typing import Any

    from .canonical import CanonicalRequest, canonical_request_for_target
    from .config import SigningConfig
    from .credentials import Credentials
    from .errors import (
        CredentialsError,
        LimitExceeded,
        SignatureDoesNotMatch,
        SignatureError,
        SigningError,
        SigV4Error,
    )
    from .signer import SignedRequest, Signer
    from .verifier import VerifiedRequest, Verifier


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sigv4kit' has no attribute {name!r}")
    # __import__ rather than importlib.import_module: importing importlib costs
    # about a millisecond at start-up (it loads warnings), __import__ nothing.
    __import__(module)
    value = getattr(sys.modules[module], name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
