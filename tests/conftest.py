from __future__ import annotations

import pytest
from helpers import Issuer

from keys.algorithms import EDDSA


@pytest.fixture(scope="session")
def issuer() -> Issuer:
    return Issuer()


@pytest.fixture(scope="session")
def ed_issuer() -> Issuer:
    return Issuer(alg=EDDSA)


REGISTRY_PASSPHRASE = "correct horse battery"


@pytest.fixture
def registry_home(tmp_path, monkeypatch):
    """A fresh registry home (keys, config, permit store) made by `registry init`; the passphrase is in the
    environment, so subprocesses of the CLI inherit it."""
    from click.testing import CliRunner

    from registry.cli import cli

    monkeypatch.setenv("PERMIT_REGISTRY_PASSPHRASE", REGISTRY_PASSPHRASE)
    home = tmp_path / "home"
    result = CliRunner().invoke(cli, ["--home", str(home), "init"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return home
