"""RFC 6962 / RFC 9162 Merkle tree hashing and proofs (SHA-256).

Leaves hash as SHA-256(0x00 || data), interior nodes as SHA-256(0x01 || left || right); the tree of n
leaves splits at the largest power of two below n (RFC 9162 §2.1.1). Proof *generation* works over any
source of perfect-subtree hashes (`NodeSource`: level, index -> hash of leaves [index*2^level,
(index+1)*2^level)), so the register's SQLite nodes and a client's tiles share one implementation.
Proof *verification* follows RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency) step by step;
the edge cases (empty trees, equal sizes) follow transparency-dev/merkle, whose test vectors we pass.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from keys.errors import LogError, LogForkError, Reason

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeSource = Callable[[int, int], bytes]
"""(level, index) -> the hash of the perfect subtree over leaves [index << level, (index + 1) << level)."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of a whole list of leaf hashes, in O(n) with a stack of perfect subtrees."""
    if not leaf_hashes:
        return EMPTY_ROOT
    stack: list[tuple[int, bytes]] = []  # (level, hash), levels strictly decreasing
    for h in leaf_hashes:
        level, cur = 0, h
        while stack and stack[-1][0] == level:
            cur = node_hash(stack.pop()[1], cur)
            level += 1
        stack.append((level, cur))
    root = stack.pop()[1]
    while stack:
        root = node_hash(stack.pop()[1], root)
    return root


def subtree_hash(lo: int, hi: int, node: NodeSource) -> bytes:
    """MTH(D[lo:hi]) for a range that is a subtree of some tree (lo a multiple of the split size)."""
    n = hi - lo
    if n <= 0:
        raise LogError(f"empty range [{lo}, {hi}) has no subtree hash", Reason.LOG_PROOF_INVALID)
    if n & (n - 1) == 0 and lo % n == 0:
        level = n.bit_length() - 1
        return node(level, lo >> level)
    k = _split(n)
    return node_hash(subtree_hash(lo, lo + k, node), subtree_hash(lo + k, hi, node))


def tree_hash(size: int, node: NodeSource) -> bytes:
    """The root of the tree of the first `size` leaves."""
    return EMPTY_ROOT if size == 0 else subtree_hash(0, size, node)


def inclusion_proof(index: int, size: int, node: NodeSource) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, lowest level first."""
    if not 0 <= index < size:
        raise LogError(f"leaf {index} is not in a tree of size {size}", Reason.LOG_PROOF_INVALID)
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index - lo < k:
            path.append(subtree_hash(lo + k, hi, node))
            hi = lo + k
        else:
            path.append(subtree_hash(lo, lo + k, node))
            lo = lo + k
    path.reverse()
    return path


def consistency_proof(old_size: int, new_size: int, node: NodeSource) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]) of RFC 9162 §2.1.4.1, lowest level first."""
    if not 0 < old_size <= new_size:
        raise LogError(f"no consistency proof from size {old_size} to {new_size}", Reason.LOG_PROOF_INVALID)
    path: list[bytes] = []
    lo, hi, m, complete = 0, new_size, old_size, True
    while True:
        n = hi - lo
        if m == n:
            if not complete:
                path.append(subtree_hash(lo, hi, node))
            break
        k = _split(n)
        if m <= k:
            path.append(subtree_hash(lo + k, hi, node))
            hi = lo + k
        else:
            path.append(subtree_hash(lo, lo + k, node))
            lo, m, complete = lo + k, m - k, False
    path.reverse()
    return path


def _check_hashes(*hashes: bytes) -> None:
    for h in hashes:
        if not isinstance(h, bytes | bytearray) or len(h) != HASH_SIZE:
            raise LogError("a hash in the proof is not 32 bytes", Reason.LOG_PROOF_INVALID)


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2 steps 1-5: the root a correct proof implies (LogError if the proof is malformed)."""
    _check_hashes(leaf, *proof)
    if not 0 <= index < size:
        raise LogError(f"leaf index {index} is beyond tree size {size}", Reason.LOG_PROOF_INVALID)
    fn, sn, r = index, size - 1, bytes(leaf)
    for p in proof:
        if sn == 0:
            raise LogError("inclusion proof is longer than the tree is deep", Reason.LOG_PROOF_INVALID)
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise LogError("inclusion proof is shorter than the tree is deep", Reason.LOG_PROOF_INVALID)
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Raise LogError (LOG_PROOF_INVALID) unless `proof` shows leaf hash `leaf` at `index` under `root`."""
    _check_hashes(root)
    if root_from_inclusion_proof(index, size, leaf, proof) != root:
        raise LogError(f"inclusion proof for leaf {index} does not lead to the root of tree size {size}",
                       Reason.LOG_PROOF_INVALID)


def verify_consistency(old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes,
                       new_root: bytes) -> None:
    """Raise LogError (LOG_PROOF_INVALID) unless the tree (new_size, new_root) extends (old_size, old_root).

    As in transparency-dev/merkle: old_size 0 is refused (a proof from the empty tree proves nothing);
    equal sizes need an empty proof and equal roots. When the proof is sound for the new root but the old
    root is not inside it, the error is a LogForkError (LOG_INCONSISTENT): two signed views that cannot
    both be true."""
    bad = Reason.LOG_PROOF_INVALID
    if old_size > new_size:
        raise LogError(f"tree size went backwards: {old_size} -> {new_size}", bad)
    if old_size == new_size:
        if proof:
            raise LogError("equal tree sizes need an empty consistency proof", bad)
        if old_root != new_root:
            raise LogForkError(f"two different roots for tree size {old_size}: the log has forked")
        return
    if old_size == 0:
        raise LogError("a consistency proof from the empty tree is meaningless", bad)
    _check_hashes(old_root, new_root, *proof)
    if not proof:
        raise LogError("empty consistency proof between different sizes", bad)
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # step 2: a power of two is itself a node of the new tree
        path.insert(0, bytes(old_root))
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise LogError("consistency proof is longer than the tree is deep", bad)
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise LogError("consistency proof is shorter than the tree is deep", bad)
    if sr != new_root:
        raise LogError(f"consistency proof does not lead to the new root (size {new_size})", bad)
    if fr != old_root:
        raise LogForkError(f"the tree of size {new_size} does not contain the tree of size {old_size} that was "
                           "seen before: the log has forked or rewritten its history")
