// Command gorae builds container images from Dockerfiles without a daemon.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/gorae/gorae/root"
	"github.com/gorae/gorae/rootless"
	"github.com/gorae/gorae/runner"
	"github.com/gorae/gorae/solver"
)

// usageError marks a bad command line (exit code 2).
type usageError struct{ error }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string) error
}

func commands() []command {
	return []command{
		{"build", "Build an image from a Dockerfile", runBuild},
		{"bake", "Build the targets of compose and bake files together", runBake},
		{"run", "Run a command in a new container from an image", runRun},
		{"images", "List images in the local store", runImages},
		{"tag", "Give an image another name", runTag},
		{"rmi", "Remove image names from the local store", runRmi},
		{"inspect", "Show an image's manifest and config", runInspect},
		{"diff", "Show why two images differ (config field, layer, file)", runDiff},
		{"pull", "Pull an image into the local store", runPull},
		{"push", "Push an image from the local store", runPush},
		{"save", "Write images to a docker-load tar", runSave},
		{"load", "Load images from a docker or OCI tar", runLoad},
		{"import", "Make an image from a root filesystem tar", runImport},
		{"prune", "Remove build cache and unused data", runPrune},
		{"du", "Show disk usage of the gorae root", runDu},
		{"login", "Log in to a registry (Docker's config.json and credential helpers)", runLogin},
		{"logout", "Log out from a registry", runLogout},
		{"version", "Show the gorae version", runVersion},
	}
}

func main() {
	// A re-exec of this binary as a RUN sandbox's init never returns.
	if runner.Main() {
		return
	}
	// Without root, gorae re-executes itself in a user namespace, where
	// it is root (see docs/rootless.md).
	child, err := rootless.Child()
	if err != nil {
		fmt.Fprintf(os.Stderr, "gorae: %v\n", err)
		os.Exit(1)
	}
	if !child && os.Geteuid() != 0 && needsRoot(os.Args[1:]) {
		if os.Args[1] == "build" {
			// A rebuild with every step cached needs no namespace.
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			err := buildOutside(ctx, os.Args[2:])
			if !errors.Is(err, errNeedsNamespace) {
				// Before stop, which cancels ctx: a failure is not an
				// interruption.
				code := exitCode(ctx, err)
				stop()
				os.Exit(code)
			}
			stop()
		}
		code, err := rootless.Run(rootless.Options{Root: root.Default(), Warn: func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "gorae: WARNING: "+format+"\n", args...)
		}})
		if err != nil {
			fmt.Fprintf(os.Stderr, "gorae: %v\n", err)
			code = 1
		}
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	endProfile := startProfile()
	err = dispatch(ctx, os.Args[1:])
	code := exitCode(ctx, err)
	stop()
	endProfile()
	os.Exit(code)
}

// needsRoot reports whether the command in args uses the gorae root (all
// but version, help and unknown commands).
func needsRoot(args []string) bool {
	if len(args) == 0 || args[0] == "version" || args[0] == "login" || args[0] == "logout" {
		return false
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return true
		}
	}
	return false
}

func dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(os.Stdout)
		if len(args) == 0 {
			return usageError{errors.New("no command given")}
		}
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:])
		}
	}
	return usagef("unknown command %q: run 'gorae --help' for the list of commands", args[0])
}

func printUsage(w *os.File) {
	fmt.Fprintln(w, "Usage: gorae COMMAND [OPTIONS]\n\ngorae builds OCI images from Dockerfiles, without a daemon.\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'gorae COMMAND --help' for a command's options.")
}

func exitCode(ctx context.Context, err error) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, pflag.ErrHelp) {
		return 0
	}
	// gorae run passes on its command's exit code, even after a Ctrl-C
	// that the command handled.
	var st exitStatus
	if errors.As(err, &st) {
		if st.err != nil {
			fmt.Fprintf(os.Stderr, "gorae: %v\n", st.err)
		}
		return st.code
	}
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "gorae: interrupted")
		return 130
	}
	fmt.Fprintf(os.Stderr, "gorae: %s\n", shortenPaths(stepless(err)))
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// newFlags returns a flag set for one command; parse errors are usage errors.
func newFlags(name, usage string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: gorae %s %s\n\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

func parse(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return usageError{fmt.Errorf("%s: %w (see 'gorae %s --help')", fs.Name(), err, fs.Name())}
	}
	return nil
}

// position is how an error that names its Dockerfile line starts:
// "Dockerfile:2: ", "build/app.Dockerfile:14: ".
var position = regexp.MustCompile(`^[^\s:]+:\d+: `)

// stepless is err's message without the failed step's name in front when
// the rest already names the Dockerfile line: "Dockerfile:2: RUN …"
// rather than "[2/2] RUN …: Dockerfile:2: RUN …". The step's name is in
// the progress output above it.
func stepless(err error) string {
	msg := err.Error()
	var ve *solver.VertexError
	if errors.As(err, &ve) {
		if rest, ok := strings.CutPrefix(msg, ve.Vertex+": "); ok && position.MatchString(rest) {
			return rest
		}
	}
	return msg
}
