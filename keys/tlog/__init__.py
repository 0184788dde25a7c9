"""The transparency log of the office's acts: RFC 9162 Merkle hashing and proofs (`merkle`), C2SP signed
notes (`note`), checkpoints (`checkpoint`) and tiles (`tiles`), and the leaf format (`leaves`, in the
deterministic CBOR of keys.cbor).

Pure Python on `cryptography`; nothing here imports the registry or the verifier.
"""
