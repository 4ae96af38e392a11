package progress

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// Defaults when the terminal size cannot be read (a pipe, a file, or an
// explicit --progress=tty on something that is not a terminal).
const (
	defaultCols = 80
	defaultRows = 24
)

// terminalFD returns the file descriptor of w when w is a terminal.
func terminalFD(w io.Writer) (int, bool) {
	f, ok := w.(*os.File)
	if !ok {
		return -1, false
	}
	fd := int(f.Fd())
	if _, err := unix.IoctlGetTermios(fd, unix.TCGETS); err != nil {
		return -1, false
	}
	return fd, true
}

// sizeOf returns a function reading the size of the terminal w now: it
// is called on every redraw, so a resized window (SIGWINCH) takes effect
// at the next frame without a signal handler.
func sizeOf(w io.Writer) func() (cols, rows int) {
	fd, ok := terminalFD(w)
	return func() (int, int) {
		if !ok {
			return defaultCols, defaultRows
		}
		ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
		if err != nil || ws.Col == 0 {
			return defaultCols, defaultRows
		}
		rows := int(ws.Row)
		if rows == 0 {
			rows = defaultRows
		}
		return int(ws.Col), rows
	}
}

// wantTTY reports whether --progress=auto should draw the live display:
// w is a terminal that understands cursor movement.
func wantTTY(w io.Writer) bool {
	if _, ok := terminalFD(w); !ok {
		return false
	}
	t := os.Getenv("TERM")
	return t != "dumb"
}
