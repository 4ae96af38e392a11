package gc

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ParseSize parses a size as docker's --keep-storage does: a number,
// optionally with a fraction, then an optional unit k, m, g, t or p with
// an optional "i" and "b" (case-insensitive), all powers of 1024:
// "512MB", "10g", "1.5GiB", "100" (bytes).
func ParseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	num := strings.TrimRightFunc(t, func(r rune) bool { return r >= 'a' && r <= 'z' })
	unit := strings.TrimSpace(t[len(num):])
	num = strings.TrimSpace(num)
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
		"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
		"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
		"t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40,
		"p": 1 << 50, "pb": 1 << 50, "pib": 1 << 50,
	}[unit]
	v, err := strconv.ParseFloat(num, 64)
	if mult == 0 || err != nil || num == "" || strings.ContainsAny(num, "+-eExX_") || v < 0 {
		return 0, fmt.Errorf("invalid size %q: use a number with an optional unit, e.g. 512MB, 10GB, 1.5GiB", s)
	}
	b := v * mult
	if b >= math.MaxInt64 {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return int64(b), nil
}

// maxDefaultBudget caps the default automatic GC budget.
const maxDefaultBudget = 20_000_000_000

// errGCOff is gcBudget's answer when GORAE_GC_BUDGET turns automatic GC off.
var errGCOff = errors.New("automatic GC is off")

// gcBudget is the size the root may reach before automatic GC after a
// build: GORAE_GC_BUDGET (a size; 0 or "off" disables) or else 10% of the
// root's filesystem, at most 20 GB.
func gcBudget(dir, env string) (int64, error) {
	switch strings.ToLower(strings.TrimSpace(env)) {
	case "":
	case "0", "off":
		return 0, errGCOff
	default:
		n, err := ParseSize(env)
		if err != nil {
			return 0, fmt.Errorf("GORAE_GC_BUDGET: %w (or 0/off to disable automatic GC)", err)
		}
		if n == 0 {
			return 0, errGCOff
		}
		return n, nil
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("size of the gorae root's filesystem: %w", err)
	}
	return min(int64(st.Blocks)*st.Bsize/10, maxDefaultBudget), nil
}

// budgetFromEnv reads GORAE_GC_BUDGET for root dir.
func budgetFromEnv(dir string) (int64, error) {
	return gcBudget(dir, os.Getenv("GORAE_GC_BUDGET"))
}
