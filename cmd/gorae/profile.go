package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// startProfile writes a CPU profile of this process to the file named
// by $GORAE_CPUPROFILE, if set: how docs/performance.md measured where a
// build's time goes (go tool pprof -top bin/gorae FILE). The returned
// function ends it.
func startProfile() func() {
	path := os.Getenv("GORAE_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gorae: WARNING: GORAE_CPUPROFILE: %v\n", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
