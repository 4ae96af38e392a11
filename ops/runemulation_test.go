package ops

import (
	"context"
	"testing"

	"github.com/gorae/gorae/graph"
)

// TestRunForAnotherPlatformChecksEmulation: a RUN whose stage is for
// another platform checks, when it executes, that the machine can run
// that platform's binaries, and fails as that step otherwise; its cache
// key needs no check. (linux/sparc64 has no probe, so the error does not
// depend on this machine's binfmt_misc handlers.)
func TestRunForAnotherPlatformChecksEmulation(t *testing.T) {
	op := graph.Run{Args: []string{"/bin/sh", "-c", "true"}, Platform: "linux/sparc64"}
	n := &graph.Node{Op: op, Pos: graph.Pos{File: "Dockerfile", Line: 3}}
	o := &runOp{env: &Env{}, op: op, node: n}
	if _, err := o.CacheKey(context.Background()); err != nil {
		t.Fatalf("CacheKey: %v", err)
	}
	_, err := o.Exec(context.Background(), []*State{{}})
	want := "Dockerfile:3: gorae cannot check emulation for linux/sparc64: it has probes for linux/386, linux/amd64, linux/arm, linux/arm64, linux/mips64le, linux/ppc64le, linux/riscv64, linux/s390x only; build that stage for one of them, or without RUN"
	if err == nil || err.Error() != want {
		t.Errorf("Exec = %v\nwant %s", err, want)
	}

	op.Platform = "linux"
	o = &runOp{env: &Env{}, op: op, node: n}
	_, err = o.Exec(context.Background(), []*State{{}})
	want = `Dockerfile:3: RUN for platform "linux": want os/arch[/variant]`
	if err == nil || err.Error() != want {
		t.Errorf("Exec = %v\nwant %s", err, want)
	}
}
