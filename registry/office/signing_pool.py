"""A pool of processes that sign cards for a batch issuance (`registry import`) while the one SQLite writer
goes on: the writer checks the rules, stores each permit row and draws its number and status entry (cheap,
in order), hands groups of permits to the pool, and stores each signed card as its group comes back, so
signing (ECDSA and the verifier's self-check: most of an issuance's CPU) runs on every core.

Only software keys are shared with the workers (forked: the key is inherited, never serialised); a key in a
PKCS#11 token signs in this process, one card at a time. A card the pool cannot sign raises SigningFailed:
the caller rolls the whole transaction back and issues the batch one row at a time, which names the row.
"""

from __future__ import annotations

import atexit
import multiprocessing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.pool import AsyncResult, Pool

from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from keys.errors import PermitError
from keys.permit import Permit, encode_permit
from registry.issuance import Signing
from verifier.batch import default_jobs

GROUP = 256

_signing: Signing | None = None  # set before the fork; the workers inherit it


class SigningFailed(Exception):
    """A card in the pool could not be signed (its row is found again one row at a time)."""


def poolable(signing: Signing) -> bool:
    """Whether the key can be used in forked workers: a software key, never a token's session."""
    return isinstance(signing.key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey)


def _sign_group(permits: list[Permit]) -> list[str | None]:
    assert _signing is not None
    out: list[str | None] = []
    for permit in permits:
        try:
            out.append(encode_permit(permit, _signing.key, _signing.kid))
        except PermitError:
            out.append(None)
    return out


_pool: tuple[Pool, bytes, int] | None = None  # kept between the batches of one import: forking costs


def _close() -> None:
    global _pool
    if _pool is not None:
        _pool[0].terminate()
        _pool[0].join()
        _pool = None


atexit.register(_close)


@contextmanager
def signing_pool(signing: Signing, jobs: int | None = None) -> Iterator[Callable[[list[Permit]], AsyncResult]]:
    """A function that starts signing a group of permits and returns its pending result (a list of texts).
    Open it before the write transaction: the workers are forked before any lock is held. The pool is kept
    for the next batch of the same import while the key and the size stay the same; an error closes it."""
    global _signing, _pool
    size = jobs or default_jobs()
    if _pool is None or _pool[1] != signing.kid or _pool[2] != size or _signing is not signing:
        _close()
        _signing = signing
        _pool = (multiprocessing.get_context("fork").Pool(size), signing.kid, size)
    pool = _pool[0]
    try:
        yield lambda permits: pool.apply_async(_sign_group, (permits,))
    except BaseException:
        _close()
        raise


def texts_of(result: AsyncResult) -> list[str]:
    """A group's signed texts, or SigningFailed if any card of it could not be signed."""
    texts = result.get()
    if any(text is None for text in texts):
        raise SigningFailed("a card could not be signed in the pool")
    return texts  # type: ignore[return-value]
