// Package rootless runs gorae without root. Run, in the user's own
// process, checks that a user namespace can be made (and says how to
// allow it when not), reads the user's subordinate id ranges from
// /etc/subuid and /etc/subgid, and re-executes gorae in a new user and
// mount namespace: container root is the user, ids 1–65536 are the
// user's subordinate range (mapped by the setuid helpers newuidmap and
// newgidmap), or, without a range or the helpers, only root is mapped,
// with a warning. Child, in the re-executed gorae, waits for the mapping
// and makes its mounts private; from then on gorae runs as root of its
// namespace, so unpacking, chown, overlay mounts (with userxattr) and the
// RUN sandbox work as they do for real root, and layers record in-image
// ids, never host ids.
//
// rootless is level 1: it imports only the standard library and
// golang.org/x/sys/unix, and must never import another gorae package.
package rootless
