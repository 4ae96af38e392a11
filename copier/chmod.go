package copier

import (
	"fmt"
	"github.com/gorae/gorae/archive"
	"io/fs"
	"strconv"
	"strings"
)

// ParseChmod parses a --chmod value: octal ("0755", at most 07777) or
// symbolic as chmod(1) ("u+x,g-w,o=r,a+X", "go=u"). The returned function
// maps a source mode to the copied mode; the file type bits are kept.
func ParseChmod(s string) (func(fs.FileMode) fs.FileMode, error) {
	nonOctal := fmt.Errorf("invalid chmod parameter: '%s'. it should be octal string and between 0 and 07777", s)
	if s == "" {
		return nil, nonOctal
	}
	if octalChmod(s) {
		n, err := strconv.ParseUint(s, 8, 32)
		if err != nil || n > 0o7777 {
			return nil, nonOctal
		}
		perm := fromUnix(uint32(n))
		return func(m fs.FileMode) fs.FileMode { return m&fs.ModeType | perm }, nil
	}
	clauses, err := parseSymbolic(s)
	if err != nil {
		return nil, fmt.Errorf("invalid chmod parameter: '%s': %w", s, err)
	}
	return func(m fs.FileMode) fs.FileMode {
		u := toUnix(m)
		for _, c := range clauses {
			u = c.apply(u, m.IsDir())
		}
		return m&fs.ModeType | fromUnix(u)
	}, nil
}

// octalChmod reports whether a --chmod value is an octal mode (BuildKit's
// Mode) rather than a symbolic one (its ModeStr).
func octalChmod(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '9' }

// toUnix and fromUnix convert between Go's FileMode and the octal
// permission word (with setuid 04000, setgid 02000, sticky 01000).
func toUnix(m fs.FileMode) uint32 { return uint32(archive.UnixMode(m)) }

func fromUnix(u uint32) fs.FileMode {
	m := fs.FileMode(u & 0o777)
	if u&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if u&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if u&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}

type chmodAction struct {
	op    byte   // '+', '-', '='
	perms string // subset of "rwxXst", or one of "u", "g", "o" (copy)
}

type chmodClause struct {
	who     uint32 // mask of the affected permission bits: 0o700 u, 0o070 g, 0o007 o
	actions []chmodAction
}

func parseSymbolic(s string) ([]chmodClause, error) {
	var out []chmodClause
	for _, part := range strings.Split(s, ",") {
		var c chmodClause
		i := 0
		for ; i < len(part) && strings.IndexByte("ugoa", part[i]) >= 0; i++ {
			switch part[i] {
			case 'u':
				c.who |= 0o700
			case 'g':
				c.who |= 0o070
			case 'o':
				c.who |= 0o007
			case 'a':
				c.who |= 0o777
			}
		}
		if c.who == 0 {
			c.who = 0o777
		}
		if i == len(part) {
			return nil, fmt.Errorf("missing operator in %q", part)
		}
		for i < len(part) {
			op := part[i]
			if op != '+' && op != '-' && op != '=' {
				return nil, fmt.Errorf("unexpected character %q in %q", op, part)
			}
			i++
			j := i
			for j < len(part) && part[j] != '+' && part[j] != '-' && part[j] != '=' {
				j++
			}
			perms := part[i:j]
			if len(perms) == 1 && strings.IndexByte("ugo", perms[0]) >= 0 {
				// copy from another class
			} else {
				for k := 0; k < len(perms); k++ {
					if strings.IndexByte("rwxXst", perms[k]) < 0 {
						return nil, fmt.Errorf("unexpected character %q in %q", perms[k], part)
					}
				}
			}
			c.actions = append(c.actions, chmodAction{op: op, perms: perms})
			i = j
		}
		out = append(out, c)
	}
	return out, nil
}

func (c chmodClause) apply(u uint32, isDir bool) uint32 {
	for _, a := range c.actions {
		var bits uint32
		switch a.perms {
		case "u":
			bits = (u >> 6 & 7) * 0o111
		case "g":
			bits = (u >> 3 & 7) * 0o111
		case "o":
			bits = (u & 7) * 0o111
		default:
			for k := 0; k < len(a.perms); k++ {
				switch a.perms[k] {
				case 'r':
					bits |= 0o444
				case 'w':
					bits |= 0o222
				case 'x':
					bits |= 0o111
				case 'X':
					if isDir || u&0o111 != 0 {
						bits |= 0o111
					}
				case 's':
					if c.who&0o700 != 0 {
						bits |= 0o4000
					}
					if c.who&0o070 != 0 {
						bits |= 0o2000
					}
				case 't':
					bits |= 0o1000
				}
			}
		}
		mask := c.who | bits&0o7000
		bits &= mask
		switch a.op {
		case '+':
			u |= bits
		case '-':
			u &^= bits
		case '=':
			clear := c.who
			if c.who&0o700 != 0 {
				clear |= 0o4000
			}
			if c.who&0o070 != 0 {
				clear |= 0o2000
			}
			if c.who&0o007 != 0 {
				clear |= 0o1000
			}
			u = u&^clear | bits
		}
	}
	return u
}
