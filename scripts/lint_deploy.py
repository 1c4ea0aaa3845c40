"""`make lint-deploy`: lint every deployment file, and fail on any finding, warnings and notes included.

- ``Dockerfile``: hadolint (every rule, down to ``info``; a justified ignore goes in ``.hadolint.yaml``).
- ``deploy/k8s/*.yaml``: kubernetes-validate ``--strict`` (unknown fields are errors) against the oldest and the
  newest Kubernetes version supported here, from the schemas the package ships (it works offline). Its "no schema
  for this kind" warning, which it exits 0 on, counts: that is how a removed API version (``policy/v1beta1``) shows.
- ``deploy/aws/charter.yaml``: cfn-lint with its informational rules too.
- ``deploy/compose.yaml``: no compose binary here, so the checks are ours: the three services, a healthcheck on
  each, the app waiting for healthy dependencies, and no secret written in the file (``${VAR:?}`` only).

Each gate returns its findings as lines; ``main`` prints them per gate and exits 1 when any gate found something.
"""

from __future__ import annotations

import argparse
import re
import subprocess  # nosec B404
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
# The oldest Kubernetes the manifests target, and the newest whose schemas the pinned kubernetes-validate ships:
# a field added after the first, or an API removed before the second, fails one of them.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")

COMPOSE_SERVICES = ("app", "postgres", "redis")
COMPOSE_DEPENDENCIES = ("postgres", "redis")
# Names whose values are credentials: such a value must come from the environment, never from the file.
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$|AUTH", re.IGNORECASE)
REQUIRED_VARIABLE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^}]*\}")
INTERPOLATION = re.compile(r"\$\{[^}]*\}")
URL_PASSWORD = re.compile(r"://[^/@:]*:(?P<password>[^@]*)@")
REQUIRED, OTHER = "<required>", "<other>"  # what interpolations read as before a URL is taken apart

Gate = Callable[[Path], list[str]]


def _tool(name: str) -> Path:
    """A linter installed in the same virtual environment as this interpreter (``uv sync`` puts them there)."""
    return Path(sys.executable).parent / name


def _run(command: Sequence[str | Path], *, cwd: Path) -> tuple[int, str]:
    if not Path(command[0]).is_file():
        return 127, f"{command[0]} is not installed: run `uv sync`"
    # A fixed argument list of our own linters and paths, no shell.
    result = subprocess.run(  # noqa: S603  # nosec B603
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, check=False
    )
    return result.returncode, (result.stdout + result.stderr).strip()


def dockerfile(root: Path) -> list[str]:
    """hadolint on the top-level Dockerfile, failing from the ``info`` level up."""
    path = root / "Dockerfile"
    if not path.is_file():
        return [f"{path} is missing"]
    code, output = _run(
        [_tool("hadolint"), "--no-color", "--failure-threshold", "info", path.name],
        cwd=root,  # hadolint reads .hadolint.yaml from here
    )
    if code == 0 and not output:
        return []
    return output.splitlines() or [f"hadolint exited with {code}"]


def kubernetes_manifests(root: Path) -> list[str]:
    """kubernetes-validate --strict on every manifest, for each supported Kubernetes version."""
    manifests = sorted((root / "deploy" / "k8s").glob("*.yaml"))
    if not manifests:
        return [f"no manifests in {root / 'deploy' / 'k8s'}"]
    findings: list[str] = []
    for version in KUBERNETES_VERSIONS:
        code, output = _run(
            [_tool("kubernetes-validate"), "--strict", "--quiet", "-k", version, *manifests],
            cwd=root,
        )
        # --quiet leaves only failures and warnings; a warning (unknown kind or API version) exits 0 but counts.
        findings.extend(output.splitlines())
        if code != 0 and not output:
            findings.append(f"kubernetes-validate exited with {code} for Kubernetes {version}")
    return findings


def cloudformation(root: Path) -> list[str]:
    """cfn-lint on the AWS template, with informational rules, failing on any of them."""
    path = root / "deploy" / "aws" / "charter.yaml"
    if not path.is_file():
        return [f"{path} is missing"]
    code, output = _run(
        [
            _tool("cfn-lint"),
            "--format",
            "parseable",
            "--include-checks",
            "I",
            "--non-zero-exit-code",
            "informational",
            path,
        ],
        cwd=root,
    )
    if code == 0 and not output:
        return []
    return output.splitlines() or [f"cfn-lint exited with {code}"]


