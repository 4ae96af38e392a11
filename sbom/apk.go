package sbom

import (
	"context"
	"fmt"
	"io/fs"
	"strings"

	"github.com/package-url/packageurl-go"
)

const apkInstalled = "lib/apk/db/installed"

// scanApk reads Alpine's installed database: paragraphs of one-letter
// fields (P: name, V: version, A: arch, L: license, o: origin,
// m: maintainer).
func scanApk(ctx context.Context, fsys fs.FS, d distro) ([]Package, error) {
	b, err := readOptional(fsys, apkInstalled, maxDBSize)
	if err != nil {
		return nil, fmt.Errorf("read /%s: %w", apkInstalled, err)
	}
	if b == nil {
		return nil, nil
	}
	var pkgs []Package
	var p Package
	flush := func() {
		if p.Name != "" && p.Version != "" {
			q := map[string]string{"arch": p.Arch}
			if p.SourcePackage != p.Name {
				q["upstream"] = p.SourcePackage
			}
			p.PURL = purl(packageurl.TypeApk, d.namespace("alpine"), p.Name, p.Version, q, d)
			pkgs = append(pkgs, p)
		}
		p = Package{}
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			flush()
			continue
		}
		if len(line) < 2 || line[1] != ':' {
			continue
		}
		v := line[2:]
		switch line[0] {
		case 'P':
			p.Name, p.Type, p.Source = v, "apk", "/"+apkInstalled
		case 'V':
			p.Version = v
		case 'A':
			p.Arch = v
		case 'L':
			if v = strings.TrimSpace(v); v != "" {
				p.Licenses = []string{normalizeLicense(v)}
			}
		case 'o':
			p.SourcePackage = v
		case 'm':
			p.Supplier = v
		}
	}
	flush()
	return pkgs, ctx.Err()
}
