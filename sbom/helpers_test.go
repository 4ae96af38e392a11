package sbom

import (
	"encoding/json"
	"io/fs"
	"testing"
)

func scanFS(t *testing.T, fsys fs.FS) []Package {
	t.Helper()
	pkgs, err := Scan(t.Context(), fsys)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return pkgs
}

func comparePackageLists(t *testing.T, got, want []Package) {
	t.Helper()
	g, _ := json.MarshalIndent(got, "", " ")
	w, _ := json.MarshalIndent(want, "", " ")
	if string(g) != string(w) {
		t.Errorf("packages:\n%s\nwant:\n%s", g, w)
	}
}
