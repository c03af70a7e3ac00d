package sqlite

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestReadStmtsPoolExhausted: more read transactions than pool connections,
// each running queries nobody prepared yet, and plain reads beside them,
// all finish: a caller inside a transaction never waits for a second
// connection to prepare a statement.
func TestReadStmtsPoolExhausted(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{ReadConns: 2, NoSync: true})
	defer s.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for g := range 12 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 20 {
					q := fmt.Sprintf("SELECT %d + ?", g*100+i%5)
					err := s.readTx(ctx, func(tx reader) error {
						var n int
						if err := tx.QueryRowContext(ctx, q, 1).Scan(&n); err != nil {
							return err
						}
						if want := g*100 + i%5 + 1; n != want {
							return fmt.Errorf("%s: %d, want %d", q, n, want)
						}
						rows, err := tx.QueryContext(ctx, "SELECT id FROM domains")
						if err != nil {
							return err
						}
						return rows.Close()
					})
					if err != nil {
						t.Error(err)
						return
					}
					var n int
					if err := s.rd().QueryRowContext(ctx, q, 2).Scan(&n); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("read transactions deadlocked preparing statements")
	}
	s.rstmts.mu.Lock()
	n := len(s.rstmts.stmts)
	s.rstmts.mu.Unlock()
	if n == 0 {
		t.Error("no statement was kept prepared")
	}
}
