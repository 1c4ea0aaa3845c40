"""`make lint-deploy`: the repository's deployment files pass every gate, and each gate fails on a broken copy.

The linters run as processes on copies under tmp_path; only the compose checks are in-process (and fast)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scripts.lint_deploy import cloudformation, compose, dockerfile, kubernetes_manifests, main

ROOT = Path(__file__).resolve().parents[2]


def broken_copy(tmp_path: Path, relative: str, old: str, new: str) -> Path:
    """``relative`` copied under ``tmp_path`` (as the root of a project) with ``old`` replaced by ``new``."""
    source = (ROOT / relative).read_text(encoding="utf-8")
    assert old in source, f"{relative} no longer contains {old!r}: update this test"
    target = tmp_path / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(source.replace(old, new, 1), encoding="utf-8")
    return tmp_path


@pytest.mark.slow  # runs the linters as processes
def test_the_repository_passes_every_gate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0

    printed = capsys.readouterr().out
    assert printed.count(": ok") == 4
    assert "FAILED" not in printed


def test_a_root_without_deployment_files_fails_every_gate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--root", str(tmp_path)]) == 1

    printed = capsys.readouterr().out
    for gate in ("hadolint Dockerfile", "kubernetes-validate deploy/k8s", "cfn-lint deploy/aws", "compose checks"):
        assert f"==> {gate}" in printed
    assert printed.count("FAILED") == 4


@pytest.mark.slow  # runs the linters as processes
def test_hadolint_fails_on_an_unpinned_base_image(tmp_path: Path) -> None:
    root = broken_copy(tmp_path, "Dockerfile", "FROM ${PYTHON_IMAGE} AS runtime", "FROM python:latest AS runtime")

    findings = dockerfile(root)

    assert any("DL3007" in finding for finding in findings), findings


@pytest.mark.slow  # runs the linters as processes
def test_kubernetes_validate_rejects_an_unknown_field(tmp_path: Path) -> None:
    root = broken_copy(tmp_path, "deploy/k8s/deployment.yaml", "revisionHistoryLimit: 5", "revisionHistoryLimits: 5")

    findings = kubernetes_manifests(root)

    assert any("'revisionHistoryLimits' was unexpected" in finding for finding in findings), findings


@pytest.mark.slow  # runs the linters as processes
def test_kubernetes_validate_rejects_a_removed_api_version_it_only_warns_about(tmp_path: Path) -> None:
    root = broken_copy(tmp_path, "deploy/k8s/pdb.yaml", "apiVersion: policy/v1", "apiVersion: policy/v1beta1")

    findings = kubernetes_manifests(root)

    assert any("Couldn't find schema for kind PodDisruptionBudget" in finding for finding in findings), findings


@pytest.mark.slow  # runs the linters as processes
def test_cfn_lint_fails_on_a_warning(tmp_path: Path) -> None:
    root = broken_copy(tmp_path, "deploy/aws/charter.yaml", 'EngineVersion: "16.13"', 'EngineVersion: "16.1"')

    findings = cloudformation(root)

    assert any("W3691" in finding and "deprecated" in finding for finding in findings), findings


def test_the_compose_checks_pass_on_an_exact_copy(tmp_path: Path) -> None:
    (tmp_path / "deploy").mkdir()
    shutil.copy(ROOT / "deploy" / "compose.yaml", tmp_path / "deploy" / "compose.yaml")

    assert compose(tmp_path) == []


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        pytest.param(
            "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}",
            "POSTGRES_PASSWORD: hunter2hunter2",
            "service `postgres`: POSTGRES_PASSWORD is not taken from the environment",
            id="literal-password",
        ),
        pytest.param(
            "@postgres:5432/${POSTGRES_DB:-charter}\n      REDIS_URL",
            "@postgres:5432/${POSTGRES_DB:-charter}\n"
            "      ADMIN_PASSWORD: ${ADMIN_PASSWORD:-changeme}\n"
            "      REDIS_URL",
            "service `app`: ADMIN_PASSWORD is not taken from the environment",
            id="password-with-a-default",
        ),
        pytest.param(
            "redis://:${REDIS_PASSWORD:?set REDIS_PASSWORD}@redis",
            "redis://:letmein@redis",
            "service `app`: REDIS_URL has a password in the URL",
            id="password-in-a-url",
        ),
        pytest.param(
            "file: ${SECRET_KEY_FILE:?set SECRET_KEY_FILE}",
            "file: ./secret_key",
            "secret `secret_key` is not a file named by",
            id="fixed-secret-file",
        ),
        pytest.param(
            "      redis:\n        condition: service_healthy",
            "      redis:\n        condition: service_started",
            "service `app` does not wait for `redis` to be healthy",
            id="not-waiting-for-healthy",
        ),
        pytest.param(
            'test: ["CMD-SHELL", "REDISCLI_AUTH',
            'disable: true\n      x-test: ["CMD-SHELL", "REDISCLI_AUTH',
            "service `redis` has no healthcheck",
            id="no-healthcheck",
        ),
        pytest.param("\n  postgres:\n", "\n  database:\n", "service `postgres` is missing", id="missing-service"),
        pytest.param("services:\n", "services: [\n", "cannot be read as YAML", id="not-yaml"),
    ],
)
def test_the_compose_checks_fail(tmp_path: Path, old: str, new: str, message: str) -> None:
    root = broken_copy(tmp_path, "deploy/compose.yaml", old, new)

    findings = compose(root)

    assert any(message in finding for finding in findings), findings
