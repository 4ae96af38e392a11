package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gorae/gorae/internal/testutil"
)

// short is how --explain abbreviates the digest of content.
func short(content string) string {
	sum := sha256.Sum256([]byte(content))
	return "sha256:" + hex.EncodeToString(sum[:])[:12] + "…"
}

// stepLines returns the lines of a plain build log in the block of the
// step whose progress name starts with prefix ("[2/4] "), "#N " cut off.
func stepLines(log, prefix string) []string {
	for _, s := range plainSteps(log) {
		if strings.HasPrefix(s.name, prefix) {
			return s.lines
		}
	}
	return nil
}

// wantStep checks that the step's reasons ("cache miss: " cut off) and
// CACHED line are exactly want.
func wantStep(t *testing.T, log, prefix string, want ...string) {
	t.Helper()
	var got []string
	for _, l := range stepLines(log, prefix) {
		if reason, ok := strings.CutPrefix(l, "cache miss: "); ok {
			got = append(got, reason)
		} else if l == "CACHED" {
			got = append(got, "CACHED")
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("step %s: got\n  %s\nwant\n  %s\nlog:\n%s", prefix, strings.Join(got, "\n  "), strings.Join(want, "\n  "), log)
	}
}

var fromDigest = regexp.MustCompile(`\[1/4\] FROM \S+@(sha256:[0-9a-f]{64})`)

func TestExplainNamesWhatChanged(t *testing.T) {
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile": "FROM busybox\nARG V=1\nCOPY src/ /app/\nRUN echo $V > /v\nRUN cat /app/a.txt\n",
		"src/a.txt":  "one\n",
		"src/b.txt":  "two\n",
	})
	build := func(args ...string) string {
		t.Helper()
		return g.Must(t, dir, append(append([]string{"build", "--explain", "--progress=plain"}, args...), ".")...).Stderr
	}
	log := build()
	wantStep(t, log, "[2/4] ", "new step (no earlier build of this target)")
	m := fromDigest.FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("no FROM digest in\n%s", log)
	}

	// Warm: nothing but CACHED, no reasons.
	log = build()
	for _, s := range plainSteps(log) {
		if strings.HasPrefix(s.name, "[") && !strings.HasPrefix(s.name, "[internal]") && s.end() != "CACHED" {
			t.Errorf("warm rebuild: %q ended %q; want only CACHED steps:\n%s", s.name, s.end(), log)
		}
		if slices.ContainsFunc(s.lines, func(l string) bool { return strings.HasPrefix(l, "cache miss: ") }) {
			t.Errorf("warm rebuild gave a reason for %q:\n%s", s.name, log)
		}
	}

	// One context file edited: the COPY names it with both digests, the
	// steps below it name their changed input, FROM is cached.
	testutil.WriteFiles(t, dir, map[string]string{"src/a.txt": "ONE\n"})
	log = build()
	wantStep(t, log, "[1/4] ", "CACHED")
	wantStep(t, log, "[2/4] ", "changed: src/a.txt "+short("one\n")+" → "+short("ONE\n"))
	wantStep(t, log, "[3/4] ", "changed: input (step 2 changed)")
	wantStep(t, log, "[4/4] ", "changed: input (step 3 changed)")

	// A build arg: the RUN that sees it names it with both values.
	log = build("--build-arg", "V=2")
	wantStep(t, log, "[2/4] ", "CACHED")
	wantStep(t, log, "[3/4] ", `changed: build arg/env V: "1" → "2"`)

	// The base image re-imported under the same name.
	g.Must(t, ".", "import", "-c", `CMD ["true"]`, testutil.BusyboxTar(t), "busybox")
	log = build("--build-arg", "V=2")
	n := fromDigest.FindStringSubmatch(log)
	if n == nil || n[1] == m[1] {
		t.Fatalf("re-import did not change the base digest %s:\n%s", m[1], log)
	}
	wantStep(t, log, "[1/4] ", "changed: base image digest "+m[1][:19]+"… → "+n[1][:19]+"…")
	wantStep(t, log, "[2/4] ", "changed: input (step 1 changed)")

	// The instruction text edited.
	testutil.WriteFiles(t, dir, map[string]string{
		"Dockerfile": "FROM busybox\nARG V=1\nCOPY src/ /app/\nRUN echo $V > /v\nRUN cat /app/b.txt\n",
	})
	log = build("--build-arg", "V=2")
	wantStep(t, log, "[3/4] ", "CACHED")
	wantStep(t, log, "[4/4] ", "changed: instruction text `RUN cat /app/b.txt` (was `RUN cat /app/a.txt`)")

	// --no-cache looks nothing up.
	log = build("--build-arg", "V=2", "--no-cache")
	wantStep(t, log, "[4/4] ", "not looked up (--no-cache)")
}

// TestExplainQuietWithoutFlag: plain builds print no reasons unless
// asked; json builds carry them as "changed" on the step.
func TestExplainQuietWithoutFlag(t *testing.T) {
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nCOPY a.txt /\n", "a.txt": "1"})
	g.Must(t, dir, "build", "-q", ".")
	testutil.WriteFiles(t, dir, map[string]string{"a.txt": "2"})
	if r := g.Must(t, dir, "build", "--progress=plain", "."); strings.Contains(r.Stderr, "cache miss: ") {
		t.Errorf("plain build without --explain printed reasons:\n%s", r.Stderr)
	}
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("3"), 0o644)
	r := g.Must(t, dir, "build", "--progress=json", ".")
	found := false
	for _, l := range strings.Split(strings.TrimSpace(r.Stderr), "\n") {
		var ev struct {
			Step    string   `json:"step"`
			Changed []string `json:"changed"`
		}
		if json.Unmarshal([]byte(l), &ev) == nil && ev.Step == "[2/2] COPY a.txt /" && len(ev.Changed) > 0 {
			found = true
			if want := "a.txt " + short("2") + " → " + short("3"); ev.Changed[0] != want {
				t.Errorf("changed %q, want %q", ev.Changed, want)
			}
		}
	}
	if !found {
		t.Errorf("no changed event for the COPY:\n%s", r.Stderr)
	}
}
