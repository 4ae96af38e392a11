package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gorae/gorae/gc"
	"github.com/gorae/gorae/progress"
	"github.com/gorae/gorae/root"
)

func runPrune(ctx context.Context, args []string) error {
	fs := newFlags("prune", "[OPTIONS]")
	all := fs.Bool("all", false, "also remove every cache record, unpacked layer, cache mount, explain record, git checkout and remote context (the next build starts cold)")
	keep := fs.String("keep-storage", "", "then remove the least recently used cache data until the build cache (du's \"build cache\": not the images' own blobs) is at most this size (e.g. 10GB, 512MB)")
	filters := fs.StringArray("filter", nil, "also remove cache data last used more than DURATION ago: until=DURATION (e.g. until=24h)")
	fs.BoolP("force", "f", false, "do not prompt for confirmation (gorae never prompts; accepted for docker compatibility)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("prune takes no arguments, got %q", fs.Arg(0))
	}
	o := gc.PruneOptions{All: *all, Waiting: func() {
		fmt.Fprintln(os.Stderr, "waiting for the builds, pulls and containers using this gorae root to finish (Ctrl-C to give up)")
	}}
	if *keep != "" {
		n, err := gc.ParseSize(*keep)
		if err != nil {
			return usagef("--keep-storage: %v", err)
		}
		o.KeepStorage = n
	}
	for _, f := range *filters {
		d, err := parseUntil(f)
		if err != nil {
			return err
		}
		o.Until = d
	}
	return withRoot(func(root *root.Root) error {
		freed, err := gc.Prune(ctx, root, o)
		if err != nil {
			return err
		}
		fmt.Printf("Total reclaimed space: %s\n", progress.FormatSize(freed))
		return nil
	})
}

// parseUntil parses a --filter value; only until=DURATION is supported.
func parseUntil(f string) (time.Duration, error) {
	k, v, ok := strings.Cut(f, "=")
	if !ok || strings.TrimSpace(k) != "until" {
		return 0, usagef("--filter %q: only until=DURATION is supported, e.g. --filter until=24h", f)
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d <= 0 {
		return 0, usagef("--filter %q: %q is not a positive duration; use e.g. 30m, 24h or 168h", f, v)
	}
	return d, nil
}

func runDu(ctx context.Context, args []string) error {
	fs := newFlags("du", "[OPTIONS]")
	verbose := fs.BoolP("verbose", "v", false, "list every cache mount")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("du takes no arguments, got %q", fs.Arg(0))
	}
	return withRoot(func(root *root.Root) error {
		du, err := gc.DiskUsage(ctx, root)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 3, ' ', 0)
		fmt.Fprintln(tw, "KIND\tCOUNT\tSIZE\t")
		for _, k := range du.Kinds {
			note := ""
			if k.Kind == "snapshots" {
				note = fmt.Sprintf("%d in use by images", k.InUse)
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", k.Kind, k.Count, progress.FormatSize(k.Size), note)
			if *verbose {
				for _, it := range k.Items {
					fmt.Fprintf(tw, "  %s\t\t%s\tlast used %s\n", it.Name, progress.FormatSize(it.Size), ago(it.LastUsed))
				}
			}
		}
		fmt.Fprintf(tw, "total\t\t%s\t\n", progress.FormatSize(du.Total))
		fmt.Fprintf(tw, "build cache\t\t%s\t(what --keep-storage and GORAE_GC_BUDGET count)\n", progress.FormatSize(du.Cache))
		fmt.Fprintf(tw, "reclaimable\t\t%s\t(gorae prune)\n", progress.FormatSize(du.Reclaimable))
		return tw.Flush()
	})
}
