package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/gorae/gorae/internal/testutil"
)

func simpleContext(t *testing.T) string {
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile": "FROM busybox\nCOPY hello.txt /hello.txt\nCMD [\"cat\", \"/hello.txt\"]\n",
		"hello.txt":  "hello\n",
	})
	return dir
}

func TestOutputs(t *testing.T) {
	g := newGorae(t)
	dir := simpleContext(t)
	out := t.TempDir()
	g.Must(t, dir, "build", "-t", "out:1",
		"--output", "type=oci,dest="+filepath.Join(out, "oci.tar"),
		"--output", "type=docker,dest="+filepath.Join(out, "docker.tar"),
		"--output", "type=local,dest="+filepath.Join(out, "rootfs"),
		"--output", "type=tar,dest="+filepath.Join(out, "rootfs.tar"),
		"--iidfile", filepath.Join(out, "iid"),
		"--metadata-file", filepath.Join(out, "meta.json"), ".")
	b, err := os.ReadFile(filepath.Join(out, "rootfs", "hello.txt"))
	if err != nil || string(b) != "hello\n" {
		t.Errorf("type=local: hello.txt = %q, %v", b, err)
	}
	if fi, err := os.Lstat(filepath.Join(out, "rootfs", "bin", "sh")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("type=local: /bin/sh should be a symlink: %v", err)
	}
	tag := name.MustParseReference("out:1").(name.Tag)
	img, err := tarball.ImageFromPath(filepath.Join(out, "docker.tar"), &tag)
	if err != nil {
		t.Fatalf("type=docker is not docker-load compatible: %v", err)
	}
	iid, _ := os.ReadFile(filepath.Join(out, "iid"))
	d, _ := img.Digest()
	cfgName, _ := img.ConfigName()
	if string(iid) == "" || !strings.HasPrefix(string(iid), "sha256:") {
		t.Errorf("iidfile = %q", iid)
	}
	meta, _ := os.ReadFile(filepath.Join(out, "meta.json"))
	if !strings.Contains(string(meta), cfgName.String()) || !strings.Contains(string(meta), "containerimage.digest") {
		t.Errorf("metadata file %s lacks config digest %s", meta, cfgName)
	}
	_ = d
	for _, f := range []string{"oci.tar", "rootfs.tar"} {
		if fi, err := os.Stat(filepath.Join(out, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	ents, _ := os.ReadDir(out)
	for _, e := range ents {
		if strings.Contains(e.Name(), "tmp") {
			t.Errorf("temp file left behind: %s", e.Name())
		}
	}
}

func TestWarmRebuildIsCachedAndIdentical(t *testing.T) {
	g := newGorae(t)
	dir := simpleContext(t)
	iid1, iid2 := filepath.Join(t.TempDir(), "1"), filepath.Join(t.TempDir(), "2")
	g.Must(t, dir, "build", "-t", "warm", "--iidfile", iid1, ".")
	r := g.Must(t, dir, "build", "--progress=plain", "-t", "warm", "--iidfile", iid2, ".")
	if !cached(r.Stderr, "COPY hello.txt /hello.txt") {
		t.Errorf("warm rebuild did not report the COPY as CACHED:\n%s", r.Stderr)
	}
	a, _ := os.ReadFile(iid1)
	b, _ := os.ReadFile(iid2)
	if string(a) != string(b) {
		t.Errorf("warm rebuild changed the digest: %s → %s", a, b)
	}
	// An edit that keeps size is still seen.
	testutil.WriteFiles(t, dir, map[string]string{"hello.txt": "HELLO\n"})
	r = g.Must(t, dir, "build", "--progress=plain", "-t", "warm", "--iidfile", iid2, ".")
	if cached(r.Stderr, "COPY hello.txt /hello.txt") {
		t.Errorf("changed file was not rebuilt:\n%s", r.Stderr)
	}
}

func TestStoreCommands(t *testing.T) {
	g := newGorae(t)
	dir := simpleContext(t)
	g.Must(t, dir, "build", "-q", "-t", "app", ".")
	g.Must(t, dir, "tag", "app", "app:2")
	r := g.Must(t, dir, "images")
	for _, want := range []string{"docker.io/library/app:latest", "docker.io/library/app:2", "docker.io/library/busybox:latest"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("images lacks %s:\n%s", want, r.Stdout)
		}
	}
	saved := filepath.Join(t.TempDir(), "app.tar")
	g.Must(t, dir, "save", "-o", saved, "app:2")
	g.Must(t, dir, "rmi", "app:2")
	if r := g.Must(t, dir, "images"); strings.Contains(r.Stdout, "app:2") {
		t.Errorf("rmi left app:2:\n%s", r.Stdout)
	}
	if r := g.Must(t, dir, "load", "-i", saved); !strings.Contains(r.Stdout, "app:2") {
		t.Errorf("load output: %s", r.Stdout)
	}
	r = g.Must(t, dir, "inspect", "app:2")
	if !strings.Contains(r.Stdout, `"cat"`) {
		t.Errorf("inspect lacks the Cmd:\n%s", r.Stdout)
	}
	// FROM a locally built image works offline.
	dir2 := t.TempDir()
	testutil.WriteFiles(t, dir2, map[string]string{"Dockerfile": "FROM app\nCOPY x /x\n", "x": "x"})
	g.Must(t, dir2, "build", "-t", "child", ".")
}

func TestBadInput(t *testing.T) {
	g := newGorae(t)
	cases := []struct {
		name, dockerfile string
		args             []string
		code             int
		want             string
	}{
		{"unknown instruction", "FROM busybox\nCOPPY a /a\n", nil, 1, "Dockerfile:2: unknown instruction: COPPY (did you mean COPY?)"},
		{"missing source", "FROM busybox\nCOPY missing.txt /x\n", nil, 1, "missing.txt"},
		{"unknown stage", "FROM busybox\nCOPY --from=nope /a /a\n", nil, 1, "nope"},
		{"unknown target", "FROM busybox AS a\n", []string{"--target", "b"}, 1, "b"},
		{"bad flag", "FROM busybox\n", []string{"--no-such-flag"}, 2, "unknown flag"},
		{"bad output", "FROM busybox\n", []string{"--output", "type=zip"}, 2, "zip"},
		{"unreachable registry", "FROM 127.0.0.1:1/nothing:latest\n", nil, 1, "127.0.0.1:1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": c.dockerfile})
			args := append([]string{"build", "-t", "broken"}, c.args...)
			r := g.Run(t, dir, append(args, ".")...)
			if r.Code != c.code {
				t.Errorf("exit code %d, want %d\n%s", r.Code, c.code, r.Stderr)
			}
			if !strings.Contains(r.Stderr, c.want) {
				t.Errorf("error lacks %q:\n%s", c.want, r.Stderr)
			}
			if strings.Contains(r.Stderr, "goroutine ") {
				t.Errorf("error dumps a stack:\n%s", r.Stderr)
			}
			if r := g.Must(t, dir, "images"); strings.Contains(r.Stdout, "broken") {
				t.Errorf("a failed build left an image named broken:\n%s", r.Stdout)
			}
		})
	}
}
