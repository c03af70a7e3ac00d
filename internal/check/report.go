package check

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// checkOrder sorts a probe's findings into the order a connection goes
// through.
var checkOrder = []string{"connect", "greeting", "protocol", "tls", "certificate", "plaintext-login", "starttls", "capabilities", "login", "mailboxes", "stat", "auth", "send", "push"}

func checkRank(c string) int {
	if i := slices.Index(checkOrder, c); i >= 0 {
		return i
	}
	return len(checkOrder)
}

// WriteText prints the report as a table, one finding per line with its
// verdict, and a closing verdict line.
func (rep *Report) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	target := rep.Host
	if rep.Address != "" && rep.Address != rep.Host {
		target += " (" + rep.Address + ")"
	}
	fmt.Fprintf(ew, "postfach check %s: certificates must name %s; took %s\n\n", target, rep.ServerName, rep.Duration)
	type row struct{ service, port, verdict, check, text string }
	rows := []row{{"SERVICE", "PORT", "VERDICT", "CHECK", "DETAIL"}}
	for _, p := range rep.Probes {
		fs := slices.Clone(p.Findings)
		slices.SortStableFunc(fs, func(a, b Finding) int { return cmp.Compare(checkRank(a.Check), checkRank(b.Check)) })
		for _, f := range fs {
			rows = append(rows, row{p.Service, strconv.Itoa(p.Port), f.Level.String(), f.Check, f.Text})
		}
	}
	for _, f := range rep.Findings {
		rows = append(rows, row{"server", "", f.Level.String(), f.Check, f.Text})
	}
	var wid [4]int
	for _, r := range rows {
		for i, c := range []string{r.service, r.port, r.verdict, r.check} {
			wid[i] = max(wid[i], len(c))
		}
	}
	for _, r := range rows {
		fmt.Fprintf(ew, "%-*s  %-*s  %-*s  %-*s  %s\n", wid[0], r.service, wid[1], r.port, wid[2], r.verdict, wid[3], r.check, r.text)
	}
	warns, fails := rep.count()
	fmt.Fprintf(ew, "\nVerdict: %s (%s, %s)\n", rep.Verdict, plural(warns, "warning"), plural(fails, "failure"))
	return ew.err
}

// count returns the number of warnings and failures.
func (rep *Report) count() (warns, fails int) {
	all := slices.Clone(rep.Findings)
	for _, p := range rep.Probes {
		all = append(all, p.Findings...)
	}
	for _, f := range all {
		switch f.Level {
		case Warn:
			warns++
		case Fail:
			fails++
		}
	}
	return warns, fails
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// WriteJSON prints the report as one indented JSON document.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(b []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(b)
	e.err = err
	return n, err
}
