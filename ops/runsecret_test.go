package ops

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/copier"
)

func redact(t *testing.T, secrets []string, chunks ...string) string {
	t.Helper()
	var buf bytes.Buffer
	var vals [][]byte
	for _, s := range secrets {
		vals = append(vals, []byte(s))
	}
	w := newRedactor(&buf, vals)
	for _, c := range chunks {
		if n, err := w.Write([]byte(c)); err != nil || n != len(c) {
			t.Fatalf("Write(%q) = %d, %v", c, n, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestRedactor(t *testing.T) {
	cases := []struct {
		name    string
		secrets []string
		chunks  []string
		want    string
	}{
		{"whole", []string{"hunter2"}, []string{"pw=hunter2\n"}, "pw=****\n"},
		{"split across writes", []string{"hunter2"}, []string{"pw=hun", "t", "er2 done\n"}, "pw=**** done\n"},
		{"byte by byte", []string{"s3cr3t"}, strings.Split("a s3cr3t b s3cr3t\n", ""), "a **** b ****\n"},
		{"prefix only is kept", []string{"hunter2"}, []string{"hunt", "ing\n"}, "hunting\n"},
		{"prefix at the end is flushed by Close", []string{"hunter2"}, []string{"x hunt"}, "x hunt"},
		{"multi-line value", []string{"line1\nline2"}, []string{"<line1\n", "line2>\n"}, "<****>\n"},
		{"longest value wins", []string{"abc", "abcdef"}, []string{"abcdef abc\n"}, "**** ****\n"},
		{"two values", []string{"one", "two"}, []string{"one+tw", "o=three\n"}, "****+****=three\n"},
		{"empty value ignored", []string{""}, []string{"nothing\n"}, "nothing\n"},
		{"no secrets", nil, []string{"plain ", "output\n"}, "plain output\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := redact(t, c.secrets, c.chunks...); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// TestRedactorFeedsTail: the failure message's last lines come after the
// redactor, so a secret split across writes never reaches them.
func TestRedactorFeedsTail(t *testing.T) {
	tail := newTailWriter(5)
	w := newRedactor(tail, [][]byte{[]byte("tok-123")})
	io.WriteString(w, "using tok-")
	io.WriteString(w, "123 now\nfailed")
	w.Close()
	if got := tail.String(); strings.Contains(got, "123") || !strings.Contains(got, "using **** now") || !strings.Contains(got, "failed") {
		t.Errorf("tail = %q", got)
	}
}

func frame(typ byte, body string) []byte {
	b := make([]byte, 5+len(body))
	binary.BigEndian.PutUint32(b, uint32(1+len(body)))
	b[4] = typ
	copy(b[5:], body)
	return b
}

// TestAgentProxy: the forwarded agent lists keys and signs, but requests
// that would change the user's agent are refused before reaching it.
func TestAgentProxy(t *testing.T) {
	dir := t.TempDir()
	agentSock := filepath.Join(dir, "agent")
	ln, err := net.Listen("unix", agentSock)
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
					msg, err := readAgentMsg(c)
					if err != nil {
						return
					}
					mu.Lock()
					seen = append(seen, msg[4])
					mu.Unlock()
					c.Write(frame(12, "keys-of-the-user"))
				}
			}()
		}
	}()
	p, err := listenAgent(t.Context(), filepath.Join(dir, "proxy"), agentSock)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("unix", filepath.Join(dir, "proxy"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, step := range []struct {
		req  []byte
		want []byte
	}{
		{frame(agentRequestIDs, ""), frame(12, "keys-of-the-user")},
		{frame(19, ""), frame(agentFailure, "")},    // REMOVE_ALL_IDENTITIES
		{frame(17, "key"), frame(agentFailure, "")}, // ADD_IDENTITY
		{frame(agentSignRequest, "data"), frame(12, "keys-of-the-user")},
	} {
		if _, err := c.Write(step.req); err != nil {
			t.Fatal(err)
		}
		got, err := readAgentMsg(c)
		if err != nil {
			t.Fatalf("request type %d: %v", step.req[4], err)
		}
		if !bytes.Equal(got, step.want) {
			t.Errorf("request type %d: answer %q, want %q", step.req[4], got, step.want)
		}
	}
	mu.Lock()
	if want := []byte{agentRequestIDs, agentSignRequest}; !bytes.Equal(seen, want) {
		t.Errorf("agent saw request types %v, want %v", seen, want)
	}
	mu.Unlock()
	p.close()
	// close cut the open connection: the client sees EOF, not a hang.
	if _, err := readAgentMsg(c); err == nil {
		t.Error("connection still open after close")
	}
	if _, err := net.Dial("unix", filepath.Join(dir, "proxy")); err == nil {
		t.Error("proxy still accepts connections after close")
	}
}

func TestPrivateDir(t *testing.T) {
	fallback := t.TempDir()
	dir, err := privateDir(fallback)
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("private dir %s: %v %v", dir, fi, err)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &st); err == nil && st.Type == 0x01021994 && !strings.HasPrefix(dir, "/dev/shm/") {
		t.Errorf("private dir %s is not on the /dev/shm tmpfs", dir)
	}
	// A directory left by a dead process (pid far above pid_max) goes.
	stale := filepath.Join(filepath.Dir(dir), privateDirPrefix+"2147483000-x")
	if err := os.Mkdir(stale, 0o700); err != nil {
		t.Fatal(err)
	}
	dir2, err := privateDir(fallback)
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir2)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		os.RemoveAll(stale)
		t.Errorf("stale private dir survived: %v", err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("live private dir removed: %v", err)
	}
}

// TestTreeCopierFiltered: the materialized context holds exactly what the
// filtered context shows, as hard links of the user's files.
func TestTreeCopierFiltered(t *testing.T) {
	src := t.TempDir()
	for p, c := range map[string]string{"app.go": "package app", "secret.env": "X=1", "sub/keep.txt": "keep", "sub/drop.log": "log"} {
		os.MkdirAll(filepath.Join(src, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(src, p), []byte(c), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	os.Symlink("app.go", filepath.Join(src, "link"))
	root, err := os.OpenRoot(src)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	fsys, err := copier.ContextFS(archive.RootFS{Root: root}, []string{"*.env", "**/*.log"})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := fsys.Lstat(".")
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "tree")
	tc := &treeCopier{ctx: context.Background(), fsys: fsys, src: src}
	if err := tc.copy(".", fi, dst); err != nil {
		t.Fatal(err)
	}
	var got []string
	filepath.WalkDir(dst, func(p string, d os.DirEntry, err error) error {
		rel, _ := filepath.Rel(dst, p)
		got = append(got, rel)
		return err
	})
	if want := ". app.go link sub sub/keep.txt"; strings.Join(got, " ") != want {
		t.Errorf("tree = %v, want %s", got, want)
	}
	a, _ := os.Stat(filepath.Join(src, "app.go"))
	b, err := os.Stat(filepath.Join(dst, "app.go"))
	if err != nil || !os.SameFile(a, b) || b.Mode().Perm() != 0o640 {
		t.Errorf("app.go is not a hard link of the original: %v %v", b, err)
	}
	if l, _ := os.Readlink(filepath.Join(dst, "link")); l != "app.go" {
		t.Errorf("link = %q", l)
	}
	// noLinks (a file mounted read-write) copies: writes stay private.
	fi, _ = fsys.Lstat("app.go")
	cp := filepath.Join(t.TempDir(), "f")
	tc.noLinks = true
	if err := tc.copy("app.go", fi, cp); err != nil {
		t.Fatal(err)
	}
	if c, _ := os.Stat(cp); os.SameFile(a, c) {
		t.Error("noLinks copy is a hard link")
	}
	if b, _ := os.ReadFile(cp); string(b) != "package app" {
		t.Errorf("copy = %q", b)
	}
}
