package solver

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// Key identifies a vertex's result: its own definition and, recursively,
// everything below it.
type Key [32]byte

// String returns "sha256:<hex>".
func (k Key) String() string { return "sha256:" + hex.EncodeToString(k[:]) }

// IsZero reports whether k is the zero Key.
func (k Key) IsZero() bool { return k == Key{} }

// salt versions the key encoding: changing how keys are built must change
// every key, or old cache records would be wrongly reused.
const salt = "gorae/v1"

// ComputeKey combines a vertex's own key with its inputs' keys, in order:
// sha256("gorae/v1" ‖ own ‖ uvarint(len(inputs)) ‖ inputs...).
func ComputeKey(own Key, inputs []Key) Key {
	h := sha256.New()
	h.Write([]byte(salt))
	h.Write(own[:])
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(inputs)))])
	for _, in := range inputs {
		h.Write(in[:])
	}
	var k Key
	h.Sum(k[:0])
	return k
}
