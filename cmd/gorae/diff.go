package main

import (
	"context"
	"fmt"

	"github.com/gorae/gorae/imagediff"
	"github.com/gorae/gorae/images"
	"github.com/gorae/gorae/registry"
	"github.com/gorae/gorae/root"
)

// runDiff compares two images as --verify-reproducible does and prints
// the first difference of each kind: exit 0 when they are the same, 1
// when they differ, 2 when one cannot be read (as diff(1)).
func runDiff(ctx context.Context, args []string) error {
	fs := newFlags("diff", "[OPTIONS] IMAGE IMAGE")
	platform := fs.String("platform", "", "of multi-platform images, compare this platform's (default: this machine)")
	insecure := fs.StringArray("insecure-registry", nil, "talk plain HTTP to this registry host[:port]")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("diff needs two images: local names, registry references or oci-layout://DIR[:TAG]")
	}
	p, err := images.ParsePlatform(*platform)
	if err != nil {
		return usageError{err}
	}
	reg := registry.Options{Insecure: *insecure}
	return withRoot(func(root *root.Root) error {
		a, err := images.Open(ctx, root.Images, fs.Arg(0), p, reg)
		if err != nil {
			return usageError{err}
		}
		b, err := images.Open(ctx, root.Images, fs.Arg(1), p, reg)
		if err != nil {
			return usageError{err}
		}
		r, err := imagediff.Compare(ctx, a, b)
		if err != nil {
			return exitStatus{code: 2, err: err}
		}
		if r.Same() {
			d, _ := a.Digest()
			fmt.Printf("same image %s\n", d)
			return nil
		}
		fmt.Print(r)
		return exitStatus{code: 1}
	})
}
