package runner

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// platform is what one kernel architecture runs: its own ABI first, then
// the compat ones Docker's profile lists.
type platform struct {
	arches []archFilter
	extra  []string // names Docker allows on this host architecture only
}

// archFilter is one AUDIT_ARCH value of seccomp_data.arch and the ABIs
// sharing it, in the order of their number ranges.
type archFilter struct {
	audit uint32
	abis  []abi
}

// abi is one system call table.
type abi struct {
	name   string
	table  string // "name nr name nr ...", as in the seccomp_*tables.go files
	base   uint32 // added to every number: x32's __X32_SYSCALL_BIT
	bits64 bool   // arguments are 64 bits wide (a 32-bit ABI's upper halves are not compared, as in libseccomp)
}

// sysEntry is one line of a system call table.
type sysEntry struct {
	name string
	nr   uint32
}

// entries parses the table.
func (a abi) entries() ([]sysEntry, error) {
	f := strings.Fields(a.table)
	if len(f)%2 != 0 {
		return nil, fmt.Errorf("syscall table %s has an odd number of fields", a.name)
	}
	es := make([]sysEntry, 0, len(f)/2)
	for i := 0; i < len(f); i += 2 {
		nr, err := strconv.ParseUint(f[i+1], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("syscall table %s, %s: %w", a.name, f[i], err)
		}
		es = append(es, sysEntry{f[i], uint32(nr)})
	}
	return es, nil
}

// numbers maps the table's names to numbers.
func (a abi) numbers() (map[string]uint32, error) {
	es, err := a.entries()
	if err != nil {
		return nil, err
	}
	m := make(map[string]uint32, len(es))
	for _, e := range es {
		m[e.name] = e.nr
	}
	return m, nil
}

// segment gives act to the numbers from start up to the next segment's.
type segment struct {
	start  uint32
	act    action
	bits64 bool
}

// segments maps every number of one audit arch to an action. A number the
// profile does not name gets EPERM; past an ABI's last named number ENOSYS,
// as runc does, so that libc falls back from calls newer than the profile.
func (af archFilter) segments(prof map[string]action) ([]segment, error) {
	var raw []segment
	for _, a := range af.abis {
		es, err := a.entries()
		if err != nil {
			return nil, err
		}
		var last uint32
		type nrAction struct {
			nr  uint32
			act action
		}
		acts := make([]nrAction, 0, len(es))
		for _, e := range es {
			act, named := prof[e.name]
			if named && e.nr > last {
				last = e.nr
			}
			if act != actDeny {
				acts = append(acts, nrAction{e.nr, act})
			}
		}
		slices.SortFunc(acts, func(x, y nrAction) int { return cmp.Compare(x.nr, y.nr) })
		raw = append(raw, segment{a.base, actDeny, a.bits64})
		for _, na := range acts {
			if na.nr <= last {
				raw = append(raw, segment{a.base + na.nr, na.act, a.bits64}, segment{a.base + na.nr + 1, actDeny, a.bits64})
			}
		}
		raw = append(raw, segment{a.base + last + 1, actNoSys, a.bits64})
	}
	// A later segment starting where an earlier one does replaces it; equal
	// neighbours merge.
	var out []segment
	for i, s := range raw {
		if i+1 < len(raw) && raw[i+1].start == s.start {
			continue
		}
		if n := len(out); n > 0 && out[n-1].act == s.act && (out[n-1].bits64 == s.bits64 || !s.act.readsArgs()) {
			continue
		}
		out = append(out, s)
	}
	return out, nil
}

func (a action) readsArgs() bool {
	return a == actPersonality || a == actClone || a == actSocket
}

// Offsets into struct seccomp_data (little-endian: the low half first).
const (
	offNr     = 0
	offArch   = 4
	offArg0Lo = 16
	offArg0Hi = 20
)

const (
	retAllow  = unix.SECCOMP_RET_ALLOW
	retEPERM  = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	retENOSYS = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	// retKill answers an ABI the kernel should not even run here, as
	// libseccomp's default bad-arch action does.
	retKill = unix.SECCOMP_RET_KILL_PROCESS
	x32Bit  = 0x40000000
)

const (
	ldAbs = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	ja    = unix.BPF_JMP | unix.BPF_JA
	jeq   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	jge   = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
	jset  = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
	retK  = unix.BPF_RET | unix.BPF_K
)

func stmt(code uint16, k uint32) unix.SockFilter {
	return unix.SockFilter{Code: code, K: k}
}

func jump(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: code, K: k, Jt: jt, Jf: jf}
}

