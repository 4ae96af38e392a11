package graph

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func encode(op Op) []byte {
	var e Encoder
	op.Encode(&e)
	return e.Bytes()
}

// TestCopyEncodingWithoutHeredocsUnchanged: a copy without inline sources
// encodes as before heredocs existed (the bytes below), so upgrading keeps
// every such step's cache key.
func TestCopyEncodingWithoutHeredocsUnchanged(t *testing.T) {
	op := Copy{Add: true, Sources: []Source{{Input: 1, Path: "a"}, {Input: 2, Path: "b/*"}}, Dest: "/x/", Chown: "1:2", Chmod: "0755", Link: true, Excludes: []string{"*.md"}, Unpack: true}
	const want = "01020101610203622f2a032f782f03313a320430373535010001042a2e6d640100"
	if got := hex.EncodeToString(encode(op)); got != want {
		t.Errorf("encoding %s, want %s", got, want)
	}
}

// TestCopyEncodingHeredocContent: an inline source's content is part of
// the encoding; its name alone is not enough.
func TestCopyEncodingHeredocContent(t *testing.T) {
	a := Copy{Dest: "/x", Sources: []Source{{Path: "EOF", Data: "one\n"}}}
	b := Copy{Dest: "/x", Sources: []Source{{Path: "EOF", Data: "two\n"}}}
	c := Copy{Dest: "/x", Sources: []Source{{Input: 1, Path: "EOF"}}}
	if bytes.Equal(encode(a), encode(b)) || bytes.Equal(encode(a), encode(c)) {
		t.Error("heredoc content or kind does not change the encoding")
	}
	if !a.Sources[0].Inline() || c.Sources[0].Inline() {
		t.Error("Inline() wrong")
	}
}
