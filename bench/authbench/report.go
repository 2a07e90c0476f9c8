package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// write prints the report: Markdown tables with md, aligned text without.
func (r *report) write(w io.Writer, md bool) {
	heading := func(level int, s string) {
		if md {
			fmt.Fprintf(w, "%s %s\n\n", strings.Repeat("#", level), s)
		} else {
			underline := "="
			if level > 3 {
				underline = "-"
			}
			fmt.Fprintf(w, "%s\n%s\n\n", s, strings.Repeat(underline, len(s)))
		}
	}
	bullet := func(format string, args ...any) { fmt.Fprintf(w, "- "+format+"\n", args...) }

	heading(3, "authbench, "+r.Date.Format("2006-01-02 15:04 MST"))
	bullet("Machine: %s, %d cores (shared by the servers and the load generator), %s, %s; load average %s at the start.",
		r.CPU, r.Cores, r.OS, r.GoVersion, r.Load)
	servers := "started by the bench (cmd/authd, examples/mount) with " + strings.Join(r.AuthdOpts, ", ")
	if !r.Managed {
		servers = "already running (-target), with their own settings"
	}
	bullet("Servers: %s; database %s; rate limiter and broadcaster: %s; Argon2id %s.",
		servers, r.DB, map[bool]string{true: "Redis", false: "in memory"}[r.Redis == "Redis"], r.Argon2)
	bullet("Load: %d users, %d connections, %s per scenario after a %s warm-up (not counted).",
		r.Users, r.Conns, r.Duration, r.Warmup)
	fmt.Fprintln(w)

	if len(r.Results) > 0 {
		rows := [][]string{}
		for _, res := range r.Results {
			rows = append(rows, []string{res.Name, res.What, fmtRate(res.Rate()), fmtDur(res.Quantile(0.5)),
				fmtDur(res.Quantile(0.99)), fmtDur(res.Quantile(1)), fmtFailures(res.Failures, res.FirstError),
				fmtBytes(res.Peak)})
		}
		table(w, md, "llrrrrlr", []string{"scenario", "request", "req/s", "p50", "p99", "max", "errors", "peak RSS"}, rows)
		fmt.Fprintln(w)
		if host, bare := r.result("host"), r.result("bare"); host != nil && bare != nil && bare.Rate() > 0 {
			bullet("host/bare: %.2f of bare's throughput (p50 %s against %s): what RequireAuth, reading the user and the Guard cost on the host's route.",
				host.Rate()/bare.Rate(), fmtDur(host.Quantile(0.5)), fmtDur(bare.Quantile(0.5)))
		}
		if l := r.result("login"); l != nil && l.Sessions >= 0 {
			bullet("login: %d logins answered 200 (warm-up included), %d sessions created.", l.OKAll, l.Sessions)
		}
		bullet("errors counts every non-2xx answer and transport error in the window; req/s, p50, p99 and max are of the 2xx answers; peak RSS is the server's (authd, or mount for host and bare) during the scenario.")
	}
	if r.IdleAuthd > 0 {
		s := fmt.Sprintf("RSS: authd %s once started, %s idle after the setup's %d logins, %s at its peak",
			fmtBytes(r.StartAuthd), fmtBytes(r.IdleAuthd), r.Conns+1, fmtBytes(r.PeakAuthd))
		if r.IdleMount > 0 {
			s += fmt.Sprintf("; mount %s once started, %s idle, %s at its peak",
				fmtBytes(r.StartMount), fmtBytes(r.IdleMount), fmtBytes(r.PeakMount))
		}
		bullet("%s.", s)
	}
	for _, s := range r.Skipped {
		bullet("skipped: %s", s)
	}
	fmt.Fprintln(w)

	if f := r.Flood; f != nil {
		heading(4, "Login flood")
		fmt.Fprintf(w, "%d clients sending logins back to back for %s, %.0f %% of them with a wrong password, while two probes each send a request every %s.\n\n",
			f.Clients, f.Duration, 100*f.WrongShare, r.ProbeEvery)
		l := f.Logins
		total := l.OK + l.Errors()
		share := func(n int) string {
			if total == 0 {
				return "–"
			}
			return fmt.Sprintf("%.1f %%", 100*float64(n)/float64(total))
		}
		fails := maps.Clone(l.Failures)
		take := func(k string) int { n := fails[k]; delete(fails, k); return n }
		n401, n503, n429 := take("401"), take("503"), take("429")
		transport := take("transport") + take("timeout")
		other := 0
		for _, v := range fails {
			other += v
		}
		retry := "all with Retry-After"
		if l.NoRetry > 0 {
			retry = fmt.Sprintf("%d without Retry-After", l.NoRetry)
		}
		rows := [][]string{
			{"200 signed in", strconv.Itoa(l.OK), share(l.OK), fmt.Sprintf("p50 %s, p99 %s", fmtDur(l.Quantile(0.5)), fmtDur(l.Quantile(0.99)))},
			{"401 invalid_credentials", strconv.Itoa(n401), share(n401), ""},
			{"503 overloaded", strconv.Itoa(n503), share(n503), retry},
			{"429 throttled", strconv.Itoa(n429), share(n429), ""},
			{"other status", strconv.Itoa(other), share(other), strings.TrimPrefix(fmtFailures(fails, nil), "0")},
			{"transport error", strconv.Itoa(transport), share(transport), errText(l.FirstError)},
			{"all", strconv.Itoa(total), "", fmtRate(float64(total)/f.Duration.Seconds()) + " answers/s"},
		}
		table(w, md, "lrrl", []string{"logins", "count", "share", "notes"}, rows)
		fmt.Fprintln(w)
		rows = nil
		for _, p := range f.Probes {
			n := 0
			for _, v := range p.Failures {
				n += v
			}
			rows = append(rows, []string{p.What, strconv.Itoa(len(p.Latency) + n), fmtDur(quantile(p.Latency, 0.5)),
				fmtDur(quantile(p.Latency, 0.99)), fmtDur(quantile(p.Latency, 1)), fmtFailures(p.Failures, nil)})
		}
		table(w, md, "lrrrrl", []string{"probe", "sent", "p50", "p99", "max", "failures"}, rows)
		fmt.Fprintln(w)
		if f.Peak > 0 {
			bullet("authd RSS: %s before the flood, %s at its peak (VmHWM; highest 100 ms sample %s).",
				fmtBytes(f.Before), fmtBytes(f.Peak), fmtBytes(f.PeakSampled))
		}
		bullet("After the flood: GET /healthz %s, GET %s %s, a login %s.", f.HealthAfter, mePath, f.MeAfter, f.LoginAfter)
		if f.Sessions >= 0 {
			verdict := "nothing lost"
			if f.Sessions != l.OKAll {
				verdict = "MISMATCH"
			}
			bullet("Sessions created during the flood: %d, for %d logins answered 200: %s.", f.Sessions, l.OKAll, verdict)
		}
		fmt.Fprintln(w)
	}
}

