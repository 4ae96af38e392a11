package runner

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// CommandError reports a command the sandbox could not start: Code is 127
// when it was not found, 126 when it was found but could not be executed
// (the exit codes of docker run and of a shell).
type CommandError struct {
	Code int
	Msg  string
}

func (e *CommandError) Error() string { return e.Msg }

// commandMark starts a status message that carries a CommandError
// rather than a sandbox setup error.
const commandMark = "\x00command "

// noteMark starts a note the init writes on the status pipe before it
// execs (a fallback the caller should hear of); each ends with a newline.
const noteMark = "\x00note "

// note tells the parent about a fallback the sandbox took. The status pipe
// is open until the exec; a failed write only loses the note.
func note(msg string) {
	unix.Write(statusFd, []byte(noteMark+strings.ReplaceAll(msg, "\n", " ")+"\n"))
}

// splitNotes takes the notes off the front of a status message.
func splitNotes(msg string) (notes []string, rest string) {
	for {
		body, ok := strings.CutPrefix(msg, noteMark)
		if !ok {
			return notes, msg
		}
		n, after, _ := strings.Cut(body, "\n")
		notes = append(notes, n)
		msg = after
	}
}

// encodeStatus is what the init writes on the status pipe for err.
func encodeStatus(err error) string {
	var ce *CommandError
	if errors.As(err, &ce) {
		return commandMark + strconv.Itoa(ce.Code) + " " + ce.Msg
	}
	return err.Error()
}

// decodeStatus turns the init's status message back into an error.
func decodeStatus(msg, arg0 string) error {
	rest, ok := strings.CutPrefix(msg, commandMark)
	if ok {
		code, text, _ := strings.Cut(rest, " ")
		if n, err := strconv.Atoi(code); err == nil {
			return &CommandError{Code: n, Msg: text}
		}
	}
	return fmt.Errorf("set up sandbox for %s: %s", arg0, strings.TrimSpace(msg))
}

// execError classifies a failed execve of name as a shell would: a
// missing file (or interpreter) is 127, anything else 126.
func execError(name string, err error) error {
	code := 126
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		code = 127
	}
	return &CommandError{Code: code, Msg: fmt.Sprintf("exec %s: %v", name, err)}
}
