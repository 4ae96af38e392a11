package sbom

import (
	"regexp"
	"strings"
)

// gnuLicense matches the GNU licenses in the spellings databases use:
// GPL-2, GPL-2+, GPL-2.0, GPL-2.0+, LGPL-2.1-or-later, GFDL-1.3-only.
var gnuLicense = regexp.MustCompile(`^(?i)(AGPL|LGPL|GPL|GFDL)-?v?(\d)(?:\.(\d))?(\+|-or-later|-only)?$`)

// licenseID returns the SPDX id for one license name, and whether it has
// one.
func licenseID(name string) (string, bool) {
	l := strings.ToLower(name)
	if id, ok := spdxLicenseIDs[l]; ok {
		return id, true
	}
	if id, ok := licenseAliases[l]; ok {
		return id, true
	}
	m := gnuLicense.FindStringSubmatch(name)
	if m == nil {
		return name, false
	}
	minor := m[3]
	if minor == "" {
		minor = "0"
	}
	suffix := "-only"
	if m[4] == "+" || strings.EqualFold(m[4], "-or-later") {
		suffix = "-or-later"
	}
	id, ok := spdxLicenseIDs[strings.ToLower(m[1]+"-"+m[2]+"."+minor+suffix)]
	return id, ok
}

// normalizeLicense rewrites the license names of a license field or
// expression as SPDX ids where they have one, and its operators in
// upper case: "GPL-2+ or Artistic" → "GPL-2.0-or-later OR Artistic-1.0".
// A single name without an SPDX id ("public-domain", "GPL") is kept as
// the database wrote it.
func normalizeLicense(s string) string {
	s = strings.TrimSpace(s)
	if id, ok := licenseID(s); ok {
		return id
	}
	toks := licenseTokens(s)
	for i, t := range toks {
		switch up := strings.ToUpper(t); up {
		case "AND", "OR", "WITH":
			toks[i] = up
		case "(", ")":
		default:
			if id, ok := licenseID(t); ok {
				toks[i] = id
			}
		}
	}
	return joinLicenseTokens(toks)
}

// licenseTokens splits an expression into names, operators and
// parentheses.
func licenseTokens(s string) []string {
	s = strings.NewReplacer("(", " ( ", ")", " ) ").Replace(s)
	return strings.Fields(s)
}

func joinLicenseTokens(toks []string) string {
	var b strings.Builder
	for i, t := range toks {
		if i > 0 && t != ")" && toks[i-1] != "(" {
			b.WriteByte(' ')
		}
		b.WriteString(t)
	}
	return b.String()
}

// validExpression reports whether s is an SPDX license expression over
// known ids, LicenseRef-s and exceptions.
func validExpression(s string) bool {
	p := &exprParser{toks: licenseTokens(s)}
	return len(p.toks) > 0 && p.compound() && p.i == len(p.toks)
}

type exprParser struct {
	toks []string
	i    int
}

func (p *exprParser) next() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

// compound := term ((AND|OR) term)*
func (p *exprParser) compound() bool {
	if !p.term() {
		return false
	}
	for p.next() == "AND" || p.next() == "OR" {
		p.i++
		if !p.term() {
			return false
		}
	}
	return true
}

// term := "(" compound ")" | simple [WITH exception]
func (p *exprParser) term() bool {
	if p.next() == "(" {
		p.i++
		if !p.compound() || p.next() != ")" {
			return false
		}
		p.i++
		return true
	}
	if !simpleLicense(p.next()) {
		return false
	}
	p.i++
	if p.next() == "WITH" {
		p.i++
		if _, ok := spdxExceptionIDs[strings.ToLower(p.next())]; !ok || p.next() != spdxExceptionIDs[strings.ToLower(p.next())] {
			return false
		}
		p.i++
	}
	return true
}

var licenseRef = regexp.MustCompile(`^(DocumentRef-[A-Za-z0-9.-]+:)?LicenseRef-[A-Za-z0-9.-]+$`)

// simpleLicense: a listed id exactly as the list spells it (with an
// optional "+"), or a LicenseRef-.
func simpleLicense(t string) bool {
	if licenseRef.MatchString(t) {
		return true
	}
	id := strings.TrimSuffix(t, "+")
	return id != "" && spdxLicenseIDs[strings.ToLower(id)] == id
}
