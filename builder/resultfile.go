package builder

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"

	"github.com/gorae/gorae/content"
	"github.com/gorae/gorae/solver"
)

// MetadataExecuted is the --metadata-file key holding how many steps
// the build executed (0: every step came from a cache). `gorae bake
// --kubernetes` reads it from a Job's termination message.
const MetadataExecuted = "gorae.steps.executed"

// countExecuted wraps a solver event callback and counts the steps that
// executed into n. Solver events are serialized, so n needs no lock.
func countExecuted(n *int, next func(solver.Event)) func(solver.Event) {
	return func(e solver.Event) {
		if e.Status == solver.Done {
			*n++
		}
		next(e)
	}
}

// writeResultFile writes --iidfile or --metadata-file atomically, or in
// place when path is a mount point that a rename cannot replace:
// Kubernetes bind-mounts a container's /dev/termination-log, and
// `--metadata-file /dev/termination-log` makes the metadata a Job's
// termination message.
func writeResultFile(path string, b []byte) error {
	if mountPoint(path) {
		return os.WriteFile(path, b, 0o644)
	}
	err := content.WriteFile(path, b)
	if errors.Is(err, syscall.EBUSY) {
		return os.WriteFile(path, b, 0o644)
	}
	return err
}

// mountPoint reports whether the existing file path lies on another
// file system than its directory: a file bind-mounted there (the
// directory may not even be writable for a temporary file).
func mountPoint(path string) bool {
	var f, d syscall.Stat_t
	if syscall.Stat(path, &f) != nil || syscall.Stat(filepath.Dir(path), &d) != nil {
		return false
	}
	return f.Dev != d.Dev
}
