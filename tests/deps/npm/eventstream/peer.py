"""Python side of ``driver.js``: talk to the JS SDK's event-stream code.

Shared by ``tests/test_eventstream_node.py`` and
``benchmarks/bench_eventstream.py``; loaded by path (this folder is not a
package).  ``node_modules`` must be in this folder (``npm install`` here;
the test script does it).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

from sigv4kit.eventstream import HeaderType, HeaderValue, Message

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "driver.js"
NODE_MODULES = HERE / "node_modules"
REQUIRED = ("@smithy/signature-v4", "@smithy/eventstream-codec", "@smithy/hash-node")


def node_path() -> str | None:
    return shutil.which("node")


def missing_modules() -> list[str]:
    return [m for m in REQUIRED if not (NODE_MODULES / m / "package.json").is_file()]


def message_to_json(message: Message) -> dict[str, Any]:
    headers: list[list[Any]] = []
    for name, hv in message.headers:
        v: Any = hv.value
        if hv.type is HeaderType.LONG:
            v = str(v)
        elif hv.type is HeaderType.BINARY:
            assert isinstance(v, bytes)
            v = base64.b64encode(v).decode()
        elif hv.type is HeaderType.UUID:
            v = str(v)
        headers.append([name, hv.type.value, v])
    return {"headers": headers, "body": base64.b64encode(message.payload).decode()}


def message_from_json(data: dict[str, Any]) -> Message:
    pairs: list[tuple[str, HeaderValue]] = []
    for name, typ, v in data["headers"]:
        t = HeaderType(typ)
        if t is HeaderType.LONG:
            v = int(v)
        elif t is HeaderType.BINARY:
            v = base64.b64decode(v)
        elif t is HeaderType.UUID:
            v = uuid.UUID(v)
        pairs.append((name, HeaderValue(t, v)))
    return Message(pairs, base64.b64decode(data["body"]))


class NodePeer:
    """One long-lived ``node driver.js`` process (starting node costs ~50 ms)."""

    def __init__(self) -> None:
        node = node_path()
        if node is None:
            raise RuntimeError("node is not installed")
        missing = missing_modules()
        if missing:
            raise RuntimeError(
                f"{', '.join(missing)} not installed under {NODE_MODULES}; "
                f"run `npm install` in {HERE} (scripts/test.sh does)"
            )
        self.proc = subprocess.Popen(
            [node, str(DRIVER)],
            cwd=HERE,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def call(self, **request: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"node driver exited (code {self.proc.poll()})")
        reply: dict[str, Any] = json.loads(line)
        if "fatal" in reply:
            raise RuntimeError("node driver failed:\n" + reply["fatal"])
        return reply

    def encode(self, message: Message) -> bytes:
        return base64.b64decode(self.call(op="encode", message=message_to_json(message))["bytes"])

    def decode(self, data: bytes) -> Message | str:
        """The decoded message, or the JS error text."""
        reply = self.call(op="decode", bytes=base64.b64encode(data).decode())
        if "error" in reply:
            return str(reply["error"])
        return message_from_json(reply["message"])

    def sign_chain(
        self,
        *,
        akid: str,
        secret: str,
        region: str,
        service: str,
        seed: str,
        items: list[tuple[Message | bytes, int]],
    ) -> list[tuple[str, bytes]]:
        """``[(hex signature, envelope bytes)]`` for each (message or encoded
        payload, date in epoch ms); ``b""`` is the end-of-stream message."""
        wire = []
        for item, date_ms in items:
            if isinstance(item, Message):
                wire.append({"message": message_to_json(item), "date_ms": date_ms})
            else:
                wire.append({"body": base64.b64encode(item).decode(), "date_ms": date_ms})
        reply = self.call(
            op="sign_chain",
            akid=akid,
            secret=secret,
            region=region,
            service=service,
            seed=seed,
            items=wire,
        )
        return [(r["signature"], base64.b64decode(r["envelope"])) for r in reply["results"]]

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
