package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/registry"
	"github.com/gorae/gorae/root"
	"github.com/gorae/gorae/store"
)

// withRoot opens $GORAE_ROOT for one command and closes it afterwards.
func withRoot(fn func(*root.Root) error) error {
	r, err := openRoot()
	if err != nil {
		return err
	}
	defer r.Close()
	// A pull, load or import that fills the disk says so.
	return ops.CheckSpace(fn(r), r.Dir)
}

// openRoot opens $GORAE_ROOT and says its notice, if it has one.
func openRoot() (*root.Root, error) {
	r, err := root.Open(root.Default())
	if err != nil {
		return nil, err
	}
	if r.Notice != "" {
		fmt.Fprintf(os.Stderr, "gorae: %s\n", r.Notice)
	}
	return r, nil
}

func runImages(ctx context.Context, args []string) error {
	fs := newFlags("images", "[OPTIONS]")
	quiet := fs.BoolP("quiet", "q", false, "print only digests")
	if err := parse(fs, args); err != nil {
		return err
	}
	return withRoot(func(root *root.Root) error {
		list, err := root.Images.List(ctx)
		if err != nil {
			return err
		}
		if *quiet {
			for _, im := range list {
				fmt.Println(im.Digest)
			}
			return nil
		}
		return writeImages(os.Stdout, list, time.Now())
	})
}

// writeImages writes the table of gorae images.
func writeImages(w io.Writer, list []store.Image, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDIGEST\tCREATED\tSIZE\tPLATFORMS")
	for _, im := range list {
		if im.Name == "" {
			im.Name = "<none>"
		}
		platforms := strings.Join(im.Platforms, ",")
		if platforms == "" {
			platforms = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", im.Name, im.Digest.Hex[:12], agoAt(im.Created, now), humanSize(im.Size), platforms)
	}
	return tw.Flush()
}

func runTag(ctx context.Context, args []string) error {
	fs := newFlags("tag", "SOURCE TARGET")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("tag needs SOURCE and TARGET, e.g. gorae tag app app:1.0")
	}
	if err := checkNames(fs.Arg(0)); err != nil {
		return err
	}
	if err := checkTag(fs.Arg(1)); err != nil {
		return usagef("invalid TARGET: %v", err)
	}
	return withRoot(func(root *root.Root) error {
		return root.Images.Tag(ctx, fs.Arg(0), fs.Arg(1))
	})
}

func runRmi(ctx context.Context, args []string) error {
	fs := newFlags("rmi", "NAME...")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("rmi needs at least one image name")
	}
	if err := checkNames(fs.Args()...); err != nil {
		return err
	}
	return withRoot(func(root *root.Root) error {
		for _, ref := range fs.Args() {
			if err := root.Images.Remove(ctx, ref); err != nil {
				return err
			}
			fmt.Printf("Untagged: %s\n", ref)
		}
		return nil
	})
}

func ago(t time.Time) string { return agoAt(t, time.Now()) }

// agoAt says how long before now t was, as docker images does: "just
// now", "1 minute ago", "5 hours ago", "3 days ago".
func agoAt(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	count := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit + " ago"
		}
		return fmt.Sprintf("%d %ss ago", n, unit)
	}
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return count(int(d.Minutes()), "minute")
	case d < 48*time.Hour:
		return count(int(d.Hours()), "hour")
	}
	return count(int(d.Hours()/24), "day")
}

func humanSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	div, exp := int64(unit), 0
	for v := n / unit; v >= unit; v /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f%cB", float64(n)/float64(div), "kMGTPE"[exp])
}

// checkNames checks, before any work, that every ref is a valid image
// reference: a malformed name is a bad command line (exit 2), whichever
// command it is given to, as for -t and tag's TARGET.
func checkNames(refs ...string) error {
	for _, ref := range refs {
		if _, err := registry.Normalize(ref); err != nil {
			return usageError{err}
		}
	}
	return nil
}

// checkTag checks that ref can name an image: a valid reference, by tag
// (a digest names content and cannot be given to other content).
func checkTag(ref string) error {
	n, err := registry.Normalize(ref)
	if err != nil {
		return err
	}
	if strings.Contains(n, "@") {
		return fmt.Errorf("%q names a digest; name the image with a tag, e.g. app:1.0", ref)
	}
	return nil
}
