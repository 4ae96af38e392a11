package kubejob

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// kubectl runs the kubectl binary of o. Every call names the namespace
// explicitly, so the Jobs do not depend on the current context's default
// once a namespace is given.
type kubectl struct {
	bin       string
	global    []string
	namespace string
}

// run runs `kubectl GLOBAL ARGS [--namespace NS]` with stdin and
// returns its standard output; a failure carries kubectl's standard
// error.
func (k kubectl) run(ctx context.Context, stdin io.Reader, args ...string) ([]byte, error) {
	full := append(append([]string(nil), k.global...), args...)
	if k.namespace != "" {
		full = append(full, "--namespace="+k.namespace)
	}
	cmd := exec.CommandContext(ctx, k.bin, full...)
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		if _, ok := err.(*exec.Error); ok {
			msg += " (install kubectl and put it on PATH)"
		}
		return nil, fmt.Errorf("kubectl %s: %s", strings.Join(args, " "), msg)
	}
	return out.Bytes(), nil
}

// getJSON runs a `kubectl get … -o json` and decodes its output into v.
func (k kubectl) getJSON(ctx context.Context, v any, args ...string) error {
	out, err := k.run(ctx, nil, append(append([]string{"get"}, args...), "-o", "json")...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(out, v); err != nil {
		return fmt.Errorf("kubectl get %s: unreadable JSON: %w", strings.Join(args, " "), err)
	}
	return nil
}
