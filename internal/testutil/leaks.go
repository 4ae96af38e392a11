package testutil

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/gorae/gorae/snapshot"
)

// runnerInit is the argv[0] of runner's sandbox init (runner.initArg0).
const runnerInit = "gorae-runner-init"

// ownedDir is a directory named after the process that owns it,
// "<pid>-<suffix>": gorae's active snapshots (snapshots/active/<pid>-<hex>)
// and any directory a test mounts on, which it names the same way.
var ownedDir = regexp.MustCompile(`^([0-9]+)-[0-9A-Za-z._-]+$`)

// CheckLeaks reports what the tests of this process left behind, for
// TestMain to call after m.Run:
//
//   - mounts below os.TempDir() inside a directory "<pid>-<suffix>" (an
//     active snapshot, or a test's own mount point named that way) whose
//     pid is this process or a process that no longer runs. A live
//     process's snapshot belongs to a build still running, possibly
//     another package's tests run in parallel, so it is not reported;
//     mounts left inside a t.TempDir are reported by the testing package
//     itself, whose cleanup then fails.
//   - processes that descend from this one (every command a test starts
//     must have been waited for), and orphans (parent gone, reparented to
//     pid 1) whose argv[0] is the sandbox init's or whose executable is
//     this test binary.
//
// It returns nil when nothing is left, else an error listing each leak.
func CheckLeaks() error {
	var leaks []string
	mounts, err := leakedMounts(os.TempDir())
	if err != nil {
		return err
	}
	leaks = append(leaks, mounts...)
	procs, err := leakedProcesses()
	if err != nil {
		return err
	}
	leaks = append(leaks, procs...)
	if len(leaks) == 0 {
		return nil
	}
	return fmt.Errorf("the tests left behind (unmount or kill them, then fix the test that leaked them):\n  %s", strings.Join(leaks, "\n  "))
}

func leakedMounts(tmp string) ([]string, error) {
	ms, err := snapshot.Mounts()
	if err != nil {
		return nil, fmt.Errorf("check leaked mounts: %w", err)
	}
	base := filepath.Clean(tmp) + "/"
	var out []string
	for _, mt := range ms {
		mp := mt.Point
		rel, ok := strings.CutPrefix(mp, base)
		if !ok {
			continue
		}
		for c := range strings.SplitSeq(rel, "/") {
			m := ownedDir.FindStringSubmatch(c)
			if m == nil {
				continue
			}
			if pid, err := strconv.Atoi(m[1]); err == nil && (pid == os.Getpid() || !running(pid)) {
				out = append(out, fmt.Sprintf("mount %s (%s, owner pid %d)", mp, mt.FSType, pid))
				break
			}
		}
	}
	return out, nil
}

// running reports whether pid is a live (not zombie) process.
func running(pid int) bool {
	st, err := procStat(pid)
	return err == nil && st.state != 'Z'
}

type stat struct {
	state byte
	ppid  int
}

// procStat reads the state and parent of pid from /proc/PID/stat, whose
// second field (the command name in parentheses) may hold spaces.
func procStat(pid int) (stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 || len(f[0]) != 1 {
		return stat{}, errors.New("malformed /proc stat")
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return stat{}, err
	}
	return stat{state: f[0][0], ppid: ppid}, nil
}

func leakedProcesses() ([]string, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("check leaked processes: %w", err)
	}
	self := os.Getpid()
	exe, _ := os.Executable()
	parents := map[int]int{}
	var live []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		st, err := procStat(pid)
		if err != nil || st.state == 'Z' {
			continue // gone meanwhile, or dead and waiting to be reaped
		}
		parents[pid] = st.ppid
		live = append(live, pid)
	}
	descends := func(pid int) bool {
		for range 64 { // bounds a cycle from pids reused mid-scan
			p, ok := parents[pid]
			if !ok || p <= 1 {
				return false
			}
			if p == self {
				return true
			}
			pid = p
		}
		return false
	}
	var out []string
	for _, pid := range live {
		argv0, pexe := procArgv0(pid), procExe(pid)
		ours := descends(pid)
		if !ours && parents[pid] == 1 {
			ours = argv0 == runnerInit || (exe != "" && pexe == exe)
		}
		if ours {
			out = append(out, fmt.Sprintf("process %d %s (%s)", pid, argv0, pexe))
		}
	}
	return out, nil
}

func procArgv0(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return ""
	}
	a, _, _ := bytes.Cut(b, []byte{0})
	return string(a)
}

func procExe(pid int) string {
	p, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		return ""
	}
	return p
}
