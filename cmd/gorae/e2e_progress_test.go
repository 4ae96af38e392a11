package main

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gorae/gorae/internal/testutil"
)

// grepStep returns the lines of log that start with "#N ", as
// `grep '^#N '` does.
func grepStep(log, num string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.HasPrefix(l, "#"+num+" ") {
			out = append(out, l)
		}
	}
	return out
}

var outputLine = regexp.MustCompile(`^#\d+ (\d+\.\d+) (.*)$`)

// TestPlainProgressParallelStages: without a terminal the progress is
// plain, as BuildKit prints it: every step a numbered block, numbers
// given in order; grepping one step's number out of a build whose two
// stages print at the same time gives that step's header, its own
// lines in order with the seconds since it started, and DONE last.
func TestPlainProgressParallelStages(t *testing.T) {
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": `FROM busybox AS a
RUN for i in 1 2 3 4 5; do echo a-line-$i; sleep 0.3; done; echo a > /a
FROM busybox AS b
RUN for i in 1 2 3 4 5; do echo b-line-$i; sleep 0.3; done; echo b > /b
FROM busybox
COPY --from=a /a /a
COPY --from=b /b /b
`})
	r := g.Must(t, dir, "build", "-t", "parallel", ".") // stderr is a pipe: plain
	log := r.Stderr

	// Numbers are given in the order steps first show, from 1.
	seen := map[string]bool{}
	next := 1
	for _, l := range strings.Split(log, "\n") {
		m := plainLineRE.FindStringSubmatch(l)
		if m == nil || seen[m[1]] {
			continue
		}
		seen[m[1]] = true
		if m[1] != strconv.Itoa(next) {
			t.Fatalf("step #%s shown where #%d was due:\n%s", m[1], next, log)
		}
		next++
	}
	if s := plainSteps(log); len(s) == 0 || s[0].name != "[internal] load build definition from Dockerfile" {
		t.Errorf("the first step is not loading the Dockerfile:\n%s", log)
	}

	for _, stage := range []string{"a", "b"} {
		other := map[string]string{"a": "b", "b": "a"}[stage]
		st := findStep(log, "echo "+stage+"-line-")
		if st == nil {
			t.Fatalf("no step of stage %s:\n%s", stage, log)
		}
		lines := grepStep(log, st.num)
		header := "#" + st.num + " [" + stage + " 2/2] RUN for i in 1 2 3 4 5; do echo " + stage + "-line-$i; sleep 0.3; done; echo " + stage + " > /" + stage
		if lines[0] != header {
			t.Errorf("grep #%s starts with %q, want %q", st.num, lines[0], header)
		}
		var got []string
		last := -1.0
		for i, l := range lines[1:] {
			switch {
			case l == header || l == "#"+st.num+" ...": // left and resumed
			case strings.HasPrefix(l, "#"+st.num+" DONE "):
				if i != len(lines)-2 {
					t.Errorf("DONE is not the last line of #%s:\n%s", st.num, strings.Join(lines, "\n"))
				}
			default:
				m := outputLine.FindStringSubmatch(l)
				if m == nil {
					t.Errorf("unexpected line %q in #%s", l, st.num)
					continue
				}
				sec, _ := strconv.ParseFloat(m[1], 64)
				if sec < last {
					t.Errorf("#%s: time went back at %q", st.num, l)
				}
				last = sec
				got = append(got, m[2])
			}
		}
		want := []string{}
		for i := 1; i <= 5; i++ {
			want = append(want, stage+"-line-"+strconv.Itoa(i))
		}
		if !slices.Equal(got, want) {
			t.Errorf("grep #%s output %q, want %q:\n%s", st.num, got, want, log)
		}
		if last < 1.2 { // four sleeps of 0.3s before the last line
			t.Errorf("#%s: last line at %.3fs, want the time since the step started (>= 1.2s)", st.num, last)
		}
		if done := lines[len(lines)-1]; !regexp.MustCompile(`^#\d+ DONE \d+\.\ds$`).MatchString(done) {
			t.Errorf("grep #%s ends with %q, want DONE and the duration", st.num, done)
		}
		if strings.Contains(strings.Join(lines, "\n"), other+"-line-") {
			t.Errorf("grep #%s holds lines of stage %s:\n%s", st.num, other, strings.Join(lines, "\n"))
		}
	}

	exp := findStep(log, "exporting to image")
	if exp == nil || !slices.Contains(exp.lines, "naming to docker.io/library/parallel:latest done") || !strings.HasPrefix(exp.end(), "DONE ") {
		t.Errorf("no exporting block naming the image:\n%s", log)
	}
	if !regexp.MustCompile(`\n#\d+ DONE \d+\.\ds\n\nbuilt sha256:[0-9a-f]{64} in \d+\.\ds\n`).MatchString(log) {
		t.Errorf("the summary does not follow the last block, set off by a blank line:\n%s", log)
	}

	// A rebuild: the last steps CACHED, each in its own block, and
	// nothing below them.
	r = g.Must(t, dir, "build", "--progress=plain", "-t", "parallel", ".")
	for _, instr := range []string{"COPY --from=a", "COPY --from=b"} {
		if st := findStep(r.Stderr, instr); st == nil || !slices.Equal(st.lines, []string{"CACHED"}) {
			t.Errorf("rebuild: %q is not a block that says CACHED:\n%s", instr, r.Stderr)
		}
	}
	if strings.Contains(r.Stderr, "-line-") {
		t.Errorf("rebuild shows steps below the cached ones:\n%s", r.Stderr)
	}
}

