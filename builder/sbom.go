package builder

import (
	"context"
	"errors"

	"github.com/gorae/gorae/attest"
)

// errNoSBOM is what --sbom says while gorae has no SBOM scanner.
var errNoSBOM = errors.New("--sbom / --attest type=sbom: this gorae has no SBOM scanner; build without them")

// checkSBOM refuses SBOM settings this gorae cannot honour, before the
// build starts (checkAttest calls it when an SBOM is asked for).
func checkSBOM(c *attest.SBOMConfig) error {
	return badFlag(errNoSBOM)
}

// sbomStatements are the SBOM statements of platform i's image
// (--sbom=true, --attest type=sbom; a.cfg.SBOM holds their settings): an
// SPDX document (predicate type attest.PredicateSPDX) about subjects.
// This is the one place an SBOM enters a build: statements puts what it
// returns before the provenance, in the image's attestation manifest.
func (a *attestor) sbomStatements(ctx context.Context, in exportInput, i int, pi platformImage, subjects []attest.Subject) ([]attest.Statement, error) {
	return nil, errNoSBOM
}
