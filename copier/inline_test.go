package copier

import (
	"archive/tar"
	"bytes"
	"testing"

	"github.com/gorae/gorae/graph"
)

func heredoc(name, data string) graph.Source { return graph.Source{Path: name, Data: data} }

func TestHeredocAsFile(t *testing.T) {
	op := graph.Copy{Dest: "/etc/motd", Sources: []graph.Source{heredoc("EOF", "hello\n")}}
	ents := run(t, op, nil, Options{})
	wantNames(t, ents, "etc/", "etc/motd")
	want(t, ents, "etc/motd", tar.TypeReg, 0o644, 0, 0, "hello\n")
	if got := find(t, ents, "etc/motd").ModTime; !got.Equal(epoch) {
		t.Errorf("heredoc mtime %v, want the copy's time %v", got, epoch)
	}
}

func TestSeveralHeredocsWithContextFiles(t *testing.T) {
	ctx := newMemFS().file("a.txt", "A", 0o600)
	op := copyOp("/dir/", "a.txt")
	op.Sources = append(op.Sources, heredoc("one", "1\n"), heredoc("two", ""))
	op.Chown = "7:8"
	op.Chmod = "0750"
	ents := run(t, op, ctxSrc(ctx), Options{})
	wantNames(t, ents, "dir/", "dir/a.txt", "dir/one", "dir/two")
	want(t, ents, "dir/one", tar.TypeReg, 0o750, 7, 8, "1\n")
	want(t, ents, "dir/two", tar.TypeReg, 0o750, 7, 8, "")
	want(t, ents, "dir/a.txt", tar.TypeReg, 0o750, 7, 8, "A")

	op = graph.Copy{Dest: "/dir", Sources: []graph.Source{heredoc("one", "1"), heredoc("two", "2")}}
	_, err := tryRun(op, nil, Options{})
	wantErr(t, err, "When using COPY with more than one source file, the destination must be a directory and end with a /")
}

func TestHeredocIntoExistingDirAndSymbolicChmod(t *testing.T) {
	stage := newMemFS().dir("srv", 0o700).chown("srv", 3, 3)
	op := graph.Copy{Dest: "/srv", Chmod: "u+x", Sources: []graph.Source{heredoc("run.sh", "#!/bin/sh\n")}}
	ents := run(t, op, nil, Options{Dest: stage})
	wantNames(t, ents, "srv/", "srv/run.sh")
	want(t, ents, "srv/", tar.TypeDir, 0o700, 3, 3, "")
	want(t, ents, "srv/run.sh", tar.TypeReg, 0o744, 0, 0, "#!/bin/sh\n")
}

func TestADDHeredocNeverExtracted(t *testing.T) {
	// A tar archive: ADD extracts it from the context, never from a heredoc.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "x", Mode: 0o644, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Close()
	add := copyOp("/d/", "t.tar")
	add.Add = true
	ents := run(t, add, ctxSrc(newMemFS().file("t.tar", buf.String(), 0o644)), Options{})
	wantNames(t, ents, "d/", "d/x")
	op := graph.Copy{Add: true, Unpack: true, Dest: "/d/", Sources: []graph.Source{heredoc("t.tar", buf.String())}}
	ents = run(t, op, nil, Options{})
	wantNames(t, ents, "d/", "d/t.tar")
}

func TestHeredocWithParents(t *testing.T) {
	ctx := newMemFS().file("a/b/c.txt", "C", 0o644)
	op := copyOp("/out/", "a/./b/c.txt")
	op.Parents = true
	op.Sources = append(op.Sources, heredoc("EOF", "x"))
	ents := run(t, op, ctxSrc(ctx), Options{})
	wantNames(t, ents, "out/", "out/EOF", "out/b/", "out/b/c.txt")
}
