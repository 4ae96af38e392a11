package main

import (
	"archive/tar"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gorae/gorae/internal/testutil"
)

// TestContextSocketAndFifo: as with BuildKit (fsutil clears the socket
// bit and sends no content), a socket in the context is copied as an
// empty regular file with the socket's permissions; a fifo stays a fifo.
func TestContextSocketAndFifo(t *testing.T) {
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile":   "FROM busybox\nCOPY ctx/ /ctx/\n",
		"ctx/file.txt": "file\n",
	})
	l, err := net.Listen("unix", filepath.Join(dir, "ctx", "app.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := os.Chmod(filepath.Join(dir, "ctx", "app.sock"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "ctx", "pipe"), 0o640); err != nil {
		t.Fatal(err)
	}
	img := ociImage(t, g, dir)
	hs, bodies := files(t, img)
	if h := hs["/ctx/app.sock"]; h == nil || h.Typeflag != tar.TypeReg || h.Size != 0 || h.Mode&0o7777 != 0o750 {
		t.Errorf("the context's socket became %+v, want an empty regular file of mode 0750", h)
	}
	if h := hs["/ctx/pipe"]; h == nil || h.Typeflag != tar.TypeFifo || h.Mode&0o7777 != 0o640 {
		t.Errorf("the context's fifo became %+v, want a fifo of mode 0640", h)
	}
	if bodies["/ctx/file.txt"] != "file\n" {
		t.Errorf("file.txt = %q", bodies["/ctx/file.txt"])
	}
}

// TestRunSocketWarned: a socket a RUN leaves behind cannot be in a layer;
// BuildKit drops it silently, gorae drops it with a warning naming it.
func TestRunSocketWarned(t *testing.T) {
	g := newGorae(t)
	dir := t.TempDir()
	src := filepath.Join(t.TempDir(), "mksock.go")
	if err := os.WriteFile(src, []byte(`package main

import ("net"; "os")

func main() {
	l, err := net.Listen("unix", os.Args[1])
	if err != nil { panic(err) }
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "mksock"), src)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build mksock: %v\n%s", err, out)
	}
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile": "FROM busybox\nCOPY mksock /mksock\nRUN mkdir -p /run/app && /mksock /run/app/ctl.sock && echo kept > /run/app/note\n",
	})
	r := g.Must(t, dir, "build", "--progress=plain", "-t", "sock", ".")
	if !strings.Contains(r.Stderr, "WARNING: Dockerfile:3: 1 socket(s) left out of the RUN's layer (/run/app/ctl.sock first)") {
		t.Errorf("no warning for the RUN's socket:\n%s", r.Stderr)
	}
	run := g.Must(t, dir, "run", "--rm", "sock", "sh", "-c", "cat /run/app/note; ls /run/app")
	if run.Stdout != "kept\nnote\n" {
		t.Errorf("the image holds %q, want the note and no socket", run.Stdout)
	}
}

// TestUnreadableContextFile: a file in the context that the builder
// cannot read is an error naming it (BuildKit: "error from sender: open
// PATH: permission denied"), never a silently empty or missing file; so
// is a directory it cannot list. A .dockerignore entry is the way out.
func TestUnreadableContextFile(t *testing.T) {
	g, u := rootlessGorae(t)
	dir := u.Dir(t, "ctx")
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile":     "FROM busybox\nCOPY . /app/\n",
		"ok.txt":         "ok\n",
		"secret/key.pem": "root's\n",
	})
	u.Chown(t, dir)
	// Left behind by a root process: the user cannot read it, nor can
	// gorae's user namespace, where root's uid is not mapped.
	key := filepath.Join(dir, "secret", "key.pem")
	if err := os.Chown(key, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(key, 0o600); err != nil {
		t.Fatal(err)
	}
	r := g.Run(t, dir, "build", "--progress=plain", ".")
	if r.Code != 1 || !strings.Contains(r.Stderr, "open "+key+": permission denied") || !strings.Contains(r.Stderr, ".dockerignore") {
		t.Errorf("an unreadable context file gives exit %d:\n%s", r.Code, r.Stderr)
	}
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "secret")
	if err := os.Chown(sub, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	r = g.Run(t, dir, "build", "-q", ".")
	if r.Code != 1 || !strings.Contains(r.Stderr, "open "+sub+": permission denied") || !strings.Contains(r.Stderr, ".dockerignore") {
		t.Errorf("an unreadable context directory gives exit %d:\n%s", r.Code, r.Stderr)
	}
	if err := os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g.Must(t, dir, "build", "-q", ".")
}

// TestLocalOutputDeviceWarned: rootless, type=local cannot create the
// image's device nodes; it leaves them out with a warning naming the
// first, where type=tar keeps them.
func TestLocalOutputDeviceWarned(t *testing.T) {
	g, u := rootlessGorae(t)
	dir := u.Dir(t, "ctx")
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM scratch\nCOPY null /dev/null\nCOPY Dockerfile /\n"})
	u.Chown(t, dir)
	if err := syscall.Mknod(filepath.Join(dir, "null"), syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(u.Home, "out")
	r := g.Must(t, dir, "build", "--progress=plain", "--output", "type=local,dest="+out, "--output", "type=tar,dest="+out+".tar", ".")
	if !strings.Contains(r.Stderr, "WARNING: type=local,dest="+out+": 1 device node(s) not written (/dev/null first)") {
		t.Errorf("no warning for the device type=local left out:\n%s", r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "Dockerfile")); err != nil {
		t.Errorf("type=local lacks the other files: %v", err)
	}
	f, err := os.Open(out + ".tar")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	found := false
	for h, err := tr.Next(); err == nil; h, err = tr.Next() {
		if strings.TrimPrefix(h.Name, "./") == "dev/null" && h.Typeflag == tar.TypeChar && h.Devmajor == 1 && h.Devminor == 3 {
			found = true
		}
	}
	if !found {
		t.Error("type=tar lacks the device node")
	}
}
