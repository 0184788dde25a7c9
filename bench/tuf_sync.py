"""Benchmark: `verifier sync` (python-tuf update + CWT checks + one new cache generation) of a repository
holding a 10,000,000-entry status list with 1% revoked, from a directory and over HTTP on 127.0.0.1,
and the size of the published metadata.

Three syncs each: the first (pins the root, downloads everything), a routine one (a new timestamp and
nothing else: the list is reused from the cache by hash), and one after the list changed (a new list,
targets, snapshot and timestamp). Baseline in the same run: verifying the list's CWT alone."""

from __future__ import annotations

import functools
import http.server
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from helpers import NOW, Issuer
from tufsource import TufSource

from keys.statuslist import verify_status_list
from verifier.cache import Cache

SIZE = 10_000_000


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(label: str, source: TufSource, base: str, tmp: Path, lists: list[bytes]) -> None:
    cache = Cache(tmp / f"cache-{label}")
    first = timed(lambda: cache.sync(base, NOW + 10, source.root_json))
    source.publish(NOW + 900, lists={1: lists[0]})
    routine = timed(lambda: cache.sync(base, NOW + 910))
    source.publish(NOW + 1800, lists={1: lists[1]})
    changed = timed(lambda: cache.sync(base, NOW + 1810))
    print(f"{label:9} first sync {first * 1000:6.0f} ms   routine (new timestamp only) {routine * 1000:5.0f} ms   "
          f"list changed {changed * 1000:6.0f} ms")
    source.publish(NOW, lists={1: lists[0]})  # back to the start for the next run's fresh cache


def main() -> None:
    issuer = Issuer()
    rng = random.Random(1)
    revoked = [(i, 1) for i in rng.sample(range(SIZE), SIZE // 100)]
    from tufsource import URI1

    from keys.statuslist import pack_entries, status_token

    lists = [status_token(URI1, pack_entries(SIZE, revoked[: len(revoked) - n]), NOW - 60 + n, 3600,
                          NOW + 2 * 86400, issuer.status_key) for n in (0, 1)]
    verify_s = timed(lambda: verify_status_list(lists[0], issuer.trust(), 1))
    with tempfile.TemporaryDirectory() as tmp_text:
        tmp = Path(tmp_text)
        source = TufSource(issuer, tmp / "pub")
        source.publish(NOW, lists={1: lists[0]})
        meta = {p.name: p.stat().st_size for p in (source.out / "metadata").iterdir()}
        print(f"entries {SIZE:,}, revoked {len(revoked):,} (1%): signed list {len(lists[0]) / 1e3:.0f} kB; "
              f"CWT verify alone {verify_s * 1000:.1f} ms")
        print("published metadata (bytes): " + ", ".join(f"{n} {s:,}" for n, s in sorted(meta.items()))
              + f"; a routine sync reads timestamp.json only ({meta['timestamp.json']:,} B)")
        run("directory", source, str(source.out), tmp, lists)
        handler = functools.partial(_Quiet, directory=str(source.out))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            run("http", source, f"http://127.0.0.1:{server.server_address[1]}/", tmp, lists)
        finally:
            server.shutdown()
            server.server_close()


if __name__ == "__main__":
    main()
