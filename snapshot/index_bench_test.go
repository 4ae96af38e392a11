package snapshot

import (
	"archive/tar"
	"fmt"
	"testing"
)

// benchLayers is a 20,000-entry layer (a COPY of a source tree: 2,000
// directories of 9 files, three levels deep) and a 300-entry layer above
// it that replaces, whites out and adds entries.
func benchLayers() [][]Entry {
	var big []Entry
	for i := range 2000 {
		d := fmt.Sprintf("app/pkg%02d/mod%02d/dir%d", i/100, i/10%10, i%10)
		big = append(big, Entry{Name: d, Typeflag: tar.TypeDir, Mode: 0o755, Uid: 1000, Gid: 1000})
		for j := range 9 {
			big = append(big, Entry{Name: fmt.Sprintf("%s/file%d.go", d, j), Typeflag: tar.TypeReg, Mode: 0o644, Size: 8000, Uid: 1000, Gid: 1000, ModTime: 1700000000})
		}
	}
	var small []Entry
	for i := range 100 {
		d := fmt.Sprintf("app/pkg%02d/mod%02d/dir%d", i/100, i/10%10, i%10)
		small = append(small,
			Entry{Name: d + "/file0.go", Typeflag: tar.TypeReg, Mode: 0o644, Size: 10},
			Entry{Name: d + "/.wh.file1.go", Typeflag: tar.TypeReg},
			Entry{Name: d + "/new.go", Typeflag: tar.TypeReg, Mode: 0o644, Size: 10})
	}
	return [][]Entry{big, small}
}

func BenchmarkNewIndexView(b *testing.B) {
	layers := benchLayers()
	for b.Loop() {
		NewIndexView(layers, nil)
	}
}

func BenchmarkIndexViewStat(b *testing.B) {
	v := NewIndexView(benchLayers(), nil)
	for b.Loop() {
		if _, err := v.Stat("app/pkg05/mod03/dir7/file4.go"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadIndex(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	id := testDiffID("d")
	if err := s.SaveIndex(id, benchLayers()[0]); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, ok, err := s.LoadIndex(id); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
