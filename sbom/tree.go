package sbom

import (
	"context"
	"io/fs"
	"path"
	"strings"
)

// skipDirs are the kernel's file systems: in a running container they
// would hold the host's processes; in an image they are empty.
var skipDirs = map[string]bool{"proc": true, "sys": true, "dev": true}

// scanTree walks the whole tree once for the packages that are not in a
// system database: Go executables, Python distributions and npm
// packages. It never follows a symlink: a link's target is walked where
// it lives. Files it cannot read or parse are left out, as syft does.
func scanTree(ctx context.Context, fsys fs.FS, _ distro) ([]Package, error) {
	var pkgs []Package
	n := 0
	err := fs.WalkDir(fsys, ".", func(p string, e fs.DirEntry, err error) error {
		if n++; n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err != nil {
			if p == "." {
				return err
			}
			return nil // an unreadable directory: skip it
		}
		name := e.Name()
		if e.IsDir() {
			switch {
			case skipDirs[p]:
				return fs.SkipDir
			case strings.HasSuffix(name, ".dist-info") && inSitePackages(p):
				pkgs = append(pkgs, pythonPackage(fsys, path.Join(p, "METADATA"))...)
				return fs.SkipDir
			case strings.HasSuffix(name, ".egg-info"):
				pkgs = append(pkgs, pythonPackage(fsys, path.Join(p, "PKG-INFO"))...)
				return fs.SkipDir
			}
			return nil
		}
		if !e.Type().IsRegular() {
			return nil
		}
		switch {
		case name == "package-lock.json" && !underNodeModules(p):
			pkgs = append(pkgs, npmLockPackages(fsys, p)...)
		case name == "package.json" && installedNodePackage(p):
			pkgs = append(pkgs, npmPackage(fsys, p)...)
		case strings.HasSuffix(name, ".egg-info"):
			pkgs = append(pkgs, pythonPackage(fsys, p)...) // distutils writes PKG-INFO as a file of this name
		default:
			fi, err := e.Info()
			if err == nil && fi.Mode()&0o111 != 0 && fi.Size() >= 64 {
				pkgs = append(pkgs, goPackages(fsys, p, fi.Size())...)
			}
		}
		return nil
	})
	return pkgs, err
}

// inSitePackages reports whether p is directly in a site-packages or
// dist-packages directory.
func inSitePackages(p string) bool {
	dir := path.Base(path.Dir(p))
	return dir == "site-packages" || dir == "dist-packages"
}

func underNodeModules(p string) bool {
	return strings.HasPrefix(p, "node_modules/") || strings.Contains(p, "/node_modules/")
}

// installedNodePackage reports whether p is node_modules/NAME/package.json
// or node_modules/@SCOPE/NAME/package.json.
func installedNodePackage(p string) bool {
	parts := strings.Split(p, "/")
	n := len(parts)
	if n < 3 || strings.HasPrefix(parts[n-2], ".") {
		return false
	}
	if parts[n-3] == "node_modules" {
		return !strings.HasPrefix(parts[n-2], "@")
	}
	return n >= 4 && parts[n-4] == "node_modules" && strings.HasPrefix(parts[n-3], "@")
}
