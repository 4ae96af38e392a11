package main

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/gorae/gorae/internal/testutil"
)

// goraeBin is the binary the end-to-end tests run, built once.
var goraeBin string

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Short() {
		dir, err := os.MkdirTemp("", "gorae-e2e-bin")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		goraeBin, err = testutil.BuildGorae(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "build gorae:", err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
		code := m.Run()
		if err := testutil.CheckLeaks(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
		os.RemoveAll(dir)
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// newGorae returns a gorae with a fresh root holding the busybox base
// image as "busybox".
func newGorae(t *testing.T) *testutil.Gorae {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test (runs the gorae binary)")
	}
	g := &testutil.Gorae{Bin: goraeBin, Root: t.TempDir()}
	g.Must(t, ".", "import", "-c", `CMD ["sh"]`, testutil.BusyboxTar(t), "busybox")
	return g
}
