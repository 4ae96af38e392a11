package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gorae/gorae/internal/testutil"
)

// cachedRuns counts the RUN steps the plain progress reports as CACHED.
func cachedRuns(stderr string) int {
	n := 0
	for _, s := range plainSteps(stderr) {
		if strings.Contains(s.name, "RUN ") && s.end() == "CACHED" {
			n++
		}
	}
	return n
}

// assertAbsent fails when any file under dir (gzip layers decompressed)
// holds one of the values.
func assertAbsent(t *testing.T, what, dir string, values ...string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		if bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
			if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
				if u, err := io.ReadAll(zr); err == nil {
					b = u
				}
			}
		}
		for _, v := range values {
			if bytes.Contains(b, []byte(v)) {
				t.Errorf("%s: %s holds the secret value %q", what, p, v)
			}
		}
		return nil
	})
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestSecretMounts: file and env secrets reach their RUN and nothing else:
// not the image, a layer blob, a cache record, the history or the
// build's output, even when the RUN prints them; changing a secret does
// not invalidate the cache.
func TestSecretMounts(t *testing.T) {
	requireRoot(t)
	g := newGorae(t)
	const fileVal, envVal = "tok-8c1f-FILE-SECRET", "api-77d2-ENV-SECRET"
	dir := t.TempDir()
	secretFile := filepath.Join(t.TempDir(), "tok.txt")
	if err := os.WriteFile(secretFile, []byte(fileVal), 0o600); err != nil {
		t.Fatal(err)
	}
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": `FROM busybox
RUN --mount=type=secret,id=tok sha256sum /run/secrets/tok | cut -d' ' -f1 > /tok.sum && stat -c '%a %u %g' /run/secrets/tok > /tok.stat && echo "printed: $(cat /run/secrets/tok)"
RUN --mount=type=secret,id=tok,target=/etc/app/key,mode=0440,uid=1000,gid=1000 stat -c '%a %u %g' /etc/app/key > /key.stat && wc -c < /etc/app/key > /key.len
RUN --mount=type=secret,id=api,env=API_TOKEN echo "token is $API_TOKEN" >&2 && printf %s "$API_TOKEN" | sha256sum | cut -d' ' -f1 > /api.sum && ! test -e /run/secrets/api
RUN --mount=type=secret,id=absent sh -c 'test ! -e /run/secrets/absent && echo skipped > /absent.out'
`})
	g.Env = []string{"API_ENV=" + envVal}
	out := filepath.Join(t.TempDir(), "rootfs")
	args := []string{"build", "--progress=plain", "-t", "sec", "--secret", "id=tok,src=" + secretFile, "--secret", "id=api,env=API_ENV"}
	r := g.Must(t, dir, append(args, "--output", "type=local,dest="+out, ".")...)

	checks := map[string]string{
		"tok.sum":    sha(fileVal) + "\n",
		"tok.stat":   "400 0 0\n",
		"key.stat":   "440 1000 1000\n",
		"key.len":    "20\n",
		"api.sum":    sha(envVal) + "\n",
		"absent.out": "skipped\n",
	}
	for p, want := range checks {
		if b, err := os.ReadFile(filepath.Join(out, p)); err != nil || string(b) != want {
			t.Errorf("/%s = %q, %v; want %q", p, b, err, want)
		}
	}
	for _, p := range []string{"run/secrets", "run", "etc/app"} {
		if _, err := os.Lstat(filepath.Join(out, p)); err == nil {
			t.Errorf("/%s (a secret mount point) leaked into the image", p)
		}
	}
	if !strings.Contains(r.Stderr, "printed: ****") || !strings.Contains(r.Stderr, "token is ****") {
		t.Errorf("the RUNs' output lacks the masked values:\n%s", r.Stderr)
	}
	assertAbsent(t, "build output", writeTemp(t, r.Stderr+r.Stdout), fileVal, envVal)
	assertAbsent(t, "exported image", out, fileVal, envVal)
	assertAbsent(t, "$GORAE_ROOT", g.Root, fileVal, envVal) // content blobs, cache records, snapshots
	insp := g.Must(t, dir, "inspect", "sec")
	assertAbsent(t, "gorae inspect", writeTemp(t, insp.Stdout), fileVal, envVal)

	// A changed secret keeps the cache, as in Docker.
	os.WriteFile(secretFile, []byte("another-value-entirely"), 0o600)
	r = g.Must(t, dir, append(args, ".")...)
	if n := cachedRuns(r.Stderr); n != 4 {
		t.Errorf("rebuild with a changed secret: %d RUNs cached, want 4:\n%s", n, r.Stderr)
	}

	// A failing RUN's last lines are masked too.
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": `FROM busybox
RUN --mount=type=secret,id=api,env=T sh -c 'echo "leak $T"; exit 3'
`})
	r = g.Run(t, dir, "build", "--progress=plain", "--secret", "id=api,env=API_ENV", ".")
	if r.Code != 1 || !strings.Contains(r.Stderr, "leak ****") || strings.Contains(r.Stderr, envVal) {
		t.Errorf("failing RUN: exit %d, want 1 with the value masked:\n%s", r.Code, r.Stderr)
	}

	// required=true without --secret is an error naming the flag to pass.
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": `FROM busybox
RUN --mount=type=secret,id=needed,required=true true
`})
	r = g.Run(t, dir, "build", ".")
	if want := "Dockerfile:2: secret needed is required but was not given: pass --secret id=needed,src=FILE"; r.Code != 1 || !strings.Contains(r.Stderr, want) {
		t.Errorf("required secret: exit %d, want 1 and %q:\n%s", r.Code, want, r.Stderr)
	}
	r = g.Run(t, dir, "build", "--secret", "id=needed,src="+filepath.Join(dir, "nope"), ".")
	if r.Code != 2 || !strings.Contains(r.Stderr, "--secret id=needed") {
		t.Errorf("missing secret file: exit %d, want 2 naming the flag:\n%s", r.Code, r.Stderr)
	}
}

func writeTemp(t *testing.T, s string) string {
	t.Helper()
	d := t.TempDir()
	if err := os.WriteFile(filepath.Join(d, "out"), []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return d
}

// agentCheck is a tiny client of the ssh agent protocol (busybox nc has no
// -U): it lists the keys, then tries to remove them all.
const agentCheck = `package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
)

