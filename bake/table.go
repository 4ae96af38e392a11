package bake

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteTable prints the end-of-bake table: target, result, digest and
// time, one line per target in build order, then each failure's error
// and what became of publishing.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tRESULT\tDIGEST\tTIME")
	for _, o := range r.Outcomes {
		digest, took := "-", "-"
		if o.Result.Digest != "" {
			digest = o.Result.Digest
		}
		if o.Status != NotStarted {
			took = fmt.Sprintf("%.1fs", o.Time.Seconds())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", o.Target, o.Status, digest, took)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, o := range r.Outcomes {
		if o.Status == Failed {
			fmt.Fprintf(w, "%s failed: %s\n", o.Target, indentRest(o.Err.Error()))
		}
	}
	switch {
	case r.PublishErr != nil:
		fmt.Fprintf(w, "push failed: %v\n", r.PublishErr)
	case r.PushSkipped:
		fmt.Fprintln(w, "nothing pushed: not every target built (--push publishes all targets or none)")
	case r.Published:
		fmt.Fprintln(w, "pushed every target's tags")
	}
	return nil
}

// indentRest indents every line of a multi-line error after the first.
func indentRest(s string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}
