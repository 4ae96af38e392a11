package main

import (
	"slices"
	"strings"
	"testing"
)

func TestParseAddHost(t *testing.T) {
	for in, want := range map[string][]string{
		"db:10.0.0.5":        {"db=10.0.0.5"},
		"DB=10.0.0.5":        {"db=10.0.0.5"},
		"gw:host-gateway":    {"gw=127.0.0.1"},
		"v6=[::1]":           {"v6=::1"},
		"v6:::1":             {"v6=::1"}, // the first colon separates
		"multi=10.0.0.1,::2": {"multi=10.0.0.1", "multi=::2"},
	} {
		if got, err := parseAddHost(in); err != nil || !slices.Equal(got, want) {
			t.Errorf("parseAddHost(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"db", ":1.2.3.4", "db:", "db:nope", "db=1.2.3"} {
		if _, err := parseAddHost(in); err == nil || !strings.Contains(err.Error(), "invalid --add-host") {
			t.Errorf("parseAddHost(%q) error %v", in, err)
		}
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"4096": 4096, "64k": 64 << 10, "128m": 128 << 20, "128M": 128 << 20, "1g": 1 << 30, "64MiB": 64 << 20, "1.5g": 3 << 29, "2GB": 2 << 30} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "m", "-1m", "12x", "1 2"} {
		if _, err := parseBytes(in); err == nil {
			t.Errorf("parseBytes(%q) accepted", in)
		}
	}
}

func TestParseCall(t *testing.T) {
	for in, want := range map[string]string{"build": "build", "check": "check", "lint": "check", "outline": "outline", "targets": "targets"} {
		if got, err := parseCall(in); err != nil || got != want {
			t.Errorf("parseCall(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "nope", "check,format=json"} {
		if _, err := parseCall(in); err == nil || !strings.Contains(err.Error(), "invalid --call") {
			t.Errorf("parseCall(%q) error %v", in, err)
		}
	}
}

func TestRepoComponent(t *testing.T) {
	for in, want := range map[string]string{"App_Web": "app-web", "_common": "common", "a--b__": "a-b", "__": "target", "x1.y2": "x1-y2"} {
		if got := repoComponent(in); got != want {
			t.Errorf("repoComponent(%q) = %q, want %q", in, got, want)
		}
	}
}
