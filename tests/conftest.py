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
