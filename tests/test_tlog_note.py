"""C2SP signed notes and checkpoints: the spec's own vectors, and every way a note can be bent."""

from __future__ import annotations

import base64

import pytest

from keys.errors import LogError, Reason
from keys.tlog.checkpoint import Checkpoint, open_checkpoint, parse_checkpoint
from keys.tlog.note import NoteSigner, NoteVerifier, key_id, open_note, parse_note, sign_note

# c2sp.org/signed-note, "Verifier keys / Example".
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = ("This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONnc"
             "AlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n").encode()
# The package documentation of golang.org/x/mod/sumdb/note: a signer key, its verifier key and the note.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_NOTE = (GO_TEXT + "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdn"
           "gotpRZb6KE6RyyBwJnAM=\n").encode()


def test_spec_example_note_verifies_with_the_spec_key() -> None:
    note = open_note(SPEC_NOTE, [NoteVerifier.from_vkey(SPEC_VKEY)])
    assert note.text == "This is an example message.\n"
    assert note.verified_by == ("example.com/foo",)
    assert NoteVerifier.from_vkey(SPEC_VKEY).vkey == SPEC_VKEY


def test_go_documentation_key_signs_the_same_bytes() -> None:
    signer = NoteSigner.from_skey(GO_SKEY)
    assert signer.skey == GO_SKEY
    assert signer.verifier.vkey == GO_VKEY
    assert sign_note(GO_TEXT, [signer]) == GO_NOTE  # Ed25519 is deterministic: byte for byte
    assert open_note(GO_NOTE, [NoteVerifier.from_vkey(GO_VKEY)]).text == GO_TEXT


def test_key_id_is_sha256_of_name_newline_type_and_key() -> None:
    verifier = NoteVerifier.from_vkey(SPEC_VKEY)
    assert key_id("example.com/foo", 1, verifier.public_bytes()) == 0x530D903A


def test_note_signed_by_another_key_is_refused() -> None:
    impostor = NoteSigner.generate("example.com/foo")  # same name, different key (so a different ID)
    forged = sign_note("This is an example message.\n", [impostor])
    with pytest.raises(LogError) as caught:
        open_note(forged, [NoteVerifier.from_vkey(SPEC_VKEY)])
    assert caught.value.reason == Reason.LOG_BAD_SIGNATURE


def test_known_key_with_a_bad_signature_rejects_the_whole_note() -> None:
    other = NoteSigner.generate("witness.example/w1")
    changed = "This was an example message.\n"
    spec_line = SPEC_NOTE.split(b"\n\n")[1]
    tampered = changed.encode() + b"\n" + spec_line + other.signature_line(changed).encode()
    assert open_note(tampered, [other.verifier]).verified_by == ("witness.example/w1",)
    with pytest.raises(LogError) as caught:
        open_note(tampered, [NoteVerifier.from_vkey(SPEC_VKEY), other.verifier])
    assert caught.value.reason == Reason.LOG_BAD_SIGNATURE


def test_unknown_signatures_are_ignored_but_one_known_is_required() -> None:
    cosigner = NoteSigner.generate("witness.example/w1")
    extra_line = cosigner.signature_line("This is an example message.\n").encode()
    both = SPEC_NOTE + extra_line
    assert open_note(both, [NoteVerifier.from_vkey(SPEC_VKEY)]).verified_by == ("example.com/foo",)
    assert len(parse_note(both)[1]) == 2
    with pytest.raises(LogError, match="not signed by any trusted key"):
        open_note(both, [NoteSigner.generate("example.org/other").verifier])