// result returns the scenario named name, or nil.
func (r *report) result(name string) *result {
	for _, res := range r.Results {
		if res.Name == name {
			return res
		}
	}
	return nil
}

// table prints a table as Markdown or as aligned text. align has an l
// (left) or r (right) per column, for Markdown.
func table(w io.Writer, md bool, align string, header []string, rows [][]string) {
	if md {
		fmt.Fprintf(w, "| %s |\n", strings.Join(header, " | "))
		align := strings.Split(strings.NewReplacer("l", "---,", "r", "--:,").Replace(align), ",")
		align = align[:len(header)]
		fmt.Fprintf(w, "|%s|\n", strings.Join(align, "|"))
		for _, row := range rows {
			fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
		}
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, row := range rows {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
}

func fmtRate(r float64) string {
	if r >= 100 {
		return strconv.FormatFloat(r, 'f', 0, 64)
	}
	return strconv.FormatFloat(r, 'f', 1, 64)
}

func fmtDur(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case d == 0:
		return "–"
	case ms < 10:
		return fmt.Sprintf("%.2f ms", ms)
	case ms < 100:
		return fmt.Sprintf("%.1f ms", ms)
	case ms < 10000:
		return fmt.Sprintf("%.0f ms", ms)
	}
	return fmt.Sprintf("%.1f s", ms/1000)
}

func fmtBytes(n int64) string {
	if n <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// fmtFailures writes a breakdown such as "3: 2× 503 overloaded, 1×
// transport (connection reset)".
func fmtFailures(f map[string]int, first error) string {
	total := 0
	for _, v := range f {
		total += v
	}
	if total == 0 {
		return "0"
	}
	parts := []string{}
	for _, k := range slices.Sorted(maps.Keys(f)) {
		s := fmt.Sprintf("%d× %s", f[k], k)
		if (k == "transport" || k == "timeout") && first != nil {
			s += " (" + errText(first) + ")"
		}
		parts = append(parts, s)
	}
	return fmt.Sprintf("%d: %s", total, strings.Join(parts, ", "))
}

// errText shortens an error for a table cell.
func errText(err error) string {
	if err == nil {
		return ""
	}
	s := strings.ReplaceAll(err.Error(), "|", "/")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}
