package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at link time for releases:
//
//	go build -ldflags "-X main.version=v1.2.3" ./cmd/postfach
var version = ""

// versionString is the release version, else the module version and VCS
// revision recorded in the binary, else "devel".
func versionString() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v += " " + rev + modified
	}
	return v
}

func versionCommand() *command {
	return &command{
		name:    "version",
		summary: "print the version",
		minArgs: 0, maxArgs: 0,
		run: func(a *app, configPath string, args []string) error {
			fmt.Fprintf(a.stdout, "postfach %s %s %s/%s\n", versionString(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
