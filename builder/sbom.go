package builder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gorae/gorae/attest"
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
// (--sbom=true, --attest type=sbom): an SPDX 2.3 document (predicate
// type attest.PredicateSPDX) of the final image's packages, from the
// package databases its filesystem holds (sbom.Scan). This is the one
// place an SBOM enters a build: statements puts it before the
// provenance, in the image's attestation manifest.
func (a *attestor) sbomStatements(ctx context.Context, in exportInput, i int, pi platformImage, subjects []attest.Subject) ([]attest.Statement, error) {
	fsys, err := a.env.FS(ctx, in.states[in.first[i]])
	if err != nil {
		return nil, fmt.Errorf("SBOM of the %s image: %w", platformString(pi.platform), err)
	}
	pkgs, err := sbom.Scan(ctx, fsys)
	if errors.Is(err, sbom.ErrUnsupported) {
		in.o.Progress.Warnf("SBOM of the %s image: %v (its other packages are listed)", platformString(pi.platform), err)
	} else if err != nil {
		return nil, fmt.Errorf("SBOM of the %s image: %w", platformString(pi.platform), err)
	}
	cf, err := pi.image.ConfigFile()
	if err != nil {
		return nil, err
	}
	name := subjects[0].Name
	doc, err := sbom.SPDX(name, pkgs, cf.Created.Time)
	if err != nil {
		return nil, err
	}
	st, err := attest.NewStatement(attest.PredicateSPDX, subjects, json.RawMessage(doc))
	if err != nil {
		return nil, err
	}
	return []attest.Statement{st}, nil
}
