package testutil

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// User is an unprivileged account made for one test, with a subordinate
// id range in /etc/subuid and /etc/subgid as useradd gives every new
// user.
type User struct {
	Name     string
	UID, GID int
	Home     string
}

// NewUser creates a user with useradd -m and removes it (and its home)
// when the test ends. It skips the test when not run as root or when
// newuidmap (package uidmap, which make test installs) is missing.
func NewUser(t testing.TB) *User {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("creating a test user needs root")
	}
	if _, err := exec.LookPath("newuidmap"); err != nil {
		t.Skip("newuidmap is not installed (make test installs it: apt-get install uidmap)")
	}
	var b [3]byte
	rand.Read(b[:])
	name := "gorae" + hex.EncodeToString(b[:])
	if out, err := exec.Command("useradd", "-m", "-s", "/bin/sh", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd %s: %v\n%s", name, err, out)
	}
	u, err := user.Lookup(name)
	if err != nil {
		exec.Command("userdel", "-r", name).Run()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Files a rootless gorae made belong to subordinate ids too;
		// userdel -r removes the home whoever owns what is in it. The
		// runtime directory gorae made for the user goes as well.
		exec.Command("pkill", "-KILL", "-u", name).Run() // what a failed test left running
		exec.Command("userdel", "-r", name).Run()
		os.RemoveAll("/tmp/gorae-run-" + u.Uid)
	})
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &User{Name: name, UID: uid, GID: gid, Home: u.HomeDir}
}

// Dir makes a directory of the user's under its home.
func (u *User) Dir(t testing.TB, name string) string {
	t.Helper()
	d := filepath.Join(u.Home, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	u.Chown(t, d)
	return d
}

// Chown gives everything under p to the user.
func (u *User) Chown(t testing.TB, p string) {
	t.Helper()
	err := filepath.Walk(p, func(q string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(q, u.UID, u.GID)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Install copies the file at bin into the user's home, executable by it,
// and returns the copy's path.
func (u *User) Install(t testing.TB, bin string) string {
	t.Helper()
	dst := filepath.Join(u.Dir(t, "bin"), filepath.Base(bin))
	in, err := os.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	u.Chown(t, dst)
	return dst
}

// Command is name with args run as the user, with the environment a
// login would give it (HOME, USER, PATH; no XDG_RUNTIME_DIR, as under
// runuser) plus env.
func (u *User) Command(name string, args []string, env ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = append([]string{"HOME=" + u.Home, "USER=" + u.Name, "LOGNAME=" + u.Name, "PATH=/usr/local/bin:/usr/bin:/bin"}, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID), Groups: []uint32{}}}
	return cmd
}

// keepEnv are the variables of the test's environment a user's command
// keeps (language settings; never the test's HOME, TMPDIR or GORAE_ROOT).
func keepEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "LANG=") || strings.HasPrefix(kv, "LC_") {
			out = append(out, kv)
		}
	}
	return out
}
