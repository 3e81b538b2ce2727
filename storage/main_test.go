package storage_test

import (
	"flag"
	"os"
	"testing"
)

// TestMain shortens the fuzzer's minimisation of each new input from its
// default of 60 s to 1 s, unless -fuzzminimizetime is given. The targets
// here run for a few seconds each in the test command, and their inputs
// are database files of kilobytes: minimising one for a minute would
// leave no time to fuzz.
func TestMain(m *testing.M) {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.fuzzminimizetime" })
	if !given {
		if err := flag.Set("test.fuzzminimizetime", "1s"); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}