func call(c net.Conn, typ byte) []byte {
	c.Write([]byte{0, 0, 0, 1, typ})
	var n uint32
	if err := binary.Read(c, binary.BigEndian, &n); err != nil {
		fmt.Println("read:", err)
		os.Exit(1)
	}
	b := make([]byte, n)
	io.ReadFull(c, b)
	return b
}

func main() {
	c, err := net.Dial("unix", os.Getenv("SSH_AUTH_SOCK"))
	if err != nil {
		fmt.Println("dial:", err)
		os.Exit(1)
	}
	fmt.Printf("%s\n", call(c, 11)[1:])
	fmt.Printf("remove-all answer %d\n", call(c, 19)[0])
}
`

// TestSSHMount: RUN --mount=type=ssh reaches the user's agent through
// $SSH_AUTH_SOCK, may list keys but not change the agent, and leaves no
// socket in the image.
func TestSSHMount(t *testing.T) {
	requireRoot(t)
	g := newGorae(t)
	dir := t.TempDir()

	src := t.TempDir()
	testutil.WriteFiles(t, src, map[string]string{"main.go": agentCheck, "go.mod": "module agentcheck\n\ngo 1.22\n"})
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "agentcheck"), ".")
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build agent client: %v\n%s", err, b)
	}

	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var seen []byte
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				for {
					var hdr [5]byte
					if _, err := io.ReadFull(c, hdr[:]); err != nil {
						return
					}
					io.CopyN(io.Discard, c, int64(binary.BigEndian.Uint32(hdr[:4]))-1)
					mu.Lock()
					seen = append(seen, hdr[4])
					mu.Unlock()
					body := "\x0ckeys-from-fake-agent"
					c.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...))
				}
			}()
		}
	}()

	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": `FROM busybox
COPY agentcheck /agentcheck
RUN --mount=type=ssh test -S "$SSH_AUTH_SOCK" && echo "$SSH_AUTH_SOCK" > /sock.env && /agentcheck > /agent.out
RUN --mount=type=ssh,id=other,target=/tmp/agent.sock,uid=1000,mode=0660 stat -c '%a %u' /tmp/agent.sock > /other.stat && echo "$SSH_AUTH_SOCK" > /other.env
RUN --mount=type=ssh,id=unset true
`})
	g.Env = []string{"SSH_AUTH_SOCK=" + sock}
	out := filepath.Join(t.TempDir(), "rootfs")
	g.Must(t, dir, "build", "--progress=plain", "--ssh", "default", "--ssh", "other="+sock, "--output", "type=local,dest="+out, ".")
	checks := map[string]string{
		"sock.env":   "/run/buildkit/ssh_agent.0\n",
		"agent.out":  "keys-from-fake-agent\nremove-all answer 5\n",
		"other.stat": "660 1000\n",
		"other.env":  "/tmp/agent.sock\n",
	}
	for p, want := range checks {
		if b, err := os.ReadFile(filepath.Join(out, p)); err != nil || string(b) != want {
			t.Errorf("/%s = %q, %v; want %q", p, b, err, want)
		}
	}
	mu.Lock()
	if string(seen) != "\x0b" {
		t.Errorf("the agent saw request types %v, want only 11 (list keys)", []byte(seen))
	}
	mu.Unlock()
	for _, p := range []string{"run", "tmp/agent.sock"} {
		if _, err := os.Lstat(filepath.Join(out, p)); err == nil {
			t.Errorf("/%s (an ssh mount point) leaked into the image", p)
		}
	}

	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": `FROM busybox
