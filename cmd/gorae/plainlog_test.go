package main

import (
	"regexp"
	"strings"
)

// plainStep is one step of a --progress=plain log: every line "#N …"
// with its number, gathered.
type plainStep struct {
	num   string
	name  string   // the header
	lines []string // the lines after the header, "#N " cut off, headers shown again and "..." left out
}

var plainLineRE = regexp.MustCompile(`^#(\d+) (.*)$`)

// plainSteps splits a plain log into its steps, in order of number.
func plainSteps(log string) []*plainStep {
	var steps []*plainStep
	byNum := map[string]*plainStep{}
	for _, l := range strings.Split(log, "\n") {
		m := plainLineRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		s := byNum[m[1]]
		switch {
		case s == nil:
			s = &plainStep{num: m[1], name: m[2]}
			byNum[m[1]] = s
			steps = append(steps, s)
		case m[2] != s.name && m[2] != "...":
			s.lines = append(s.lines, m[2])
		}
	}
	return steps
}

// findStep returns the step whose header contains instr, or nil.
func findStep(log, instr string) *plainStep {
	for _, s := range plainSteps(log) {
		if strings.Contains(s.name, instr) {
			return s
		}
	}
	return nil
}

// end is how the step ended: "CACHED", "DONE 0.3s", "ERROR: …",
// "CANCELED", or "" while it runs.
func (s *plainStep) end() string {
	if s == nil || len(s.lines) == 0 {
		return ""
	}
	last := s.lines[len(s.lines)-1]
	for _, p := range []string{"CACHED", "DONE ", "ERROR: ", "CANCELED"} {
		if strings.HasPrefix(last, p) {
			return last
		}
	}
	return ""
}

// cached reports whether the step whose header contains instr was
// served from the cache.
func cached(log, instr string) bool {
	return findStep(log, instr).end() == "CACHED"
}
