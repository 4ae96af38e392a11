package frontend

import (
	"bytes"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// BaseImage is an image a FROM line names (not a stage, not scratch), as
// gorae bake matches it against other targets' tags.
type BaseImage struct {
	Ref  string // with the global ARGs expanded (build args over defaults)
	Line int
}

// BaseImages lists the images the Dockerfile's stages start FROM, in
// order, each once: every stage's, not only the target's, since whether
// a stage is needed depends on more than its name (COPY --from, mounts).
// An unset variable expands to nothing, as in a build ("golang:" for
// golang:$GOVERSION): the caller ignores refs that are not valid names.
func BaseImages(file string, src []byte, buildArgs map[string]string) ([]BaseImage, error) {
	stages, metaArgs, err := parseStages(file, src)
	if err != nil {
		return nil, err
	}
	ast, _ := parser.Parse(bytes.NewReader(src))
	lex := shell.NewLex(ast.EscapeToken)
	env := mapEnv{}
	for _, c := range metaArgs {
		for _, kv := range c.Args {
			if v, ok := buildArgs[kv.Key]; ok {
				env[kv.Key] = v
			} else if kv.Value != nil {
				res, err := lex.ProcessWordWithMatches(*kv.Value, env)
				if err != nil {
					return nil, newSource(file, src).errorf(startLine(c.Location()), "%v", err)
				}
				env[kv.Key] = res.Result
			}
		}
	}
	names := map[string]bool{}
	seen := map[string]bool{}
	var out []BaseImage
	for _, s := range stages {
		line := startLine(s.Location)
		res, err := lex.ProcessWordWithMatches(s.BaseName, env)
		if err != nil {
			return nil, newSource(file, src).errorf(line, "%v", err)
		}
		ref := res.Result
		switch {
		case names[strings.ToLower(ref)], ref == "scratch", ref == "", seen[ref]:
		default:
			seen[ref] = true
			out = append(out, BaseImage{Ref: ref, Line: line})
		}
		if s.Name != "" {
			names[strings.ToLower(s.Name)] = true
		}
	}
	return out, nil
}