// compile builds the classic BPF program: a test per audit arch, then a
// binary search over that arch's segments, so a call costs about
// log2(segments) comparisons instead of one per listed call.
func compile(p platform, prof map[string]action) ([]unix.SockFilter, error) {
	prog := []unix.SockFilter{stmt(ldAbs, offArch)}
	for _, af := range p.arches {
		segs, err := af.segments(prof)
		if err != nil {
			return nil, err
		}
		tree := searchTree([]unix.SockFilter{stmt(ldAbs, offNr)}, segs)
		prog = append(prog, jump(jeq, af.audit, 1, 0), stmt(ja, uint32(len(tree))))
		prog = append(prog, tree...)
	}
	prog = append(prog, stmt(retK, retKill))
	if len(prog) > unix.BPF_MAXINSNS {
		return nil, fmt.Errorf("seccomp filter has %d instructions, more than the kernel's %d", len(prog), unix.BPF_MAXINSNS)
	}
	return prog, nil
}

// searchTree appends the test of the number in A against the segments'
// starts. A right subtree too far for an 8-bit offset is reached through a
// ja.
func searchTree(p []unix.SockFilter, segs []segment) []unix.SockFilter {
	if len(segs) == 1 {
		return leaf(p, segs[0])
	}
	mid := len(segs) / 2
	at := len(p)
	p = searchTree(append(p, jump(jge, segs[mid].start, 0, 0)), segs[:mid])
	if left := len(p) - at - 1; left <= 255 {
		p[at].Jt = uint8(left)
	} else {
		p[at].Jf = 1
		p = slices.Insert(p, at+1, stmt(ja, uint32(left)))
	}
	return searchTree(p, segs[mid:])
}

// leaf appends the segment's action, testing the first argument first
// where the profile says so.
func leaf(p []unix.SockFilter, s segment) []unix.SockFilter {
	var b argBlock
	switch s.act {
	case actAllow:
		return append(p, stmt(retK, retAllow))
	case actDeny:
		return append(p, stmt(retK, retEPERM))
	case actNoSys:
		return append(p, stmt(retK, retENOSYS))
	case actPersonality:
		b.upperZero(s.bits64)
		b.load(offArg0Lo)
		for _, v := range personalities() {
			b.test(jeq, v, toAllow, toNext)
		}
		return append(p, b.end(toDeny)...)
	case actClone:
		// The namespace flags all sit in the low half, so the upper one
		// does not matter even on 64 bits (libseccomp's masked compare).
		b.load(offArg0Lo)
		b.test(jset, nsFlags, toDeny, toNext)
		return append(p, b.end(toAllow)...)
	case actSocket:
		b.upperZero(s.bits64)
		b.load(offArg0Lo)
		b.test(jge, socketDomainEnd, toDeny, toNext)
		for _, d := range deniedSocketDomains() {
			b.test(jeq, d, toDeny, toNext)
		}
		return append(p, b.end(toAllow)...)
	}
	panic(fmt.Sprintf("seccomp action %d has no code", s.act))
}

type target uint8

const (
	toNext target = iota
	toDeny
	toAllow
)

// argBlock is a leaf testing arguments: short forward jumps to its own two
// returns, so its offsets always fit.
type argBlock struct {
	code   []unix.SockFilter
	jt, jf []target
}

func (b *argBlock) load(off uint32) {
	b.code = append(b.code, stmt(ldAbs, off))
	b.jt, b.jf = append(b.jt, toNext), append(b.jf, toNext)
}

func (b *argBlock) test(op uint16, k uint32, jt, jf target) {
	b.code = append(b.code, stmt(op, k))
	b.jt, b.jf = append(b.jt, jt), append(b.jf, jf)
}

// upperZero refuses a 64-bit argument whose upper half is set: the values
// compared are 32-bit ones, and libseccomp compares all 64 bits.
func (b *argBlock) upperZero(bits64 bool) {
	if bits64 {
		b.load(offArg0Hi)
		b.test(jeq, 0, toNext, toDeny)
	}
}

// end appends the two returns, the one reached by falling through first,
// and resolves the jumps.
func (b *argBlock) end(fall target) []unix.SockFilter {
	n := len(b.code)
	pos := map[target]int{toDeny: n, toAllow: n}
	if fall == toDeny {
		pos[toAllow]++
		b.code = append(b.code, stmt(retK, retEPERM), stmt(retK, retAllow))
	} else {
		pos[toDeny]++
		b.code = append(b.code, stmt(retK, retAllow), stmt(retK, retEPERM))
	}
	off := func(i int, t target) uint8 {
		if t == toNext {
			return 0
		}
		return uint8(pos[t] - i - 1)
	}
	for i := range n {
		b.code[i].Jt, b.code[i].Jf = off(i, b.jt[i]), off(i, b.jf[i])
	}
	return b.code
}
