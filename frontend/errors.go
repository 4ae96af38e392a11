package frontend

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Error is a problem in the Dockerfile. Line is 1-based, 0 when the error
// belongs to no line (e.g. an unknown --target); Text is that source line.
type Error struct {
	File string
	Line int
	Msg  string
	Text string
	// Err, when set, is the cause (a base image the resolver could not
	// pin), for errors.Is and errors.As.
	Err error
}

func (e *Error) Unwrap() error { return e.Err }

func (e *Error) Error() string {
	if e.Line <= 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s\n%5d | %s", e.File, e.Line, e.Msg, e.Line, e.Text)
}

// source is the Dockerfile being converted, for error positions.
type source struct {
	file  string
	lines []string
}

func newSource(file string, dt []byte) source {
	return source{file: file, lines: strings.Split(strings.ReplaceAll(string(dt), "\r\n", "\n"), "\n")}
}

// errorf makes an *Error at line.
func (s source) errorf(line int, format string, args ...any) *Error {
	return s.at(line, fmt.Sprintf(format, args...))
}

func (s source) at(line int, msg string) *Error {
	e := &Error{File: s.file, Line: line, Msg: msg}
	if line > 0 && line <= len(s.lines) {
		e.Text = s.lines[line-1]
	}
	return e
}

// wrap turns an error from BuildKit's packages (or our own dispatch code)
// into an *Error, taking the line from the error when it carries one and
// from fallback otherwise.
func (s source) wrap(err error, fallback int) error {
	if err == nil {
		return nil
	}
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	line := fallback
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		line = le.Locations[0][0].Start.Line
	}
	msg := err.Error()
	if m := parseErrorPrefix().FindStringSubmatch(msg); m != nil {
		msg = msg[len(m[0]):]
		if line == 0 {
			line, _ = strconv.Atoi(m[1])
		}
	}
	return s.at(line, msg)
}

// startLine is the first line of a BuildKit location.
func startLine(loc []parser.Range) int {
	if len(loc) == 0 {
		return 0
	}
	return loc[0].Start.Line
}
