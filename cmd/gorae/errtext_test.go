package main

import (
	"strings"
	"testing"
)

func TestShortenPaths(t *testing.T) {
	deep := "/ctx/" + strings.Repeat("d/", 2200) + "key.pem"
	got := shortenPaths("open " + deep + ": permission denied: make it readable\nnext line /short/path")
	if !strings.HasPrefix(got, "open /ctx/d/d/") || !strings.Contains(got, "/d/key.pem: permission denied: make it readable\nnext line /short/path") || len(got) > 300 {
		t.Errorf("shortenPaths = %q", got)
	}
	if msg := "a plain message with /a/b and words"; shortenPaths(msg) != msg {
		t.Errorf("a short message changed: %q", shortenPaths(msg))
	}
}
