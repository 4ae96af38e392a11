package copier

import (
	"slices"
	"testing"
)

func TestLookupExecUser(t *testing.T) {
	fsys := newMemFS().
		file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n", 0o644).
		file("etc/group", "root:x:0:root\nwheel:x:10:root,app\napp:x:1001:\nstaff:x:50:app,svc\naudio:x:63:svc\n", 0o644)
	for _, tc := range []struct {
		spec     string
		uid, gid int
		groups   []int
	}{
		{"", 0, 0, []int{0, 10}},                 // root's groups, as BuildKit's "0"
		{"root", 0, 0, []int{0, 10}},             // listed in its own group: once
		{"app", 1000, 1001, []int{1001, 10, 50}}, // primary first, then /etc/group order
		{"1000", 1000, 1001, []int{1001, 10, 50}},
		{"app:staff", 1000, 50, []int{50}}, // an explicit group: no supplementary ones
		{"app:77", 1000, 77, []int{77}},
		{"1000:1001", 1000, 1001, []int{1001}}, // runc's fast path
		{"4242", 4242, 0, []int{0}},            // no passwd entry
	} {
		u, err := LookupExecUser(fsys, tc.spec)
		if err != nil || u.UID != tc.uid || u.GID != tc.gid || !slices.Equal(u.Groups, tc.groups) {
			t.Errorf("LookupExecUser(%q) = %+v, %v; want %d, %d, %v", tc.spec, u, err, tc.uid, tc.gid, tc.groups)
		}
	}
	_, err := LookupExecUser(fsys, "nobody")
	wantErr(t, err, "unable to find user nobody: no matching entries in passwd file")
	if u, err := LookupExecUser(newMemFS(), ""); err != nil || !slices.Equal(u.Groups, []int{0}) {
		t.Errorf("LookupExecUser without /etc files = %+v, %v", u, err)
	}
}

func TestLookupGroups(t *testing.T) {
	fsys := newMemFS().file("etc/group", "root:x:0:\nstaff:x:50:\n123:x:7:\n", 0o644)
	got, err := LookupGroups(fsys, []int{1001}, []string{"staff", "99", "1001", "123"})
	if err != nil || !slices.Equal(got, []int{1001, 50, 99, 7}) {
		t.Errorf("LookupGroups = %v, %v; want [1001 50 99 7] (a name before a number)", got, err)
	}
	_, err = LookupGroups(fsys, nil, []string{"wheel"})
	wantErr(t, err, "unable to find group wheel: no matching entries in group file (give a group of the image's /etc/group or a number)")
	_, err = LookupGroups(fsys, nil, []string{"4294967296"})
	wantErr(t, err, "unable to find group 4294967296")
}
