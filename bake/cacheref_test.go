package bake

import (
	"slices"
	"strings"
	"testing"

	"github.com/gorae/gorae/bakefile"
)

// TestFillCacheRefs: a registry cache without ref= gets the target's own
// ref, in its first tag's repository; explicit refs and other types stay.
func TestFillCacheRefs(t *testing.T) {
	tg := &bakefile.Target{Name: "web.v2", Tags: []string{"127.0.0.1:5000/team/app:web", "other/x"},
		CacheFrom: []string{"type=registry", "type=local,src=/c"},
		CacheTo:   []string{"type=registry,mode=max", "type=registry,ref=r/x:c"}}
	if err := FillCacheRefs(tg, ""); err != nil {
		t.Fatal(err)
	}
	if want := []string{"type=registry,ref=127.0.0.1:5000/team/app:buildcache-web.v2", "type=local,src=/c"}; !slices.Equal(tg.CacheFrom, want) {
		t.Errorf("cache-from %v, want %v", tg.CacheFrom, want)
	}
	if want := []string{"type=registry,mode=max,ref=127.0.0.1:5000/team/app:buildcache-web.v2", "type=registry,ref=r/x:c"}; !slices.Equal(tg.CacheTo, want) {
		t.Errorf("cache-to %v, want %v", tg.CacheTo, want)
	}
	if got := CacheRef(&bakefile.Target{Name: "a b", Tags: []string{"busybox"}}, ""); got != "docker.io/library/busybox:buildcache-a_b" {
		t.Errorf("CacheRef = %q", got)
	}
	if got := CacheRef(&bakefile.Target{Name: "x", Outputs: []string{"type=registry,name=r.example/app:1"}}, ""); got != "r.example/app:buildcache-x" {
		t.Errorf("CacheRef from an output name = %q", got)
	}
	if got := CacheRef(&bakefile.Target{Name: "x", Tags: []string{"busybox"}}, "r.example/stage"); got != "r.example/stage:buildcache-x" {
		t.Errorf("CacheRef in a repo = %q", got)
	}
	err := FillCacheRefs(&bakefile.Target{Name: "untagged", CacheTo: []string{"type=registry"}}, "")
	if err == nil || !strings.Contains(err.Error(), `target "untagged"`) {
		t.Errorf("got %v", err)
	}
}
