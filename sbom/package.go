package sbom

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

// Package is one package found in an image.
type Package struct {
	Name, Version string
	Type          string   // "deb", "apk", "rpm", "golang", "pypi", "npm"
	PURL          string   // package URL, e.g. pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64&distro=debian-12&upstream=bash%405.2.15-2
	Licenses      []string // as the database says, SPDX ids or expressions where it uses them; dpkg: best effort from the copyright file
	Source        string   // the file it was found in, e.g. /var/lib/dpkg/status, /usr/local/bin/app

	Supplier, Arch, SourcePackage string // where the database says
}

// ErrUnsupported marks a package database Scan found but cannot read,
// such as rpm's BerkeleyDB Packages file. Scan still returns every
// package it could read alongside such an error.
var ErrUnsupported = errors.New("package database format not supported")

// Scan reads the package databases of an image's root filesystem fsys:
// dpkg, apk and rpm's, the build info of Go executables, Python
// dist-info and egg-info metadata, npm lockfiles and installed
// package.json files. The result is sorted by type, name, version and
// source, each package once.
//
// A database Scan cannot read (errors.Is(err, ErrUnsupported)) does not
// stop it: it returns what it found with that error. Any other error
// (unreadable files, a corrupt dpkg, apk or rpm database, ctx done)
// returns no packages.
func Scan(ctx context.Context, fsys fs.FS) ([]Package, error) {
	d, err := readDistro(fsys)
	if err != nil {
		return nil, fmt.Errorf("read os-release: %w", err)
	}
	var pkgs []Package
	var unsupported []error
	for _, scan := range []func(context.Context, fs.FS, distro) ([]Package, error){scanDpkg, scanApk, scanRpm, scanTree} {
		found, err := scan(ctx, fsys, d)
		if errors.Is(err, ErrUnsupported) {
			unsupported = append(unsupported, err)
		} else if err != nil {
			return nil, err
		}
		pkgs = append(pkgs, found...)
	}
	return sortPackages(pkgs), errors.Join(unsupported...)
}

// sortPackages sorts pkgs by type, name, version, source (then purl and
// arch, so that two architectures of one dpkg package keep an order) and
// drops exact repeats.
func sortPackages(pkgs []Package) []Package {
	slices.SortFunc(pkgs, comparePackages)
	return slices.CompactFunc(pkgs, func(a, b Package) bool {
		return comparePackages(a, b) == 0 && slices.Equal(a.Licenses, b.Licenses) &&
			a.Supplier == b.Supplier && a.SourcePackage == b.SourcePackage
	})
}

func comparePackages(a, b Package) int {
	return cmp.Or(
		strings.Compare(a.Type, b.Type),
		strings.Compare(a.Name, b.Name),
		strings.Compare(a.Version, b.Version),
		strings.Compare(a.Source, b.Source),
		strings.Compare(a.PURL, b.PURL),
		strings.Compare(a.Arch, b.Arch),
	)
}
