"""Client integrations: sign requests inside the HTTP client you already use.

Each submodule imports its own HTTP library and nothing else imports them, so
``import sigv4kit`` never pulls in ``requests``, ``httpx`` or ``aiohttp``:
:mod:`~sigv4kit.client.requests` and :mod:`~sigv4kit.client.httpx` have a
``SigV4Auth``, :mod:`~sigv4kit.client.aiohttp` a ``SigV4Middleware``.  Bodies,
clock skew and redirects: ``docs/clients.md``.
"""
