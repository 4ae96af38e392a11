package copier

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gorae/gorae/archive"
)

// ExecUser is who a command runs as: the uid, the primary gid and the
// supplementary groups, the primary gid first.
type ExecUser struct {
	UID, GID int
	Groups   []int
}

// LookupExecUser resolves a USER spec for a command, as BuildKit's RUN
// (executor/oci GetUser over runc's GetExecUser) and docker run do: the
// uid and gid of LookupUser, and the supplementary groups that list the
// user by name in the image's /etc/group, unless the spec names a group
// ("name:group" and "uid:gid" get none). An empty spec is uid 0, whose
// passwd entry (root) brings its groups too. The primary gid always
// leads the list, as containerd adds it; --group-add adds more with
// LookupGroups.
func LookupExecUser(fsys archive.FS, spec string) (ExecUser, error) {
	uid, gid, err := LookupUser(fsys, spec)
	if err != nil {
		return ExecUser{}, err
	}
	u := ExecUser{UID: uid, GID: gid, Groups: []int{gid}}
	userArg, groupArg, _ := strings.Cut(spec, ":")
	if groupArg != "" {
		return u, nil
	}
	if userArg == "" {
		userArg = "0"
	}
	name, err := passwdName(fsys, userArg)
	if err != nil || name == "" {
		return u, err
	}
	groups, _, err := readGroup(fsys)
	if err != nil {
		return ExecUser{}, err
	}
	for _, g := range groups {
		if slices.Contains(g.members, name) {
			u.Groups = appendGroup(u.Groups, g.gid)
		}
	}
	return u, nil
}

// passwdName is the name of the first passwd entry matching a user
// argument (a number is always a uid), or "" when none does.
func passwdName(fsys archive.FS, userArg string) (string, error) {
	users, _, err := readPasswd(fsys)
	if err != nil {
		return "", err
	}
	n, numErr := strconv.Atoi(userArg)
	for _, u := range users {
		if (numErr == nil && u.uid == n) || (numErr != nil && u.name == userArg) {
			return u.name, nil
		}
	}
	return "", nil
}

// LookupGroups resolves docker run --group-add values, each a group name
// in the image's /etc/group or a gid (which needs no entry), as runc's
// GetAdditionalGroups does, and appends them to groups without repeats.
func LookupGroups(fsys archive.FS, groups []int, names []string) ([]int, error) {
	if len(names) == 0 {
		return groups, nil
	}
	entries, _, err := readGroup(fsys)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		gid, found := -1, false
		for _, g := range entries {
			if g.name == name {
				gid, found = g.gid, true
				break
			}
		}
		if !found {
			n, err := strconv.ParseUint(name, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("unable to find group %s: no matching entries in group file (give a group of the image's /etc/group or a number)", name)
			}
			if n > 1<<31-1 {
				return nil, fmt.Errorf("group %s: gids must be in range 0-2147483647", name)
			}
			gid = int(n)
		}
		groups = appendGroup(groups, gid)
	}
	return groups, nil
}

func appendGroup(groups []int, gid int) []int {
	if slices.Contains(groups, gid) {
		return groups
	}
	return append(groups, gid)
}
