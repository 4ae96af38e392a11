package runner

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

var update = flag.Bool("update", false, "rewrite deploy/seccomp/gorae.json")

// TestPodProfileFile: deploy/seccomp/gorae.json is what PodProfileJSON
// generates (go test ./runner -run TestPodProfileFile -update rewrites it).
func TestPodProfileFile(t *testing.T) {
	want, err := PodProfileJSON()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "deploy", "seccomp", "gorae.json")
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date: run go test ./runner -run TestPodProfileFile -update", path)
	}
	for _, n := range strings.Fields(podNames + " read execve socket personality") {
		if !bytes.Contains(got, []byte(`"`+n+`"`)) {
			t.Errorf("%s does not name %s", path, n)
		}
	}
}

// TestPodProfileDecisions: RuntimeDefault refuses what gorae needs, even
// with CAP_SYS_ADMIN (pivot_root); gorae's profile allows exactly that on
// top, and nothing Docker refuses for other reasons.
func TestPodProfileDecisions(t *testing.T) {
	for pname, p := range platforms() {
		compiled := map[string][]unix.SockFilter{}
		for _, name := range []string{ProfileRuntimeDefault, ProfileRuntimeDefaultSysAdmin, ProfileGorae} {
			prof, err := podProfile(p, name, true)
			if err != nil {
				t.Fatal(err)
			}
			for n, a := range prof {
				if name == ProfileGorae && a != actAllow && a != actPersonality && a != actSocket {
					t.Errorf("gorae profile: %s has action %d, which the JSON profile cannot say", n, a)
				}
			}
			if compiled[name], err = compile(p, prof); err != nil {
				t.Fatal(err)
			}
		}
		af := p.arches[0]
		nrs, _ := af.abis[0].numbers()
		for _, c := range []struct {
			call                   string
			arg0                   uint64
			runtime, sysAdmin, pod string
		}{
			{"pivot_root", 0, "EPERM", "EPERM", "allow"},
			{"mount", 0, "EPERM", "allow", "allow"},
			{"unshare", unix.CLONE_NEWUSER, "EPERM", "allow", "allow"},
			{"clone", unix.CLONE_NEWUSER | unix.CLONE_NEWNS, "EPERM", "allow", "allow"},
			{"clone", 0, "allow", "allow", "allow"},
			{"keyctl", 0, "EPERM", "EPERM", "EPERM"},
			{"kexec_load", 0, "EPERM", "EPERM", "EPERM"},
			{"bpf", 0, "EPERM", "allow", "EPERM"},
			{"socket", unix.AF_VSOCK, "EPERM", "EPERM", "EPERM"},
			{"socket", unix.AF_INET, "allow", "allow", "allow"},
		} {
			nr, ok := nrs[c.call]
			if !ok {
				continue
			}
			what := pname + " " + c.call
			check(t, compiled[ProfileRuntimeDefault], what+" (RuntimeDefault)", af.audit, af.abis[0].base+nr, c.arg0, c.runtime)
			check(t, compiled[ProfileRuntimeDefaultSysAdmin], what+" (RuntimeDefault, CAP_SYS_ADMIN)", af.audit, af.abis[0].base+nr, c.arg0, c.sysAdmin)
			check(t, compiled[ProfileGorae], what+" (gorae.json)", af.audit, af.abis[0].base+nr, c.arg0, c.pod)
		}
	}
}
