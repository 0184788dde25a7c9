"""The `registry` console script. A verifier-only install (`pip install 'permit-registry[scan]'`) has the
command too, without the office's packages: it then says which extra to install (exit 4), never a traceback."""

from __future__ import annotations

import sys

# Third-party packages only the office needs (the `registry` extra in pyproject.toml).
REGISTRY_PACKAGES = frozenset({"sqlite_utils", "qrcode", "pycountry", "reportlab", "PIL", "flask", "werkzeug"})
HINT = "the registry needs the office's packages: pip install 'permit-registry[registry]'"


def main() -> None:
    try:
        from registry.cli import main as registry_main
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in REGISTRY_PACKAGES:
            raise
        print(f"error (USAGE): {HINT} (missing: {exc.name})", file=sys.stderr)
        sys.exit(4)
    registry_main()


if __name__ == "__main__":
    main()
