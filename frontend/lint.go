package frontend

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Checks of the BuildKit linter that need the whole Dockerfile, and the
// value checks (ports, signals) whose findings are lint warnings or errors.

func validateStageNames(stages []instructions.Stage, lint *linter.Linter) {
	seen := map[string]bool{}
	for _, s := range stages {
		if s.Name == "" {
			continue
		}
		if s.Name == "context" || s.Name == "scratch" {
			lint.Run(&linter.RuleReservedStageName, s.Location, linter.RuleReservedStageName.Format(s.Name))
		}
		if seen[s.Name] {
			lint.Run(&linter.RuleDuplicateStageName, s.Location, linter.RuleDuplicateStageName.Format(s.Name))
		}
		seen[s.Name] = true
	}
}

// validateCommandCasing is ConsistentInstructionCasing: every instruction
// in the casing most instructions use.
func validateCommandCasing(stages []instructions.Stage, lint *linter.Linter) {
	var lower, upper int
	count := func(name string) {
		switch name {
		case strings.ToLower(name):
			lower++
		case strings.ToUpper(name):
			upper++
		}
	}
	for _, s := range stages {
		count(s.OrigCmd)
		for _, c := range s.Commands {
			count(c.Name())
		}
	}
	check := func(name string, loc []parser.Range) {
		want := ""
		if lower > upper && strings.ToLower(name) != name {
			want = "lowercase"
		} else if lower <= upper && strings.ToUpper(name) != name {
			want = "uppercase"
		}
		if want != "" {
			lint.Run(&linter.RuleConsistentInstructionCasing, loc, linter.RuleConsistentInstructionCasing.Format(name, want))
		}
	}
	for _, s := range stages {
		check(s.OrigCmd, s.Location)
		for _, c := range s.Commands {
			check(c.Name(), c.Location())
		}
	}
}

var signalNames = map[string]bool{
	"ABRT": true, "ALRM": true, "BUS": true, "CHLD": true, "CLD": true, "CONT": true, "FPE": true,
	"HUP": true, "ILL": true, "INT": true, "IO": true, "IOT": true, "KILL": true, "PIPE": true,
	"POLL": true, "PROF": true, "PWR": true, "QUIT": true, "SEGV": true, "STKFLT": true,
	"STOP": true, "SYS": true, "TERM": true, "TRAP": true, "TSTP": true, "TTIN": true,
	"TTOU": true, "URG": true, "USR1": true, "USR2": true, "VTALRM": true, "WINCH": true,
	"XCPU": true, "XFSZ": true, "RTMIN": true, "RTMAX": true,
}

// validSignal accepts what moby's signal.ParseSignal accepts on Linux: a
// number 1–64 or a name with or without "SIG", also RTMIN+n / RTMAX-n.
func validSignal(s string) bool {
	if n, err := strconv.Atoi(s); err == nil {
		return n >= 1 && n <= 64
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if signalNames[name] {
		return true
	}
	for _, p := range []string{"RTMIN+", "RTMAX-"} {
		if rest, ok := strings.CutPrefix(name, p); ok {
			n, err := strconv.Atoi(rest)
			return err == nil && n >= 1 && n <= 15
		}
	}
	return false
}

// parsePort expands one EXPOSE word ("80", "53/udp", "8000-8002/tcp") to
// "port/proto" entries; an IP or host port is ignored with a warning.
func (x *step) parsePort(raw string) ([]string, error) {
	ip, hostPort, containerPort := splitPortParts(raw)
	port, proto, _ := strings.Cut(containerPort, "/")
	if port == "" {
		return nil, fmt.Errorf("invalid port: %q: no port specified", raw)
	}
	switch strings.ToLower(proto) {
	case "":
		proto = "tcp"
	case "tcp", "udp", "sctp":
	default:
		return nil, fmt.Errorf("invalid port: %q: invalid proto: %s", raw, proto)
	}
	loc := x.cmd.Location()
	if proto != strings.ToLower(proto) {
		x.lint.Run(&linter.RuleExposeProtoCasing, loc, linter.RuleExposeProtoCasing.Format(raw))
	}
	if ip != "" || hostPort != "" {
		x.lint.Run(&linter.RuleExposeInvalidFormat, loc, linter.RuleExposeInvalidFormat.Format(raw))
	}
	if ip != "" {
		bare := strings.TrimSuffix(strings.TrimPrefix(ip, "["), "]")
		if net.ParseIP(bare) == nil {
			return nil, errors.New("invalid IP address: " + ip)
		}
	}
	start, end, err := portRange(port)
	if err != nil {
		return nil, errors.New("invalid containerPort: " + port)
	}
	if hostPort != "" {
		hs, he, err := portRange(hostPort)
		if err != nil {
			return nil, errors.New("invalid hostPort: " + hostPort)
		}
		if end-start != he-hs && end != start {
			return nil, fmt.Errorf("invalid ranges specified for container and host Ports: %s and %s", port, hostPort)
		}
	}
	out := make([]string, 0, end-start+1)
	for p := start; p <= end; p++ {
		out = append(out, strconv.Itoa(p)+"/"+strings.ToLower(proto))
	}
	return out, nil
}

func splitPortParts(raw string) (ip, hostPort, containerPort string) {
	parts := strings.Split(raw, ":")
	n := len(parts)
	switch n {
	case 1:
		return "", "", parts[0]
	case 2:
		return "", parts[0], parts[1]
	default:
		return strings.Join(parts[:n-2], ":"), parts[n-2], parts[n-1]
	}
}

func portRange(s string) (int, int, error) {
	a, b, isRange := strings.Cut(s, "-")
	start, err := portNumber(a)
	if err != nil {
		return 0, 0, err
	}
	if !isRange || a == b {
		return start, start, nil
	}
	end, err := portNumber(b)
	if err != nil {
		return 0, 0, err
	}
	if end < start {
		return 0, 0, errors.New("invalid port range: " + s)
	}
	return start, end, nil
}

func portNumber(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 65535 {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	return n, nil
}

// checkDefaultFromArgs is InvalidDefaultArgInFrom: every FROM must name a
// valid image (or stage) with the ARG defaults alone, without --build-arg.
func (c *converter) checkDefaultFromArgs(defs []instructions.Stage, argCmds []instructions.ArgCommand) {
	env, _, err := metaArgs(c.global, c.lex, argCmds, nil, c.src)
	if err != nil {
		return // the real evaluation reports it
	}
	for _, d := range defs {
		name, _, err := c.lex.ProcessWord(d.BaseName, env)
		if err != nil {
			return
		}
		if name == "scratch" {
			continue
		}
		if _, err := normalizeRef(name); err != nil {
			c.lint.Run(&linter.RuleInvalidDefaultArgInFrom, d.Location, linter.RuleInvalidDefaultArgInFrom.Format(d.BaseName))
		}
	}
}
