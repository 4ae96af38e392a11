package progress

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestExplainLines(t *testing.T) {
	var plain bytes.Buffer
	p, err := New(&plain, "plain")
	if err != nil {
		t.Fatal(err)
	}
	p.Explain("[2/3] COPY a .", []string{"changed: a sha256:1… → sha256:2…", "changed: input (step 1 changed)"})
	want := "#1 [2/3] COPY a .\n#1 cache miss: changed: a sha256:1… → sha256:2…\n#1 cache miss: changed: input (step 1 changed)\n"
	if plain.String() != want {
		t.Errorf("plain:\n%s\nwant\n%s", plain.String(), want)
	}
	var js bytes.Buffer
	if p, err = New(&js, "json"); err != nil {
		t.Fatal(err)
	}
	p.Explain("[2/3] COPY a .", []string{"changed: input (step 1 changed)", "new step (no earlier build of this target)"})
	var rec struct {
		Step    string   `json:"step"`
		Changed []string `json:"changed"`
	}
	if err := json.Unmarshal(js.Bytes(), &rec); err != nil || rec.Step != "[2/3] COPY a ." || len(rec.Changed) != 2 || rec.Changed[0] != "input (step 1 changed)" {
		t.Errorf("json %s: %+v, %v", js.String(), rec, err)
	}
	var quiet bytes.Buffer
	if p, err = New(&quiet, "quiet"); err != nil {
		t.Fatal(err)
	}
	p.Explain("x", []string{"changed: y"})
	if quiet.Len() != 0 {
		t.Errorf("quiet printed %q", quiet.String())
	}
}
