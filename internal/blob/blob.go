// Package blob stores message bodies as immutable blobs.
//
// Invariants:
//   - A blob is written once, through a Writer, and never changes after
//     Commit. Readers therefore need no locking.
//   - Blob names are generated here, never derived from user input: a day
//     directory and 128 random bits ("20251126/0j3k..."). Every name is
//     checked against that shape before it becomes a path, so no name can
//     leave the blob directory.
//   - Commit finishes a blob; Sync makes blobs durable: their contents
//     (fdatasync of each file) and their directory entries (an fsync of
//     each directory). A caller runs Sync before it commits any row that
//     references the blobs. Sync issues the fsyncs at once, so that the
//     file system can serve them with few journal commits: on ext4, 8
//     concurrent fdatasyncs of new files cost little more than one; and
//     concurrent Syncs share their directories' fsyncs, so that each
//     appender may sync its own blob as soon as it is written.
package blob

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned when a blob does not exist.
var ErrNotFound = errors.New("blob: not found")

// ErrInvalidName is returned for a name this package did not generate.
var ErrInvalidName = errors.New("blob: invalid name")

// Store holds blobs.
type Store interface {
	// Create starts a new blob.
	Create(ctx context.Context) (Writer, error)
	// Open opens a committed blob for reading.
	Open(ctx context.Context, name string) (Reader, error)
	// Delete removes a blob. Deleting a missing blob is not an error.
	Delete(ctx context.Context, name string) error
	// Sync makes the named committed blobs durable: the content of each
	// and its directory entry (by an fsync of the directory that starts
	// after Sync is called, shared with concurrent Syncs).
	Sync(ctx context.Context, names []string) error
	// Walk calls fn for every blob, in no particular order, with its
	// modification time. It is for garbage collection.
	Walk(ctx context.Context, fn func(name string, mod time.Time) error) error
}

// Writer writes one new blob. Exactly one of Commit and Abort must be
// called.
type Writer interface {
	io.Writer
	// Name is the blob's name, known from the start.
	Name() string
	// Commit flushes the blob and closes it; Store.Sync then makes it
	// durable. On error the blob is removed.
	Commit() error
	// Abort closes and removes the blob.
	Abort() error
}

// Reader reads a committed blob.
type Reader interface {
	io.ReaderAt
	io.Closer
	Size() int64
}
