"""``python forward_app.py ORIGIN WORKERS``: the engine as a pass-through, for process tests.

Prints ``listening PORT ADMIN_PORT`` once the listener is open.
"""

from __future__ import annotations

import sys

from sigv4kit.forward import ForwardConfig, Incoming, Outgoing, Reply, Service, end_to_end, serve


class PassThrough(Service):
    def __init__(self, origin: str) -> None:
        self.origin = origin

    async def handle(self, req: Incoming) -> Outgoing | Reply:
        return Outgoing(req.method, self.origin, req.target, end_to_end(req.headers), body=req.body)


def main() -> int:
    origin, workers = sys.argv[1], int(sys.argv[2])

    def ready(port: int, admin: int) -> None:
        print(f"listening {port} {admin}", flush=True)

    config = ForwardConfig(port=0, admin_port=0, workers=workers, drain_timeout=10)
    return serve(config, lambda: PassThrough(origin), on_listening=ready)


if __name__ == "__main__":
    sys.exit(main())
