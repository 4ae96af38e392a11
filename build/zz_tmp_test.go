package build

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestZZWarmSaveCost(t *testing.T) {
	rootDir, dir := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(dir, "src"), 0o755)
	for i := range 2000 {
		os.WriteFile(filepath.Join(dir, "src", string(rune('a'+i%26))+time.Duration(i).String()), []byte("x"), 0o644)
	}
	x, _ := explainBuild(t, rootDir, dir)
	x.save()
	var total time.Duration
	for range 20 {
		x, _ = explainBuild(t, rootDir, dir)
		t0 := time.Now()
		root := &Root{Dir: rootDir, Tmp: t.TempDir()}
		_ = root
		if err := x.save(); err != nil {
			t.Fatal(err)
		}
		total += time.Since(t0)
	}
	t.Logf("warm save: %v per build", total/20)
}
