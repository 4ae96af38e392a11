package bakefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// File is one input file: a Compose file or a bake file (HCL or JSON).
type File struct {
	Name string
	Data []byte
}

// DefaultFilenames is buildx's lookup order when no -f is given: Compose's
// own default names first, then the bake files. Every one that exists is
// read, and they merge in this order (later overrides earlier).
var DefaultFilenames = []string{
	"compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml",
	"docker-bake.json", "docker-bake.hcl",
	"docker-bake.override.json", "docker-bake.override.hcl",
}

// ReadLocalFiles reads the -f files in order ("-" reads stdin), or, with
// no names, every default file that exists in dir. A named file that is
// missing is an error; so is finding no default file at all.
func ReadLocalFiles(names []string, dir string, stdin io.Reader) ([]File, error) {
	if len(names) == 0 {
		return readDefaults(dir)
	}
	out := make([]File, 0, len(names))
	for _, n := range names {
		if n == "-" {
			if stdin == nil {
				return nil, errors.New("-f -: no standard input to read the bake file from")
			}
			dt, err := io.ReadAll(stdin)
			if err != nil {
				return nil, fmt.Errorf("-f -: reading standard input: %w", err)
			}
			out = append(out, File{Name: "-", Data: dt})
			continue
		}
		dt, err := os.ReadFile(n)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("-f %s: bake file not found", n)
			}
			return nil, fmt.Errorf("-f %s: %w", n, err)
		}
		out = append(out, File{Name: n, Data: dt})
	}
	return out, nil
}

func readDefaults(dir string) ([]File, error) {
	var out []File
	for _, n := range DefaultFilenames {
		p := n
		if dir != "" && dir != "." {
			p = filepath.Join(dir, n)
		}
		dt, err := os.ReadFile(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, err
		}
		out = append(out, File{Name: shortName(p), Data: dt})
	}
	if len(out) == 0 {
		if dir == "" {
			dir = "."
		}
		return nil, fmt.Errorf("no bake file or compose file found in %s: looked for %s; name one with -f", dir, strings.Join(DefaultFilenames, ", "))
	}
	return out, nil
}

// shortName is p relative to the working directory when it is inside
// it, as buildx names the files it finds ("compose.yaml"): Compose
// contexts are relative to their file's directory, and --print shows
// them as written.
func shortName(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	rel, err := filepath.Rel(wd, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return p
	}
	return rel
}