@pytest.mark.parametrize(("name", "bent"), [
    ("truncated_signature_line", SPEC_NOTE[:-10]),
    ("missing_final_newline", SPEC_NOTE[:-1]),
    ("extra_line_after_signatures", SPEC_NOTE + b"trailing text\n"),
    ("extra_blank_line_at_end", SPEC_NOTE + b"\n"),
    ("no_blank_line", SPEC_NOTE.replace(b".\n\n", b".\n")),
    ("no_signatures", b"This is an example message.\n\n"),
    ("crlf_line_endings", SPEC_NOTE.replace(b"\n", b"\r\n")),
    ("control_character_in_text", SPEC_NOTE.replace(b"example", b"exa\x1bmple", 1)),
    ("tab_in_text", SPEC_NOTE.replace(b" an ", b"\tan ", 1)),
    ("invalid_utf8", SPEC_NOTE.replace(b"This", b"Th\xffs")),
    ("hyphen_instead_of_em_dash", SPEC_NOTE.replace("\u2014".encode(), b"-")),
    ("two_spaces_in_signature_line", SPEC_NOTE.replace(b"foo Uw2Q", b"foo  Uw2Q")),
    ("unpadded_base64", SPEC_NOTE.replace(b"aQM=", b"aQM")),
    ("base64_with_junk", SPEC_NOTE.replace(b"Uw2Q", b"Uw2Q!")),
    ("signature_too_short", "x\n\n\u2014 example.com/foo AAAA\n".encode()),
    ("key_name_with_plus", SPEC_NOTE.replace(b"example.com/foo U", b"example.com+foo U")),
])
def test_bent_note_is_refused(name: str, bent: bytes) -> None:
    with pytest.raises(LogError):
        open_note(bent, [NoteVerifier.from_vkey(SPEC_VKEY)])


@pytest.mark.parametrize("vkey", [
    "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # ID does not match the key
    "example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # name does not match the ID
    "example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # upper-case hex
    "example.com/foo+530d903a+AqkyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # signature type 2
    "example.com/foo+530d903a",
    "example com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
])
def test_bad_verifier_key_is_refused(vkey: str) -> None:
    with pytest.raises(LogError) as caught:
        NoteVerifier.from_vkey(vkey)
    assert caught.value.reason == Reason.LOG_MALFORMED


def test_signer_key_with_wrong_id_is_refused() -> None:
    with pytest.raises(LogError):
        NoteSigner.from_skey(GO_SKEY.replace("c74f20a3", "c74f20a4"))
    with pytest.raises(LogError):
        NoteSigner.from_skey(GO_VKEY)


def test_spec_checkpoint_body_parses() -> None:
    # c2sp.org/tlog-checkpoint's example body.
    text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    checkpoint = parse_checkpoint(text)
    assert (checkpoint.origin, checkpoint.size) == ("example.com/behind-the-sofa", 20852163)
    assert checkpoint.text() == text


def test_checkpoint_round_trip_with_extensions_and_signature() -> None:
    signer = NoteSigner.generate("log.example/permits")
    checkpoint = Checkpoint("log.example/permits", 42, bytes(range(32)), ("ext one",))
    opened = open_checkpoint(checkpoint.sign([signer]), signer.verifier)
    assert opened == checkpoint


@pytest.mark.parametrize("text", [
    "origin\n",
    "origin\n12\n",
    "\n12\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
    "origin\n012\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
    "origin\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
    "origin\n+5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
    "origin\n99999999999999999999\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
    "origin\n12\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",
    "origin\n12\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jx\n",
    "origin\n12\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",
    "origin\n12\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
])
def test_malformed_checkpoint_is_refused(text: str) -> None:
    with pytest.raises(LogError) as caught:
        parse_checkpoint(text)
    assert caught.value.reason == Reason.LOG_MALFORMED


def test_checkpoint_of_another_log_signed_by_the_same_key_is_refused() -> None:
    signer = NoteSigner.generate("log.example/permits")
    other = Checkpoint("log.example/other", 1, bytes(32)).sign([signer])
    with pytest.raises(LogError, match=r"not 'log\.example/permits'"):
        open_checkpoint(other, signer.verifier)


def test_checkpoint_signed_by_another_key_is_refused() -> None:
    log_key = NoteSigner.generate("log.example/permits")
    attacker = NoteSigner.generate("log.example/permits")
    forged = Checkpoint("log.example/permits", 99, bytes(32)).sign([attacker])
    with pytest.raises(LogError) as caught:
        open_checkpoint(forged, log_key.verifier)
    assert caught.value.reason == Reason.LOG_BAD_SIGNATURE
    assert base64.b64decode(forged.split(b" ")[-1])[:4] != log_key.key_id.to_bytes(4, "big")
