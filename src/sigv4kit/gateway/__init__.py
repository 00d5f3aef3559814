"""The verifying gateway: SigV4/SigV4a authentication in front of any HTTP service.

``sigv4kit gateway`` verifies every request against a key store and forwards
only verified ones to its upstream, with the identity it verified in
``X-Sigv4kit-Access-Key-Id`` and ``X-Sigv4kit-Principal`` and the client's
credentials removed.  The modules, one concept each:

* :mod:`.rewrite` -- what is sent upstream (headers, target): pure;
* :mod:`.policy` -- key policy, replay, rate limit and outage verdicts: pure;
* :mod:`.plan` -- how a re-signed body is signed for the upstream: pure;
* :mod:`.postform` -- browser POST forms, rebuilt for the upstream;
* :mod:`.service` -- the :class:`sigv4kit.forward.Service` that ties them to
  the Verifier, the key store and the forwarding engine;
* :mod:`.replay`, :mod:`.ratelimit` -- the Redis replay cache and the shared
  token bucket.

Nothing is imported here: the CLI and tests import the module they need, so
``import sigv4kit.gateway`` stays free of aiohttp, psycopg and redis.
"""