def compose(root: Path) -> list[str]:
    """The compose file's structure and its secrets, checked by reading it (no compose binary on these machines)."""
    path = root / "deploy" / "compose.yaml"
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        return [f"{path}: cannot be read as YAML: {error}"]
    if not isinstance(document, dict) or not isinstance(document.get("services"), dict):
        return [f"{path}: no `services` mapping"]
    services: dict[str, Any] = document["services"]
    findings = [f"{path}: service `{name}` is missing" for name in COMPOSE_SERVICES if name not in services]
    for name, service in services.items():
        findings.extend(f"{path}: {problem}" for problem in _service_problems(name, service))
    findings.extend(f"{path}: {problem}" for problem in _secret_file_problems(document.get("secrets") or {}))
    return findings


def _service_problems(name: str, service: Any) -> list[str]:
    if not isinstance(service, dict):
        return [f"service `{name}` is not a mapping"]
    problems: list[str] = []
    healthcheck = service.get("healthcheck") or {}
    one_shot = service.get("restart") == "no"  # a job (migrations) has nothing to probe
    if not one_shot and (healthcheck.get("disable") or not healthcheck.get("test")):
        problems.append(f"service `{name}` has no healthcheck")
    if name == "app":
        depends_on = service.get("depends_on") or {}
        for dependency in COMPOSE_DEPENDENCIES:
            condition = depends_on.get(dependency, {}).get("condition") if isinstance(depends_on, dict) else None
            if condition != "service_healthy":
                problems.append(f"service `app` does not wait for `{dependency}` to be healthy")
    for variable, value in _environment(service.get("environment")).items():
        problems.extend(f"service `{name}`: {problem}" for problem in _literal_secrets(variable, value))
    return problems


def _environment(environment: Any) -> dict[str, str]:
    """Compose allows a mapping or a list of ``NAME=value``; both become a mapping."""
    if isinstance(environment, dict):
        return {str(key): "" if value is None else str(value) for key, value in environment.items()}
    if isinstance(environment, list):
        pairs = (str(item).partition("=") for item in environment)
        return {key: value for key, _, value in pairs}
    return {}


def _literal_secrets(variable: str, value: str) -> list[str]:
    problems: list[str] = []
    if SECRET_NAME.search(variable) and value and not REQUIRED_VARIABLE.fullmatch(value):
        problems.append(f"{variable} is not taken from the environment as ${{VAR:?}}")
    # `${USER:-charter}` has a colon of its own: read each interpolation as one token before finding the password.
    tokens = INTERPOLATION.sub(lambda match: REQUIRED if REQUIRED_VARIABLE.fullmatch(match[0]) else OTHER, value)
    problems.extend(
        f"{variable} has a password in the URL that is not ${{VAR:?}}"
        for match in URL_PASSWORD.finditer(tokens)
        if match["password"] != REQUIRED
    )
    return problems


def _secret_file_problems(secrets: Any) -> list[str]:
    if not isinstance(secrets, dict):
        return ["top-level `secrets` is not a mapping"]
    problems: list[str] = []
    for name, secret in secrets.items():
        source = secret.get("file") if isinstance(secret, dict) else None
        if source is None or not REQUIRED_VARIABLE.fullmatch(str(source)):
            problems.append(f"secret `{name}` is not a file named by ${{VAR:?}}")
    return problems


GATES: dict[str, Gate] = {
    "hadolint Dockerfile": dockerfile,
    "kubernetes-validate deploy/k8s": kubernetes_manifests,
    "cfn-lint deploy/aws": cloudformation,
    "compose checks deploy/compose.yaml": compose,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--root", type=Path, default=ROOT, help="the project directory (default: this one)")
    arguments = parser.parse_args(argv)
    failed = False
    for name, gate in GATES.items():
        findings = gate(arguments.root)
        print(f"==> {name}: {'FAILED' if findings else 'ok'}")
        for finding in findings:
            print(f"    {finding}")
        failed = failed or bool(findings)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