// TestPlainProgressError: a failing step shows its output and ends with
// ERROR and the error in one line; a parallel step stopped because of it
// ends CANCELED; the full error follows.
func TestPlainProgressError(t *testing.T) {
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": `FROM busybox AS slow
RUN sleep 30
FROM busybox AS bad
RUN echo about to fail; sleep 0.3; exit 3
FROM busybox
COPY --from=slow /etc/passwd /s
COPY --from=bad /etc/passwd /b
`})
	r := g.Run(t, dir, "build", "--progress=plain", ".")
	if r.Code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", r.Code, r.Stderr)
	}
	bad := findStep(r.Stderr, "RUN echo about to fail")
	if bad == nil {
		t.Fatalf("no block for the failing step:\n%s", r.Stderr)
	}
	want := "ERROR: Dockerfile:4: RUN /bin/sh -c echo about to fail; sleep 0.3; exit 3: exit code 3"
	if len(bad.lines) != 2 || !outputLine.MatchString("#0 "+bad.lines[0]) || !strings.HasSuffix(bad.lines[0], " about to fail") || bad.lines[1] != want {
		t.Errorf("failing step's block %q, want its output line, then %q:\n%s", bad.lines, want, r.Stderr)
	}
	if slow := findStep(r.Stderr, "RUN sleep 30"); slow == nil || slow.end() != "CANCELED" {
		t.Errorf("the parallel step did not end CANCELED:\n%s", r.Stderr)
	}
	if !strings.Contains(r.Stderr, "\ngorae: Dockerfile:4: RUN /bin/sh -c echo about to fail; sleep 0.3; exit 3: exit code 3; last lines of its output:\n    about to fail\n") {
		t.Errorf("the full error does not follow:\n%s", r.Stderr)
	}
}

// TestPlainProgressBuildChecks: the build checks' warnings read as in a
// BuildKit log: "#1 WARN: RULE: MESSAGE (line N)" in the block of the
// Dockerfile's step (which ends as it did), and buildx's summary after
// the steps, one " - RULE: MESSAGE (line N)" each.
func TestPlainProgressBuildChecks(t *testing.T) {
	g := newGorae(t)
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox as base\nENV A b\nRUN true\n"})
	r := g.Must(t, dir, "build", "--progress=plain", ".")
	fromAs := "FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 1)"
	legacy := `LegacyKeyValueFormat: "ENV key=value" should be used instead of legacy "ENV key value" format (line 2)`
	def := grepStep(r.Stderr, "1")
	for _, want := range []string{"#1 WARN: " + fromAs, "#1 WARN: " + legacy} {
		if !slices.Contains(def, want) {
			t.Errorf("step #1 lacks %q:\n%s", want, strings.Join(def, "\n"))
		}
	}
	if len(def) == 0 || !strings.HasPrefix(def[len(def)-1], "#1 DONE ") || !strings.HasPrefix(def[0], "#1 [internal] load build definition from Dockerfile") {
		t.Errorf("step #1 does not read as a step:\n%s", strings.Join(def, "\n"))
	}
	summary := "\n 2 warnings found (gorae build --check explains them):\n - " + fromAs + "\n - " + legacy + "\nbuilt sha256:"
	if !strings.Contains(r.Stderr, summary) {
		t.Errorf("no buildx summary %q at the end:\n%s", summary, r.Stderr)
	}
	if strings.Contains(r.Stderr, "WARNING: Dockerfile") {
		t.Errorf("a build check is also printed as a WARNING line:\n%s", r.Stderr)
	}
}
