package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"postfach/internal/queue"
)

func TestQueueCommands(t *testing.T) {
	cfg := testConfig(t)
	postfach(t, nil, "", "queue", "list", "--config", cfg).expect(t, exitFail, "err:no queue in")

	// What the server would have queued.
	q, err := queue.Open(filepath.Join(filepath.Dir(cfg), "data", queue.DirName), queue.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("Subject: x\r\n\r\nbody\r\n")
	var ids []string
	for _, to := range []string{"bob@example.net", "carol@example.com"} {
		id, err := q.Enqueue(context.Background(), queue.Envelope{From: "alice@example.org", Account: "alice@example.org", To: []queue.Recipient{{Addr: to}}}, bytes.NewReader(msg), int64(len(msg)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	q.Close()

	postfach(t, nil, "", "queue", "list", "--config", cfg).expect(t, exitOK,
		"out:"+ids[0], "out:from <alice@example.org> (account alice@example.org)", "out:bob@example.net: 0 attempt(s), next now", "out:2 message(s)")
	postfach(t, nil, "", "queue", "retry", strings.ToUpper(ids[1]), "--config", cfg).expect(t, exitOK, "out:"+ids[1]+" will be retried now")
	postfach(t, nil, "", "queue", "drop", ids[0], "--config", cfg).expect(t, exitOK, "out:dropped "+ids[0])
	postfach(t, nil, "", "queue", "drop", ids[0], "--config", cfg).expect(t, exitFail, "err:is not in the queue")
	postfach(t, nil, "", "queue", "retry", "nonsense", "--config", cfg).expect(t, exitFail, "err:is not in the queue")
	r := postfach(t, nil, "", "queue", "list", "--config", cfg)
	r.expect(t, exitOK, "out:"+ids[1], "out:1 message(s)")
	if strings.Contains(r.stdout, ids[0]) {
		t.Errorf("dropped message still listed:\n%s", r.stdout)
	}
	postfach(t, nil, "", "queue", "drop", ids[1], "--config", cfg).expect(t, exitOK)
	postfach(t, nil, "", "queue", "list", "--config", cfg).expect(t, exitOK, "out:the queue is empty")
	postfach(t, nil, "", "queue", "retry", "--config", cfg).expect(t, exitUsage, "err:missing ID")
}
