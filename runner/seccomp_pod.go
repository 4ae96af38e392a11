package runner

import (
	"encoding/json"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// podNames are the calls a container running gorae must allow beyond
// Docker's default profile for Docker's default capabilities: gorae
// mounts (overlay, proc, tmpfs; the new mount API for many layers),
// makes namespaces (a user namespace when rootless) and pivots into
// each sandbox. Docker's and containerd's default profiles allow most
// of them only with CAP_SYS_ADMIN, and pivot_root never.
const podNames = "clone clone3 fsconfig fsmount fsopen mount mount_setattr move_mount open_tree pivot_root setns sethostname umount umount2 unshare"

// Profiles InstallProfile knows.
const (
	// ProfileRuntimeDefault is Docker's default profile for Docker's
	// default capabilities: what a pod gets from seccompProfile
	// RuntimeDefault (containerd's profile is Docker's).
	ProfileRuntimeDefault = "runtime-default"
	// ProfileRuntimeDefaultSysAdmin is the same for a container that also
	// holds CAP_SYS_ADMIN (the calls that capability unlocks).
	ProfileRuntimeDefaultSysAdmin = "runtime-default+sys_admin"
	// ProfileGorae is deploy/seccomp/gorae.json: Docker's default plus
	// podNames.
	ProfileGorae = "gorae"
)

// podProfile is the profile name describes on platform p.
func podProfile(p platform, name string, ptraceSafe bool) (map[string]action, error) {
	switch name {
	case ProfileRuntimeDefault:
		return profile(p, inDefault, ptraceSafe), nil
	case ProfileRuntimeDefaultSysAdmin:
		return profile(p, func(c uintptr) bool { return inDefault(c) || c == unix.CAP_SYS_ADMIN }, ptraceSafe), nil
	case ProfileGorae:
		m := profile(p, inDefault, ptraceSafe)
		for _, n := range strings.Fields(podNames) {
			m[n] = actAllow
		}
		return m, nil
	}
	return nil, fmt.Errorf("unknown seccomp profile %q", name)
}

// InstallProfile loads the named profile's filter (Profile*) for this
// machine's architecture and kernel on the calling thread, which should
// be locked and about to exec: a container's restrictions reproduced on
// the host (gorae's pod tests). It needs no_new_privs or CAP_SYS_ADMIN.
func InstallProfile(name string) error {
	p, ok := hostPlatform()
	if !ok {
		return fmt.Errorf("no seccomp tables for %s", runtime.GOARCH)
	}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return err
	}
	prof, err := podProfile(p, name, kernelAtLeast(unix.ByteSliceToString(uts.Release[:]), 4, 8))
	if err != nil {
		return err
	}
	f, err := compile(p, prof)
	if err != nil {
		return err
	}
	return loadFilter(f)
}

// The seccomp profile format of Docker, containerd and Kubernetes
// (localhost profiles).
type (
	seccompJSON struct {
		DefaultAction   string        `json:"defaultAction"`
		DefaultErrnoRet int           `json:"defaultErrnoRet"`
		ArchMap         []archJSON    `json:"archMap"`
		Syscalls        []syscallJSON `json:"syscalls"`
	}
	archJSON struct {
		Architecture     string   `json:"architecture"`
		SubArchitectures []string `json:"subArchitectures"`
	}
	syscallJSON struct {
		Names    []string  `json:"names"`
		Action   string    `json:"action"`
		ErrnoRet int       `json:"errnoRet,omitempty"`
		Args     []argJSON `json:"args,omitempty"`
		Comment  string    `json:"comment,omitempty"`
	}
	argJSON struct {
		Index uint   `json:"index"`
		Value uint64 `json:"value"`
		Op    string `json:"op"`
	}
)

// PodProfileJSON is deploy/seccomp/gorae.json, the seccomp profile for a
// container that runs gorae, rootful or rootless: Docker's default
// profile (on kernels from 4.8) with gorae's own calls added, for amd64
// and arm64 hosts.
func PodProfileJSON() ([]byte, error) {
	m := map[string]action{}
	for _, p := range []platform{x86Platform(), armPlatform()} {
		prof, err := podProfile(p, ProfileGorae, true)
		if err != nil {
			return nil, err
		}
		maps.Copy(m, prof)
	}
	var allow []string
	for n, a := range m {
		if a == actAllow {
			allow = append(allow, n)
		}
	}
	slices.Sort(allow)
	out := seccompJSON{
		DefaultAction: "SCMP_ACT_ERRNO", DefaultErrnoRet: int(unix.EPERM),
		ArchMap: []archJSON{
			{"SCMP_ARCH_X86_64", []string{"SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
			{"SCMP_ARCH_AARCH64", []string{"SCMP_ARCH_ARM"}},
		},
		Syscalls: []syscallJSON{{Names: allow, Action: "SCMP_ACT_ALLOW",
			Comment: "Docker's default profile for its default capabilities, plus what gorae needs: " + podNames}},
	}
	for _, v := range personalities() {
		out.Syscalls = append(out.Syscalls, syscallJSON{Names: []string{"personality"}, Action: "SCMP_ACT_ALLOW",
			Args: []argJSON{{Index: 0, Value: uint64(v), Op: "SCMP_CMP_EQ"}}})
	}
	// socket: every domain below socketDomainEnd but the denied ones; one
	// comparison per rule, as libseccomp wants.
	denied := deniedSocketDomains()
	low := slices.Min(denied)
	out.Syscalls = append(out.Syscalls, syscallJSON{Names: []string{"socket"}, Action: "SCMP_ACT_ALLOW",
		Args: []argJSON{{Index: 0, Value: uint64(low), Op: "SCMP_CMP_LT"}}})
	for d := low + 1; d < socketDomainEnd; d++ {
		if !slices.Contains(denied, d) {
			out.Syscalls = append(out.Syscalls, syscallJSON{Names: []string{"socket"}, Action: "SCMP_ACT_ALLOW",
				Args: []argJSON{{Index: 0, Value: uint64(d), Op: "SCMP_CMP_EQ"}}})
		}
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
