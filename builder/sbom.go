package builder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/gorae/gorae/archive"
	"github.com/gorae/gorae/attest"
	"github.com/gorae/gorae/images"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/sbom"
)

// checkSBOM refuses SBOM settings this gorae cannot honour, before the
// build starts (checkAttest calls it when an SBOM is asked for): the
// scanner is gorae's own, so a generator image is not run.
func checkSBOM(c *attest.SBOMConfig) error {
	if c.Generator != "" {
		return badFlag(fmt.Errorf("--attest type=sbom,generator=%s: gorae scans images with its own scanner and runs no generator image; drop generator=", c.Generator))
	}
	return nil
}

// sbomStatements are the SBOM statements of platform i's image
// (--sbom=true, --attest type=sbom): SPDX 2.3 documents (predicate type
// attest.PredicateSPDX) of the final image's packages, from the package
// databases its filesystem holds (sbom.Scan), then, as BuildKit adds
// them, of each stage BUILDKIT_SBOM_SCAN_STAGE names and of the build
// context with BUILDKIT_SBOM_SCAN_CONTEXT. This is the one place an SBOM
// enters a build: statements puts them before the provenance, in the
// image's attestation manifest.
func (a *attestor) sbomStatements(ctx context.Context, in exportInput, i int, pi platformImage, states map[string]*ops.State, subjects []attest.Subject) ([]attest.Statement, error) {
	cf, err := pi.image.ConfigFile()
	if err != nil {
		return nil, err
	}
	created := cf.Created.Time
	on := images.FormatPlatform(pi.platform)
	fsys, err := a.env.FS(ctx, in.states[in.first[i]])
	if err != nil {
		return nil, fmt.Errorf("SBOM of the %s image: %w", on, err)
	}
	core, err := a.spdxStatement(ctx, in, fsys, subjects[0].Name, "the "+on+" image", subjects, created)
	if err != nil {
		return nil, err
	}
	out := []attest.Statement{core}
	conv := in.convs[i]
	for _, s := range conv.ScanStages {
		st := states[s.Root.Digest()]
		if st == nil {
			return nil, fmt.Errorf("SBOM of stage %s: the stage was not built", s.Name)
		}
		fsys, err := a.env.FS(ctx, st)
		if err != nil {
			return nil, fmt.Errorf("SBOM of stage %s: %w", s.Name, err)
		}
		stmt, err := a.spdxStatement(ctx, in, fsys, s.Name, "stage "+s.Name, subjects, created)
		if err != nil {
			return nil, err
		}
		out = append(out, stmt)
	}
	if conv.ScanContext {
		r, err := os.OpenRoot(in.o.ContextDir)
		if err != nil {
			return nil, fmt.Errorf("SBOM of the build context: %w", err)
		}
		defer r.Close()
		stmt, err := a.spdxStatement(ctx, in, archive.RootFS{Root: r}, "context", "the build context", subjects, created)
		if err != nil {
			return nil, err
		}
		out = append(out, stmt)
	}
	return out, nil
}

// spdxStatement scans fsys (what names it in messages) into an SPDX
// document named name, as an in-toto statement about subjects.
func (a *attestor) spdxStatement(ctx context.Context, in exportInput, fsys fs.FS, name, what string, subjects []attest.Subject, created time.Time) (attest.Statement, error) {
	pkgs, err := sbom.Scan(ctx, fsys)
	if errors.Is(err, sbom.ErrUnsupported) {
		in.o.Progress.Warnf("SBOM of %s: %v (its other packages are listed)", what, err)
	} else if err != nil {
		return attest.Statement{}, fmt.Errorf("SBOM of %s: %w", what, err)
	}
	doc, err := sbom.SPDX(name, pkgs, created)
	if err != nil {
		return attest.Statement{}, err
	}
	return attest.NewStatement(attest.PredicateSPDX, subjects, json.RawMessage(doc))
}
