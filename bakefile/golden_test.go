package bakefile

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the want section of testdata/*.txt")

// Each testdata/*.txt case is a txtar-like archive: input files, a
// "cmd" section (lines "files NAME...", "targets NAME...", "set VALUE",
// "env K=V", "list WHAT", "dir DIR"), and "want": the --print JSON, the
// --list output, or "error: " and the error.
func TestGolden(t *testing.T) {
	cases, _ := filepath.Glob("testdata/*.txt")
	if len(cases) == 0 {
		t.Fatal("no testdata/*.txt cases")
	}
	for _, path := range cases {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			sections := parseArchive(string(src))
			abs, _ := filepath.Abs(path)
			dir := t.TempDir()
			var cmd, want string
			for _, s := range sections {
				switch s.name {
				case "cmd":
					cmd = s.data
				case "want":
					want = s.data
				default:
					p := filepath.Join(dir, s.name)
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(p, []byte(s.data), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			t.Chdir(dir)
			got := run(t, cmd)
			if *update {
				var b strings.Builder
				for _, s := range sections {
					if s.name == "want" {
						continue
					}
					b.WriteString("-- " + s.name + " --\n" + s.data)
				}
				b.WriteString("-- want --\n" + got)
				if err := os.WriteFile(abs, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != want {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func run(t *testing.T, cmd string) string {
	var files, targets []string
	var list, dir string
	o := Options{Env: map[string]string{}}
	for _, line := range strings.Split(cmd, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch k {
		case "":
		case "files":
			files = strings.Fields(v)
		case "targets":
			targets = strings.Fields(v)
		case "set":
			o.Overrides = append(o.Overrides, v)
		case "env":
			ek, ev, _ := strings.Cut(v, "=")
			o.Env[ek] = ev
		case "list":
			list = v
		case "dir":
			dir = v
		default:
			t.Fatalf("cmd: unknown line %q", line)
		}
	}
	o.Dir = "."
	fs, err := ReadLocalFiles(files, dir, strings.NewReader(""))
	if err != nil {
		return "error: " + err.Error() + "\n"
	}
	var out bytes.Buffer
	if list != "" {
		err = List(&out, fs, o, list)
	} else {
		var c *Config
		c, err = Load(fs, targets, o)
		if err == nil {
			err = c.Print(&out)
			out.WriteString("requested: " + strings.Join(c.Requested, " ") + "\n")
		}
	}
	if err != nil {
		return "error: " + err.Error() + "\n"
	}
	return out.String()
}

type section struct{ name, data string }

func parseArchive(s string) []section {
	var out []section
	for _, line := range strings.SplitAfter(s, "\n") {
		if strings.HasPrefix(line, "-- ") && strings.HasSuffix(strings.TrimRight(line, "\n"), " --") {
			name := strings.TrimSuffix(strings.TrimPrefix(strings.TrimRight(line, "\n"), "-- "), " --")
			out = append(out, section{name: name})
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].data += line
		}
	}
	return out
}
