package snapshot_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/gorae/gorae/internal/testutil"
)

// TestMain fails the run when a test left a snapshot mounted.
func TestMain(m *testing.M) {
	code := m.Run()
	if err := testutil.CheckLeaks(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}
