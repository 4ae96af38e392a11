package ops

// runError is a RUN whose command exited non-zero: the message names the
// step and quotes the last lines of its output; Summary is the message
// without them, for a progress display that showed the output already.
type runError struct {
	summary string // where, the command and its exit status
	detail  string // the last lines of output, and a hint
}

func (e *runError) Error() string {
	return e.summary + "; last lines of its output:\n" + e.detail
}

// Summary is the first line of the message, without the output.
func (e *runError) Summary() string { return e.summary }
