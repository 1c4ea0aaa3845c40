"""`make mock`: serve spec/openapi.yaml with Prism (pinned in package-lock.json) on a loopback port.

Every operation answers its first example from the spec (or one built from its schema); ``--errors`` makes Prism
validate each request against the spec and answer an invalid one with the operation's declared error response
(application/problem+json: the spec's example, with what was wrong in the ``sl-violations`` header). A path or
method the spec does not have gets Prism's own problem (``type: https://stoplight.io/prism/errors#...``). Any
``Authorization: Bearer <anything>`` passes the security check; ``Prefer: code=429`` (or ``example=<name>``) picks
another declared answer. make test-ts starts Prism with this same command.
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRISM = ROOT / "node_modules" / "@stoplight" / "prism-cli" / "dist" / "index.js"
SPEC = ROOT / "spec" / "openapi.yaml"
DEFAULT_PORT = 4010


def prism_command(*, port: int, spec: Path = SPEC) -> list[str]:
    node = shutil.which("node")
    if node is None or not PRISM.is_file():
        raise SystemExit("mock: Prism needs node and node_modules; run `make install`")
    return [node, str(PRISM), "mock", str(spec), "--host", "127.0.0.1", "--port", str(port), "--errors"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve spec/openapi.yaml's examples with Prism on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    command = prism_command(port=args.port)
    print(f"mock: Prism serves {SPEC.relative_to(ROOT)} on http://127.0.0.1:{args.port} (Ctrl-C stops it)", flush=True)
    # Prism replaces this process, so Ctrl-C and SIGTERM reach it directly.
    os.execv(command[0], command)  # noqa: S606  # nosec B606


if __name__ == "__main__":
    raise SystemExit(main())