RUN --mount=type=ssh,id=deploy,required=true true
`})
	r := g.Run(t, dir, "build", ".")
	if want := "Dockerfile:2: ssh agent deploy is required but was not given: pass --ssh deploy=SOCKET"; r.Code != 1 || !strings.Contains(r.Stderr, want) {
		t.Errorf("required ssh: exit %d, want 1 and %q:\n%s", r.Code, want, r.Stderr)
	}
	key := filepath.Join(dir, "id_ed25519")
	os.WriteFile(key, []byte("not a socket"), 0o600)
	r = g.Run(t, dir, "build", "--ssh", "default="+key, ".")
	if r.Code != 2 || !strings.Contains(r.Stderr, "not a socket") {
		t.Errorf("--ssh with a key file: exit %d, want 2:\n%s", r.Code, r.Stderr)
	}
}

// TestContextBindMounts: a read-write bind of the context lets the RUN
// write and throws the writes away; every bind of the context shows it
// as filtered by .dockerignore, and the cache follows exactly that view.
func TestContextBindMounts(t *testing.T) {
	requireRoot(t)
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{
		".dockerignore": "secret.txt\n*.log\n",
		"data/a.txt":    "A\n",
		"secret.txt":    "hidden\n",
		"build.log":     "noise\n",
		"Dockerfile": `FROM busybox
RUN --mount=type=bind,rw,target=/ctx sh -c 'echo changed > /ctx/data/a.txt && echo new > /ctx/new.txt && rm /ctx/Dockerfile && cat /ctx/data/a.txt > /rw.out'
RUN --mount=type=bind,target=/ctx sh -c 'ls /ctx > /ls.out; cat /ctx/data/a.txt > /ro.out; test ! -e /ctx/new.txt; ! echo x > /ctx/data/a.txt'
RUN --mount=type=bind,source=data,target=/d,rw sh -c 'echo d > /d/a.txt && cat /d/a.txt > /d.out'
RUN --mount=type=bind,source=data/a.txt,target=/f,rw sh -c 'echo f > /f && cat /f > /f.out'
`,
	})
	out := filepath.Join(t.TempDir(), "rootfs")
	g.Must(t, dir, "build", "--progress=plain", "-t", "ctxbind", "--output", "type=local,dest="+out, ".")
	checks := map[string]string{
		"rw.out": "changed\n",
		"ls.out": "Dockerfile\ndata\n",
		"ro.out": "A\n",
		"d.out":  "d\n",
		"f.out":  "f\n",
	}
	for p, want := range checks {
		if b, err := os.ReadFile(filepath.Join(out, p)); err != nil || string(b) != want {
			t.Errorf("/%s = %q, %v; want %q", p, b, err, want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "data/a.txt")); err != nil || string(b) != "A\n" {
		t.Errorf("host data/a.txt = %q, %v: a RUN changed the build context", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "Dockerfile")); err != nil {
		t.Errorf("host Dockerfile: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "new.txt")); err == nil {
		t.Error("new.txt written through the bind mount reached the host")
	}
	for _, p := range []string{"ctx", "d", "f"} {
		if _, err := os.Lstat(filepath.Join(out, p)); err == nil {
			t.Errorf("/%s (a bind mount point) leaked into the image", p)
		}
	}

	// Ignored files are outside the key; a visible one is inside it.
	os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("changed\n"), 0o644)
	r := g.Must(t, dir, "build", "--progress=plain", ".")
	if n := cachedRuns(r.Stderr); n != 4 {
		t.Errorf("an ignored file's change re-ran RUNs (%d cached, want 4):\n%s", n, r.Stderr)
	}
	os.WriteFile(filepath.Join(dir, "data/a.txt"), []byte("B\n"), 0o644)
	r = g.Must(t, dir, "build", "--progress=plain", ".")
	if n := cachedRuns(r.Stderr); n != 0 {
		t.Errorf("a mounted file's change kept %d RUNs cached, want 0:\n%s", n, r.Stderr)
	}
}
