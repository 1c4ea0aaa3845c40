"""`make jwt-keys`: a new private key the service can load, readable by its owner only, never overwriting one."""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from impl.auth.signing_keys import SigningKeys
from scripts.generate_jwt_keys import main

ROOT = Path(__file__).resolve().parents[2]

DEFAULT_KID = re.compile(r"^rs256-\d{8}-[0-9a-f]{4}$")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_writes_a_private_key_the_service_loads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "var" / "jwt-keys"

    assert main(["--out", str(out), "--kid", "rs256-test", "--bits", "2048"]) == 0

    path = out / "rs256-test.pem"
    assert mode(path) == 0o600
    assert mode(out) == 0o700
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8
    keys = SigningKeys.from_directory(out)
    assert (keys.algorithm, keys.active_kid) == ("RS256", "rs256-test")
    assert isinstance(keys.signing_key, rsa.RSAPrivateKey)
    assert keys.signing_key.key_size == 2048
    printed = capsys.readouterr()
    assert str(path) in printed.out
    assert "rs256-test" in printed.out
    assert "PRIVATE KEY" not in printed.out + printed.err


def test_the_default_kid_is_dated_so_a_new_key_rotates_in(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--out", str(tmp_path), "--kid", "rs256-20000101-0000", "--bits", "2048"]) == 0
    assert main(["--out", str(tmp_path), "--bits", "2048"]) == 0

    kids = sorted(path.name.removesuffix(".pem") for path in tmp_path.glob("*.pem"))
    assert len(kids) == 2
    assert DEFAULT_KID.match(kids[1])
    assert SigningKeys.from_directory(tmp_path).active_kid == kids[1]
    capsys.readouterr()


def test_an_existing_key_is_never_overwritten(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--out", str(tmp_path), "--kid", "k1", "--bits", "2048"]) == 0
    before = (tmp_path / "k1.pem").read_bytes()

    assert main(["--out", str(tmp_path), "--kid", "k1", "--bits", "2048"]) == 1

    assert (tmp_path / "k1.pem").read_bytes() == before
    assert "not overwriting" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--kid", "../escape"], "a kid is"), (["--kid", "ok", "--bits", "1024"], "at least 2048")],
)
def test_unsafe_requests_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["--out", str(tmp_path / "keys"), *args]) == 1
    assert message in capsys.readouterr().err
    assert not list(tmp_path.rglob("*.pem"))


def test_runs_as_a_plain_script(tmp_path: Path) -> None:
    script = ROOT / "scripts" / "generate_jwt_keys.py"
    result = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path), "--kid", "cli", "--bits", "2048"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert mode(tmp_path / "cli.pem") == 0o600
