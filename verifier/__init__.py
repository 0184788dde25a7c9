"""The verifier: check permanent-residence permits offline (and online, with the `server` extra).

The library in one call: `from verifier import Verifier` (see verifier/library.py and the README's
"Integrating from code"). The names below are loaded on first use, so `import keys.permit` stays light.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Result", "SyncReport", "Verifier", "VerifierError"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from verifier import library

        return getattr(library, name)
    raise AttributeError(f"module 'verifier' has no attribute {name!r}")
