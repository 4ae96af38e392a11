package main

import (
	"github.com/spf13/pflag"

	"github.com/gorae/gorae/attest"
)

// attestFlags are --attest, --provenance and --sbom, as buildx takes
// them (attest.Parse).
type attestFlags struct {
	attests    []string
	provenance string
	sbom       string
}

func addAttestFlags(fs *pflag.FlagSet) *attestFlags {
	f := &attestFlags{}
	fs.StringArrayVar(&f.attests, "attest", nil, "attach an attestation to every image (repeatable): type=provenance[,mode=min|max][,builder-id=ID] or type=sbom; makes an index (docs/attestations.md)")
	fs.StringVar(&f.provenance, "provenance", "", `shorthand for "--attest=type=provenance": true (mode=min), false, or mode=min|max[,builder-id=ID]`)
	fs.StringVar(&f.sbom, "sbom", "", `shorthand for "--attest=type=sbom": true or false`)
	return f
}

// config parses the flags; an error is a usage error.
func (f *attestFlags) config() (attest.Config, error) {
	c, err := attest.Parse(f.attests, f.provenance, f.sbom)
	if err != nil {
		return attest.Config{}, usageError{err}
	}
	return c, nil
}
