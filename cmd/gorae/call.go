package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/gorae/gorae/builder"
	"github.com/gorae/gorae/frontend"
	"github.com/gorae/gorae/root"
)

// parseCall checks a --call value as buildx does ("check" is its alias
// "lint"); gorae prints text only, so it takes no format= or
// ignorestatus= field.
func parseCall(v string) (string, error) {
	switch v {
	case "build", "check", "outline", "targets":
		return v, nil
	case "lint":
		return "check", nil
	}
	return "", usagef("invalid --call %q: use build, check, outline or targets", v)
}

// runCall answers --call check, outline or targets without building.
func runCall(ctx context.Context, call string, o builder.Options, open func() (*root.Root, error)) error {
	w := os.Stdout
	r, err := open() // a remote build context is fetched into it
	if err != nil {
		return err
	}
	defer r.Close()
	switch call {
	case "outline":
		out, err := builder.Outline(ctx, r, o)
		if err != nil {
			return err
		}
		printOutline(w, out)
		return nil
	case "targets":
		ts, err := builder.Targets(ctx, r, o)
		if err != nil {
			return err
		}
		printTargets(w, ts)
		return nil
	}
	res, err := builder.Check(ctx, r, o)
	if err != nil {
		return err
	}
	printCheck(w, res)
	switch {
	case res.Err != nil:
		return exitStatus{1, res.Err}
	case len(res.Warnings) > 0:
		// buildx exits with the check's status: 1 when anything was found.
		return exitStatus{1, nil}
	}
	return nil
}

// printCheck prints the findings as buildx prints BuildKit's lint result.
func printCheck(w io.Writer, res *builder.CheckResult) {
	ws := slices.Clone(res.Warnings)
	slices.SortStableFunc(ws, func(a, b frontend.Warning) int {
		switch {
		case len(a.Lines) == 0 && len(b.Lines) == 0:
			return strings.Compare(a.Rule, b.Rule)
		case len(a.Lines) == 0:
			return -1
		case len(b.Lines) == 0:
			return 1
		}
		return a.Lines[0][0] - b.Lines[0][0]
	})
	switch n := len(ws); {
	case n == 1:
		fmt.Fprintln(w, "Check complete, 1 warning has been found!")
	case n > 1:
		fmt.Fprintf(w, "Check complete, %d warnings have been found!\n", n)
	}
	for _, x := range ws {
		fmt.Fprintf(w, "\nWARNING: %s", x.Rule)
		if x.URL != "" {
			fmt.Fprintf(w, " - %s", x.URL)
		}
		fmt.Fprintf(w, "\n%s\n", x.Msg)
		printExcerpt(w, res.File, res.Source, x.Lines)
	}
	if res.Err != nil {
		if len(ws) > 0 {
			fmt.Fprintln(w)
		}
		return
	}
	if len(ws) == 0 {
		fmt.Fprintln(w, "Check complete, no warnings found.")
	}
}

// printExcerpt prints the lines a finding points at with some context,
// as BuildKit's errdefs.Source.Print does.
func printExcerpt(w io.Writer, file string, src []byte, ranges [][2]int) {
	if len(ranges) == 0 {
		return
	}
	lines := strings.Split(string(src), "\n")
	start, end := ranges[0][0], 0
	for _, r := range ranges {
		start, end = min(start, r[0]), max(end, r[1])
	}
	if start > len(lines) || start < 1 {
		return
	}
	end = min(end, len(lines))
	pad := 2
	if end == start {
		pad = 4
	}
	first := start
	for p := 0; p < pad; p++ {
		if start > 1 {
			start--
			p++
		}
		if end != len(lines) {
			end++
			p++
		}
	}
	fmt.Fprintf(w, "%s:%d\n--------------------\n", file, first)
	for i := start; i <= end; i++ {
		pfx := "   "
		for _, r := range ranges {
			if r[0] <= i && i <= r[1] {
				pfx = ">>>"
			}
		}
		fmt.Fprintf(w, " %3d | %s %s\n", i, pfx, lines[i-1])
	}
	fmt.Fprint(w, "--------------------\n")
}

// printOutline prints as buildx's outline printer.
func printOutline(w io.Writer, o *frontend.Outline) {
	if o.Name != "" || o.Description != "" {
		tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
		name := o.Name
		if name == "" {
			name = "(default)"
		}
		fmt.Fprintf(tw, "TARGET:\t%s\n", name)
		if o.Description != "" {
			fmt.Fprintf(tw, "DESCRIPTION:\t%s\n", o.Description)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	if len(o.Args) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
		fmt.Fprint(tw, "BUILD ARG\tVALUE\tDESCRIPTION\n")
		for _, a := range o.Args {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", a.Name, a.Value, a.Description)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	for _, sec := range []struct {
		title string
		items []frontend.OutlineItem
	}{{"SECRET", o.Secrets}, {"SSH", o.SSH}} {
		if len(sec.items) == 0 {
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
		fmt.Fprintf(tw, "%s\tREQUIRED\n", sec.title)
		for _, s := range sec.items {
			req := ""
			if s.Required {
				req = "true"
			}
			fmt.Fprintf(tw, "%s\t%s\n", s.Name, req)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
}

// printTargets prints as buildx's targets printer.
func printTargets(w io.Writer, ts []frontend.Target) {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprint(tw, "TARGET\tDESCRIPTION\n")
	for _, t := range ts {
		name := t.Name
		if name == "" && t.Default {
			name = "(default)"
		} else if t.Default {
			name += " (default)"
		}
		fmt.Fprintf(tw, "%s\t%s\n", name, t.Description)
	}
	tw.Flush()
}
