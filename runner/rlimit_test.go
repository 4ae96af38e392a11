package runner

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestSetRlimitsOverNrOpen: a nofile limit above the kernel's cap fails
// for root too; the error says which cap, not that root is missing.
func TestSetRlimitsOverNrOpen(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/fs/nr_open")
	if err != nil {
		t.Skip("no /proc/sys/fs/nr_open")
	}
	max := strings.TrimSpace(string(b))
	if inUserNamespace() || os.Geteuid() != 0 {
		t.Skip("needs root of the host's user namespace")
	}
	err = setRlimits([]Ulimit{{Name: "nofile", Soft: 1024, Hard: -1}})
	if err == nil {
		t.Fatal("nofile=1024:-1 was set")
	}
	want := fmt.Sprintf("the kernel allows at most %s open files (sysctl fs.nr_open)", max)
	if !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "without root") {
		t.Errorf("error = %v, want it to say %q", err, want)
	}
}
