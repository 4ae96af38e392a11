package root

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/content"
)

// mode is $GORAE_ROOT/mode.json: whether the root is used from the host
// (gorae run as root) or from a user namespace (rootless), and how RUN's
// snapshots are made there. A root serves one of the two: unpacked
// layers carry overlay metadata (trusted.overlay.* or user.overlay.*) and
// owners (real or subordinate ids) that the other cannot use.
type mode struct {
	UserNS bool `json:"userNamespace"`
	// IDs are the namespace's uid and gid maps, as /proc/self/uid_map
	// and gid_map give them: unpacked layers hold host ids, which mean
	// the in-image ids only under the same maps.
	IDs       string `json:"ids,omitempty"`
	Snapshots string `json:"snapshots,omitempty"` // rootless: "overlay" or "copy"
	// Xattrs is where unpacked layers keep overlay metadata: "trusted"
	// (root with CAP_SYS_ADMIN) or "user" (rootless, or without
	// CAP_SYS_ADMIN); "" in roots made before it was recorded.
	Xattrs string `json:"xattrs,omitempty"`
}

// xattrs is m.Xattrs, inferred for a root that did not record it.
func (m mode) xattrs() string {
	switch {
	case m.Xattrs != "":
		return m.Xattrs
	case m.UserNS:
		return "user"
	}
	return "trusted"
}

func (m mode) String() string {
	if m.UserNS {
		return "rootless (in a user namespace)"
	}
	return "as root"
}

// readMode reads the mode.json of the root at dir; a missing one is
// os.ErrNotExist.
func readMode(dir string) (mode, error) {
	path := filepath.Join(dir, "mode.json")
	var m mode
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return m, err
	}
	if err != nil {
		return m, fmt.Errorf("read %s: %w", path, err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("read %s: %w (remove it if the root is otherwise fine)", path, err)
	}
	return m, nil
}

// checkMode records the root's mode when it is new and refuses a root
// made for the other mode. For a new rootless root it returns a notice
// that says, once, how its snapshots are made.
func (r *Root) checkMode() (notice string, err error) {
	path := filepath.Join(r.Dir, "mode.json")
	cur := mode{UserNS: archive.InUserNamespace(), Xattrs: "trusted"}
	if cur.UserNS {
		cur.IDs = idMaps()
	}
	if archive.UserOverlayXattrs() {
		cur.Xattrs = "user"
	}
	was, err := readMode(r.Dir)
	if err == nil {
		if was.UserNS != cur.UserNS {
			return "", fmt.Errorf("the gorae root %s is used %s and cannot be used %s: its files' owners and overlay metadata differ; set GORAE_ROOT to another directory", r.Dir, was, cur)
		}
		if was.xattrs() != cur.Xattrs {
			return "", fmt.Errorf("the gorae root %s keeps overlay metadata in %s.* xattrs, and this gorae can use only %s.* ones (it runs %s CAP_SYS_ADMIN): run gorae as it was run when the root was made, or set GORAE_ROOT to another directory", r.Dir, was.xattrs(), cur.Xattrs, map[bool]string{true: "without", false: "with"}[cur.Xattrs == "user"])
		}
		if was.IDs != cur.IDs {
			return "", fmt.Errorf("the gorae root %s was made rootless with the id mapping %q, and this gorae runs with %q, under which its files' owners would be wrong: restore your /etc/subuid and /etc/subgid ranges and newuidmap, or set GORAE_ROOT to another directory", r.Dir, was.IDs, cur.IDs)
		}
		return "", nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if cur.UserNS {
		var perr error
		cur.Snapshots, perr = probeOverlay(r.Tmp)
		if perr == nil {
			notice = "rootless: RUN steps use overlayfs snapshots with user xattrs in this root"
		} else {
			notice = fmt.Sprintf("rootless: overlayfs cannot be mounted in a user namespace here (%v), so RUN steps copy their snapshots, which is slower; Linux 5.11 or later on a filesystem with user xattrs (ext4, xfs, btrfs) allows it", perr)
		}
	}
	b, err := json.Marshal(cur)
	if err != nil {
		return "", err
	}
	if err := content.WriteFile(path, append(b, '\n')); err != nil {
		return "", fmt.Errorf("record the root's mode: %w", err)
	}
	return notice, nil
}

// probeOverlay mounts and unmounts a small overlay with userxattr under
// tmp, as RUN's snapshots will.
func probeOverlay(tmp string) (string, error) {
	dir, err := os.MkdirTemp(tmp, "probe-")
	if err != nil {
		return "copy", err
	}
	defer os.RemoveAll(dir)
	for _, d := range []string{"lower", "upper", "work", "merged"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			return "copy", err
		}
	}
	opts := "userxattr,lowerdir=" + filepath.Join(dir, "lower") + ",upperdir=" + filepath.Join(dir, "upper") + ",workdir=" + filepath.Join(dir, "work")
	merged := filepath.Join(dir, "merged")
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		return "copy", err
	}
	unix.Unmount(merged, unix.MNT_DETACH)
	return "overlay", nil
}

// idMaps is this process's uid and gid maps, each line's fields joined by
// spaces and lines by commas: "uid 0 1000 1,1 100000 65536; gid …".
func idMaps() string {
	read := func(f string) string {
		b, _ := os.ReadFile(f)
		var lines []string
		for l := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
			lines = append(lines, strings.Join(strings.Fields(l), " "))
		}
		return strings.Join(lines, ",")
	}
	return "uid " + read("/proc/self/uid_map") + "; gid " + read("/proc/self/gid_map")
}
