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

// TestRunEncodingWithoutPlatformUnchanged: a RUN for the build's own
// platform (Platform "") encodes as before the field existed (the bytes
// below, with and without --add-host), so native builds keep their cache
// keys; a platform changes the key.
func TestRunEncodingWithoutPlatformUnchanged(t *testing.T) {
	op := Run{Args: []string{"/bin/sh", "-c", "true"}, Env: []string{"A=1"}, User: "app", Workdir: "/w", Network: "none", Security: "sandbox",
		Mounts: []Mount{{Type: "cache", Target: "/c", ID: "x", Sharing: "locked", Size: 5}}, Files: map[string]string{"/f": "x"}, Stdin: "in"}
	const want = "03072f62696e2f7368022d6304747275650103413d3103617070022f77046e6f6e650773616e64626f7801056361636865022f630000000178066c6f636b65640000000000013501022f66017802696e"
	if got := hex.EncodeToString(encode(op)); got != want {
		t.Errorf("encoding %s, want %s", got, want)
	}
	const digest = "sha256:6cf6b368015a3776f6c32db6f919f061d114c94a0075b572d1cd195ab061f425"
	if got := (&Node{Op: op}).Digest(); got != digest {
		t.Errorf("digest %s, want %s", got, digest)
	}
	hosts := op
	hosts.ExtraHosts = []string{"h=1.2.3.4"}
	if got := hex.EncodeToString(encode(hosts)); got != want+"0e72756e2f73616e64626f782f76310109683d312e322e332e3400" {
		t.Errorf("encoding with --add-host %s", got)
	}

	arm := op
	arm.Platform = "linux/arm64"
	arm7 := op
	arm7.Platform = "linux/arm/v7"
	if bytes.Equal(encode(op), encode(arm)) || bytes.Equal(encode(arm), encode(arm7)) {
		t.Error("the platform does not change the encoding")
	}
	hostsArm := hosts
	hostsArm.Platform = "linux/arm64"
	if bytes.Equal(encode(hosts), encode(hostsArm)) || bytes.Equal(encode(arm), encode(hostsArm)) {
		t.Error("the platform and --add-host do not make distinct encodings")
	}
}
