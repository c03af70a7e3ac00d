package dns

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// zoneSource answers from a Zone; names outside the data are an
// *outsideError, which resolver turns into NXDOMAIN and chainSource into
// a question for the nameservers.
type zoneSource struct {
	zone func() *Zone
}

func (s zoneSource) query(_ context.Context, name string, qtype uint16) (result, error) {
	a, err := s.zone().lookup(name, qtype)
	if err != nil {
		return result{target: a.target}, &net.DNSError{Err: err.Error(), Name: name, Server: zoneServer}
	}
	switch a.status {
	case zoneFound:
		return result{target: a.target, rrs: a.rrs}, nil
	case zoneOutside:
		return result{target: a.target}, &outsideError{target: a.target}
	}
	return result{target: a.target}, notFound(name, zoneServer)
}

// NewZoneResolver answers from z alone: names outside it do not exist.
// Tests use it through dnstest.Resolver.
func NewZoneResolver(z *Zone) Resolver {
	return &resolver{src: zoneSource{zone: func() *Zone { return z }}}
}

// ZoneFile is a zone file loaded into memory and reloaded when it changes:
// each lookup compares the file's size, modification time and inode with
// the loaded version (one stat call). A file that no longer parses is
// logged and the previous version stays in use. Replace the file by
// renaming a complete new one over it, so that no lookup reads it
// half-written.
type ZoneFile struct {
	path string
	log  *slog.Logger

	zone  atomic.Pointer[Zone]
	stamp atomic.Pointer[fileStamp] // of the version last tried, good or bad

	mu sync.Mutex // serializes reloads
}

// fileStamp identifies a version of a file.
type fileStamp struct {
	size  int64
	mtime time.Time
	ino   uint64
}

func stampOf(fi os.FileInfo) fileStamp {
	st := fileStamp{size: fi.Size(), mtime: fi.ModTime()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.ino = sys.Ino
	}
	return st
}

// OpenZoneFile loads path; it fails if the file is missing or does not
// parse. logger may be nil.
func OpenZoneFile(path string, logger *slog.Logger) (*ZoneFile, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	f := &ZoneFile{path: path, log: logger}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("dns zone file: %w", err)
	}
	z, err := loadZone(path)
	if err != nil {
		return nil, fmt.Errorf("dns zone file: %w", err)
	}
	st := stampOf(fi)
	f.zone.Store(z)
	f.stamp.Store(&st)
	return f, nil
}

func loadZone(path string) (*Zone, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return ParseZone(fh, path)
}

// Zone returns the current zone, reloading the file first if it changed.
func (f *ZoneFile) Zone() *Zone {
	fi, err := os.Stat(f.path)
	if err != nil {
		// Removed or unreadable for a moment (an editor's save): keep
		// answering from what we have.
		return f.zone.Load()
	}
	st := stampOf(fi)
	if *f.stamp.Load() == st {
		return f.zone.Load()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if *f.stamp.Load() == st {
		return f.zone.Load()
	}
	z, err := loadZone(f.path)
	f.stamp.Store(&st)
	if err != nil {
		f.log.Error("dns zone file does not load; answering from the previous version", "path", f.path, "err", err)
		return f.zone.Load()
	}
	f.zone.Store(z)
	f.log.Info("dns zone file reloaded", "path", f.path, "records", z.Len())
	return z
}

// Resolver returns a resolver answering from the file alone.
func (f *ZoneFile) Resolver() Resolver {
	return &resolver{src: zoneSource{zone: f.Zone}}
}
