"""MkDocs hooks: pages generated from the code at build time, so they cannot drift.

``mkdocs.yml`` loads this file (``hooks:``). It adds two kinds of pages that
are never committed as Markdown:

- ``troubleshooting.md``: the causes of ``SignatureDoesNotMatch``, rendered
  from the same table ``sigv4kit diagnose`` names them from
  (``sigv4kit.diagnose.causes.CAUSES``). A cause added to, or reworded in,
  the table shows up on the page at the next build.
- ``reference/<module>.md``: one API reference page per public module
  (every module under ``src/sigv4kit`` whose dotted path has no part starting
  with ``_``), each a ``::: module`` block for mkdocstrings, and the
  "API reference" section of the navigation built from that list. A new
  public module gets its page without anyone editing ``mkdocs.yml``.

The hooks only read the source tree: nothing is imported from sigv4kit but
the causes table, which is plain data.
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
PACKAGE = SRC / "sigv4kit"

#: One line per package or module, shown on the reference index page. A public module
#: without a line here is summarised by the first line of its docstring.
SUMMARIES = {
    "sigv4kit": "the public surface: `Signer`, `Verifier`, `Credentials`, errors",
    "sigv4kit.signer": "`Signer.sign` and `Signer.presign`, `SignedRequest`",
    "sigv4kit.verifier": "`Verifier`: header, presigned, POST and aws-chunked requests",
    "sigv4kit.verify": "the Verifier, split by concept",
    "sigv4kit.credentials": "`Credentials` (redacted repr, expiry)",
    "sigv4kit.providers": "credential providers: environment, profiles, process, refresh",
    "sigv4kit.config": "`SigningConfig` and the per-service defaults table",
    "sigv4kit.canonical": "canonical URI, query, headers and request",
    "sigv4kit.keys": "SigV4 signing-key derivation",
    "sigv4kit.v4a": "SigV4a: ECDSA P-256 key derivation, signing, verification",
    "sigv4kit.streaming": "aws-chunked encoder and decoder, trailers",
    "sigv4kit.checksums": "CRC32, CRC32C, CRC64NVME, SHA-1, SHA-256 trailing checksums",
    "sigv4kit.post_policy": "browser POST policies: presign and verify",
    "sigv4kit.eventstream": "event-stream messages: codec, signing, verification",
    "sigv4kit.errors": "one exception tree with S3 codes and statuses",
    "sigv4kit.endpoints": "region, service and algorithm from a hostname",
    "sigv4kit.diagnose": "why a server said SignatureDoesNotMatch",
    "sigv4kit.client": "HTTP client adapters",
    "sigv4kit.server": "ASGI and WSGI verifying middleware",
    "sigv4kit.proxy": "the signing proxy",
    "sigv4kit.gateway": "the verifying gateway",
    "sigv4kit.forward": "the streaming forwarding engine of the proxy and gateway",
    "sigv4kit.keystore": "access-key stores for the gateway",
    "sigv4kit.probe": "capability tests of S3-compatible endpoints",
    "sigv4kit.rawhttp": "raw HTTP/1.1 request parsing for `explain` and `verify`",
    "sigv4kit.calculator": "the local web calculator",
    "sigv4kit.cli": "the `sigv4kit` command",
}


# --------------------------------------------------------------------------
# Which modules are public
# --------------------------------------------------------------------------
def public_modules(package: Path = PACKAGE) -> list[str]:
    """Dotted names of the public modules and packages under ``package``, sorted.

    A module is public when no part of its dotted path starts with ``_``
    (``sigv4kit.cli._commands`` is private, ``sigv4kit.cli`` is public).
    """
    out: list[str] = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        elif parts[-1] == "__main__":
            continue
        if any(p.startswith("_") for p in parts):
            continue
        if not (path.parent / "__init__.py").exists():
            continue
        out.append(".".join(parts))
    return sorted(set(out), key=lambda m: (m != "sigv4kit", m))


def module_file(module: str) -> Path:
    path = SRC.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def summary(module: str) -> str:
    """The module's line in SUMMARIES, else its docstring's first line (read, not imported)."""
    if module in SUMMARIES:
        return SUMMARIES[module]
    try:
        doc = ast.get_docstring(ast.parse(module_file(module).read_text())) or ""
    except (OSError, SyntaxError):
        doc = ""
    first = doc.strip().split("\n\n")[0].replace("\n", " ").strip()
    return first.rstrip(".").replace("|", "\\|") or "(no summary)"


def reference_path(module: str) -> str:
    return f"reference/{module}.md"


def reference_page(module: str) -> str:
    line = summary(module)
    lines = [f"# `{module}`", ""]
    if module in SUMMARIES:
        lines += [line[:1].upper() + line[1:] + ".", ""]
    if module == "sigv4kit":
        return "\n".join(lines + _root_page())
    lines += [f"::: {module}", ""]
    if module in _INHERITED:
        # Signer's presign methods come from its mixin, presigning.Presigner.
        lines[-1:] = ["    options:", "      inherited_members: true", ""]
    return "\n".join(lines)


_INHERITED = frozenset({"sigv4kit.signer"})


def _root_page() -> list[str]:
    """The package itself: its docstring, then where each re-exported name is documented.

    ``sigv4kit`` re-exports names lazily from their modules; documenting them
    here again would give every class two pages, so this page links to the one
    page per name instead.
    """
    if str(SRC) not in sys.path:
        sys.path.insert(0, str(SRC))
    exports: dict[str, str] = importlib.import_module("sigv4kit")._EXPORTS
    lines = [
        "::: sigv4kit",
        "    options:",
        "      members: false",
        "",
        "## Names re-exported from `sigv4kit`",
        "",
        "`from sigv4kit import Signer` is the same object as "
        "`from sigv4kit.signer import Signer`; each is documented on its module's page.",
        "",
        "| name | documented in |",
        "|---|---|",
    ]
    for name, module in sorted(exports.items()):
        lines.append(f"| [`{name}`]({module}.md#{module}.{name}) | [`{module}`]({module}.md) |")
    lines.append("")
    return lines


def reference_index(modules: list[str]) -> str:
    lines = [
        "# API reference",
        "",
        "Generated from the docstrings at every build, one page per public module. Names "
        "starting with `_` are private and may change without notice; everything else "
        "follows the project's compatibility rules. The most used names are re-exported "
        "from `sigv4kit` itself (imported lazily, so `import sigv4kit` stays cheap).",
        "",
        "| module | what it holds |",
        "|---|---|",
    ]
    for m in modules:
        link = f"[`{m}`]({m}.md)"
        line = summary(m)
        lines.append(f"| {link} | {line[:1].upper() + line[1:]} |")
    lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# The troubleshooting page, from the diagnosis's table of causes
# --------------------------------------------------------------------------
def _causes() -> list[dict[str, str]]:
    """The rows of the causes table, as dicts, whichever module holds it today."""
    if str(SRC) not in sys.path:
        sys.path.insert(0, str(SRC))
    table: Any = None
    for name in ("sigv4kit.diagnose.causes", "sigv4kit.diagnose", "sigv4kit.cli._diagnose"):
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        table = getattr(mod, "CAUSES", None)
        if table is not None:
            break
    if not table:
        raise RuntimeError(
            "docs hook: no CAUSES table found in sigv4kit.diagnose (or sigv4kit.cli._diagnose); "
            "the troubleshooting page is generated from it"
        )
    rows: list[dict[str, str]] = []
    for cid, row in table.items():
        if isinstance(row, tuple):  # the older form: id -> (title, fix)
            title, fix = row
            rows.append({"id": cid, "title": title, "fix": fix})
        else:
            rows.append({k: str(v) for k, v in row.as_dict().items()})
    return rows


def troubleshooting_page() -> str:
    rows = _causes()
    lines = [
        "# Troubleshooting `SignatureDoesNotMatch`",
        "",
        "A server that rejects a signature rebuilt the canonical request from what it "
        "*received*, hashed it, signed it with its copy of the secret and got another "
        "signature. Something on the way differs. This page lists every cause "
        "`sigv4kit diagnose` can name, in the order it checks them; it is generated from "
        "the diagnosis's own table at every build, so it always says what the tool says.",
        "",
        "## Let the tool find it",
        "",
        "Most servers say what they computed: S3 returns `CanonicalRequest` and "
        "`StringToSign` in its XML error, other AWS services write *The Canonical String "
        "for this request should have been ...* in the message. Give that answer and the "
        "request you signed to `diagnose`; it diffs the two line by line and names the "
        "cause:",
        "",
        "```sh",
        "sigv4kit diagnose error.xml GET 'https://bucket.s3.amazonaws.com/a%20b' \\",
        "    --region us-east-1 --service s3",
        "sigv4kit diagnose error.xml --canonical-request signed.txt   # what your client logged",
        "```",
        "",
        "`sigv4kit request` runs the same diagnosis on a 403 by itself, and the "
        "[calculator](cli.md#calculator) has a panel for a pasted error. With "
        "`--json` the causes come out by id (the anchors below). More in "
        "[the command's page](cli.md#diagnose).",
        "",
        "## The causes at a glance",
        "",
        "| cause | id | fix in one line |",
        "|---|---|---|",
    ]
    for r in rows:
        first = r["fix"].split(". ")[0].rstrip(".") + "."
        lines.append(f"| [{r['title']}](#{r['id']}) | `{r['id']}` | {first} |")
    lines.append("")
    for r in rows:
        lines += [f"## {r['title']} {{#{r['id']}}}", "", f"Cause id: `{r['id']}`", ""]
        if r.get("explanation"):
            lines += ["**Why it breaks the signature.** " + r["explanation"], ""]
        if r.get("signs"):
            lines += ["**How `diagnose` recognises it.** " + r["signs"], ""]
        lines += ["**Fix.** " + r["fix"], ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------
# MkDocs event handlers
# --------------------------------------------------------------------------
_MODULES: list[str] = []


def on_config(config: Any, **kwargs: Any) -> Any:
    """Fill the navigation's "API reference" section with the discovered modules."""
    _MODULES[:] = public_modules()
    entries: list[Any] = [{"Overview": "reference/index.md"}]
    entries += [{m: reference_path(m)} for m in _MODULES]
    nav = config.get("nav") or []
    for item in nav:
        if isinstance(item, dict) and "API reference" in item:
            item["API reference"] = entries
            break
    else:
        nav.append({"API reference": entries})
    config["nav"] = nav
    return config


def on_files(files: Any, config: Any, **kwargs: Any) -> Any:
    """Add the generated pages (they exist only in the built site)."""
    from mkdocs.structure.files import File

    generated = {
        "troubleshooting.md": troubleshooting_page(),
        "reference/index.md": reference_index(_MODULES or public_modules()),
    }
    for m in _MODULES or public_modules():
        generated[reference_path(m)] = reference_page(m)
    for uri, content in generated.items():
        existing = files.get_file_from_path(uri)
        if existing is not None:
            raise RuntimeError(
                f"docs/{uri} is generated at build time by scripts/docs_hooks.py; "
                "remove the committed copy"
            )
        files.append(File.generated(config, uri, content=content))
    return files
