package sbom

import "strings"

// spdxLicenseIDs are the SPDX license list ids the scanners meet in
// images; an id outside the list still reaches the SBOM, as a
// LicenseRef-. Lower-case key → canonical id.
var spdxLicenseIDs = lowerMap(`0BSD AFL-2.1 AFL-3.0 AGPL-1.0-only AGPL-1.0-or-later AGPL-3.0-only
AGPL-3.0-or-later Apache-1.0 Apache-1.1 Apache-2.0 APSL-2.0 Artistic-1.0 Artistic-1.0-Perl
Artistic-2.0 Beerware BlueOak-1.0.0 BSD-1-Clause BSD-2-Clause BSD-2-Clause-Patent BSD-3-Clause
BSD-3-Clause-Clear BSD-4-Clause BSD-4-Clause-UC BSD-Source-Code BSL-1.0 bzip2-1.0.6 CC-BY-3.0
CC-BY-4.0 CC-BY-SA-3.0 CC-BY-SA-4.0 CC0-1.0 CDDL-1.0 CDDL-1.1 CPL-1.0 curl ECL-2.0 EPL-1.0
EPL-2.0 EUPL-1.1 EUPL-1.2 FSFAP FSFUL FSFULLR FTL GFDL-1.1-only GFDL-1.1-or-later
GFDL-1.2-only GFDL-1.2-or-later GFDL-1.3-only GFDL-1.3-or-later GPL-1.0-only GPL-1.0-or-later
GPL-2.0-only GPL-2.0-or-later GPL-3.0-only GPL-3.0-or-later HPND ICU IJG ISC LGPL-2.0-only
LGPL-2.0-or-later LGPL-2.1-only LGPL-2.1-or-later LGPL-3.0-only LGPL-3.0-or-later Libpng
libpng-2.0 libtiff LPPL-1.3c MirOS MIT MIT-0 MPL-1.0 MPL-1.1 MPL-2.0
MPL-2.0-no-copyleft-exception MS-PL NCSA OFL-1.1 OLDAP-2.8 OpenSSL PHP-3.01 PostgreSQL PSF-2.0
Python-2.0 Ruby Sleepycat TCL Unicode-3.0 Unicode-DFS-2016 Unlicense UPL-1.0 Vim W3C WTFPL X11
Zlib ZPL-2.1`)

// spdxExceptionIDs are the SPDX exceptions a WITH may name.
var spdxExceptionIDs = lowerMap(`Autoconf-exception-2.0 Autoconf-exception-3.0 Bison-exception-2.2
Classpath-exception-2.0 Font-exception-2.0 GCC-exception-2.0 GCC-exception-3.1
Libtool-exception Linux-syscall-note LLVM-exception OpenSSL-exception`)

// licenseAliases are names package databases use for licenses the SPDX
// list spells otherwise (Debian's DEP-5 short names, Fedora's old ones).
var licenseAliases = map[string]string{
	"expat": "MIT", "apache-2": "Apache-2.0", "apache 2.0": "Apache-2.0", "asl 2.0": "Apache-2.0",
	"artistic": "Artistic-1.0", "mpl-2": "MPL-2.0", "bsd": "BSD-3-Clause", "zlib": "Zlib",
	"psf": "PSF-2.0", "python": "Python-2.0", "cc0": "CC0-1.0", "openssl": "OpenSSL",
	"gplv2": "GPL-2.0-only", "gplv2+": "GPL-2.0-or-later", "gplv3": "GPL-3.0-only", "gplv3+": "GPL-3.0-or-later",
	"lgplv2": "LGPL-2.0-only", "lgplv2+": "LGPL-2.0-or-later", "lgplv3": "LGPL-3.0-only", "lgplv3+": "LGPL-3.0-or-later",
}

func lowerMap(ids string) map[string]string {
	m := map[string]string{}
	for _, id := range strings.Fields(ids) {
		m[strings.ToLower(id)] = id
	}
	return m
}
