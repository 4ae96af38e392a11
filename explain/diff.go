package explain

import (
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/gorae/gorae/ops"
)

// explainRecord is what the last build of one target computed its keys
// from: one entry per graph node. Per-file digests live beside it (see
// explainFiles), only for steps that hashed context files.
type explainRecord struct {
	Version   int            `json:"version"`
	Namespace string         `json:"namespace"` // the cache record namespace (compression, epoch)
	Steps     []*explainStep `json:"steps"`
}

const explainVersion = 1

// explainStep is one node's key and its components.
type explainStep struct {
	// ID matches a step across builds: "STAGE INDEX" from the progress
	// name ("builder 3", or "3" in an unnamed stage), else the name, else
	// the op kind.
	ID      string          `json:"id"`
	Name    string          `json:"name,omitempty"`
	Text    string          `json:"text,omitempty"` // the instruction, without the "[3/5] " prefix
	Kind    string          `json:"kind"`
	Own     string          `json:"own"` // the op's own key
	Key     string          `json:"key"` // with the inputs' keys
	Fields  []ops.Field     `json:"fields,omitempty"`
	Inputs  []explainInput  `json:"inputs,omitempty"`
	Sources []explainSource `json:"sources,omitempty"`
}

type explainInput struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

type explainSource struct {
	Path   string `json:"path"`
	Digest string `json:"digest"`
}

// stepID splits a progress name "[builder 3/5] RUN make" into the ID
// "builder 3" and the text "RUN make". Names without a step number
// ("[internal] load build context") are their own ID.
func stepID(name string) (id, text string) {
	if !strings.HasPrefix(name, "[") {
		return name, name
	}
	end := strings.Index(name, "] ")
	if end < 0 {
		return name, name
	}
	inside, text := name[1:end], name[end+2:]
	fields := strings.Fields(inside)
	if len(fields) == 0 {
		return name, text
	}
	num, _, ok := strings.Cut(fields[len(fields)-1], "/")
	if _, err := strconv.Atoi(num); !ok || err != nil {
		return name, text
	}
	fields[len(fields)-1] = num
	return strings.Join(fields, " "), text
}

// stage is the stage part of a step ID ("" for an unnamed stage).
func stage(id string) string {
	i := strings.LastIndexByte(id, ' ')
	if i < 0 {
		return ""
	}
	return id[:i]
}

// describeInput names an input step in "input (step 3 changed)".
func describeInput(id string) string {
	last := id[strings.LastIndexByte(id, ' ')+1:]
	if _, err := strconv.Atoi(last); err == nil {
		return "step " + id
	}
	return id
}

// match finds s's counterpart in the last build: the same position with
// the same instruction, else the same instruction in the same stage
// (steps were inserted or removed above it), else the same position.
func (r *explainRecord) match(s *explainStep) *explainStep {
	var samePos, sameText *explainStep
	texts := 0
	for _, o := range r.Steps {
		if o.ID == s.ID && o.Text == s.Text && o.Kind == s.Kind {
			return o
		}
		if o.ID == s.ID && samePos == nil {
			samePos = o
		}
		if o.Text == s.Text && o.Kind == s.Kind && stage(o.ID) == stage(s.ID) {
			sameText = o
			texts++
		}
	}
	if texts == 1 {
		return sameText
	}
	return samePos
}

// diffStep says which components of cur's key differ from old's, the
// same step in the last build. Files gives each step's per-file digests
// by source (nil when unknown).
func diffStep(old, cur *explainStep, oldFiles, curFiles [][]ops.FileDigest) []string {
	var out []string
	if old.Kind != cur.Kind {
		return []string{fmt.Sprintf("changed: instruction text `%s` (was `%s`)", cur.Text, old.Text)}
	}
	if old.Own != cur.Own {
		// The progress name has variables expanded: a text that differs
		// only through a build arg is not an edit of the instruction.
		textChanged := old.Text != cur.Text && textFieldsDiffer(old.Fields, cur.Fields)
		if textChanged {
			out = append(out, fmt.Sprintf("changed: instruction text `%s` (was `%s`)", cur.Text, old.Text))
		}
		out = append(out, diffFields(old.Fields, cur.Fields, textChanged)...)
		out = append(out, diffSources(old, cur, oldFiles, curFiles)...)
		if len(out) == 0 {
			what := "step definition"
			if cur.Kind == "http" {
				what = "downloaded content"
			}
			out = append(out, fmt.Sprintf("changed: %s (own key %s → %s)", what, short(old.Own), short(cur.Own)))
		}
	}
	if len(old.Inputs) != len(cur.Inputs) {
		return append(out, fmt.Sprintf("changed: inputs (%d → %d)", len(old.Inputs), len(cur.Inputs)))
	}
	for i, in := range cur.Inputs {
		if old.Inputs[i].Key != in.Key {
			out = append(out, fmt.Sprintf("changed: input (%s changed)", describeInput(in.ID)))
		}
	}
	return out
}

