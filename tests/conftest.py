from __future__ import annotations

import os

import pytest
from helpers import Issuer
from hypothesis import settings

from keys.algorithms import EDDSA

# Tests never assert a wall-clock time: hypothesis's per-example deadline is off for every test, so a
# busy machine cannot fail a property test (it did, under load, with the 200 ms default). CI draws the
# same examples every run, so a landing is never decided by chance; a developer's run draws new ones
# each time and keeps finding what CI would not (it found the presence-import 500 that way).
settings.register_profile("project", deadline=None, derandomize=os.environ.get("CI") == "true")
settings.load_profile("project")


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
