"""Client integrations: sign requests inside the HTTP client you already use.

Each submodule imports its own HTTP library and nothing else imports them,
so ``import sigv4kit`` never pulls in ``requests``, ``httpx`` or
``aiohttp``.  Install the one you need (``pip install 'sigv4kit[httpx]'``).

* :mod:`sigv4kit.client.requests` -- ``SigV4Auth`` (``requests.auth.AuthBase``)
* :mod:`sigv4kit.client.httpx` -- ``SigV4Auth`` (``httpx.Auth``, sync and async)
* :mod:`sigv4kit.client.aiohttp` -- ``SigV4Middleware`` (client middleware)

All three take a :class:`~sigv4kit.Signer`, or credentials (a
``Credentials`` value, a provider, or ``None`` for the default chain) plus
``region`` and ``service``; ``payload=`` picks hashed, ``UNSIGNED-PAYLOAD`` or
aws-chunked streaming; clock skew is corrected from the server's answer.

Redirects are followed hop by hop, each hop signed again for its own URL and
method while it stays on the first request's origin (or one allowed by
``redirect_hosts=``), and sent without any of our headers otherwise -- see
:mod:`sigv4kit.client._common` and ``docs/clients.md``.
"""
