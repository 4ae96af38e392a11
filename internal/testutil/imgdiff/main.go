// Command imgdiff compares two images in registries the way a user would:
// their config, their history and every file of their final filesystem
// (type, mode, owner, link target, content). It prints each difference and
// exits 1 if there is any.
//
//	go run ./internal/testutil/imgdiff 127.0.0.1:5000/cmp/app:buildkit 127.0.0.1:5000/cmp/app:gorae
package main

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// platform, when set (imgdiff --platform P A B), picks that platform's
// image of multi-platform references.
var platform *v1.Platform

func main() {
	args := os.Args[1:]
	if len(args) == 4 && args[0] == "--platform" {
		p, err := v1.ParsePlatform(args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		platform, args = p, args[2:]
	}
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: imgdiff [--platform OS/ARCH] REF-A REF-B")
		os.Exit(2)
	}
	a, err := load(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	b, err := load(args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	diffs := compare(a, b)
	for _, d := range diffs {
		fmt.Println(d)
	}
	fmt.Printf("%d differences (%d files, %d history entries compared)\n", len(diffs), len(a.files), len(a.history))
	if len(diffs) > 0 {
		os.Exit(1)
	}
}

type image struct {
	config  string
	history []string
	files   map[string]string
}

func load(ref string) (*image, error) {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return nil, err
	}
	var opts []remote.Option
	if platform != nil {
		opts = append(opts, remote.WithPlatform(*platform))
	}
	img, err := remote.Image(r, opts...)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	c, err := containerConfig(img)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	out := &image{config: c, files: map[string]string{}}
	for _, h := range cf.History {
		out.history = append(out.history, fmt.Sprintf("%s empty=%v", h.CreatedBy, h.EmptyLayer))
	}
	return out, readFiles(img, out.files)
}

// containerConfig is the "config" object of img's config JSON as stored,
// keys sorted, with the fields an omitempty writer leaves out dropped: ggcr's
// v1.Config would drop fields it does not know (Healthcheck.StartInterval).
func containerConfig(img v1.Image) (string, error) {
	raw, err := img.RawConfigFile()
	if err != nil {
		return "", err
	}
	var top struct {
		Config map[string]any `json:"config"`
	}
	if err := json.Unmarshal(raw, &top); err != nil {
		return "", fmt.Errorf("parse config: %w", err)
	}
	for k, v := range top.Config {
		switch v := v.(type) {
		case nil:
			delete(top.Config, k)
		case bool:
			if !v {
				delete(top.Config, k)
			}
		case string:
			if v == "" {
				delete(top.Config, k)
			}
		case []any:
			if len(v) == 0 {
				delete(top.Config, k)
			}
		case map[string]any:
			if len(v) == 0 {
				delete(top.Config, k)
			}
		}
	}
	c, err := json.MarshalIndent(top.Config, "", "  ")
	return string(c), err
}

func readFiles(img v1.Image, files map[string]string) error {
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		p := "/" + strings.Trim(strings.TrimPrefix(h.Name, "./"), "/")
		desc := fmt.Sprintf("type=%c mode=%o uid=%d gid=%d", h.Typeflag, h.Mode&0o7777, h.Uid, h.Gid)
		switch h.Typeflag {
		case tar.TypeSymlink, tar.TypeLink:
			desc += " link=" + h.Linkname
		case tar.TypeReg:
			sum := sha256.New()
			n, _ := io.Copy(sum, tr)
			desc += fmt.Sprintf(" size=%d sha256=%x", n, sum.Sum(nil)[:8])
		}
		files[p] = desc
	}
}

func compare(a, b *image) []string {
	var out []string
	if a.config != b.config {
		out = append(out, "config differs:\n--- A\n"+a.config+"\n--- B\n"+b.config)
	}
	if strings.Join(a.history, "\n") != strings.Join(b.history, "\n") {
		out = append(out, "history differs:\n--- A\n  "+strings.Join(a.history, "\n  ")+"\n--- B\n  "+strings.Join(b.history, "\n  "))
	}
	paths := map[string]bool{}
	for p := range a.files {
		paths[p] = true
	}
	for p := range b.files {
		paths[p] = true
	}
	sorted := make([]string, 0, len(paths))
	for p := range paths {
		sorted = append(sorted, p)
	}
	sort.Strings(sorted)
	for _, p := range sorted {
		fa, okA := a.files[p]
		fb, okB := b.files[p]
		switch {
		case !okA:
			out = append(out, fmt.Sprintf("%s: only in B (%s)", p, fb))
		case !okB:
			out = append(out, fmt.Sprintf("%s: only in A (%s)", p, fa))
		case fa != fb:
			out = append(out, fmt.Sprintf("%s: A %s, B %s", p, fa, fb))
		}
	}
	return out
}
