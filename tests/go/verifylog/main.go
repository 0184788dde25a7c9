// Command verifylog checks a published permit-registry transparency log with code not written in this
// project: golang.org/x/mod/sumdb/note opens the signed checkpoint with the key in key.vkey, and
// golang.org/x/mod/sumdb/tlog reads the tiles (authenticating each against the tree), recomputes the root,
// proves and checks the record inclusion and tree consistency that the Python side computed.
//
// Usage: verifylog LOGDIR < request.json, where request.json is
//
//	{"index": 3, "leaf_hash": "<base64>", "proof": ["<base64>", ...],
//	 "old_size": 2, "old_root": "<base64>", "consistency": ["<base64>", ...]}
//
// (old_size 0 skips the consistency check). It prints OK and exits 0, or prints why and exits 1.
package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type request struct {
	Index       int64    `json:"index"`
	LeafHash    string   `json:"leaf_hash"`
	Proof       []string `json:"proof"`
	OldSize     int64    `json:"old_size"`
	OldRoot     string   `json:"old_root"`
	Consistency []string `json:"consistency"`
}

// tileReader maps x/mod's tile paths (tile/8/L/N, data tiles tile/8/data/N) to C2SP's (tile/L/N, tile/entries/N).
type tileReader struct{ dir string }

func (r tileReader) Height() int { return 8 }

func c2spPath(t tlog.Tile) string {
	p := strings.TrimPrefix(t.Path(), "tile/8/")
	p = strings.Replace(p, "data/", "entries/", 1)
	return filepath.Join("tile", p)
}

func (r tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := os.ReadFile(filepath.Join(r.dir, c2spPath(t)))
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

func (r tileReader) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

func hashes(list []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(list))
	for i, s := range list {
		h, err := tlog.ParseHash(s)
		if err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, nil
}

func entry(dir string, size, index int64) ([]byte, error) {
	t := tlog.TileForIndex(8, tlog.StoredHashIndex(0, index))
	t.L = -1 // the data (entry bundle) tile of the same range
	if end := (t.N + 1) * 256; end > size {
		t.W = int(size - t.N*256)
	} else {
		t.W = 256
	}
	data, err := os.ReadFile(filepath.Join(dir, c2spPath(t)))
	if err != nil {
		return nil, err
	}
	for i := int64(0); len(data) >= 2; i++ {
		n := int(binary.BigEndian.Uint16(data))
		if len(data) < 2+n {
			return nil, fmt.Errorf("truncated entry bundle")
		}
		if t.N*256+i == index {
			return data[2 : 2+n], nil
		}
		data = data[2+n:]
	}
	return nil, fmt.Errorf("entry %d not in its bundle", index)
}

func run(dir string) error {
	vkey, err := os.ReadFile(filepath.Join(dir, "key.vkey"))
	if err != nil {
		return err
	}
	verifier, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		return fmt.Errorf("key.vkey: %v", err)
	}
	msg, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		return err
	}
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		return fmt.Errorf("checkpoint: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] != verifier.Name() {
		return fmt.Errorf("checkpoint text is not origin, size, root")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		return fmt.Errorf("checkpoint size: %v", err)
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		return fmt.Errorf("checkpoint root: %v", err)
	}
	tree := tlog.Tree{N: size, Hash: root}
	reader := tlog.TileHashReader(tree, tileReader{dir})
	if got, err := tlog.TreeHash(size, reader); err != nil || got != root {
		return fmt.Errorf("tiles do not hash to the checkpoint root (%v)", err)
	}

	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		return fmt.Errorf("request: %v", err)
	}
	leaf, err := tlog.ParseHash(req.LeafHash)
	if err != nil {
		return err
	}
	data, err := entry(dir, size, req.Index)
	if err != nil {
		return err
	}
	if tlog.RecordHash(data) != leaf {
		return fmt.Errorf("entry %d does not hash to the given leaf hash", req.Index)
	}
	ours, err := hashes(req.Proof)
	if err != nil {
		return err
	}
	if err := tlog.CheckRecord(ours, size, root, req.Index, leaf); err != nil {
		return fmt.Errorf("our inclusion proof: %v", err)
	}
	theirs, err := tlog.ProveRecord(size, req.Index, reader)
	if err != nil {
		return fmt.Errorf("x/mod inclusion proof: %v", err)
	}
	if err := tlog.CheckRecord(theirs, size, root, req.Index, leaf); err != nil {
		return fmt.Errorf("x/mod's own inclusion proof from the tiles: %v", err)
	}
	if len(theirs) != len(ours) {
		return fmt.Errorf("inclusion proofs differ in length")
	}
	for i := range ours {
		if !bytes.Equal(ours[i][:], theirs[i][:]) {
			return fmt.Errorf("inclusion proofs differ at %d", i)
		}
	}
	if req.OldSize > 0 {
		oldRoot, err := tlog.ParseHash(req.OldRoot)
		if err != nil {
			return err
		}
		proof, err := hashes(req.Consistency)
		if err != nil {
			return err
		}
		if err := tlog.CheckTree(proof, size, root, req.OldSize, oldRoot); err != nil {
			return fmt.Errorf("our consistency proof: %v", err)
		}
	}
	return nil
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: verifylog LOGDIR < request.json")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("OK")
}
