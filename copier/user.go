package copier

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"

	"github.com/gorae/gorae/archive"
)

// maxUserFile bounds how much of /etc/passwd or /etc/group is read, as
// BuildKit does, so a hostile image cannot make a build read gigabytes.
const maxUserFile = 10 << 20

type passwdEntry struct {
	name     string
	uid, gid int
}

type groupEntry struct {
	name    string
	gid     int
	members []string
}

// readIDFile reads the colon-separated lines of name in fsys, following
// symlinks inside fsys. A missing file yields (nil, false, nil).
func readIDFile(fsys archive.FS, name string) ([][]string, bool, error) {
	p, fi, err := resolve(fsys, name, true)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !fi.Mode().IsRegular()) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	f, err := fsys.Open(p)
	if err != nil {
		return nil, false, fmt.Errorf("open %s: %w", name, err)
	}
	defer f.Close()
	lr := &io.LimitedReader{R: f, N: maxUserFile + 1}
	var lines [][]string
	sc := bufio.NewScanner(lr)
	sc.Buffer(make([]byte, 0, 4096), maxUserFile)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		lines = append(lines, strings.Split(line, ":"))
	}
	if err := sc.Err(); err != nil {
		return nil, false, fmt.Errorf("read %s: %w", name, err)
	}
	if lr.N == 0 {
		return nil, false, fmt.Errorf("read %s: larger than %d bytes", name, maxUserFile)
	}
	return lines, true, nil
}

func readPasswd(fsys archive.FS) ([]passwdEntry, bool, error) {
	lines, ok, err := readIDFile(fsys, "etc/passwd")
	if err != nil || !ok {
		return nil, ok, err
	}
	var out []passwdEntry
	for _, f := range lines {
		if len(f) < 4 {
			continue
		}
		uid, err1 := strconv.Atoi(f[2])
		gid, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, passwdEntry{name: f[0], uid: uid, gid: gid})
	}
	return out, true, nil
}

func readGroup(fsys archive.FS) ([]groupEntry, bool, error) {
	lines, ok, err := readIDFile(fsys, "etc/group")
	if err != nil || !ok {
		return nil, ok, err
	}
	var out []groupEntry
	for _, f := range lines {
		if len(f) < 3 {
			continue
		}
		gid, err := strconv.Atoi(f[2])
		if err != nil {
			continue
		}
		g := groupEntry{name: f[0], gid: gid}
		if len(f) > 3 && f[3] != "" {
			g.members = strings.Split(f[3], ",")
		}
		out = append(out, g)
	}
	return out, true, nil
}

// parseID parses a numeric id the way BuildKit does ("root" is 0).
func parseID(s string) (int, bool) {
	if s == "root" {
		return 0, true
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, false
	}
	return int(n), true
}

// LookupUser resolves a USER spec ("name", "uid", "name:group",
// "uid:gid") against /etc/passwd and /etc/group of fsys, with the
// semantics RUN uses (BuildKit's GetUser over runc's GetExecUser): a
// numeric "uid:gid" needs no files; a numeric uid takes the primary group
// of its passwd entry if there is one, else 0; a name must exist. An empty
// spec is root.
func LookupUser(fsys archive.FS, spec string) (uid, gid int, err error) {
	if spec == "" {
		return 0, 0, nil
	}
	userArg, groupArg, hasGroup := strings.Cut(spec, ":")
	if hasGroup {
		u, ok1 := parseID(userArg)
		g, ok2 := parseID(groupArg)
		if ok1 && ok2 {
			return u, g, nil
		}
	}
	users, _, err := readPasswd(fsys)
	if err != nil {
		return 0, 0, err
	}
	numUID, uidErr := strconv.Atoi(userArg)
	found := false
	for _, u := range users {
		if (uidErr == nil && u.uid == numUID) || (uidErr != nil && u.name == userArg) {
			uid, gid, found = u.uid, u.gid, true
			break
		}
	}
	if !found {
		if uidErr != nil {
			return 0, 0, fmt.Errorf("unable to find user %s: no matching entries in passwd file", userArg)
		}
		if numUID < 0 {
			return 0, 0, fmt.Errorf("user %s: uids and gids must be in range 0-2147483647", userArg)
		}
		uid, gid = numUID, 0
	}
	if groupArg == "" {
		return uid, gid, nil
	}
	g, err := lookupGroup(fsys, groupArg)
	if err != nil {
		return 0, 0, err
	}
	return uid, g, nil
}

// lookupGroup resolves a group name or number; a number needs no entry.
func lookupGroup(fsys archive.FS, name string) (int, error) {
	groups, _, err := readGroup(fsys)
	if err != nil {
		return 0, err
	}
	n, numErr := strconv.Atoi(name)
	for _, g := range groups {
		if (numErr == nil && g.gid == n) || (numErr != nil && g.name == name) {
			return g.gid, nil
		}
	}
	if numErr != nil {
		return 0, fmt.Errorf("unable to find group %s: no matching entries in group file", name)
	}
	if n < 0 {
		return 0, fmt.Errorf("group %s: uids and gids must be in range 0-2147483647", name)
	}
	return n, nil
}

// LookupOwner resolves a --chown (or WORKDIR owner) spec "user[:group]"
// against fsys the way BuildKit's file ops do: a numeric user without a
// group gets the same number as gid ("1000" and "1000:" are 1000:1000), a
// user name gets its primary group from /etc/passwd, an explicit group
// replaces it. Unlike BuildKit, which silently falls back to 0 for an
// unknown name, an unknown user or group name is an error.
func LookupOwner(fsys archive.FS, spec string) (uid, gid int, err error) {
	userArg, groupArg, _ := strings.Cut(spec, ":")
	if n, ok := parseID(userArg); ok {
		uid, gid = n, n
	} else {
		users, _, err := readPasswd(fsys)
		if err != nil {
			return 0, 0, err
		}
		found := false
		for _, u := range users {
			if u.name == userArg {
				uid, gid, found = u.uid, u.gid, true
				break
			}
		}
		if !found {
			return 0, 0, fmt.Errorf("unable to find user %s: no matching entries in passwd file", userArg)
		}
	}
	if groupArg == "" {
		return uid, gid, nil
	}
	if n, ok := parseID(groupArg); ok {
		return uid, n, nil
	}
	g, err := lookupGroup(fsys, groupArg)
	if err != nil {
		return 0, 0, err
	}
	return uid, g, nil
}

// HomeDir finds uid's home directory in the image's /etc/passwd, as runc
// sets HOME; "/" when the user has no entry (root gets /root).
func HomeDir(fsys archive.FS, uid uint32) string {
	f, err := fsys.Open("etc/passwd")
	if err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Split(sc.Text(), ":")
			if len(fields) < 6 {
				continue
			}
			if id, err := strconv.ParseUint(fields[2], 10, 32); err == nil && uint32(id) == uid && fields[5] != "" {
				return fields[5]
			}
		}
	}
	if uid == 0 {
		return "/root"
	}
	return "/"
}
