package rootless

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// sysctl reads a kernel setting under /proc/sys ("" when absent).
func sysctl(name string) string {
	b, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(name, ".", "/"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// ErrNoUserNS is wrapped by every error saying that this machine or
// container allows no user namespace.
var ErrNoUserNS = errors.New("gorae runs rootless in a user namespace, and this system does not allow one")

// userNSAllowed names the kernel setting that forbids unprivileged user
// namespaces, if one does, and how to change it.
func userNSAllowed() error {
	if v := sysctl("user.max_user_namespaces"); v == "0" {
		return fmt.Errorf("%w: user.max_user_namespaces is 0; as root, run `sysctl -w user.max_user_namespaces=15000` (or run gorae as root)", ErrNoUserNS)
	}
	if v := sysctl("kernel.unprivileged_userns_clone"); v == "0" {
		return fmt.Errorf("%w: kernel.unprivileged_userns_clone is 0; as root, run `sysctl -w kernel.unprivileged_userns_clone=1` (or run gorae as root)", ErrNoUserNS)
	}
	if v := sysctl("kernel.apparmor_restrict_unprivileged_userns"); v == "1" {
		return fmt.Errorf("%w: AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns is 1); give gorae an AppArmor profile that allows `userns` (docs/rootless.md has one) or, as root, run `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`", ErrNoUserNS)
	}
	return nil
}

// cloneDenied explains a failed clone of the user namespace when no
// kernel setting accounts for it: a container runtime's seccomp or
// AppArmor profile.
func cloneDenied(err error) error {
	if e := userNSAllowed(); e != nil {
		return e
	}
	return fmt.Errorf("%w: creating it failed (%v); inside a container, the runtime's seccomp or AppArmor profile forbids it: in Kubernetes set hostUsers: false or use gorae's seccomp profile and an unconfined AppArmor profile (docs/rootless.md), or run gorae as root", ErrNoUserNS, err)
}

// noNewPrivs reports whether this process has no_new_privs set (a
// container with allowPrivilegeEscalation: false, setpriv
// --no-new-privs): setuid helpers such as newuidmap then run without
// their privilege.
func noNewPrivs() bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "NoNewPrivs:"); ok {
			return strings.TrimSpace(v) == "1"
		}
	}
	return false
}

// helpers finds newuidmap and newgidmap, or says why they cannot map
// the user's ranges.
func helpers() (uidmap, gidmap string, err error) {
	uidmap, err1 := exec.LookPath("newuidmap")
	gidmap, err2 := exec.LookPath("newgidmap")
	if err1 != nil || err2 != nil {
		return "", "", errors.New("newuidmap and newgidmap are not installed (install the uidmap package: apt-get install uidmap)")
	}
	if noNewPrivs() {
		return "", "", errors.New("no_new_privs is set (allowPrivilegeEscalation: false in Kubernetes, or setpriv --no-new-privs), so the setuid helpers newuidmap and newgidmap cannot map the subordinate ids; allow privilege escalation for gorae's container")
	}
	return uidmap, gidmap, nil
}
