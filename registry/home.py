"""The registry home directory: configuration, key store and database, found from --home."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from keys.errors import Cause, KeyStoreError
from keys.files import write_atomic
from keys.keystore import KeyStore, RootPassphrases, root_passphrase_from_env

HOME_ENV = "PERMIT_REGISTRY_HOME"
CONFIG_FILE = "config.json"
DEFAULT_AUTHORITY = "NIA"
DEFAULT_STATUS_URI = "https://permits.example/status/{id}.cwt"


@dataclass
class Config:
    authority: str = DEFAULT_AUTHORITY
    status_uri: str = DEFAULT_STATUS_URI
    trust_list_days: int = 7
    status_ttl: int = 3600  # seconds a status list's word stands; publish at least this often
    status_list_hours: int = 48  # after this a status list is expired and verifiers report STATUS_UNKNOWN
    office: dict = field(default_factory=dict)  # the office's policy (registry/office/policy.py): four eyes, bars
    timestamp_hours: int = 24  # TUF timestamp lifetime: a verifier whose source stops moving fails after this
    metadata_days: int = 7  # TUF targets and snapshot lifetime (re-signed at half of it)

    def to_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class Home:
    """Everything the office's commands need, opened lazily: the passphrase is asked for only when a
    command has to sign."""

    path: Path
    passphrase_source: Callable[[], bytes]
    root_passphrase_source: RootPassphrases = root_passphrase_from_env
    _passphrase: bytes | None = field(default=None, repr=False)
    _keys: KeyStore | None = field(default=None, repr=False)

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def db_path(self) -> Path:
        return self.path / "registry.db"

    def passphrase(self) -> bytes:
        if self._passphrase is None:
            self._passphrase = self.passphrase_source()
        return self._passphrase

    def config(self) -> Config:
        try:
            data = json.loads(self.config_path.read_text())
            return Config(**data)
        except FileNotFoundError:
            raise KeyStoreError(f"{self.path} is not a registry home; run `registry --home {self.path} init`") from None
        except (OSError, ValueError, TypeError) as exc:
            raise KeyStoreError(f"cannot read {self.config_path}: {exc}", cause=Cause.STORAGE) from None

    def write_config(self, config: Config) -> None:
        write_atomic(self.config_path, json.dumps(config.to_json(), indent=2).encode() + b"\n")

    def keys(self) -> KeyStore:
        if self._keys is None:
            self._keys = KeyStore(self.path, self.passphrase, self.root_passphrase_source)
        return self._keys
