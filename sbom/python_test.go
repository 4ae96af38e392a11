package sbom

import (
	"testing"
	"testing/fstest"
)

func TestPython(t *testing.T) {
	fsys := fstest.MapFS{
		"usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA": {Data: []byte(
			"Metadata-Version: 2.1\nName: PyYAML\nVersion: 6.0\nSummary: YAML parser and emitter for Python\nLicense: MIT\nClassifier: License :: OSI Approved :: MIT License\n\nLicense: not a header, the body\n")},
		"usr/local/lib/python3.12/site-packages/zope.interface-6.1.dist-info/METADATA": {Data: []byte(
			"Metadata-Version: 2.4\nName: zope.interface\nVersion: 6.1\nLicense-Expression: ZPL-2.1\nLicense: Zope Public License\n")},
		"usr/local/lib/python3.12/site-packages/typing_extensions-4.9.0.dist-info/METADATA": {Data: []byte(
			"Metadata-Version: 2.1\nName: typing_extensions\nVersion: 4.9.0\nLicense: UNKNOWN\n")},
		"usr/local/lib/python3.12/site-packages/requests-2.31.0.dist-info/RECORD": {Data: []byte("no METADATA: skipped\n")},
		"usr/lib/python3/dist-packages/Pygments-2.14.0.egg-info/PKG-INFO": {Data: []byte(
			"Metadata-Version: 2.1\nName: Pygments\nVersion: 2.14.0\nLicense: BSD-2-Clause\n")},
		"usr/lib/python3/dist-packages/dbus_python-1.3.2.egg-info": {Data: []byte(
			"Metadata-Version: 1.0\nName: dbus-python\nVersion: 1.3.2\nLicense: Long licence text\n  that goes on\n")},
		"src/project/not-site.dist-info/METADATA": {Data: []byte("Name: ignored\nVersion: 1\n")},
	}
	want := []Package{
		{Name: "PyYAML", Version: "6.0", Type: "pypi", PURL: "pkg:pypi/pyyaml@6.0", Licenses: []string{"MIT"},
			Source: "/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA"},
		{Name: "Pygments", Version: "2.14.0", Type: "pypi", PURL: "pkg:pypi/pygments@2.14.0", Licenses: []string{"BSD-2-Clause"},
			Source: "/usr/lib/python3/dist-packages/Pygments-2.14.0.egg-info/PKG-INFO"},
		{Name: "dbus-python", Version: "1.3.2", Type: "pypi", PURL: "pkg:pypi/dbus-python@1.3.2",
			Source: "/usr/lib/python3/dist-packages/dbus_python-1.3.2.egg-info"},
		{Name: "typing_extensions", Version: "4.9.0", Type: "pypi", PURL: "pkg:pypi/typing-extensions@4.9.0",
			Source: "/usr/local/lib/python3.12/site-packages/typing_extensions-4.9.0.dist-info/METADATA"},
		{Name: "zope.interface", Version: "6.1", Type: "pypi", PURL: "pkg:pypi/zope-interface@6.1", Licenses: []string{"ZPL-2.1"},
			Source: "/usr/local/lib/python3.12/site-packages/zope.interface-6.1.dist-info/METADATA"},
	}
	comparePackageLists(t, scanFS(t, fsys), want)
}

func TestPythonName(t *testing.T) {
	for in, want := range map[string]string{
		"Django": "django", "zope.interface": "zope-interface", "typing__extensions": "typing-extensions", "a-._b": "a-b",
	} {
		if got := pythonName(in); got != want {
			t.Errorf("pythonName(%q) = %q, want %q", in, got, want)
		}
	}
}