func textFieldsDiffer(old, cur []ops.Field) bool {
	var o, c []ops.Field
	for _, f := range old {
		if f.Text {
			o = append(o, f)
		}
	}
	for _, f := range cur {
		if f.Text {
			c = append(c, f)
		}
	}
	return !slices.Equal(o, c)
}

// diffFields compares the op fields; with textChanged, fields spelled in
// the instruction are already covered by the instruction text line.
func diffFields(old, cur []ops.Field, textChanged bool) []string {
	var out []string
	oldBy := map[string]string{}
	for _, f := range old {
		oldBy[f.Name] = f.Value
	}
	seen := map[string]bool{}
	for _, f := range cur {
		seen[f.Name] = true
		was, had := oldBy[f.Name]
		if (had && was == f.Value) || (textChanged && f.Text) || (!had && f.Value == "" && !strings.HasPrefix(f.Name, "env ")) {
			continue
		}
		out = append(out, fieldLine(f.Name, was, f.Value, had, true))
	}
	for _, f := range old {
		if !seen[f.Name] && !(textChanged && f.Text) {
			out = append(out, fieldLine(f.Name, f.Value, "", true, false))
		}
	}
	return out
}

func fieldLine(name, was, now string, had, has bool) string {
	q := func(v string, set bool) string {
		if !set {
			return "(unset)"
		}
		return strconv.Quote(v)
	}
	switch {
	case strings.HasPrefix(name, "env "):
		return fmt.Sprintf("changed: build arg/env %s: %s → %s", strings.TrimPrefix(name, "env "), q(was, had), q(now, has))
	case name == "base image digest":
		return fmt.Sprintf("changed: base image digest %s → %s", short(was), short(now))
	}
	return fmt.Sprintf("changed: %s: %s → %s", name, q(was, had), q(now, has))
}

// diffSources names the files whose digests changed, per source; a
// source without file lists is reported by its aggregate digest.
func diffSources(old, cur *explainStep, oldFiles, curFiles [][]ops.FileDigest) []string {
	var out []string
	for i, s := range cur.Sources {
		j := i
		if j >= len(old.Sources) || old.Sources[j].Path != s.Path {
			j = -1
			for k, o := range old.Sources {
				if o.Path == s.Path {
					j = k
					break
				}
			}
		}
		if j < 0 || old.Sources[j].Digest == s.Digest {
			continue // a new source is an instruction change
		}
		if j < len(oldFiles) && i < len(curFiles) && oldFiles[j] != nil && curFiles[i] != nil {
			if l := diffFiles(oldFiles[j], curFiles[i]); len(l) > 0 {
				line := "changed: " + l[0]
				if len(l) > 1 {
					line += fmt.Sprintf(" (+%d more files)", len(l)-1)
				}
				out = append(out, line)
				continue
			}
		}
		out = append(out, fmt.Sprintf("changed: content of %s %s → %s", s.Path, short(old.Sources[j].Digest), short(s.Digest)))
	}
	return out
}

// diffFiles lists changed files in cur's order, then added ones, then
// removed ones in old's order.
func diffFiles(old, cur []ops.FileDigest) []string {
	oldBy := make(map[string]ops.FileDigest, len(old))
	for _, f := range old {
		oldBy[f.Path] = f
	}
	var out, added []string
	seen := make(map[string]bool, len(cur))
	for _, f := range cur {
		seen[f.Path] = true
		o, ok := oldBy[f.Path]
		switch {
		case !ok:
			added = append(added, f.Path+" added")
		case o.Mode.Type() != f.Mode.Type():
			out = append(out, fmt.Sprintf("%s type %s → %s", f.Path, o.Mode.Type(), f.Mode.Type()))
		case o.Value != f.Value:
			if f.Mode&fs.ModeSymlink != 0 {
				out = append(out, fmt.Sprintf("%s link target %q → %q", f.Path, o.Value, f.Value))
			} else {
				out = append(out, fmt.Sprintf("%s sha256:%s → sha256:%s", f.Path, short(o.Value), short(f.Value)))
			}
		case o.Mode != f.Mode:
			out = append(out, fmt.Sprintf("%s mode %v → %v", f.Path, o.Mode, f.Mode))
		}
	}
	out = append(out, added...)
	for _, f := range old {
		if !seen[f.Path] {
			out = append(out, f.Path+" removed")
		}
	}
	return out
}

// short abbreviates a digest ("sha256:" kept if present) to 12 hex
// digits and an ellipsis.
func short(d string) string {
	prefix, hex, ok := strings.Cut(d, ":")
	if !ok {
		prefix, hex = "", d
	} else {
		prefix += ":"
	}
	if len(hex) <= 12 {
		return d
	}
	return prefix + hex[:12] + "…"
}
