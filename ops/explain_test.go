package ops

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
)

// TestSourceDigestPacksLosslessly: every file comes back as added, in
// order, across chunks, whatever its value looks like.
func TestSourceDigestPacksLosslessly(t *testing.T) {
	var want []FileDigest
	for i := range 3000 {
		sum := sha256.Sum256(fmt.Append(nil, i))
		want = append(want,
			FileDigest{fmt.Sprintf("dir%d", i), fs.ModeDir | 0o755, ""},
			FileDigest{fmt.Sprintf("dir%d/file", i), 0o644, hex.EncodeToString(sum[:])},
			FileDigest{fmt.Sprintf("dir%d/link", i), fs.ModeSymlink | 0o777, "../target"},
			FileDigest{fmt.Sprintf("dir%d/upper", i), 0o600, strings.ToUpper(hex.EncodeToString(sum[:]))},
		)
	}
	want = append(want, FileDigest{"huge", 0o644, strings.Repeat("x", 3*packChunk)})
	s := &SourceDigest{}
	for _, f := range want {
		s.add(f.Path, f.Mode, f.Value)
	}
	if len(s.files) < 2 {
		t.Fatalf("%d chunks; the test should cross chunks", len(s.files))
	}
	if got := s.Files(); s.Len() != len(want) || !slices.Equal(got, want) {
		t.Errorf("Files() gives %d files (Len %d), want the %d added", len(got), s.Len(), len(want))
	}
	s.drop()
	if s.Len() != 0 || len(s.Files()) != 0 {
		t.Error("drop kept files")
	}
	var none *SourceDigest
	none.add("a", 0, "")
	if none.Len() != 0 || none.Files() != nil {
		t.Error("a nil SourceDigest recorded something")
	}
}
