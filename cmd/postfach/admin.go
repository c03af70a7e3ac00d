package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"postfach/internal/auth"
	"postfach/internal/config"
	"postfach/internal/logging"
	"postfach/internal/store"
	"postfach/internal/store/sqlite"
)

// admin is what an admin command works with: the configuration and the
// open store of its data directory.
type admin struct {
	*app
	cfg    *config.Config
	store  store.Store
	closed bool
}

// storeAccess says whether a command may create the data directory.
type storeAccess int

const (
	// existingData: the data directory must exist (list, remove, passwd).
	existingData storeAccess = iota
	// createData: the data directory is created if missing (add), with a
	// notice, in case --config was forgotten.
	createData
)

// openAdmin loads the configuration and opens its store. The store is
// opened without a notify hub and never collects garbage: a running
// server may share the directory (SQLite WAL with multi-process locking).
func (a *app) openAdmin(configPath string, access storeAccess) (*admin, error) {
	cfg, err := config.Load(configPath)
	if err != nil {
		return nil, err
	}
	logger, err := logging.New(a.stderr, cfg.Log, logging.Options{MinLevel: slog.LevelWarn})
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(cfg.DataDir); errors.Is(err, fs.ErrNotExist) {
		if access == existingData {
			return nil, fmt.Errorf("data directory %s does not exist; is --config (or $%s) the server's configuration?", cfg.DataDir, configEnv)
		}
		fmt.Fprintf(a.stderr, "postfach: creating data directory %s\n", cfg.DataDir)
	} else if err != nil {
		return nil, err
	}
	st, err := sqlite.Open(a.ctx, sqlite.Options{Dir: cfg.DataDir, Logger: logger})
	if err != nil {
		return nil, err
	}
	return &admin{app: a, cfg: cfg, store: st}, nil
}

// close closes the store once; commands defer it and also call it at the
// end, to report a failed close.
func (ad *admin) close() error {
	if ad.closed {
		return nil
	}
	ad.closed = true
	return ad.store.Close()
}

// params are the argon2id parameters of the configuration.
func (ad *admin) params() auth.Params {
	return auth.Params{Time: ad.cfg.Auth.Time, MemoryKiB: ad.cfg.Auth.MemoryKiB, Threads: ad.cfg.Auth.Threads}
}

// normalizeDomain is the form the store keeps: lower case, no final dot.
func normalizeDomain(s string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
}

// openForAddress checks an address argument, then opens the store: a
// mistyped address is reported before any file is touched.
func (a *app) openForAddress(configPath, arg string, access storeAccess) (ad *admin, address, domain string, err error) {
	if address, domain, err = splitAddress(arg); err != nil {
		return nil, "", "", err
	}
	if ad, err = a.openAdmin(configPath, access); err != nil {
		return nil, "", "", err
	}
	return ad, address, domain, nil
}

// splitAddress normalizes an address and returns its domain; a string
// without "@" is a usage error.
func splitAddress(s string) (address, domain string, err error) {
	address = auth.NormalizeUsername(s)
	i := strings.LastIndexByte(address, '@')
	if i <= 0 || i == len(address)-1 {
		return "", "", usagef("%q is not a full address such as tim@example.org", s)
	}
	return address, normalizeDomain(address[i+1:]), nil
}

// domainExists reports whether the store has the domain.
func (ad *admin) domainExists(name string) (bool, error) {
	domains, err := ad.store.Domains(ad.ctx)
	if err != nil {
		return false, err
	}
	for _, d := range domains {
		if d.Name == name {
			return true, nil
		}
	}
	return false, nil
}

func errNoDomain(name string) error {
	return fmt.Errorf("domain %s does not exist; add it with: postfach domain add %s", name, name)
}

func errNoAccount(address string) error {
	return fmt.Errorf("account %s does not exist; add it with: postfach user add %s", address, address)
}
