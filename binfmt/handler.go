package binfmt

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// handler is one entry of binfmt_misc, as its file there shows it.
type handler struct {
	name        string
	enabled     bool
	interpreter string
	flags       string
	offset      int
	magic, mask []byte // nil for an extension (E) entry
}

// matches reports whether the kernel would hand prog to h: the bytes at
// h's offset, masked, equal its magic (the kernel stores magic masked).
func (h handler) matches(prog []byte) bool {
	if h.magic == nil || h.offset+len(h.magic) > len(prog) {
		return false
	}
	for i, m := range h.magic {
		b := prog[h.offset+i]
		if h.mask != nil {
			b &= h.mask[i]
			m &= h.mask[i]
		}
		if b != m {
			return false
		}
	}
	return true
}

// handlers reads every entry of the binfmt_misc directory dir; register
// and status are control files, not entries.
func handlers(dir string) ([]handler, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []handler
	for _, e := range ents {
		if e.Name() == "register" || e.Name() == "status" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			// Removed since the listing: not a handler any more.
			continue
		}
		out = append(out, parseHandler(e.Name(), b))
	}
	return out, nil
}

// parseHandler reads an entry file: "enabled" or "disabled", then
// "interpreter PATH", "flags: PF", "offset N", "magic HEX", "mask HEX"
// lines (an extension entry has "extension .EXT" instead of the last
// three).
func parseHandler(name string, b []byte) handler {
	h := handler{name: name}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		key, val, _ := strings.Cut(sc.Text(), " ")
		switch strings.TrimSuffix(key, ":") {
		case "enabled":
			h.enabled = true
		case "interpreter":
			h.interpreter = val
		case "flags":
			h.flags = strings.TrimSpace(val)
		case "offset":
			h.offset, _ = strconv.Atoi(val)
		case "magic":
			h.magic, _ = hex.DecodeString(val)
		case "mask":
			h.mask, _ = hex.DecodeString(val)
		}
	}
	if h.mask != nil && len(h.mask) != len(h.magic) {
		h.magic = nil
	}
	return h
}
