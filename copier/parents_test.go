package copier

import (
	"archive/tar"
	"bytes"
	"testing"
)

// TestCreatedParents: the directories a copy creates on the way to its
// destination get what BuildKit's copy gives them (fsutil's MkdirAll with
// the copy's Chown and Mode): the --chown owner, 0755 or an octal --chmod
// (a symbolic one is not a mode there), for every kind of source, with or
// without --link. Existing directories keep their own metadata.
func TestCreatedParents(t *testing.T) {
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	if err := tw.WriteHeader(&tar.Header{Name: "in/x", Mode: 0o600, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Close()
	ctx := newMemFS().file("f", "F", 0o600).file("d/g", "G", 0o600).file("t.tar", tb.String(), 0o644).file("p/q/r", "R", 0o600)
	http := []Source{{}, {FS: newMemFS().file("page", "P", 0o600), HTTP: true}}
	stage := newMemFS().dir("a", 0o711).chown("a", 4, 4)
	for _, tc := range []struct {
		name    string
		dest    string
		src     string
		srcs    []Source
		add     bool
		chmod   string
		link    bool
		parents bool
		mode    int64
		dirs    []string // created directories
		leaf    string
	}{
		{"file", "/a/b/c/f", "f", ctxSrc(ctx), false, "", false, false, 0o755, []string{"a/b/", "a/b/c/"}, "a/b/c/f"},
		{"file symbolic chmod", "/a/b/c/", "f", ctxSrc(ctx), false, "u+x", false, false, 0o755, []string{"a/b/", "a/b/c/"}, "a/b/c/f"},
		{"file octal chmod", "/a/b/c/", "f", ctxSrc(ctx), false, "0700", false, false, 0o700, []string{"a/b/", "a/b/c/"}, "a/b/c/f"},
		{"file link", "/a/b/", "f", ctxSrc(ctx), false, "", true, false, 0o755, []string{"a/", "a/b/"}, "a/b/f"},
		{"directory", "/a/b/c/", "d", ctxSrc(ctx), false, "", false, false, 0o755, []string{"a/b/", "a/b/c/"}, "a/b/c/g"},
		{"directory link", "/a/b/c", "d", ctxSrc(ctx), false, "", true, false, 0o755, []string{"a/", "a/b/", "a/b/c/"}, "a/b/c/g"},
		{"parents", "/a/b/", "p/./q/r", ctxSrc(ctx), false, "", false, true, 0o755, []string{"a/b/"}, "a/b/q/r"},
		{"url", "/a/b/c/", "page", http, true, "", false, false, 0o755, []string{"a/b/", "a/b/c/"}, "a/b/c/page"},
		{"tar", "/a/b/", "t.tar", ctxSrc(ctx), true, "", false, false, 0o755, []string{"a/b/"}, "a/b/in/x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := copyOp(tc.dest, tc.src)
			op.Add, op.Chown, op.Chmod, op.Link, op.Parents = tc.add, "1000:1000", tc.chmod, tc.link, tc.parents
			ents := run(t, op, tc.srcs, Options{Dest: stage})
			for _, d := range tc.dirs {
				want(t, ents, d, tar.TypeDir, tc.mode, 1000, 1000, "")
			}
			if e := find(t, ents, tc.leaf); e.Uid != 1000 || e.Gid != 1000 {
				t.Errorf("%s: owner %d:%d, want 1000:1000", tc.leaf, e.Uid, e.Gid)
			}
			if !tc.link {
				want(t, ents, "a/", tar.TypeDir, 0o711, 4, 4, "") // copied up, untouched
			}
		})
	}
}
