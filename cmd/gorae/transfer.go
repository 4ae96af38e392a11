package main

import (
	"context"
	"fmt"
	"os"

	"github.com/gorae/gorae/exporter"
	"github.com/gorae/gorae/images"
	"github.com/gorae/gorae/progress"
	"github.com/gorae/gorae/registry"
	"github.com/gorae/gorae/root"
)

func runPull(ctx context.Context, args []string) error {
	fs := newFlags("pull", "[OPTIONS] NAME")
	platform := fs.String("platform", "", "platform os/arch[/variant] (default: this machine)")
	insecure := fs.StringArray("insecure-registry", nil, "talk plain HTTP to this registry host[:port]")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("pull needs one image name")
	}
	if err := checkNames(fs.Arg(0)); err != nil {
		return err
	}
	return withRoot(func(root *root.Root) error {
		p, _ := progress.New(os.Stderr, "plain")
		d, err := images.Pull(ctx, root, fs.Arg(0), *platform, registry.Options{Insecure: *insecure}, p)
		if err != nil {
			return err
		}
		fmt.Println(d)
		return nil
	})
}

func runPush(ctx context.Context, args []string) error {
	fs := newFlags("push", "[OPTIONS] NAME")
	insecure := fs.StringArray("insecure-registry", nil, "talk plain HTTP to this registry host[:port]")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("push needs one image name, e.g. gorae push 127.0.0.1:5000/app:1.0")
	}
	if err := checkNames(fs.Arg(0)); err != nil {
		return err
	}
	return withRoot(func(root *root.Root) error {
		p, _ := progress.New(os.Stderr, "plain")
		n, digest, err := images.Push(ctx, root, fs.Arg(0), registry.Options{Insecure: *insecure}, p)
		if err != nil {
			return err
		}
		fmt.Printf("%s@%s\n", n, digest)
		return nil
	})
}

func runSave(ctx context.Context, args []string) error {
	fs := newFlags("save", "-o FILE NAME...")
	out := fs.StringP("output", "o", "", "write the tar to this file (- for stdout)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() == 0 {
		return usagef("save needs -o FILE and at least one image name")
	}
	if err := checkNames(fs.Args()...); err != nil {
		return err
	}
	return withRoot(func(root *root.Root) error {
		var names []string
		var first string
		for _, a := range fs.Args() {
			n, err := registry.Normalize(a)
			if err != nil {
				return err
			}
			_, d, err := root.Images.Image(ctx, n)
			if err != nil {
				return err
			}
			if first == "" {
				first = d.String()
			} else if d.String() != first {
				return usagef("save writes one image per file: %s is a different image than %s", a, fs.Arg(0))
			}
			names = append(names, n)
		}
		img, _, err := root.Images.Image(ctx, names[0])
		if err != nil {
			return err
		}
		return (&exporter.Docker{Dest: *out}).Export(ctx, img, names)
	})
}

func runLoad(ctx context.Context, args []string) error {
	fs := newFlags("load", "-i FILE")
	in := fs.StringP("input", "i", "", "docker-save or OCI tar to read")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *in == "" {
		return usagef("load needs -i FILE")
	}
	return withRoot(func(root *root.Root) error {
		names, err := images.Load(ctx, root, *in)
		if err != nil {
			return err
		}
		for _, n := range names {
			fmt.Printf("Loaded image: %s\n", n)
		}
		return nil
	})
}

func runImport(ctx context.Context, args []string) error {
	fs := newFlags("import", "[OPTIONS] ROOTFS.tar NAME")
	changes := fs.StringArrayP("change", "c", nil, `set config as a Dockerfile line, e.g. -c 'CMD ["sh"]'`)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("import needs a root filesystem tar and a name, e.g. gorae import rootfs.tar busybox")
	}
	if err := checkTag(fs.Arg(1)); err != nil {
		return usagef("invalid NAME: %v", err)
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	return withRoot(func(root *root.Root) error {
		d, err := images.Import(ctx, root, f, fs.Arg(1), *changes)
		if err != nil {
			return err
		}
		fmt.Println(d)
		return nil
	})
}

func runVersion(context.Context, []string) error {
	fmt.Println("gorae", version)
	return nil
}

// version is set at link time by the Makefile.
var version = "dev"
