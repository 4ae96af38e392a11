package sbom

import (
	"testing"
	"testing/fstest"
)

const lockV3 = `{
  "name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
  "packages": {
    "": {"name": "app", "version": "1.0.0", "dependencies": {"express": "^4.18.2"}},
    "node_modules/express": {"version": "4.18.2", "resolved": "https://registry.npmjs.org/express/-/express-4.18.2.tgz", "license": "MIT"},
    "node_modules/@babel/code-frame": {"version": "7.23.5", "license": "MIT"},
    "node_modules/express/node_modules/debug": {"version": "2.6.9", "license": "MIT"},
    "node_modules/jest": {"version": "29.7.0", "dev": true, "license": "MIT"},
    "node_modules/workspace-pkg": {"resolved": "packages/ws", "link": true},
    "node_modules/aliased": {"name": "real-name", "version": "0.1.0"}
  }
}`

const lockV1 = `{
  "name": "old", "version": "0.0.1", "lockfileVersion": 1,
  "dependencies": {
    "lodash": {"version": "4.17.21", "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz"},
    "mocha": {"version": "10.0.0", "dev": true},
    "@types/node": {"version": "20.10.0", "dependencies": {"undici-types": {"version": "5.26.5"}}}
  }
}`

func TestNpm(t *testing.T) {
	fsys := fstest.MapFS{
		"app/package-lock.json":                           {Data: []byte(lockV3)},
		"app/node_modules/express/package.json":           {Data: []byte(`{"name": "express", "version": "4.18.2", "license": "MIT"}`)},
		"app/node_modules/@babel/code-frame/package.json": {Data: []byte(`{"name": "@babel/code-frame", "version": "7.23.5", "license": {"type": "MIT"}}`)},
		"app/node_modules/old-style/package.json":         {Data: []byte(`{"name": "old-style", "version": "1.0.0", "licenses": [{"type": "MIT"}, {"type": "Apache-2.0"}]}`)},
		"app/node_modules/.package-lock.json":             {Data: []byte(lockV3)},
		"app/node_modules/express/lib/package.json":       {Data: []byte(`{"name": "not-a-package", "version": "0.0.0"}`)},
		"app/node_modules/dep/package-lock.json":          {Data: []byte(lockV1)},
		"app/node_modules/broken/package.json":            {Data: []byte(`{"name": `)},
		"srv/package-lock.json":                           {Data: []byte(lockV1)},
	}
	lock, lock1 := "/app/package-lock.json", "/srv/package-lock.json"
	want := []Package{
		{Name: "@babel/code-frame", Version: "7.23.5", Type: "npm", PURL: "pkg:npm/%40babel/code-frame@7.23.5", Licenses: []string{"MIT"}, Source: "/app/node_modules/@babel/code-frame/package.json"},
		{Name: "@babel/code-frame", Version: "7.23.5", Type: "npm", PURL: "pkg:npm/%40babel/code-frame@7.23.5", Licenses: []string{"MIT"}, Source: lock},
		{Name: "@types/node", Version: "20.10.0", Type: "npm", PURL: "pkg:npm/%40types/node@20.10.0", Source: lock1},
		{Name: "debug", Version: "2.6.9", Type: "npm", PURL: "pkg:npm/debug@2.6.9", Licenses: []string{"MIT"}, Source: lock},
		{Name: "express", Version: "4.18.2", Type: "npm", PURL: "pkg:npm/express@4.18.2", Licenses: []string{"MIT"}, Source: "/app/node_modules/express/package.json"},
		{Name: "express", Version: "4.18.2", Type: "npm", PURL: "pkg:npm/express@4.18.2", Licenses: []string{"MIT"}, Source: lock},
		{Name: "lodash", Version: "4.17.21", Type: "npm", PURL: "pkg:npm/lodash@4.17.21", Source: lock1},
		{Name: "old-style", Version: "1.0.0", Type: "npm", PURL: "pkg:npm/old-style@1.0.0", Licenses: []string{"MIT", "Apache-2.0"}, Source: "/app/node_modules/old-style/package.json"},
		{Name: "real-name", Version: "0.1.0", Type: "npm", PURL: "pkg:npm/real-name@0.1.0", Source: lock},
		{Name: "undici-types", Version: "5.26.5", Type: "npm", PURL: "pkg:npm/undici-types@5.26.5", Source: lock1},
	}
	comparePackageLists(t, scanFS(t, fsys), want)
}
