package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// Report is the outcome of a run; it encodes to JSON as `postfach bench
// --json` prints it.
type Report struct {
	Started time.Time `json:"started"`
	// Window is the measured time: warm-up and the stop excluded.
	Window    Seconds          `json:"window_s"`
	Warmup    Seconds          `json:"warmup_s"`
	Workloads []WorkloadReport `json:"workloads"`
}

// WorkloadReport is one workload's results.
type WorkloadReport struct {
	Name    string `json:"name"`
	Target  string `json:"target"`
	Clients int    `json:"clients"`
	// Ops counts every command that succeeded in the window, connecting
	// included; OpsPerSec divides it by the window.
	Ops       uint64  `json:"ops"`
	OpsPerSec float64 `json:"ops_per_s"`
	// Errors counts failed commands in the window and failures while
	// setting up (SetupErrors of them).
	Errors      uint64 `json:"errors"`
	SetupErrors uint64 `json:"setup_errors,omitempty"`
	Sessions    uint64 `json:"sessions,omitempty"`
	// Primary is the figure that compares servers on this workload.
	Primary  Metric          `json:"primary"`
	Extra    []Metric        `json:"extra,omitempty"`
	Commands []CommandReport `json:"commands"`
	// ErrorSamples are the first few error messages.
	ErrorSamples []string    `json:"error_samples,omitempty"`
	Idle         *IdleReport `json:"idle,omitempty"`
}

// Metric is a named figure.
type Metric struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
}

// CommandReport summarizes one command's latency in the window.
type CommandReport struct {
	Name   string  `json:"name"`
	Count  uint64  `json:"count"`
	PerSec float64 `json:"per_s"`
	Errors uint64  `json:"errors"`
	P50    Millis  `json:"p50_ms"`
	P90    Millis  `json:"p90_ms"`
	P99    Millis  `json:"p99_ms"`
	Max    Millis  `json:"max_ms"`
	Mean   Millis  `json:"mean_ms"`
}

// IdleReport is what the IDLE fan-out adds.
type IdleReport struct {
	Mode        string `json:"mode"` // accounts or mailbox
	Accounts    int    `json:"accounts"`
	Connections int    `json:"connections"`
	// MeasuredConns are the connections the memory figures divide by:
	// those opened between the two readings (all but the first tenth).
	MeasuredConns int     `json:"measured_connections"`
	OpenTime      Seconds `json:"open_s"`
	Deliveries    uint64  `json:"deliveries"`
	Deliver       string  `json:"deliver"` // imap or lmtp
	// Notified counts EXISTS notices received; Expected counts the
	// notices the deliveries should have caused (each delivery, once per
	// idle connection on its mailbox), so that lost ones show.
	Notified uint64 `json:"notified"`
	Expected uint64 `json:"expected"`
	// Server memory, when the server process is known.
	ServerPID   int     `json:"server_pid,omitempty"`
	Processes   int     `json:"server_processes,omitempty"`
	RSSBefore   int64   `json:"rss_before_bytes,omitempty"`
	RSSAfter    int64   `json:"rss_after_bytes,omitempty"`
	PSSBefore   int64   `json:"pss_before_bytes,omitempty"`
	PSSAfter    int64   `json:"pss_after_bytes,omitempty"`
	RSSPerConn  float64 `json:"rss_per_conn_bytes,omitempty"`
	PSSPerConn  float64 `json:"pss_per_conn_bytes,omitempty"`
	MemoryError string  `json:"memory_error,omitempty"`
}

// Seconds is a duration that encodes as seconds.
type Seconds time.Duration

// MarshalJSON encodes seconds with millisecond precision.
func (s Seconds) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, "%.3f", time.Duration(s).Seconds()), nil
}

// UnmarshalJSON reads seconds.
func (s *Seconds) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*s = Seconds(f * float64(time.Second))
	return nil
}

// Millis is a duration that encodes as milliseconds.
type Millis time.Duration

