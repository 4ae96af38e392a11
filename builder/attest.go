package builder

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/gorae/gorae/attest"
	"github.com/gorae/gorae/images"
	"github.com/gorae/gorae/ops"
	"github.com/gorae/gorae/root"
)

// attestor makes the attestations a build attaches to its images
// (--attest, --provenance, --sbom): for every platform's image an
// attestation manifest holding its statements (statements), which the
// index lists after the images, as BuildKit does. One attestor serves
// one build.
type attestor struct {
	attestInput
	cfg attest.Config
	// id is the build's invocation id, the same in every platform's
	// provenance, as BuildKit's.
	id string
}

// attestInput is what an attestor learns of its build.
type attestInput struct {
	// orig are the options as given, o as the build uses them (remote
	// contexts fetched to directories).
	orig, o Options
	started time.Time
	file    string               // the Dockerfile's name
	src     []byte               // the Dockerfile
	pins    map[string]sourcePin // remote contexts by name ("context": the main one)
	env     *ops.Env             // pins of http and git sources
	root    *root.Root
}

// newAttestor returns nil for a build that attaches no attestation.
func newAttestor(in attestInput) *attestor {
	if !in.o.Attest.Any() {
		return nil
	}
	return &attestor{attestInput: in, cfg: in.o.Attest, id: invocationID()}
}

// checkAttest refuses attestations a build cannot carry, before any work.
func checkAttest(o Options) error {
	if o.Attest.Any() && o.Docker {
		return badFlag(errors.New("attestations need OCI media types (a Docker manifest list has no place for them): drop --oci-mediatypes=false, or --provenance/--sbom/--attest"))
	}
	if o.Attest.SBOM != nil {
		return checkSBOM(o.Attest.SBOM)
	}
	return nil
}

// attach gives every platform image its attestation manifest.
func (a *attestor) attach(ctx context.Context, in exportInput, imgs []platformImage, states map[string]*ops.State) error {
	finished := time.Now()
	for i := range imgs {
		pi := &imgs[i]
		desc, err := descriptorOf(pi.image)
		if err != nil {
			return err
		}
		subjects := attest.ImageSubjects(in.tg.names, pi.platform, desc.Digest)
		stmts, err := a.statements(ctx, in, i, *pi, states, subjects, finished)
		if err != nil {
			return err
		}
		if len(stmts) == 0 {
			continue
		}
		att, err := attest.NewManifest(desc, stmts)
		if err != nil {
			return fmt.Errorf("attestations of the %s image: %w", images.FormatPlatform(pi.platform), err)
		}
		pi.attestation = att
	}
	return nil
}

// statements are the in-toto statements attached to platform i's image:
// its SBOM (sbomStatements), then its provenance, the order of BuildKit's.
func (a *attestor) statements(ctx context.Context, in exportInput, i int, pi platformImage, states map[string]*ops.State, subjects []attest.Subject, finished time.Time) ([]attest.Statement, error) {
	var out []attest.Statement
	if a.cfg.SBOM != nil {
		st, err := a.sbomStatements(ctx, in, i, pi, states, subjects)
		if err != nil {
			return nil, err
		}
		out = append(out, st...)
	}
	if a.cfg.Provenance != nil {
		p := a.provenance(in, i, states, finished)
		st, err := attest.NewStatement(attest.PredicateSLSA1, subjects, p)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// invocationID is a random build id, 25 lower-case letters and digits
// as BuildKit's.
func invocationID() string {
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 25)
	rand.Read(b)
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b)
}
