package runner

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Ulimit is one resource limit for the command (--ulimit NAME=SOFT[:HARD]);
// -1 is unlimited.
type Ulimit struct {
	Name       string // nofile, nproc, core, … (Docker's names)
	Soft, Hard int64
}

// String is the limit as docker writes it: "nofile=1024:2048".
func (u Ulimit) String() string {
	return fmt.Sprintf("%s=%d:%d", u.Name, u.Soft, u.Hard)
}

// rlimits are the names docker's --ulimit accepts (go-units), with their
// resources.
var rlimits = map[string]int{
	"core": unix.RLIMIT_CORE, "cpu": unix.RLIMIT_CPU, "data": unix.RLIMIT_DATA,
	"fsize": unix.RLIMIT_FSIZE, "locks": unix.RLIMIT_LOCKS, "memlock": unix.RLIMIT_MEMLOCK,
	"msgqueue": unix.RLIMIT_MSGQUEUE, "nice": unix.RLIMIT_NICE, "nofile": unix.RLIMIT_NOFILE,
	"nproc": unix.RLIMIT_NPROC, "rss": unix.RLIMIT_RSS, "rtprio": unix.RLIMIT_RTPRIO,
	"rttime": unix.RLIMIT_RTTIME, "sigpending": unix.RLIMIT_SIGPENDING, "stack": unix.RLIMIT_STACK,
}

// ParseUlimit parses "NAME=SOFT[:HARD]" as docker's --ulimit does (a
// missing HARD is SOFT; -1 is unlimited; SOFT may not exceed HARD).
func ParseUlimit(s string) (Ulimit, error) {
	name, vals, ok := strings.Cut(s, "=")
	if !ok {
		return Ulimit{}, fmt.Errorf("invalid ulimit %q: use NAME=SOFT[:HARD], e.g. nofile=1024:2048", s)
	}
	if _, ok := rlimits[name]; !ok {
		names := make([]string, 0, len(rlimits))
		for n := range rlimits {
			names = append(names, n)
		}
		sort.Strings(names)
		return Ulimit{}, fmt.Errorf("invalid ulimit type %q: use one of %s", name, strings.Join(names, ", "))
	}
	softS, hardS, hasHard := strings.Cut(vals, ":")
	if strings.Contains(hardS, ":") {
		return Ulimit{}, fmt.Errorf("invalid ulimit %q: too many values, use SOFT[:HARD]", s)
	}
	soft, err := strconv.ParseInt(softS, 10, 64)
	if err != nil {
		return Ulimit{}, fmt.Errorf("invalid ulimit %q: %q is not a number", s, softS)
	}
	hard := soft
	if hasHard {
		if hard, err = strconv.ParseInt(hardS, 10, 64); err != nil {
			return Ulimit{}, fmt.Errorf("invalid ulimit %q: %q is not a number", s, hardS)
		}
	}
	if soft < -1 || hard < -1 {
		return Ulimit{}, fmt.Errorf("invalid ulimit %q: limits are numbers >= 0, or -1 for unlimited", s)
	}
	if hard != -1 && (soft == -1 || soft > hard) {
		return Ulimit{}, fmt.Errorf("invalid ulimit %q: the soft limit must be less than or equal to the hard limit", s)
	}
	return Ulimit{Name: name, Soft: soft, Hard: hard}, nil
}

// setRlimits applies the limits to the init, whose exec hands them to
// the command. It runs while the init still has CAP_SYS_RESOURCE.
func setRlimits(limits []Ulimit) error {
	for _, l := range limits {
		res, ok := rlimits[l.Name]
		if !ok {
			return fmt.Errorf("set ulimit %s: unknown resource", l)
		}
		r := unix.Rlimit{Cur: rlimValue(l.Soft), Max: rlimValue(l.Hard)}
		if err := unix.Setrlimit(res, &r); err != nil {
			max, ok := nrOpen()
			overKernel := ok && l.Name == "nofile" && r.Max > max
			if errors.Is(err, unix.EPERM) && overKernel && !inUserNamespace() {
				// Root on the host: only the kernel's cap is left.
				return fmt.Errorf("set ulimit %s: %w: the kernel allows at most %d open files (sysctl fs.nr_open); use a hard limit up to that", l, err, max)
			}
			if errors.Is(err, unix.EPERM) {
				var cur unix.Rlimit
				unix.Getrlimit(res, &cur)
				hint := fmt.Sprintf("the hard limit cannot be raised above gorae's own (%s) without root (CAP_SYS_RESOURCE of the host)", rlimString(cur.Max))
				if overKernel {
					hint += fmt.Sprintf(", nor above the kernel's %d open files (sysctl fs.nr_open) at all", max)
				}
				return fmt.Errorf("set ulimit %s: %w: %s", l, err, hint)
			}
			return fmt.Errorf("set ulimit %s: %w", l, err)
		}
	}
	return nil
}

// inUserNamespace reports whether this process is in a user namespace
// other than the host's (a rootless gorae's), where root's capabilities
// do not reach the host's limits.
func inUserNamespace() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return !(len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295")
}

// nrOpen is the kernel's cap on RLIMIT_NOFILE (fs.nr_open).
func nrOpen() (uint64, bool) {
	b, err := os.ReadFile("/proc/sys/fs/nr_open")
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n, err == nil
}

func rlimValue(v int64) uint64 {
	if v < 0 {
		return unix.RLIM_INFINITY
	}
	return uint64(v)
}

func rlimString(v uint64) string {
	if v == unix.RLIM_INFINITY {
		return "unlimited"
	}
	return strconv.FormatUint(v, 10)
}
