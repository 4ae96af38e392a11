package binfmt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// DefaultMiscDir is where Linux mounts binfmt_misc.
const DefaultMiscDir = "/proc/sys/fs/binfmt_misc"

// Checker probes whether this machine runs the binaries of a platform
// inside a build sandbox, once per platform. The zero value is ready: it
// writes probes to os.TempDir and reads DefaultMiscDir.
type Checker struct {
	// Dir is where a probe program is written and run; "" is
	// os.TempDir(). It must allow running programs (not noexec).
	Dir string
	// MiscDir is the binfmt_misc mount; "" is DefaultMiscDir.
	MiscDir string

	mu   sync.Mutex
	done map[string]func() error
}

// process is the Checker behind Check: one per process, so that the many
// RUN steps of a build, and of all the platforms it builds, probe each
// platform once.
var process Checker

// Check is Checker.Check with a Checker shared by the whole process.
func Check(p v1.Platform) error { return process.Check(p) }

// Check returns nil when binaries of p run here, in a sandbox that has
// pivoted to another root: p is the host's architecture, or a probe
// program of p's architecture (a static "exit 0") ran and the
// binfmt_misc handler that ran it, if any, has the F flag, so that the
// kernel opened its interpreter at registration instead of looking the
// path up inside the sandbox, where it does not exist.
//
// Otherwise the error says what is missing and how to install or fix it.
// An architecture without a probe program (see Supported) is an error
// too: a RUN step would fail later with a message naming neither the
// platform nor emulation. The result is remembered per platform.
func (c *Checker) Check(p v1.Platform) error {
	if p.OS == "linux" && p.Architecture == runtime.GOARCH {
		return nil
	}
	key := platformString(p)
	c.mu.Lock()
	if c.done == nil {
		c.done = map[string]func() error{}
	}
	f, ok := c.done[key]
	if !ok {
		f = sync.OnceValue(func() error { return c.probe(p) })
		c.done[key] = f
	}
	c.mu.Unlock()
	return f()
}

func (c *Checker) miscDir() string {
	if c.MiscDir != "" {
		return c.MiscDir
	}
	return DefaultMiscDir
}

func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

func (c *Checker) probe(p v1.Platform) error {
	name := platformString(p)
	if p.OS != "linux" {
		return fmt.Errorf("cannot run %s binaries: gorae runs RUN steps of linux platforms only", name)
	}
	a, ok := arches[p.Architecture]
	if !ok {
		return fmt.Errorf("gorae cannot check emulation for %s: it has probes for linux/%s only; build that stage for one of them, or without RUN", name, strings.Join(Supported(), ", linux/"))
	}
	prog := a.program()
	err := c.run(prog, p.Architecture)
	switch {
	case err == nil:
		return c.checkFlags(name, p.Architecture, a, prog)
	case errors.Is(err, syscall.ENOEXEC):
		return c.noHandler(name, p.Architecture, a, prog)
	case errors.Is(err, fs.ErrNotExist):
		if h, ok := c.matching(prog); ok {
			return fmt.Errorf("%s emulation is registered (binfmt_misc handler %s) but its interpreter %s does not exist: install it, or register %s again", name, h.name, h.interpreter, "qemu-"+a.qemu)
		}
	}
	return fmt.Errorf("run the %s probe program: %w", name, err)
}

// run writes prog to a fresh file in c.Dir and executes it.
func (c *Checker) run(prog []byte, arch string) error {
	f, err := os.CreateTemp(c.Dir, "gorae-binfmt-"+arch+"-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(prog)
	if err == nil {
		err = f.Chmod(0o700)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for try := 0; ; try++ {
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, f.Name())
		cmd.Env = []string{}
		cmd.Stdout, cmd.Stderr = &out, &out
		err = cmd.Run()
		// A process forked elsewhere in gorae while the file was open for
		// writing holds it until that child execs: wait for it.
		if errors.Is(err, syscall.ETXTBSY) && try < 50 {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("it should exit 0 but %v: its emulator does not work%s", ee, quote(out.String()))
		}
		if errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("%w (is %s mounted noexec? Then set TMPDIR to a directory where programs may run)", err, f.Name())
		}
		return err
	}
}

func quote(out string) string {
	out = strings.TrimSpace(out)
	if out == "" {
		return ""
	}
	return ": " + out
}

// checkFlags is for a probe that ran: it finds the binfmt_misc handlers
// that match the probe. None (or no binfmt_misc to read) means the
// kernel ran it itself; one with the F flag is fine.
func (c *Checker) checkFlags(name, goarch string, a arch, prog []byte) error {
	hs, err := handlers(c.miscDir())
	if err != nil {
		return nil
	}
	var noF []handler
	for _, h := range hs {
		if !h.enabled || !h.matches(prog) {
			continue
		}
		if strings.Contains(h.flags, "F") {
			// The kernel prefers the handler registered last, which the
			// listing does not tell: one with F may be the one in use.
			return nil
		}
		noF = append(noF, h)
	}
	if len(noF) == 0 {
		return nil
	}
	h := noF[0]
	debian := "qemu-" + a.qemu
	fix := fmt.Sprintf("re-register it with the F flag, e.g. update-binfmts --disable %s && update-binfmts --enable %s on Debian (qemu-user-static registers with F), or docker run --privileged tonistiigi/binfmt --install %s", debian, debian, goarch)
	if h.name != debian {
		fix = fmt.Sprintf("remove it (echo -1 > %s/%s) and register one with the F flag, e.g. update-binfmts --enable %s on Debian (qemu-user-static registers with F), or docker run --privileged tonistiigi/binfmt --install %s", c.miscDir(), h.name, debian, goarch)
	}
	return fmt.Errorf("%s emulation is registered without the F flag (handler %s, interpreter %s), so it cannot run inside the build sandbox: %s", name, h.name, h.interpreter, fix)
}

// matching is the first enabled handler that matches prog.
func (c *Checker) matching(prog []byte) (handler, bool) {
	hs, _ := handlers(c.miscDir())
	for _, h := range hs {
		if h.enabled && h.matches(prog) {
			return h, true
		}
	}
	return handler{}, false
}