// MarshalJSON encodes milliseconds with microsecond precision.
func (m Millis) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, "%.3f", float64(m)/float64(time.Millisecond)), nil
}

// UnmarshalJSON reads milliseconds.
func (m *Millis) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*m = Millis(f * float64(time.Millisecond))
	return nil
}

func (m Millis) String() string { return fmtMillis(time.Duration(m)) }

// fmtMillis prints a latency in milliseconds with three significant
// digits or so.
func fmtMillis(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms >= 100:
		return fmt.Sprintf("%.0f", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1f", ms)
	default:
		return fmt.Sprintf("%.2f", ms)
	}
}

// commandReport summarizes a command's statistics over window.
func commandReport(name string, c *cmdStats, window time.Duration) CommandReport {
	h := &c.hist
	return CommandReport{
		Name:   name,
		Count:  h.Count(),
		PerSec: perSec(h.Count(), window),
		Errors: c.errors.Load(),
		P50:    Millis(h.Quantile(0.50)),
		P90:    Millis(h.Quantile(0.90)),
		P99:    Millis(h.Quantile(0.99)),
		Max:    Millis(h.Max()),
		Mean:   Millis(h.Mean()),
	}
}

func perSec(n uint64, window time.Duration) float64 {
	if window <= 0 {
		return 0
	}
	return float64(n) / window.Seconds()
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report as tables for people.
func (r *Report) WriteText(w io.Writer) error {
	bw := &errWriter{w: w}
	fmt.Fprintf(bw, "window %.1f s (after %.1f s warm-up), started %s\n",
		time.Duration(r.Window).Seconds(), time.Duration(r.Warmup).Seconds(), r.Started.Format(time.RFC3339))
	for _, wr := range r.Workloads {
		fmt.Fprintf(bw, "\n%s against %s, %d clients: %s %s, %.0f ops/s, %d errors",
			wr.Name, wr.Target, wr.Clients, fmtRate(wr.Primary.Value), wr.Primary.Name, wr.OpsPerSec, wr.Errors)
		if wr.SetupErrors > 0 {
			fmt.Fprintf(bw, " (%d while setting up)", wr.SetupErrors)
		}
		fmt.Fprintln(bw)
		for _, m := range wr.Extra {
			fmt.Fprintf(bw, "  %s: %s\n", m.Name, fmtRate(m.Value))
		}
		if id := wr.Idle; id != nil {
			fmt.Fprintf(bw, "  idle: %d connections on %d account(s) (%s mode), opened in %.1f s; %d deliveries by %s, %d of %d EXISTS notices\n",
				id.Connections, id.Accounts, id.Mode, time.Duration(id.OpenTime).Seconds(), id.Deliveries, id.Deliver, id.Notified, id.Expected)
			switch {
			case id.MemoryError != "":
				fmt.Fprintf(bw, "  server memory: %s\n", id.MemoryError)
			case id.ServerPID != 0:
				fmt.Fprintf(bw, "  server memory (pid %d, %d processes) over the last %d connections: RSS %.1f -> %.1f MiB, %.1f KiB per connection; PSS %.1f -> %.1f MiB, %.1f KiB per connection\n",
					id.ServerPID, id.Processes, id.MeasuredConns, mib(id.RSSBefore), mib(id.RSSAfter), id.RSSPerConn/1024,
					mib(id.PSSBefore), mib(id.PSSAfter), id.PSSPerConn/1024)
			}
		}
		tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "command\tcount\tper s\terrors\tp50 ms\tp90 ms\tp99 ms\tmax ms\t")
		for _, c := range wr.Commands {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\t%s\t%s\t%s\t\n", c.Name, c.Count, fmtRate(c.PerSec), c.Errors, c.P50, c.P90, c.P99, c.Max)
		}
		tw.Flush()
		for _, s := range wr.ErrorSamples {
			fmt.Fprintf(bw, "  error: %s\n", s)
		}
	}
	return bw.err
}

func fmtRate(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
