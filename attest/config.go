package attest

import (
	"encoding/csv"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Config says which attestations a build attaches to each image it
// makes; the zero Config attaches none.
type Config struct {
	Provenance *ProvenanceConfig // nil: no provenance
	SBOM       *SBOMConfig       // nil: no SBOM
}

// Any says whether the build attaches attestations: then every image
// goes into an index, beside its attestation manifest.
func (c Config) Any() bool { return c.Provenance != nil || c.SBOM != nil }

// ProvenanceConfig is --attest type=provenance's settings.
type ProvenanceConfig struct {
	// Mode is "min" or "max" (docs/attestations.md lists what each
	// holds).
	Mode string
	// BuilderID is runDetails.builder.id (builder-id=), e.g. the URL of
	// a CI run.
	BuilderID string
	// Reproducible is runDetails.metadata.buildkit_reproducible
	// (reproducible=true).
	Reproducible bool
}

// SBOMConfig is --attest type=sbom's settings.
type SBOMConfig struct {
	// Generator is generator=: in BuildKit the scanner image; gorae
	// scans with its own scanner and keeps the value for it.
	Generator string
	// Attrs are the other key=value settings, for the scanner.
	Attrs map[string]string
}

// Parse reads --attest values and the --provenance and --sbom shorthands
// ("" when not given) as buildx does: --attest is type=TYPE[,KEY=VALUE…]
// (CSV, so a value may be quoted), --provenance=VALUE is
// --attest type=provenance,VALUE and a boolean VALUE is
// type=provenance,disabled=!VALUE, the same for --sbom; of several for a
// type the last wins. type=provenance without mode= is mode=min.
func Parse(attests []string, provenance, sbom string) (Config, error) {
	type spec struct {
		flag, value string
		attrs       map[string]string
	}
	var specs []spec
	add := func(flag, value, s string) error {
		typ, attrs, err := parseSpec(s)
		if err != nil {
			return fmt.Errorf("invalid %s %q: %w", flag, value, err)
		}
		for i := range specs {
			if specs[i].attrs["type"] == typ {
				specs = slices.Delete(specs, i, i+1)
				break
			}
		}
		specs = append(specs, spec{flag, value, attrs})
		return nil
	}
	for _, a := range attests {
		if err := add("--attest", a, a); err != nil {
			return Config{}, err
		}
	}
	for _, f := range []struct{ flag, typ, value string }{{"--provenance", "provenance", provenance}, {"--sbom", "sbom", sbom}} {
		if f.value == "" {
			continue
		}
		s := "type=" + f.typ + "," + f.value
		if b, err := strconv.ParseBool(f.value); err == nil {
			s = fmt.Sprintf("type=%s,disabled=%t", f.typ, !b)
		}
		if err := add(f.flag, f.value, s); err != nil {
			return Config{}, err
		}
	}
	var c Config
	for _, s := range specs {
		var err error
		switch s.attrs["type"] {
		case "provenance":
			c.Provenance, err = provenanceConfig(s.attrs)
		case "sbom":
			c.SBOM, err = sbomConfig(s.attrs)
		}
		if err != nil {
			return Config{}, fmt.Errorf("invalid %s %q: %w", s.flag, s.value, err)
		}
	}
	return c, nil
}

// parseSpec reads type=TYPE[,KEY=VALUE…]; disabled= is checked here.
func parseSpec(s string) (string, map[string]string, error) {
	r := csv.NewReader(strings.NewReader(s))
	fields, err := r.Read()
	if err != nil {
		return "", nil, fmt.Errorf("use type=provenance|sbom[,KEY=VALUE…]: %w", err)
	}
	attrs := map[string]string{}
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return "", nil, fmt.Errorf("%q is not KEY=VALUE", f)
		}
		k = strings.TrimSpace(strings.ToLower(k))
		if k == "disabled" {
			if _, err := strconv.ParseBool(v); err != nil {
				return "", nil, fmt.Errorf("disabled=%s: use true or false", v)
			}
		}
		attrs[k] = v
	}
	typ := attrs["type"]
	switch typ {
	case "provenance", "sbom":
	case "":
		return "", nil, fmt.Errorf("no type: add type=provenance or type=sbom")
	default:
		return "", nil, fmt.Errorf("unknown type %q: use type=provenance or type=sbom", typ)
	}
	return typ, attrs, nil
}

func disabled(attrs map[string]string) bool {
	b, _ := strconv.ParseBool(attrs["disabled"])
	return b
}

func provenanceConfig(attrs map[string]string) (*ProvenanceConfig, error) {
	if disabled(attrs) {
		return nil, nil
	}
	c := &ProvenanceConfig{Mode: "min"}
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		v := attrs[k]
		switch k {
		case "type", "disabled":
		case "mode":
			switch v {
			case "min", "max":
				c.Mode = v
			case "full":
				c.Mode = "max"
			default:
				return nil, fmt.Errorf("mode=%s: use mode=min or mode=max", v)
			}
		case "builder-id":
			c.BuilderID = v
		case "version":
			if v != "v1" {
				return nil, fmt.Errorf("version=%s: gorae writes SLSA provenance v1 only; drop version= or use version=v1", v)
			}
		case "reproducible":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("reproducible=%s: use true or false", v)
			}
			c.Reproducible = b
		default:
			return nil, fmt.Errorf("unknown key %q for type=provenance (valid: mode, builder-id, version, reproducible, disabled)", k)
		}
	}
	return c, nil
}

func sbomConfig(attrs map[string]string) (*SBOMConfig, error) {
	if disabled(attrs) {
		return nil, nil
	}
	c := &SBOMConfig{}
	for k, v := range attrs {
		switch k {
		case "type", "disabled":
		case "generator":
			if v == "" {
				return nil, fmt.Errorf("generator= is empty: name a generator or drop generator=")
			}
			c.Generator = v
		default:
			if c.Attrs == nil {
				c.Attrs = map[string]string{}
			}
			c.Attrs[k] = v
		}
	}
	return c, nil
}
