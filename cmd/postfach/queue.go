package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	"postfach/internal/config"
	"postfach/internal/logging"
	"postfach/internal/queue"
)

const queueHelp = `The queue holds outbound mail for remote recipients until their mail
servers take it, in <data_dir>/queue. These commands work on it also while
the server runs; a running server notices a retry within a second.`

// openQueue opens the queue of the configuration's data directory, for
// administration: it delivers nothing itself.
func (a *app) openQueue(configPath string) (*queue.Queue, error) {
	cfg, err := config.Load(configPath)
	if err != nil {
		return nil, err
	}
	logger, err := logging.New(a.stderr, cfg.Log, logging.Options{MinLevel: slog.LevelWarn})
	if err != nil {
		return nil, err
	}
	dir := queue.DataDirQueue(cfg.DataDir)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no queue in %s; is --config (or $%s) the server's configuration?", cfg.DataDir, configEnv)
	}
	return queue.Open(dir, queue.Options{Hostname: cfg.Hostname, Logger: logger})
}

func queueListCommand() *command {
	return &command{
		name:    "queue list",
		summary: "list the messages waiting for delivery",
		help: queueHelp + `

Each message shows its ID, when it was queued, its size and sender
("<>" for a delivery status notification), then each recipient still
waiting: attempts so far, the next attempt, and the last error.`,
		minArgs: 0, maxArgs: 0,
		run: func(a *app, configPath string, args []string) error {
			q, err := a.openQueue(configPath)
			if err != nil {
				return err
			}
			defer q.Close()
			msgs, err := q.List(a.ctx)
			if err != nil {
				return err
			}
			if len(msgs) == 0 {
				fmt.Fprintln(a.stdout, "the queue is empty")
				return q.Close()
			}
			for _, m := range msgs {
				printQueued(a, m)
			}
			fmt.Fprintf(a.stdout, "%d message(s)\n", len(msgs))
			return q.Close()
		},
	}
}

func printQueued(a *app, m queue.MessageInfo) {
	from := "<" + m.From + ">"
	var notes []string
	if m.Account != "" {
		notes = append(notes, "account "+m.Account)
	}
	if m.DSN {
		notes = append(notes, "delivery status notification")
	}
	if m.RequireTLS {
		notes = append(notes, "REQUIRETLS")
	}
	note := ""
	if len(notes) > 0 {
		note = " (" + strings.Join(notes, ", ") + ")"
	}
	fmt.Fprintf(a.stdout, "%s  %s  %d octets  from %s%s\n", m.ID, m.Queued.UTC().Format("2006-01-02 15:04:05Z"), m.Size, from, note)
	for _, r := range m.Recipients {
		next := r.NextAttempt.UTC().Format("2006-01-02 15:04:05Z")
		if r.NextAttempt.Before(time.Now()) {
			next = "now"
		}
		fmt.Fprintf(a.stdout, "    %s: %d attempt(s), next %s\n", r.Addr, r.Attempts, next)
		if r.LastError != "" {
			via := ""
			if r.RemoteMTA != "" {
				via = " (" + r.RemoteMTA + ")"
			}
			fmt.Fprintf(a.stdout, "        last error%s: %s\n", via, r.LastError)
		}
	}
}

func queueRetryCommand() *command {
	return &command{
		name:    "queue retry",
		args:    "ID...",
		summary: "try to deliver queued messages now",
		help:    queueHelp,
		minArgs: 1, maxArgs: 1000,
		run: func(a *app, configPath string, args []string) error {
			q, err := a.openQueue(configPath)
			if err != nil {
				return err
			}
			defer q.Close()
			for _, id := range args {
				if err := q.Retry(a.ctx, id); err != nil {
					if errors.Is(err, queue.ErrNotFound) {
						return fmt.Errorf("%s is not in the queue (see postfach queue list)", id)
					}
					return err
				}
				fmt.Fprintf(a.stdout, "%s will be retried now\n", strings.ToLower(id))
			}
			return q.Close()
		},
	}
}

func queueDropCommand() *command {
	return &command{
		name:    "queue drop",
		args:    "ID...",
		summary: "remove messages from the queue without notifying their senders",
		help: queueHelp + `

An attempt already in flight for the message may still deliver it.`,
		minArgs: 1, maxArgs: 1000,
		run: func(a *app, configPath string, args []string) error {
			q, err := a.openQueue(configPath)
			if err != nil {
				return err
			}
			defer q.Close()
			for _, id := range args {
				if err := q.Drop(a.ctx, id); err != nil {
					if errors.Is(err, queue.ErrNotFound) {
						return fmt.Errorf("%s is not in the queue (see postfach queue list)", id)
					}
					return err
				}
				fmt.Fprintf(a.stdout, "dropped %s\n", strings.ToLower(id))
			}
			return q.Close()
		},
	}
}
